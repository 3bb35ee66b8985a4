/** <pulse-widget>: the custom element. It holds one room of the headless client, maps its
 * attributes to the client's options, re-fires the room's events as DOM events, and renders
 * the room's state; the protocol (socket, frames, catch-up, tokens) is the client's. */

import { createClient } from "../client/index.js";
import type {
  AccessLevel,
  Client,
  InboxUpdate,
  JsonValue,
  Member,
  Presence,
  PulseError,
  Room,
  Status,
  Thread,
  Unsubscribe,
} from "../client/types.js";
import type { Composer } from "./composer.js";
import { composer } from "./composer.js";
import {
  ENDED_BY,
  MISCONFIGURED_TEXT,
  inWidgetTerms,
  roomProblem,
  SIGN_IN_FAILED,
  STATUS_TEXT,
  STOPPED_TEXT,
  VIEW_ONLY_TITLE,
} from "./copy.js";
import { el, nextId, reconcile } from "./dom.js";
import { PresenceView } from "./presence.js";
import { CSS } from "./styles.js";
import type { ThreadsHost, ThreadView } from "./threads.js";
import { threadView, updateThread } from "./threads.js";

const PRESENCE_MAX_BYTES = 1024;
const LEVELS: readonly AccessLevel[] = ["none", "read", "comment", "write"];

/** The pulse:error detail (the documented shape: the client's error without its extras). */
export interface ErrorDetail {
  code: string;
  message: string;
  requestId?: string;
  retryAfter?: number;
  attempt?: number;
  retryInMs?: number | null;
  needed?: string;
}

interface Config {
  apiKey: string;
  room: string;
  endpoint: string;
  tokenUrl: string;
  tokenMethod: "GET" | "POST";
}

function byCreated(a: Thread, b: Thread): number {
  if (a.createdAt === b.createdAt) return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  return a.createdAt < b.createdAt ? -1 : 1;
}

function copyMember(m: Member): Member {
  return { ...m };
}

export class PulseWidget extends HTMLElement {
  static get observedAttributes(): string[] {
    return ["api-key", "token", "room", "endpoint", "token-url"];
  }

  private readonly shadow: ShadowRoot;
  private client: Client | null = null;
  private room: Room | null = null;
  private place: string | null = null; // the config the client was made for
  private listeners: Unsubscribe[] = [];
  private _status: Status = "offline";
  private _lastError: ErrorDetail | null = null;
  private rawError: PulseError | null = null; // the client's, with `problem` for the notice
  private _access: AccessLevel | null = null;
  private info = ""; // a passing message for the visitor while connected (the notice line)
  private active = false;
  private startQueued = false;
  private renderQueued = false;
  private ready = false; // a custom element's constructor must not add attributes to the host
  private presence: Presence | null = null; // asked for before the room exists
  private lastUserId: string | null = null;
  private joinedAll = false; // pulse:connected fired for this connection
  private membersKey = "";
  private filter: "open" | "resolved" = "open";
  private readonly threadViews = new Map<string, ThreadView>();
  private readonly host: ThreadsHost = this.makeHost();

  private presenceView!: PresenceView;
  private statusEl!: HTMLSpanElement;
  private notice!: HTMLDivElement;
  private noticeText!: HTMLSpanElement;
  private retryBtn!: HTMLButtonElement;
  private countEl!: HTMLSpanElement;
  private openBtn!: HTMLButtonElement;
  private resolvedBtn!: HTMLButtonElement;
  private viewOnlyEl!: HTMLSpanElement;
  private compose!: Composer;
  private threadList!: HTMLOListElement;
  private emptyEl!: HTMLParagraphElement;
  private moreBtn!: HTMLButtonElement;

  constructor() {
    super();
    this.shadow = this.attachShadow({ mode: "open" });
    this.build();
    this.ready = true;
  }

  // --- lifecycle -------------------------------------------------------------------------------

  connectedCallback(): void {
    if (this.active) return;
    // `token` set on the element before this script defined it: an own property hides ours.
    if (Object.prototype.hasOwnProperty.call(this, "token")) {
      const early = (this as { token: string | null }).token;
      delete (this as { token?: string | null }).token;
      this.token = early;
    }
    this.active = true;
    this.queueStart();
  }

  disconnectedCallback(): void {
    this.active = false;
    this.room?.disconnect();
    this.setStatus("offline");
  }

  attributeChangedCallback(name: string, oldValue: string | null, newValue: string | null): void {
    if (oldValue === newValue || !this.active) return;
    if (name === "token") {
      // The page gave a new token: the room uses it from now on (at once unless connected).
      if (this.room) this.room.setToken(newValue ? newValue.trim() || null : null);
      else this.queueStart();
      return;
    }
    if (name === "token-url") return; // used from the next reconnect()
    this.queueStart(); // api-key, room or endpoint: a different connection
  }

  /** (Re)connect once, at the next microtask: attributes set one after another (or right after
   * the element was inserted) make one connection, not one per attribute. */
  private queueStart(): void {
    if (this.startQueued) return;
    this.startQueued = true;
    void Promise.resolve().then(() => {
      this.startQueued = false;
      if (this.active) this.reconnect();
    });
  }

  // --- public API ------------------------------------------------------------------------------

  get status(): Status {
    return this._status;
  }

  get lastError(): ErrorDetail | null {
    return this._lastError ? { ...this._lastError } : null;
  }

  get access(): AccessLevel | null {
    return this._access;
  }

  get token(): string | null {
    return this.getAttribute("token");
  }

  set token(value: string | null | undefined) {
    if (value === null || value === undefined || value === "") this.removeAttribute("token");
    else this.setAttribute("token", String(value));
  }

  get connectionId(): string | null {
    return this.room?.connectionId ?? null;
  }

  get self(): Member | null {
    const me = this.room?.self;
    return me ? copyMember(me) : null;
  }

  get others(): Member[] {
    return (this.room?.others ?? []).map(copyMember);
  }

  /** Share this user's presence (an object of at most 1 KB as JSON) with the room. At most one
   * message per 100 ms is sent; the latest data wins. Kept across reconnects. */
  updatePresence(data: Presence): void {
    if (!data || typeof data !== "object" || Array.isArray(data)) {
      throw new TypeError("updatePresence(data): data must be an object");
    }
    const json = JSON.stringify(data);
    if (new TextEncoder().encode(json).length > PRESENCE_MAX_BYTES) {
      this.emitError({ code: "PRESENCE_TOO_LARGE", message: "Presence must be at most 1 KB as JSON." });
      return;
    }
    this.presence = JSON.parse(json) as Presence;
    this.room?.updatePresence(this.presence, { replace: true });
  }

  /** Send any JSON value to the others in the room (they get pulse:broadcast). Needs "write"
   * access: below it nothing is sent and it returns false. */
  broadcast(event: JsonValue): boolean {
    if (event === undefined) throw new TypeError("broadcast(event): event is required");
    return this.room ? this.room.broadcast(event) : false;
  }

  /** Drop the current socket (if any) and connect again now (also after the widget stopped). */
  reconnect(): void {
    if (!this.active) return;
    const config = this.config();
    const missing = (["api-key", "room", "endpoint"] as const).filter(
      (name) => !config[name === "api-key" ? "apiKey" : name],
    );
    if (missing.length) {
      this.halt("MISSING_ATTRIBUTE", "Set " + missing.join(", ") + " on <pulse-widget>.");
      return;
    }
    const badRoom = roomProblem(config.room);
    if (badRoom) {
      this.halt("INVALID_ROOM", badRoom + ".");
      return;
    }
    if (!/^wss?:\/\/./i.test(config.endpoint)) {
      this.halt("BAD_ENDPOINT", "endpoint must be a ws:// or wss:// URL.");
      return;
    }
    const place = JSON.stringify(config);
    if (this.room && this.place === place) {
      this.room.reconnect();
      return;
    }
    this.leave();
    this.place = place;
    const token = (this.getAttribute("token") ?? "").trim();
    this.client = createClient({
      publicApiKey: config.apiKey,
      endpoint: config.endpoint,
      token: token || undefined,
      tokenUrl: config.tokenUrl || undefined,
      tokenMethod: config.tokenMethod,
    });
    const room = this.client.enterRoom(config.room, this.presence ? { initialPresence: this.presence } : {});
    this.room = room;
    this.listen(room);
    this.setStatus(room.status); // a new room starts "connecting" without an event saying so
    // enterRoom connects (at the next microtask: the start's errors are known before the page's
    // next script runs).
  }

  // --- the room ----------------------------------------------------------------------------------

  private config(): Config {
    const read = (name: string): string => (this.getAttribute(name) ?? "").trim();
    return {
      apiKey: read("api-key"),
      room: read("room"),
      endpoint: read("endpoint"),
      tokenUrl: read("token-url"),
      tokenMethod: read("token-method").toUpperCase() === "POST" ? "POST" : "GET",
    };
  }

  /** Leave the room of another configuration (its writes not sent are dropped with it). */
  private leave(): void {
    const wasUp = this._status === "connected";
    for (const off of this.listeners) off();
    this.listeners = [];
    this.client?.destroy();
    this.client = null;
    this.room = null;
    this.place = null;
    this.joinedAll = false;
    if (wasUp) this.emit("pulse:disconnected", { code: 1000, reason: "Client closing" });
  }

  private listen(room: Room): void {
    const on = this.listeners;
    on.push(room.on("status", ({ status }) => this.setStatus(status)));
    on.push(room.on("error", (error) => this.emitError(error)));
    on.push(
      room.on("connected", (e) => {
        this.joinedAll = true;
        if (e.self?.userId) this.lastUserId = e.self.userId;
        this.emit("pulse:connected", {
          connectionId: e.connectionId,
          self: e.self ? copyMember(e.self) : null,
          others: e.others.map(copyMember),
          access: e.access,
        });
        this.emitMembers(true);
      }),
    );
    on.push(
      room.on("disconnected", ({ code, reason }) => {
        this.joinedAll = false;
        this.emit("pulse:disconnected", { code, reason });
      }),
    );
    on.push(
      room.on("presence", ({ connectionId, userId, data }) =>
        this.emit("pulse:presence", { connectionId, userId, data }),
      ),
    );
    on.push(room.on("others", () => this.emitMembers(false)));
    on.push(
      room.on("broadcast", ({ connectionId, userId, event }) =>
        this.emit("pulse:broadcast", { connectionId, userId, event }),
      ),
    );
    on.push(room.on("access", ({ access, previous }) => this.setAccess(access, previous)));
    on.push(room.on("inbox", (e) => this.inboxUpdated(e)));
    on.push(
      room.on("notice", ({ message }) => {
        this.info = message;
        this.renderNotice();
      }),
    );
    on.push(room.on("users", () => this.queueRender())); // names of mentioned users arrived
    on.push(room.subscribe(() => this.queueRender()));
  }

  /** pulse:members when who is here changed (not for presence), once pulse:connected fired. */
  private emitMembers(always: boolean): void {
    if (!this.joinedAll || !this.room) return;
    const others = this.room.others;
    const key = others.map((m) => m.connectionId).join(" ");
    if (!always && key === this.membersKey) return;
    this.membersKey = key;
    this.emit("pulse:members", { members: others.map(copyMember) });
  }

  private setAccess(level: AccessLevel | null, previous: AccessLevel | null): void {
    this._access = level;
    if (level === null) this.removeAttribute("data-access");
    else this.setAttribute("data-access", level);
    if (previous !== level) {
      // A notice that an action needed more access no longer holds once the level rises.
      if (this.info && level !== null && previous !== null && LEVELS.indexOf(level) > LEVELS.indexOf(previous)) {
        this.info = "";
        this.renderNotice();
      }
      this.queueRender();
      this.emit("pulse:access", { access: level, previous });
    }
  }

  /** The user's unread count changed (any room): the page hears of it; a thread of this room
   * the visitor is in (focus inside it) is read at once. */
  private inboxUpdated(e: InboxUpdate): void {
    this.emit("pulse:inbox", {
      count: e.count,
      roomId: e.roomId ?? null,
      threadId: e.threadId,
      unreadCount: e.unreadCount,
    });
    if (!this.room || e.roomId !== this.room.roomId || !(e.unreadCount > 0)) return;
    // After the room has applied the update (it tells first): the thread is unread by then.
    queueMicrotask(() => {
      const view = this.threadViews.get(e.threadId);
      const focus = this.shadow.activeElement;
      if (view && focus && view.node.contains(focus)) this.readThread(e.threadId);
    });
  }

  // --- what the views ask of the widget ---------------------------------------------------------

  /** The views' window on the widget: its state and the room's actions (not the element's
   * public API). */
  private makeHost(): ThreadsHost {
    const withRoom = <T>(act: (room: Room) => Promise<T>): Promise<T> => {
      if (this.room) return act(this.room);
      const error: PulseError = { code: "NOT_CONNECTED", message: "Not connected; try again in a moment." };
      return Promise.reject(error);
    };
    const ignore = (): void => undefined; // an error itself went out as pulse:error
    return {
      connected: () => this.connected(),
      can: (needed) => this.can(needed),
      me: () => this.room?.self?.userId ?? this.lastUserId,
      user: (userId) => this.room?.getUser(userId) ?? null,
      userName: (userId) => this.room?.getUser(userId)?.name || userId || "Someone",
      reacted: (commentId, emoji) => !!this.room && this.room.hasReacted(commentId, emoji),
      loadingComments: (threadId) => !!this.room && this.room.isLoadingComments(threadId),
      thread: (threadId) => this.thread(threadId),
      searchUsers: (q) => withRoom((room) => room.searchUsers(q)),
      upload: (file, name, onProgress, signal) =>
        withRoom((room) =>
          room.uploadAttachment(file, { name, signal, onProgress: ({ loaded }) => onProgress(loaded) }),
        ),
      createThread: (body, attachmentIds) =>
        withRoom((room) => room.createThread(attachmentIds.length ? { body, attachmentIds } : { body })),
      resolve: (threadId, resolved) => withRoom((room) => room.resolveThread({ threadId, resolved })),
      reply: (threadId, body, attachmentIds) =>
        withRoom((room) =>
          room.createComment(attachmentIds.length ? { threadId, body, attachmentIds } : { threadId, body }),
        ),
      edit: (threadId, commentId, body) => withRoom((room) => room.editComment({ threadId, commentId, body })),
      remove: (threadId, commentId) => withRoom((room) => room.deleteComment({ threadId, commentId })),
      react: (threadId, commentId, emoji, add) =>
        withRoom((room) => {
          const input = { threadId, commentId, emoji };
          return add ? room.addReaction(input) : room.removeReaction(input);
        }),
      markRead: (threadId) => {
        // The visitor opened a thread (clicked or focused in it): read, if it has unread comments.
        if ((this.thread(threadId)?.unreadCount ?? 0) > 0) this.readThread(threadId);
      },
      setSubscribed: (threadId, subscribed) => {
        withRoom((room) =>
          subscribed ? room.subscribeToThread(threadId) : room.unsubscribeFromThread(threadId),
        ).then(ignore, ignore);
      },
      loadMore: (threadId) => {
        this.room?.loadMoreComments(threadId).then(ignore, ignore); // "Show more" stays to retry
        this.queueRender();
      },
    };
  }

  private connected(): boolean {
    return this._status === "connected";
  }

  /** The level the widget acts on: the connection's, none once it was ended (access removed,
   * session revoked), null while not known. */
  private level(): AccessLevel | null {
    return this.ended() ? "none" : this._access;
  }

  private can(needed: AccessLevel): boolean {
    const level = this.level();
    return level !== null && LEVELS.indexOf(level) >= LEVELS.indexOf(needed);
  }

  private ended(): boolean {
    return this._status === "stopped" && !!this._lastError && ENDED_BY.has(this._lastError.code);
  }

  private thread(threadId: string): Thread | null {
    return this.room?.threads.find((t) => t.id === threadId) ?? null;
  }

  private readThread(threadId: string): void {
    const ignore = (): void => undefined; // the room sends one at a time; an error is an event
    this.room?.markThreadRead(threadId).then(ignore, ignore);
  }

  // --- rendering ---------------------------------------------------------------------------------

  private build(): void {
    const root = this.shadow;
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS); // not subject to a page's style-src CSP
      root.adoptedStyleSheets = [sheet];
    } catch {
      root.appendChild(el("style", { text: CSS }));
    }

    const presenceLabel = nextId("pulse-presence");
    const avatars = el("ul", { className: "avatars", "aria-labelledby": presenceLabel });
    const here = el("span", { className: "here", "aria-hidden": "true" });
    this.presenceView = new PresenceView(avatars, here);
    this.statusEl = el("span", {
      className: "status",
      role: "status",
      "aria-live": "polite",
      "data-status": "offline",
      text: STATUS_TEXT.offline,
    });
    const bar = el("header", { className: "bar", part: "header" }, [
      el("div", { className: "presence" }, [
        el("span", { className: "sr-only", id: presenceLabel, text: "Who is here" }),
        avatars,
        here,
      ]),
      this.statusEl,
    ]);
    this.noticeText = el("span");
    this.retryBtn = el("button", { type: "button", text: "Try again", hidden: true });
    this.retryBtn.addEventListener("click", () => this.reconnect());
    this.notice = el("div", { className: "notice", role: "alert", hidden: true }, [this.noticeText, this.retryBtn]);

    const headingId = nextId("pulse-comments");
    this.countEl = el("span", { className: "sr-only" });
    this.openBtn = el("button", { type: "button", "aria-pressed": "true", text: "Open" });
    this.resolvedBtn = el("button", { type: "button", "aria-pressed": "false", text: "Resolved" });
    this.openBtn.addEventListener("click", () => this.setFilter("open"));
    this.resolvedBtn.addEventListener("click", () => this.setFilter("resolved"));
    const filters = el("div", { className: "filters", role: "group", "aria-label": "Show threads" }, [
      this.openBtn,
      this.resolvedBtn,
    ]);
    this.viewOnlyEl = el("span", {
      className: "view-only",
      title: VIEW_ONLY_TITLE,
      "aria-label": "View only: " + VIEW_ONLY_TITLE,
      text: "View only",
      hidden: true,
    });
    this.compose = composer(this.host, {
      label: "Start a new thread",
      placeholder: "Start a new thread…",
      submit: "Comment",
      hint: true,
      className: "compose new-thread",
      attach: true,
      onSubmit: (body, attachmentIds) =>
        this.host.createThread(body, attachmentIds).then(() => this.setFilter("open")),
    });
    this.threadList = el("ol", { className: "threads", "aria-labelledby": headingId });
    this.emptyEl = el("p", { className: "empty", text: "" });
    this.moreBtn = el("button", { type: "button", className: "load-more", text: "Try again" });
    this.moreBtn.addEventListener("click", () => {
      this.room?.listThreads().catch(() => undefined); // the list's error is shown instead
      this.queueRender();
    });
    const panel = el("section", { className: "panel", "aria-labelledby": headingId, part: "panel" }, [
      el("div", { className: "panel-head" }, [
        el("h2", { id: headingId }, [document.createTextNode("Comments"), this.countEl]),
        this.viewOnlyEl,
        filters,
      ]),
      this.compose.form,
      this.threadList,
      this.emptyEl,
      this.moreBtn,
    ]);
    root.append(bar, this.notice, panel);
    this.render();
  }

  private queueRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    queueMicrotask(() => {
      this.renderQueued = false;
      this.render();
    });
  }

  private render(): void {
    const room = this.room;
    const live = room && !this.ended();
    const others = this.presenceView.render(live ? room.self : null, live ? room.others : []);
    if (this.ready) this.setAttribute("data-members", String(others));
    this.renderThreads();
    this.renderNotice();
  }

  private setFilter(filter: "open" | "resolved"): void {
    this.filter = filter;
    this.openBtn.setAttribute("aria-pressed", String(filter === "open"));
    this.resolvedBtn.setAttribute("aria-pressed", String(filter === "resolved"));
    this.renderThreads();
  }

  private renderThreads(): void {
    const room = this.room;
    const all = room && !this.ended() ? room.threads : [];
    const open = all.filter((t) => !t.resolved);
    const resolved = all.filter((t) => t.resolved);
    this.openBtn.textContent = "Open (" + open.length + ")";
    this.resolvedBtn.textContent = "Resolved (" + resolved.length + ")";
    this.countEl.textContent = ", " + open.length + " open, " + resolved.length + " resolved";
    const visible = (this.filter === "resolved" ? resolved : open).slice().sort((a, b) => -byCreated(a, b));
    const nodes = visible.map((t) => {
      let view = this.threadViews.get(t.id);
      if (!view) {
        view = threadView(this.host, t.id);
        this.threadViews.set(t.id, view);
      }
      updateThread(this.host, view, t);
      return view.node;
    });
    const held = new Set(all.map((t) => t.id));
    this.threadViews.forEach((_view, id) => {
      if (!held.has(id)) this.threadViews.delete(id);
    });
    reconcile(this.threadList, nodes);
    const connected = this.connected();
    const canComment = this.can("comment");
    const list = room?.threadsState ?? null;
    let empty = "";
    if (connected && list?.error) {
      empty = "Comments could not be loaded: " + (list.error.message || list.error.code);
    } else if (!visible.length) {
      if (this.ended()) empty = ""; // the notice says why; nothing of the room is shown
      else if (!connected) empty = "Comments appear once connected.";
      else if (!list?.loaded) empty = "Loading comments…";
      else if (this.filter === "resolved") empty = "No resolved threads.";
      else empty = canComment ? "No open threads. Start one above." : "No open threads.";
    }
    this.emptyEl.textContent = empty;
    this.emptyEl.hidden = !empty;
    this.moreBtn.hidden = !(connected && list?.error);
    this.moreBtn.disabled = !connected || !!list?.loading;
    // Actions follow the level: none for "read" (and none before it is known).
    this.compose.form.hidden = !canComment;
    this.viewOnlyEl.hidden = this.level() !== "read";
    this.compose.sync();
  }

  // --- status, notice and events -----------------------------------------------------------------

  private setStatus(status: Status): void {
    const changed = status !== this._status;
    this._status = status;
    if (status === "connected") {
      this._lastError = null; // connected: nothing is wrong any more
      this.rawError = null;
      if (changed) this.info = "";
      if (this.room?.self?.userId) this.lastUserId = this.room.self.userId;
    }
    if (this.ready) this.setAttribute("data-status", status);
    this.statusEl.setAttribute("data-status", status);
    this.statusEl.textContent = STATUS_TEXT[status] || status;
    this.renderNotice();
    if (changed) {
      this.render();
      this.emit("pulse:status", { status });
    }
  }

  private renderNotice(): void {
    const text = this.noticeFor(this._status);
    this.noticeText.textContent = text;
    this.notice.hidden = !text;
    this.retryBtn.hidden = !(this._status === "stopped" && this._lastError?.code === "TOKEN_REFRESH_FAILED");
  }

  /** The line the page's visitor reads under the header: what is wrong, and what happens next. */
  private noticeFor(status: Status): string {
    const code = this._lastError?.code ?? null;
    const problem = this.rawError?.problem || "the sign-in service failed";
    const signIn = code === "TOKEN_REFRESH_FAILED";
    if (status === "stopped") {
      if (signIn) return SIGN_IN_FAILED + problem + ".";
      return (code && STOPPED_TEXT[code]) || MISCONFIGURED_TEXT;
    }
    if (status === "offline") return "You are offline. The widget reconnects when the network is back.";
    if (status === "connecting" || status === "reconnecting") {
      if (signIn) return SIGN_IN_FAILED + problem + ". Trying again…";
      if (status === "reconnecting") {
        return this.room?.everConnected ? "Connection lost. Reconnecting…" : "Could not connect. Trying again…";
      }
    }
    if (status === "connected") return this.info;
    return "";
  }

  /** Stop before any room is entered (an attribute is missing or wrong). */
  private halt(code: string, message: string): void {
    this.leave();
    this.emitError({ code, message });
    this.setStatus("stopped");
  }

  private emitError(error: PulseError): void {
    const detail: ErrorDetail = { code: error.code || "ERROR", message: inWidgetTerms(error.message || "") };
    if (error.requestId) detail.requestId = error.requestId;
    if (error.retryAfter !== undefined) detail.retryAfter = error.retryAfter;
    if (error.attempt !== undefined) detail.attempt = error.attempt;
    if (error.retryInMs !== undefined) detail.retryInMs = error.retryInMs;
    if (typeof error.needed === "string") detail.needed = error.needed;
    this._lastError = detail; // kept for listeners added later (status + lastError)
    this.rawError = error;
    this.emit("pulse:error", { ...detail });
  }

  private emit(name: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }
}
