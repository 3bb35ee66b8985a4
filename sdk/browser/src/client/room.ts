// One room's connection: dialling, tokens, reconnects with catch-up, presence, and the protocol's frames.
import { atLeast, LEVELS, levelOf, roomProblem, tokenLevel } from "./access.js";
import {
  BACKGROUND_MS,
  COMMENTS_SHOWN,
  ENDED_BY,
  GAP_WAIT_MS,
  NAME_LOOKUP_MS,
  OPEN,
  PING_MS,
  PONG_TIMEOUT_MS,
  PRESENCE_MAX_BYTES,
  REQUEST_TIMEOUT_MS,
  STABLE_MS,
  TOKEN_ATTEMPTS,
} from "./constants.js";
import { Emitter } from "./emitter.js";
import { Outbox } from "./outbox.js";
import { liveFrame, Position } from "./position.js";
import { Requests, toError } from "./requests.js";
import type { OnDone, OnError } from "./requests.js";
import { ThreadStore } from "./threads.js";
import type { Claims } from "./token.js";
import { askProvider, claimsOf, generationOf, isExpired, tokenBackoff, TokenProblem } from "./token.js";
import type {
  AccessLevel,
  Attachment,
  Comment,
  InboxUpdate,
  JsonValue,
  Member,
  NotificationSetting,
  NotificationSettings,
  Presence,
  PulseError,
  Reaction,
  Room,
  RoomEventMap,
  ServerMessage,
  Status,
  Thread,
  ThreadsState,
  TokenProvider,
  TokenReason,
  Unsubscribe,
  UploadOptions,
  UserInfo,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";
import { postFile } from "./upload.js";

/** What a room takes from its client. */
export interface RoomContext {
  publicApiKey: string;
  endpoint: string;
  token: string | null;
  provider: TokenProvider | null;
  /** How token failures name the provider ("token-url" for the tokenUrl convenience). */
  providerName: string;
  WebSocket: WebSocketConstructor | null;
  presenceThrottleMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  onInbox: (update: InboxUpdate) => void;
}

type Timer = ReturnType<typeof setTimeout>;

/** The room's own event names (RoomEventMap): never used for a frame of the same type. */
const OWN_EVENTS: ReadonlySet<string> = new Set([
  "status", "connected", "disconnected", "error", "presence", "others", "broadcast", "access",
  "threads", "inbox", "notice", "users", "message",
]);

const CHANGE_FRAMES = new Set([
  "thread.created",
  "thread.updated",
  "thread.deleted",
  "comment.created",
  "comment.updated",
  "comment.deleted",
  "room.updated",
  "room.deleted",
  "reaction.added",
  "reaction.removed",
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === "object" && !Array.isArray(value);
}

function memberOf(m: Record<string, unknown>): Member {
  return {
    connectionId: m.connectionId as string,
    userId: m.userId as string,
    name: (m.name as string | null | undefined) ?? null,
    avatar: (m.avatar as string | null | undefined) ?? null,
    color: (m.color as string | null | undefined) ?? null,
    presence: m.presence === undefined ? null : (m.presence as Presence | null),
  };
}

function global(): { addEventListener?: (t: string, h: () => void) => void; removeEventListener?: (t: string, h: () => void) => void } {
  return globalThis as never;
}

function offline(): boolean {
  return typeof navigator !== "undefined" && navigator.onLine === false;
}

export class RoomImpl implements Room {
  private readonly events = new Emitter<RoomEventMap>();
  private _status: Status = "connecting";
  private socket: WebSocketLike | null = null;
  private givenToken: string | null; // the client's token, or setToken()'s
  private fetched: string | null = null; // a token from the provider (used over givenToken)
  private fresh = false; // `fetched` and no connection has opened with it yet
  private tokenFailures = 0; // provider failures in a row
  private _lastError: PulseError | null = null;
  private _access: AccessLevel | null = null;
  private revoked: { token: string | null; sub: unknown; gen: number } | null = null;
  private dialToken: string | null = null; // the token the current socket was opened with
  private claims: Claims | null = null;
  private attempt = 0;
  private _everConnected = false;
  private wantRefresh = false;
  private retryTimer: Timer | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: Timer | null = null;
  private presenceTimer: Timer | null = null;
  private _presence: Presence | null;
  private presenceSentAt = 0;
  private joinedAt = 0;
  private _connectionId: string | null = null;
  private _self: Member | null = null;
  private members = new Map<string, Member>(); // connectionId -> member (others only)
  private othersSnapshot: readonly Member[] = Object.freeze([]);
  private othersDirty = false;
  private users = new Map<string, UserInfo>(); // userId -> name, avatar, color
  private readonly store: ThreadStore;
  private threadsLoaded = false;
  private loading = false;
  private listError: PulseError | null = null;
  private listComplete = false;
  private listRequestId: string | null = null;
  private listResolved: boolean | undefined = undefined;
  private listWaiters: { resolve: () => void; reject: (e: PulseError) => void }[] = [];
  private stateSnapshot: ThreadsState = { loaded: false, loading: false, complete: false, error: null };
  private joining = false; // room.joined said more: room.members frames follow
  private commentLoads = new Map<string, string>(); // threadId -> requestId of comments.list
  private commentWaiters = new Map<string, { resolve: () => void; reject: (e: PulseError) => void }[]>();
  private commentQueue: string[] = [];
  private pumping = false;
  private readonly requests: Requests;
  private readonly outbox: Outbox;
  private readonly position = new Position();
  private catchUp: { requestId: string; since: number; joinedSeq: number | null } | null = null;
  private nameQueue: string[] = [];
  private namesAsked = new Set<string>();
  private nameBusy = false;
  private generation = 0; // bumps on every (re)connect: late callbacks of old sockets are ignored
  private active = false;
  private startQueued = false;
  private flushQueued = false;
  private threadsEmitted = -1;
  private readonly onOnline = (): void => this.handleOnline();
  private readonly onOffline = (): void => this.handleOffline();

  constructor(
    readonly roomId: string,
    private readonly ctx: RoomContext,
    initialPresence: Presence | null,
  ) {
    this.givenToken = ctx.token;
    this._presence = initialPresence ? (JSON.parse(JSON.stringify(initialPresence)) as Presence) : null;
    this.requests = new Requests(
      (message) => this.send(message),
      (error) => this.emitError(error.code, error.message, error),
    );
    this.outbox = new Outbox(
      this.requests,
      () => this.myUserId(),
      () => this.active && this._status !== "stopped",
    );
    this.store = new ThreadStore(() => this.myUserId());
  }

  // --- state (snapshots: the same object until it changes) -----------------------------------

  get status(): Status {
    return this._status;
  }
  get access(): AccessLevel | null {
    return this._access;
  }
  get lastError(): PulseError | null {
    return this._lastError;
  }
  get connectionId(): string | null {
    return this._connectionId;
  }
  get self(): Member | null {
    return this._self;
  }
  get others(): readonly Member[] {
    if (this.othersDirty) {
      this.othersSnapshot = Object.freeze(Array.from(this.members.values()));
      this.othersDirty = false;
    }
    return this.othersSnapshot;
  }
  get presence(): Presence | null {
    return this._presence;
  }
  get threads(): readonly Thread[] {
    return this.store.list();
  }
  get threadsState(): ThreadsState {
    const s = this.stateSnapshot;
    const loading = this.loading;
    if (s.loaded !== this.threadsLoaded || s.loading !== loading || s.complete !== this.listComplete || s.error !== this.listError) {
      this.stateSnapshot = { loaded: this.threadsLoaded, loading, complete: this.listComplete, error: this.listError };
    }
    return this.stateSnapshot;
  }
  get everConnected(): boolean {
    return this._everConnected;
  }

  on<K extends keyof RoomEventMap & string>(type: K, handler: (event: RoomEventMap[K]) => void): Unsubscribe {
    return this.events.on(type, handler);
  }

  subscribe(listener: () => void): Unsubscribe {
    return this.events.subscribe(listener);
  }

  /** Something changed: listeners hear of it once, at the next microtask (one batch per frame). */
  private changed(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      if (this.threadsEmitted !== this.store.version) {
        this.threadsEmitted = this.store.version;
        this.events.emit("threads", { threads: this.store.list() });
      }
      this.events.notify();
    });
  }

  private emit<K extends keyof RoomEventMap & string>(type: K, event: RoomEventMap[K]): void {
    this.events.emit(type, event);
  }

  // --- lifecycle -----------------------------------------------------------------------------

  /** Start connecting (at the next microtask, so handlers added right after enterRoom hear
   * everything); nothing when already active. */
  connect(): void {
    if (this.active) return;
    this.active = true;
    global().addEventListener?.("online", this.onOnline);
    global().addEventListener?.("offline", this.onOffline);
    this.queueStart();
  }

  /** Close the connection for good (status "offline") until connect() or reconnect(). */
  disconnect(): void {
    if (!this.active) return;
    this.active = false;
    global().removeEventListener?.("online", this.onOnline);
    global().removeEventListener?.("offline", this.onOffline);
    this.stop("offline");
  }

  /** Drop the current socket (if any) and connect again now (also after the room stopped). */
  reconnect(): void {
    if (!this.active) {
      this.active = true;
      global().addEventListener?.("online", this.onOnline);
      global().addEventListener?.("offline", this.onOffline);
    }
    this.stop(null);
    this.attempt = 0;
    this.tokenFailures = 0;
    this.start();
  }

  setToken(token: string | null): void {
    this.givenToken = token || null;
    this.fetched = null; // the page gave a new token: use it from now on
    this.fresh = false;
    this.wantRefresh = false;
    if (this.active && this._status !== "connected") this.queueStart();
  }

  /** The client left the room: closed, and its listeners forgotten. */
  destroy(): void {
    this.disconnect();
    this.setStatus("stopped");
    this.events.clear();
  }

  /** (Re)connect once, at the next microtask: several calls make one connection. */
  private queueStart(): void {
    if (this.startQueued) return;
    this.startQueued = true;
    void Promise.resolve().then(() => {
      this.startQueued = false;
      if (this.active) this.reconnect();
    });
  }

  private currentToken(): string | null {
    return this.fetched || this.givenToken;
  }

  private start(): void {
    const badRoom = roomProblem(this.roomId);
    if (badRoom) {
      this.halt("INVALID_ROOM", badRoom + ".");
      return;
    }
    if (offline()) {
      this.setStatus("offline"); // the "online" event starts it
      return;
    }
    this.setStatus(this._everConnected ? "reconnecting" : "connecting");
    this.open();
  }

  private open(): void {
    const generation = ++this.generation;
    const token = this.currentToken();
    const revoked = this.isRevoked(token);
    const outside = !!token && tokenLevel(claimsOf(token), this.roomId) === "none";
    const expired = !!token && isExpired(token);
    const needsToken = !token || revoked || outside || expired || this.wantRefresh;
    const provider = this.ctx.provider;
    if (needsToken && provider) {
      const reason: TokenReason = !token ? "initial" : expired ? "expired" : "refused";
      askProvider(provider, this.roomId, reason, this.ctx.providerName).then(
        (fresh) => {
          if (generation !== this.generation || !this.active) return;
          this.fetched = fresh;
          this.fresh = true;
          this.wantRefresh = false;
          this.tokenFailures = 0;
          if (tokenLevel(claimsOf(fresh), this.roomId) === "none") {
            this.outside(this.ctx.providerName + "'s token");
            return;
          }
          this.dial(fresh, generation);
        },
        (error: unknown) => {
          if (generation !== this.generation || !this.active) return;
          this.tokenFailed(error);
        },
      );
      return;
    }
    if (revoked) {
      this.halt(
        "TOKEN_REVOKED",
        "The token was revoked and there is no token provider. Set a token minted after the " +
          "revocation (setToken()), or a token provider (tokenProvider or tokenUrl).",
      );
      return;
    }
    if (outside) {
      this.outside("The token");
      return;
    }
    if (!token || expired) {
      // Nothing to connect with and nowhere to get a token from: the page must give one.
      this.halt(
        token ? "TOKEN_EXPIRED" : "MISSING_TOKEN",
        (token ? "The token has expired and there is no token provider. " : "There is no token and no token provider. ") +
          "Set a fresh token from your backend (setToken(): the room connects with it at once), " +
          "or a token provider (tokenProvider or tokenUrl) to get one from.",
      );
      return;
    }
    this.dial(token, generation);
  }

  /** The provider failed: try again after a growing wait, or stop after TOKEN_ATTEMPTS in a row. */
  private tokenFailed(error: unknown): void {
    if (offline()) {
      this.setStatus("offline"); // not the provider's fault: the "online" event starts it again
      return;
    }
    this.tokenFailures += 1;
    const problem = error instanceof TokenProblem ? error.problem : "the sign-in service failed";
    const detail = error instanceof Error ? error.message : String(error);
    const attempt = this.tokenFailures;
    const message = "Could not get a token from " + this.ctx.providerName + ": " + detail;
    if (attempt >= TOKEN_ATTEMPTS) {
      this.halt(
        "TOKEN_REFRESH_FAILED",
        message + ". Stopped after " + attempt + " failures in a row; call reconnect() or set a token to try again.",
        { attempt, retryInMs: null, problem },
      );
      return;
    }
    const delay = tokenBackoff(attempt);
    this.emitError("TOKEN_REFRESH_FAILED", message + ". Trying again in " + delay + " ms.", {
      attempt,
      retryInMs: delay,
      problem,
    });
    this.setStatus(this._everConnected ? "reconnecting" : "connecting");
    this.schedule(delay);
  }

  /** An access token whose permissions do not reach the room: the server would refuse the
   * handshake (403 ROOM_ACCESS_DENIED, which a browser is not shown), so it is not dialled. */
  private outside(whose: string): void {
    this.setAccess("none");
    this.halt(
      "ROOM_ACCESS_DENIED",
      whose +
        " is an access token whose permissions give no access to room " +
        this.roomId +
        ": set a token that names it (or a prefix of it), or a token provider that mints one.",
    );
  }

  /** Whether the server revoked `token`: the very token, or another of the same user minted
   * before the revocation (a token's `gen`, which every revocation moves on). */
  private isRevoked(token: string | null): boolean {
    const dead = this.revoked;
    if (!token || !dead) return false;
    if (token === dead.token) return true;
    const claims = claimsOf(token);
    return !!claims && claims.sub === dead.sub && generationOf(claims) <= dead.gen;
  }

  /** Stop trying: status "stopped" with the error that says why. setToken() or reconnect()
   * starts it again. */
  private halt(code: string, message: string, extra?: Partial<PulseError>): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.outbox.drop("NOT_CONNECTED", "Not connected: this may not have been saved.");
    this.rejectWaiters({ code, message });
    this.emitError(code, message, extra);
    this.setStatus("stopped");
  }

  private dial(token: string, generation: number): void {
    let url: URL;
    try {
      url = new URL(this.ctx.endpoint);
      if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new Error("not ws(s)");
      url.searchParams.set("apiKey", this.ctx.publicApiKey);
      url.searchParams.set("token", token);
      url.searchParams.set("room", this.roomId);
    } catch {
      this.halt("BAD_ENDPOINT", "endpoint must be a ws:// or wss:// URL.");
      return;
    }
    const Socket = this.ctx.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? null;
    let socket: WebSocketLike;
    try {
      if (!Socket) throw new Error("no WebSocket class: pass options.WebSocket");
      socket = new Socket(url.href);
    } catch (e) {
      this.emitError("CONNECT_FAILED", e instanceof Error ? e.message : String(e));
      this.retry();
      return;
    }
    let opened = false;
    this.socket = socket;
    this.dialToken = token;
    this.claims = claimsOf(token);
    socket.onopen = () => {
      if (generation !== this.generation) return;
      opened = true;
      this.fresh = false; // the token was accepted
      this.sendJoin();
    };
    socket.onmessage = (event) => {
      if (generation !== this.generation) return;
      let message: unknown;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (isObject(message) && typeof message.type === "string") this.handle(message as ServerMessage);
    };
    socket.onclose = (event) => {
      if (generation !== this.generation) return;
      this.closed(opened, event.code, event.reason || "");
    };
    socket.onerror = () => {
      // Always followed by close, which decides what to do.
    };
  }

  private closed(opened: boolean, code: number, reason: string): void {
    const wasUp = this._status === "connected";
    this.socket = null;
    this.clearTimers();
    this.requests.failAll("NOT_CONNECTED", "The connection closed.");
    this.clearPresence();
    const stable = this.joinedAt && Date.now() - this.joinedAt >= STABLE_MS;
    this.joinedAt = 0;
    this._connectionId = null;
    if (stable) this.attempt = 0;
    // Refused (never opened) or dropped abnormally: the token may be the reason; get a new one.
    // Not when the provider just gave it: another would be refused alike (a full room, a bad
    // key), and each would be minted by the customer's backend. It is replaced near expiry.
    if ((!opened || (code !== 1000 && code !== 1001)) && !(this.fresh && !opened)) {
      this.wantRefresh = true;
    }
    if (wasUp || opened) this.emit("disconnected", { code, reason });
    if (!opened) {
      // A browser is not told why (the status is hidden from it): say what it may be.
      this.emitError(
        "CONNECT_REFUSED",
        "Could not connect: refused (bad key or token, bad room, full room, no access to the " +
          "room, a room that does not exist) or unreachable.",
      );
    }
    if (!this.active) return;
    this.retry();
  }

  private retry(): void {
    if (!this.active) return;
    const cap = Math.min(this.ctx.backoffMaxMs, this.ctx.backoffInitialMs * Math.pow(2, this.attempt));
    const delay = Math.random() * cap; // full jitter
    this.attempt = Math.min(this.attempt + 1, 30);
    this.setStatus(offline() ? "offline" : "reconnecting");
    this.schedule(delay);
  }

  private schedule(delay: number): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.active) this.start();
    }, delay);
  }

  /** Close the socket for good (status "offline") or for a reconnect (status null: unchanged);
   * `reason` goes to the disconnected event. */
  private stop(status: Status | null, reason?: string): void {
    this.generation++;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    const wasUp = this._status === "connected";
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(1000, "Client closing");
      } catch {
        /* already closed */
      }
    }
    this.requests.failAll("NOT_CONNECTED", "The connection closed.");
    this.clearPresence();
    this.joinedAt = 0;
    this._connectionId = null;
    if (wasUp) this.emit("disconnected", { code: 1000, reason: reason || "Client closing" });
    if (status) this.setStatus(status);
  }

  private handleOnline(): void {
    // A stop the network may explain (the provider unreachable) ends; one only the page can
    // end (no token, an expired one) does not.
    const stuck = this._status === "stopped" && !this.retryable();
    if (this.active && !this.socket && !stuck) {
      this.attempt = 0;
      this.tokenFailures = 0;
      if (this.retryTimer !== null) clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.start();
    }
  }

  private handleOffline(): void {
    if (this._status !== "connected" && this._status !== "stopped") this.setStatus("offline");
  }

  /** Stopped for a reason trying again may fix. */
  private retryable(): boolean {
    return !!this._lastError && this._lastError.code === "TOKEN_REFRESH_FAILED";
  }

  private clearTimers(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    if (this.pongTimer !== null) clearTimeout(this.pongTimer);
    if (this.presenceTimer !== null) clearTimeout(this.presenceTimer);
    this.pingTimer = this.pongTimer = this.presenceTimer = null;
  }

  private send(message: Record<string, unknown>): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  /** Send a request and settle a promise from its answer (internal: the client's inbox too). */
  request(message: Record<string, unknown>): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      this.requests.request(message, resolve, reject);
    });
  }

  private startPing(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      if (this.pongTimer !== null) clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => {
        // No pong: the socket is half-open. Drop it and reconnect.
        this.dropSocket(undefined);
        this.closed(true, 1006, "No pong");
      }, PONG_TIMEOUT_MS);
    }, PING_MS);
  }

  private dropSocket(reason: string | undefined): void {
    const socket = this.socket;
    this.generation++;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        if (reason === undefined) socket.close();
        else socket.close(1000, reason);
      } catch {
        /* ignore */
      }
    }
  }

  // --- presence and broadcast ----------------------------------------------------------------

  updatePresence(patch: Presence, options?: { replace?: boolean }): void {
    if (!isObject(patch)) throw new TypeError("updatePresence(patch): patch must be an object");
    const next = options?.replace ? patch : { ...(this._presence ?? {}), ...patch };
    const json = JSON.stringify(next);
    if (new TextEncoder().encode(json).length > PRESENCE_MAX_BYTES) {
      this.emitError("PRESENCE_TOO_LARGE", "Presence must be at most 1 KB as JSON.");
      return;
    }
    this._presence = JSON.parse(json) as Presence;
    this.changed();
    this.schedulePresence();
  }

  private schedulePresence(): void {
    if (this.presenceTimer !== null || this._presence === null) return;
    const wait = this.presenceSentAt + this.ctx.presenceThrottleMs - Date.now();
    if (wait <= 0) {
      this.flushPresence();
      return;
    }
    this.presenceTimer = setTimeout(() => {
      this.presenceTimer = null;
      this.flushPresence();
    }, wait);
  }

  private flushPresence(): void {
    if (this._presence === null || !this._connectionId) return; // sent after the next join
    if (this.send({ type: "presence.update", data: this._presence })) {
      this.presenceSentAt = Date.now();
      if (this._self) this._self = { ...this._self, presence: this._presence };
      this.changed();
    }
  }

  /** Send any JSON value to the others (their `broadcast` event). Needs "write" access: below
   * it nothing is sent (the server would refuse it) and it returns false. */
  broadcast(event: JsonValue): boolean {
    if (event === undefined) throw new TypeError("broadcast(event): event is required");
    if (this._connectionId && this._access !== null && !atLeast(this._access, "write")) {
      const message = "broadcast needs write access; this connection has " + this._access + ".";
      this.emitError("ACCESS_DENIED", message, { needed: "write" });
      return false;
    }
    return this.send({ type: "broadcast", event });
  }

  // --- server frames -------------------------------------------------------------------------

  private handle(m: ServerMessage): void {
    switch (m.type) {
      case "room.joined":
        this.joined(m);
        break;
      case "room.members":
        this.moreMembers(m);
        break;
      case "pong":
        if (this.pongTimer !== null) clearTimeout(this.pongTimer);
        this.pongTimer = null;
        break;
      case "user.joined":
        this.memberIn(m);
        this.emitOthers();
        break;
      case "user.left":
      case "users.left": // several left at once: one frame naming them all
        for (const gone of m.type === "users.left" ? (Array.isArray(m.left) ? m.left : []) : [m]) {
          if (isObject(gone) && this.members.delete(gone.connectionId as string)) this.othersDirty = true;
        }
        this.changed();
        this.emitOthers();
        break;
      case "presence.updated":
        this.presenceUpdated(m);
        break;
      case "broadcast":
        this.emit("broadcast", {
          connectionId: m.connectionId as string,
          userId: m.userId as string,
          event: m.event as JsonValue,
        });
        break;
      case "threads.listed":
        if (m.requestId === this.listRequestId) {
          this.listPage(Array.isArray(m.data) ? m.data : [], (m.nextCursor as string | null) || null);
        }
        break;
      case "comments.listed":
        this.commentsListed(m);
        break;
      case "room.events":
        this.roomEvents(m);
        break;
      case "room.caughtUp":
        this.caughtUp(m);
        break;
      case "resync.required":
        if (this.catchUp && m.requestId === this.catchUp.requestId) {
          this.resync(typeof m.seq === "number" ? m.seq : null);
        }
        break;
      case "access.changed":
        this.accessChanged(m.access);
        break;
      case "inbox.updated":
        this.inboxUpdated(m);
        break;
      case "thread.read":
        this.store.marks(m.threadId as string, { unreadCount: m.unreadCount });
        this.changed();
        break;
      case "thread.subscription":
        this.store.marks(m.threadId as string, { subscribed: m.subscribed });
        this.changed();
        break;
      case "users.found":
        this.usersFound(m.data);
        break;
      case "error":
        if (m.code === "NOT_CONNECTED") {
          this.requests.settle(m);
          this.dropSocket("Reconnecting");
          this.closed(true, 1000, "Reconnecting");
          this.emitFrame(m);
          return;
        }
        if (m.code === "TOKEN_REVOKED") {
          this.tokenRevoked(m);
          this.emitFrame(m);
          return;
        }
        this.emitError(toError(m).code, toError(m).message, toError(m));
        if (m.code === "ACCESS_DENIED") this.denied(m);
        if (m.code === "REPLY_TOO_LARGE") this.changeTooLarge(m);
        break;
      default:
        if (CHANGE_FRAMES.has(m.type)) {
          this.change(m);
          this.changed();
        } else if (typeof m.seq === "number") {
          this.position.add(m.seq); // a change this client does not know (a newer server's)
        }
        break;
    }
    this.requests.settle(m);
    this.emitFrame(m);
  }

  private emitFrame(m: ServerMessage): void {
    this.emit("message", m);
    // A frame named like one of the room's own events ("broadcast", "error") is that event
    // already, in its own shape: emitted again as the raw frame, handlers would hear it twice.
    if (!OWN_EVENTS.has(m.type)) this.emit(m.type, m);
  }

  private joined(m: ServerMessage): void {
    this._connectionId = (m.connectionId as string) || null;
    // A server from before room access sends none: it lets every connection do everything.
    this.setAccess(m.access === undefined ? "write" : levelOf(m.access));
    const me = isObject(m.self) ? m.self : {};
    this._self = memberOf({ ...me, connectionId: this._connectionId, presence: this._presence });
    this.rememberUser(me);
    // A fresh list on every (re)connect: nothing from a previous connection survives.
    this.members = new Map();
    this.othersDirty = true;
    for (const other of Array.isArray(m.others) ? m.others : []) this.memberIn(other);
    this.joinedAt = Date.now(); // the backoff resets once this connection has proved stable
    this._everConnected = true;
    this._lastError = null;
    this.setStatus("connected");
    this.startPing();
    this.rejoined(m);
    if (this._presence !== null) this.flushPresence();
    this.pumpNames();
    this.joining = m.more === true;
    this.changed();
    if (!this.joining) {
      this.joinedAll();
      return;
    }
    // A big room's members come in room.joined, then room.members frames (the last says
    // more: false). Should one never come, carry on with who is known.
    const generation = this.generation;
    setTimeout(() => {
      if (this.joining && generation === this.generation) this.joinedAll();
    }, REQUEST_TIMEOUT_MS);
  }

  private moreMembers(m: ServerMessage): void {
    if (!this.joining) return;
    for (const other of Array.isArray(m.others) ? m.others : []) this.memberIn(other);
    this.changed();
    if (m.more !== true) this.joinedAll();
  }

  private joinedAll(): void {
    this.joining = false;
    this.emit("connected", {
      connectionId: this._connectionId,
      self: this._self,
      others: this.others.slice(),
      access: this._access,
    });
    this.emitOthers();
  }

  private emitOthers(): void {
    this.emit("others", { others: this.others.slice() });
  }

  private memberIn(m: unknown): void {
    if (!isObject(m) || !m.connectionId || m.connectionId === this._connectionId) return;
    this.members.set(m.connectionId as string, memberOf(m));
    this.othersDirty = true;
    this.rememberUser(m);
    this.changed();
  }

  private rememberUser(m: Record<string, unknown>): void {
    if (typeof m.userId === "string" && m.userId) {
      this.users.set(m.userId, {
        userId: m.userId,
        name: (m.name as string | null | undefined) ?? null,
        avatar: (m.avatar as string | null | undefined) ?? null,
        color: (m.color as string | null | undefined) ?? null,
      });
    }
  }

  private presenceUpdated(m: ServerMessage): void {
    const member = this.members.get(m.connectionId as string);
    const data = m.data === undefined ? null : (m.data as Presence | null);
    if (member) {
      this.members.set(member.connectionId, { ...member, presence: data });
      this.othersDirty = true;
      this.changed();
    }
    this.emit("presence", { connectionId: m.connectionId as string, userId: m.userId as string, data });
  }

  private clearPresence(): void {
    if (this.members.size) this.othersDirty = true;
    this.members = new Map();
    this._self = null;
    this.changed();
  }

  // --- access --------------------------------------------------------------------------------

  private setAccess(level: AccessLevel | null): void {
    const previous = this._access;
    this._access = level;
    if (previous !== level) {
      this.changed();
      this.emit("access", { access: level, previous });
    }
  }

  /** access.changed: held to the new level from the next message on; "none" ends it (the server
   * closes the connection right after, and a new one would be refused). */
  private accessChanged(value: unknown): void {
    if (typeof value !== "string") return;
    const level = levelOf(value);
    if (level === "none") {
      this.end(
        "ACCESS_REMOVED",
        "This user's access to the room was removed, and the connection was closed. The room " +
          "does not reconnect on its own: reconnect() or a new token tries again.",
        "none",
      );
      return;
    }
    this.setAccess(level);
  }

  /** An action above the level (sent before an access.changed arrived): say so, and act below
   * what it needed from now on. */
  private denied(m: ServerMessage): void {
    this.emit("notice", { message: (m.message as string) || "You do not have access to do that here." });
    const needed = LEVELS.indexOf(m.needed as AccessLevel);
    if (needed > 0 && this._access !== null && LEVELS.indexOf(this._access) >= needed) {
      this.setAccess(LEVELS[needed - 1] ?? null);
    }
  }

  /** The customer's backend revoked this user's tokens: the server closes the connection. The
   * token (and any older one of the user) is never sent again. */
  private tokenRevoked(m: ServerMessage): void {
    const token = this.dialToken;
    const claims = claimsOf(token);
    this.revoked = { token, sub: claims?.sub, gen: generationOf(claims) };
    if (this.fetched === token) this.fetched = null;
    this.fresh = false;
    this.end(
      "TOKEN_REVOKED",
      (typeof m.message === "string" && m.message ? m.message + " " : "") +
        "The room does not reconnect with this token: set a new one (setToken()), or call " +
        "reconnect() to get one from the token provider.",
      null,
    );
  }

  /** End the room's place: close the socket, forget its people and threads (this user may no
   * longer see them), and stop with `code`. */
  private end(code: string, message: string, level: AccessLevel | null): void {
    this.stop(null, code);
    this.store.clear();
    this.threadsLoaded = false;
    this.listComplete = false;
    this.position.reset(null);
    this.listError = null;
    this.commentQueue = [];
    this.commentLoads.clear();
    this.setAccess(level);
    this.halt(code, message);
  }

  /** Whether the room's place was ended (access removed, session revoked). */
  get ended(): boolean {
    return this._status === "stopped" && !!this._lastError && ENDED_BY.has(this._lastError.code);
  }

  // --- catching up after a reconnect (docs/protocol.md, "Order and catch-up") ---------------

  /** join: with sinceSeq when the whole room is held as of a known position, so the server sends
   * only what was missed; otherwise a plain join, and the threads are listed. */
  private sendJoin(): void {
    const since = this.position.seq;
    if (since === null || !this.listComplete) {
      this.catchUp = null;
      this.send({ type: "join" });
      return;
    }
    const requestId = this.requests.nextId();
    this.catchUp = { requestId, since, joinedSeq: null };
    this.send({ type: "join", sinceSeq: since, requestId });
  }

  /** After room.joined: catch up (room.events, then room.caughtUp or resync.required follow),
   * or list the room from the start as of room.joined's seq. */
  private rejoined(m: ServerMessage): void {
    const seq = typeof m.seq === "number" ? m.seq : null;
    this.outbox.mutationIds = seq !== null; // a server before seq knows no clientMutationId either
    if (this.catchUp && seq !== null) {
      this.catchUp.joinedSeq = seq;
      const requestId = this.catchUp.requestId;
      // Should room.caughtUp never come, list everything as of the join instead.
      this.later(REQUEST_TIMEOUT_MS, () => {
        if (this.catchUp && this.catchUp.requestId === requestId) this.resync(seq);
      });
      return;
    }
    this.catchUp = null;
    this.resync(seq);
  }

  /** List the threads from the start, at position `seq` (null: unknown); then resend what was
   * not acknowledged. */
  private resync(seq: number | null): void {
    this.catchUp = null;
    this.position.reset(seq);
    this.store.forgetVersions();
    this.loadThreads(null);
    this.outbox.resend();
  }

  /** room.events: changes missed, in seq order, applied as their live frames are. */
  private roomEvents(m: ServerMessage): void {
    if (!this.catchUp || m.requestId !== this.catchUp.requestId) return;
    for (const event of Array.isArray(m.events) ? m.events : []) {
      const frame = liveFrame(event);
      if (frame) this.change(frame);
    }
    this.changed();
  }

  /** room.caughtUp: every change up to `seq` has come, or is on its way as a live frame. A gap
   * still left below it after GAP_WAIT_MS means a change that will not come: list everything. */
  private caughtUp(m: ServerMessage): void {
    if (!this.catchUp || m.requestId !== this.catchUp.requestId) return;
    const seq = typeof m.seq === "number" ? m.seq : this.catchUp.joinedSeq;
    if (seq !== null && !this.reached(seq)) {
      this.later(GAP_WAIT_MS, () => {
        if (!this.reached(seq)) this.resync(seq);
      });
    }
    this.catchUp = null;
    // The listing of threads' further comments that the drop cut short goes on.
    this.pumping = false;
    for (const id of this.store.ids()) this.queueComments(id);
    this.outbox.resend();
    this.changed();
  }

  private reached(seq: number): boolean {
    return this.position.seq !== null && this.position.seq >= seq;
  }

  /** A change too large to send (error REPLY_TOO_LARGE with its seq): list again to catch up.
   * Its seq counts as seen: the list started here shows the change. */
  private changeTooLarge(m: ServerMessage): void {
    const seq = typeof m.seq === "number" ? m.seq : null;
    if (seq === null ? !!m.requestId : this.position.has(seq)) return;
    if (seq !== null) this.position.add(seq);
    if (this.threadsLoaded) this.loadThreads(null);
  }

  /** A change frame: applied unless it was already (caught up, or a replayed acknowledgement);
   * its seq moves the position on. */
  private change(m: ServerMessage): void {
    const seq = typeof m.seq === "number" ? m.seq : null;
    if (m.type === "reaction.added" || m.type === "reaction.removed") this.store.noteMyReaction(m);
    if (seq !== null && this.position.has(seq)) return;
    this.store.apply(m, seq);
    if (seq !== null) this.position.add(seq);
  }

  // --- threads -------------------------------------------------------------------------------

  /** List every thread from the start (all pages); resolves once the last page arrived. The
   * room lists by itself on every (re)connect that cannot catch up. */
  listThreads(options?: { resolved?: boolean }): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this._status === "stopped") {
        reject({ code: "NOT_CONNECTED", message: "The room is stopped: reconnect() first." });
        return;
      }
      this.listWaiters.push({ resolve, reject });
      const resolved = options?.resolved;
      const same = resolved === this.listResolved;
      this.listResolved = resolved;
      if (this._status !== "connected") return; // the join lists (or catches up)
      if (!same || this.listError || this.listComplete || !this.loading) this.loadThreads(null);
    });
  }

  private loadThreads(cursor: string | null): void {
    const message: Record<string, unknown> = { type: "threads.list", comments: true };
    if (cursor) message.cursor = cursor;
    if (this.listResolved !== undefined) message.resolved = this.listResolved;
    this.loading = true;
    this.listError = null;
    if (!cursor) {
      this.listComplete = false;
      this.store.startList(); // live changes that arrive meanwhile are kept over the pages
      this.commentQueue = [];
      this.pumping = false; // a pump timer of a previous connection never fires
    }
    // The answer (threads.listed) is handled as a frame: it may queue the next page.
    this.listRequestId = this.requests.request(message, undefined, (error) => this.listFailed(error, cursor));
    this.changed();
  }

  private listFailed(error: PulseError, cursor: string | null): void {
    this.loading = false;
    if (error.code === "ITEM_TOO_LARGE" && "nextCursor" in error) {
      // One thread cannot be sent at all: skip it, say so, and go on with the rest.
      this.emit("notice", { message: "A thread is too large to show here; it was skipped." });
      this.listPage([], error.nextCursor || null);
      return;
    }
    if (error.code === "RATE_LIMITED" || error.code === "SERVICE_UNAVAILABLE") {
      this.loading = true;
      this.later((error.retryAfter || 1) * 1000, () => this.loadThreads(cursor));
      return;
    }
    if (error.code === "NOT_CONNECTED") {
      this.changed(); // the rejoin lists again (or catches up)
      return;
    }
    this.store.stopList();
    this.listError = error;
    if (error.code === "TIMEOUT") this.listRequestId = null; // a late answer is ignored
    this.rejectWaiters(error);
    this.changed();
  }

  private listPage(data: unknown[], nextCursor: string | null): void {
    this.store.page(data, !nextCursor);
    this.threadsLoaded = true;
    this.loading = false;
    for (const t of data) if (isObject(t) && typeof t.id === "string") this.queueComments(t.id);
    if (nextCursor) {
      this.loading = true;
      this.later(BACKGROUND_MS, () => this.loadThreads(nextCursor));
    } else {
      this.listComplete = true;
      const waiters = this.listWaiters;
      this.listWaiters = [];
      for (const w of waiters) w.resolve();
    }
    this.changed();
  }

  private rejectWaiters(error: PulseError): void {
    const waiters = this.listWaiters;
    this.listWaiters = [];
    for (const w of waiters) w.reject(error);
  }

  /** `fn` after `ms`, unless the room has reconnected (or stopped) meanwhile. */
  private later(ms: number, fn: () => void): void {
    const generation = this.generation;
    setTimeout(() => {
      if (generation === this.generation && this.socket) fn();
    }, ms);
  }

  private queueComments(threadId: string): void {
    const thread = this.store.get(threadId);
    if (!thread || !thread.commentsNextCursor || thread.comments.length >= COMMENTS_SHOWN) return;
    if (!this.commentQueue.includes(threadId)) this.commentQueue.push(threadId);
    this.pumpComments();
  }

  private pumpComments(): void {
    if (this.commentLoads.size || !this.commentQueue.length || this.pumping) return;
    this.pumping = true;
    this.later(BACKGROUND_MS, () => {
      this.pumping = false;
      const threadId = this.commentQueue.shift();
      if (threadId) this.loadComments(threadId, false);
      this.pumpComments();
    });
  }

  /** A thread's comments past those held: its first ones are listed by themselves up to
   * COMMENTS_SHOWN (a thread sheds comments to fit one message); more on request. */
  loadMoreComments(threadId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const thread = this.store.get(threadId);
      if (!thread || !thread.commentsNextCursor) {
        resolve();
        return;
      }
      const waiters = this.commentWaiters.get(threadId) ?? [];
      waiters.push({ resolve, reject });
      this.commentWaiters.set(threadId, waiters);
      if (!this.commentLoads.has(threadId)) this.loadComments(threadId, true);
    });
  }

  isLoadingComments(threadId: string): boolean {
    return this.commentLoads.has(threadId);
  }

  private settleComments(threadId: string, error: PulseError | null): void {
    const waiters = this.commentWaiters.get(threadId) ?? [];
    this.commentWaiters.delete(threadId);
    for (const w of waiters) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }

  private loadComments(threadId: string, more: boolean): void {
    const thread = this.store.get(threadId);
    if (!thread || !thread.commentsNextCursor || this.commentLoads.has(threadId)) return;
    if (!more && thread.comments.length >= COMMENTS_SHOWN) return;
    const requestId = this.requests.request(
      { type: "comments.list", threadId, cursor: thread.commentsNextCursor },
      () => {
        this.commentLoads.delete(threadId);
        this.settleComments(threadId, null);
        this.pumpComments();
      },
      (error) => {
        this.commentLoads.delete(threadId);
        const known = this.store.get(threadId);
        if (known && error.code === "ITEM_TOO_LARGE" && "nextCursor" in error) {
          this.store.setCommentsCursor(threadId, error.nextCursor || null); // skip the one that cannot come
          this.emit("notice", { message: "A comment is too large to show here; it was skipped." });
          this.queueComments(threadId);
        } else if (error.code === "RATE_LIMITED" || error.code === "SERVICE_UNAVAILABLE") {
          this.later((error.retryAfter || 1) * 1000, () => this.queueComments(threadId));
        }
        this.settleComments(threadId, error);
        this.pumpComments();
        this.changed();
      },
    );
    this.commentLoads.set(threadId, requestId);
    this.changed();
  }

  private commentsListed(m: ServerMessage): void {
    const threadId = m.threadId as string;
    if (!this.store.has(threadId) || this.commentLoads.get(threadId) !== m.requestId) return;
    this.store.moreComments(threadId, Array.isArray(m.data) ? m.data : [], (m.nextCursor as string | null) || null);
    this.commentLoads.delete(threadId);
    this.queueComments(threadId);
    this.changed();
  }

  // --- writes --------------------------------------------------------------------------------

  private write(message: Record<string, unknown>): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      this.outbox.write(message, resolve as OnDone, reject as OnError);
    });
  }

  async createThread(input: { body: string; metadata?: { [key: string]: JsonValue }; attachmentIds?: string[] }): Promise<Thread> {
    const message: Record<string, unknown> = { type: "thread.create", body: input.body };
    if (input.metadata !== undefined) message.metadata = input.metadata;
    if (input.attachmentIds?.length) message.attachmentIds = input.attachmentIds;
    const reply = await this.write(message);
    return (this.store.get((reply.thread as Thread).id) ?? reply.thread) as Thread;
  }

  async createComment(input: { threadId: string; body: string; attachmentIds?: string[] }): Promise<Comment> {
    const message: Record<string, unknown> = { type: "comment.create", threadId: input.threadId, body: input.body };
    if (input.attachmentIds?.length) message.attachmentIds = input.attachmentIds;
    return (await this.write(message)).comment as Comment;
  }

  async editComment(input: { threadId: string; commentId: string; body: string }): Promise<Comment> {
    const reply = await this.write({ type: "comment.update", ...input });
    return reply.comment as Comment;
  }

  async deleteComment(input: { threadId: string; commentId: string }): Promise<void> {
    await this.write({ type: "comment.delete", ...input });
  }

  async resolveThread(input: { threadId: string; resolved: boolean }): Promise<Thread> {
    const reply = await this.write({ type: "thread.resolve", ...input });
    return (this.store.get(input.threadId) ?? reply.thread) as Thread;
  }

  async addReaction(input: { threadId: string; commentId: string; emoji: string }): Promise<Reaction[]> {
    return (await this.write({ type: "reaction.add", ...input })).reactions as Reaction[];
  }

  async removeReaction(input: { threadId: string; commentId: string; emoji: string }): Promise<Reaction[]> {
    return (await this.write({ type: "reaction.remove", ...input })).reactions as Reaction[];
  }

  hasReacted(commentId: string, emoji: string): boolean {
    return this.store.reactedByMe(commentId, emoji);
  }

  /** attachment.create (name, type, size), then the presigned POST straight to the file store;
   * resolves with the attachment to pass as attachmentIds once the upload is done. */
  async uploadAttachment(file: Blob, options: UploadOptions = {}): Promise<Attachment> {
    const name = options.name || (file as Blob & { name?: string }).name || "file";
    const mimeType = file.type || "application/octet-stream";
    const reply = await this.request({ type: "attachment.create", name, mimeType, size: file.size });
    await postFile(reply.upload, file, name, options);
    return reply.attachment as Attachment;
  }

  // --- unread state, subscriptions, notifications, users -----------------------------------

  /** Read a thread: sent only when it has unread comments (and not already being read). */
  markThreadRead(threadId: string): Promise<void> {
    const thread = this.store.get(threadId);
    if (!thread || !((thread.unreadCount ?? 0) > 0)) return Promise.resolve();
    const key = "read:" + threadId;
    const inFlight = this.marking.get(key);
    if (inFlight) return inFlight;
    const done = this.request({ type: "thread.markRead", threadId }).then(
      () => undefined,
      (error: PulseError) => Promise.reject(error),
    );
    const settled = done.finally(() => this.marking.delete(key));
    this.marking.set(key, settled);
    return settled;
  }
  private marking = new Map<string, Promise<void>>();

  async subscribeToThread(threadId: string): Promise<void> {
    await this.request({ type: "thread.subscribe", threadId });
  }

  async unsubscribeFromThread(threadId: string): Promise<void> {
    await this.request({ type: "thread.unsubscribe", threadId });
  }

  async getNotificationSettings(): Promise<NotificationSettings> {
    const reply = await this.request({ type: "notifications.get" });
    return { roomId: reply.roomId as string, setting: reply.setting as NotificationSetting };
  }

  async setNotificationSettings(setting: NotificationSetting): Promise<NotificationSettings> {
    const reply = await this.request({ type: "notifications.set", setting });
    return { roomId: reply.roomId as string, setting: reply.setting as NotificationSetting };
  }

  async searchUsers(q: string): Promise<UserInfo[]> {
    const reply = await this.request({ type: "users.search", q });
    return (Array.isArray(reply.data) ? reply.data : []).filter(isObject).map((u) => u as unknown as UserInfo);
  }

  getUser(userId: string): UserInfo | null {
    const known = this.users.get(userId);
    if (known) return known;
    this.askName(userId);
    return null;
  }

  private usersFound(data: unknown): void {
    const found: string[] = [];
    for (const u of Array.isArray(data) ? data : []) {
      if (isObject(u) && typeof u.userId === "string" && !this.users.has(u.userId)) found.push(u.userId);
      if (isObject(u)) this.rememberUser(u);
    }
    if (found.length) this.emit("users", { userIds: found });
  }

  /** A user with no name known (not here, never seen): asked once, by id (users.search matches
   * ids by prefix), one question at a time. */
  private askName(userId: string): void {
    if (this.users.has(userId) || this.namesAsked.has(userId)) return;
    this.namesAsked.add(userId);
    this.nameQueue.push(userId);
    this.pumpNames();
  }

  private pumpNames(): void {
    if (this.nameBusy || !this.nameQueue.length || this._status !== "connected") return;
    const userId = this.nameQueue.shift() as string;
    this.nameBusy = true;
    const next = (wait?: number): void => {
      setTimeout(() => {
        this.nameBusy = false;
        this.pumpNames();
      }, wait || NAME_LOOKUP_MS);
    };
    this.requests.request(
      { type: "users.search", q: userId },
      () => next(),
      (error) => {
        const limited = error.code === "RATE_LIMITED" || error.code === "USER_RATE_LIMITED";
        if (error.code === "NOT_CONNECTED" || limited) this.nameQueue.unshift(userId); // asked again later
        next(limited ? (error.retryAfter || 1) * 1000 : 0);
      },
    );
  }

  /** inbox.updated: this user's unread count changed (any room of the environment). A thread of
   * this room takes its new count. */
  private inboxUpdated(m: ServerMessage): void {
    const update: InboxUpdate = {
      count: m.count as number,
      roomId: m.roomId === undefined ? null : (m.roomId as string | null),
      threadId: m.threadId as string,
      unreadCount: m.unreadCount as number,
    };
    this.emit("inbox", update);
    this.ctx.onInbox(update);
    if (m.roomId !== this.roomId || typeof m.unreadCount !== "number") return;
    // Unread activity reaches only a thread's subscribers (a mention subscribes): a count above
    // zero is the server's word that this user is subscribed, whatever an earlier list said.
    const marks: { unreadCount: number; subscribed?: boolean } = { unreadCount: m.unreadCount };
    if (m.unreadCount > 0) marks.subscribed = true;
    this.store.marks(update.threadId, marks);
    this.changed();
  }

  private myUserId(): string | null {
    if (this._self && this._self.userId) return this._self.userId;
    return this.claims && typeof this.claims.sub === "string" ? this.claims.sub : null;
  }

  // --- status and errors ---------------------------------------------------------------------

  private setStatus(status: Status): void {
    const changed = status !== this._status;
    this._status = status;
    if (changed) {
      this.changed();
      this.emit("status", { status });
    }
  }

  private emitError(code: string, message: string, extra?: Partial<PulseError>): void {
    const detail: PulseError = { code: code || "ERROR", message: message || "" };
    if (extra) {
      for (const key of ["requestId", "retryAfter", "attempt", "retryInMs", "problem", "field"] as const) {
        if (extra[key] !== undefined) (detail as unknown as Record<string, unknown>)[key] = extra[key];
      }
      if (typeof extra.needed === "string") detail.needed = extra.needed;
    }
    this._lastError = Object.freeze(detail); // kept for listeners added later
    this.changed();
    this.emit("error", { ...detail });
  }
}
