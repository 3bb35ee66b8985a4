/*! Pulse headless client (ES module). Built from sdk/browser/src/client; do not edit. */

// src/client/constants.ts
var PING_MS = 5 * 60 * 1e3;
var PONG_TIMEOUT_MS = 20 * 1e3;
var BACKOFF_BASE_MS = 500;
var BACKOFF_MAX_MS = 30 * 1e3;
var STABLE_MS = 5 * 1e3;
var PRESENCE_MIN_MS = 100;
var PRESENCE_MAX_BYTES = 1024;
var REQUEST_TIMEOUT_MS = 10 * 1e3;
var TOKEN_ATTEMPTS = 4;
var TOKEN_BACKOFF_BASE_MS = 1e3;
var EXPIRY_SKEW_S = 10;
var COMMENTS_SHOWN = 100;
var BACKGROUND_MS = 100;
var MAX_AHEAD = 1e3;
var GAP_WAIT_MS = 2e3;
var NAME_LOOKUP_MS = 250;
var OPEN = 1;
var ENDED_BY = /* @__PURE__ */ new Set(["ACCESS_REMOVED", "TOKEN_REVOKED"]);

// src/client/emitter.ts
var Emitter = class {
  constructor() {
    this.handlers = /* @__PURE__ */ new Map();
    this.listeners = /* @__PURE__ */ new Set();
  }
  on(type, handler) {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, set = /* @__PURE__ */ new Set());
    const h = handler;
    set.add(h);
    return () => {
      set.delete(h);
    };
  }
  /** Call every handler of `type`; one that throws does not stop the others (nor the client). */
  emit(type, event) {
    const set = this.handlers.get(type);
    if (!set) return;
    for (const handler of Array.from(set)) {
      try {
        handler(event);
      } catch (error) {
        reportLater(error);
      }
    }
  }
  subscribe(listener) {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
  notify() {
    for (const listener of Array.from(this.listeners)) {
      try {
        listener();
      } catch (error) {
        reportLater(error);
      }
    }
  }
  clear() {
    this.handlers.clear();
    this.listeners.clear();
  }
};
function reportLater(error) {
  setTimeout(() => {
    throw error;
  }, 0);
}

// src/client/access.ts
var LEVELS = ["none", "read", "comment", "write"];
function atLeast(level, needed) {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(needed);
}
function levelOf(value) {
  return LEVELS.indexOf(value) >= 0 ? value : "read";
}
function tokenLevel(claims, room) {
  const permissions = claims?.permissions;
  if (!permissions || typeof permissions !== "object" || Array.isArray(permissions)) return null;
  const table = permissions;
  const known = (value) => LEVELS.indexOf(value) >= 0 ? value : "none";
  if (Object.prototype.hasOwnProperty.call(table, room)) return known(table[room]);
  let best = "none";
  let bestLength = -1;
  for (const pattern of Object.keys(table)) {
    if (!pattern.endsWith("*")) continue;
    const prefix = pattern.slice(0, -1);
    if (prefix.length > bestLength && room.startsWith(prefix)) {
      best = known(table[pattern]);
      bestLength = prefix.length;
    }
  }
  return best;
}
var ROOM_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
function roomProblem(room) {
  if (!ROOM_ID.test(room)) return "room must be 1-128 letters, digits and -_.:";
  if (room === "." || room === "..") return 'room must not be "." or ".."';
  return null;
}

// src/client/outbox.ts
function mutationId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => (b < 16 ? "0" : "") + b.toString(16)).join("");
}
var Outbox = class {
  constructor(requests, me, willRejoin) {
    this.requests = requests;
    this.me = me;
    this.willRejoin = willRejoin;
    this.entries = /* @__PURE__ */ new Map();
    /** The server takes clientMutationId (room.joined carries seq). */
    this.mutationIds = false;
  }
  /** Send a write with a clientMutationId. Not acknowledged when the socket drops, it is kept and
   * resent with the same id after the rejoin: the server writes it at most once and answers a
   * resend of one it did write with the original acknowledgement (`replay: true`). */
  write(message, onDone, onError) {
    const entry = { id: null, userId: this.me(), inFlight: false, settled: false, message, onDone, onError };
    if (this.mutationIds) {
      entry.id = mutationId();
      entry.message = { ...message, clientMutationId: entry.id };
      this.entries.set(entry.id, entry);
    }
    this.send(entry);
  }
  send(entry) {
    entry.inFlight = true;
    this.requests.request(
      entry.message,
      (reply) => {
        entry.inFlight = false;
        this.settle(entry, reply, null);
      },
      (error) => {
        entry.inFlight = false;
        const kept = entry.id !== null && this.entries.has(entry.id) && this.willRejoin();
        if (error.code === "NOT_CONNECTED" && kept) return;
        this.settle(entry, null, error);
      }
    );
  }
  settle(entry, reply, error) {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.id !== null) this.entries.delete(entry.id);
    if (error) entry.onError(error);
    else if (reply) entry.onDone(reply);
  }
  /** Resend the writes not acknowledged (and not on their way), in the order first sent; not
   * those of another user than the one now signed in (a new token for someone else). */
  resend() {
    const me = this.me();
    for (const entry of Array.from(this.entries.values())) {
      if (entry.userId !== me) {
        this.settle(entry, null, {
          code: "NOT_CONNECTED",
          message: "Signed in as someone else since: this may not have been saved."
        });
      } else if (!entry.inFlight) {
        this.send(entry);
      }
    }
  }
  /** Fail the writes kept for a rejoin that will not come. */
  drop(code, message) {
    for (const entry of Array.from(this.entries.values())) this.settle(entry, null, { code, message });
  }
  get size() {
    return this.entries.size;
  }
};

// src/client/position.ts
var Position = class {
  constructor() {
    this.seq = null;
    this.ahead = /* @__PURE__ */ new Set();
  }
  /** Whether the change `seq` was applied already. */
  has(seq) {
    return this.seq !== null && seq <= this.seq || this.ahead.has(seq);
  }
  add(seq) {
    if (this.has(seq)) return;
    this.ahead.add(seq);
    this.advance();
  }
  /** The whole state is known as of `seq` (room.joined before a full list, resync.required);
   * what was applied above it stays applied. null: unknown. */
  reset(seq) {
    const ahead = this.ahead;
    this.seq = seq;
    this.ahead = /* @__PURE__ */ new Set();
    if (seq === null) return;
    for (const s of ahead) if (s > seq) this.ahead.add(s);
    this.advance();
  }
  advance() {
    if (this.seq !== null) {
      while (this.ahead.delete(this.seq + 1)) this.seq += 1;
    }
    if (this.ahead.size > MAX_AHEAD) this.reset(null);
  }
};
function liveFrame(event) {
  if (!event || typeof event !== "object") return null;
  const { type, seq, data } = event;
  if (!data || typeof data !== "object" || typeof seq !== "number") return null;
  const d = data;
  switch (type) {
    case "thread.created":
      return { type: "thread.created", seq, thread: d };
    case "thread.updated":
    case "thread.resolved":
      return { type: "thread.updated", seq, thread: d };
    case "thread.deleted":
      return { type: "thread.deleted", seq, threadId: d.id };
    case "comment.created":
    case "comment.updated":
      return { type, seq, comment: d };
    case "comment.deleted":
      return { type: "comment.deleted", seq, commentId: d.id, threadId: d.threadId };
    case "room.updated":
      return { type: "room.updated", seq, room: d };
    case "room.deleted":
      return { type: "room.deleted", seq };
    case "reaction.added":
    case "reaction.removed":
      return {
        type,
        seq,
        threadId: d.threadId,
        commentId: d.commentId,
        emoji: d.emoji,
        userId: d.userId,
        reactions: d.reactions
      };
    default:
      return { type: "unknown", seq };
  }
}

// src/client/requests.ts
var Requests = class {
  constructor(send, timedOut) {
    this.send = send;
    this.timedOut = timedOut;
    this.pending = /* @__PURE__ */ new Map();
    this.seq = 0;
  }
  nextId() {
    return "c" + ++this.seq;
  }
  /** Send with a requestId; `onDone(reply)` on the event or reply echoing it, `onError(error)`
   * on an error reply, a closed socket or no answer in time. */
  request(message, onDone, onError) {
    const requestId = this.nextId();
    const entry = {
      onDone: onDone ?? (() => {
      }),
      onError: onError ?? (() => {
      }),
      timer: setTimeout(() => {
        if (this.pending.delete(requestId)) {
          const error = { code: "TIMEOUT", message: "No answer from the server; try again.", requestId };
          this.timedOut(error);
          entry.onError(error);
        }
      }, REQUEST_TIMEOUT_MS)
    };
    this.pending.set(requestId, entry);
    if (!this.send({ ...message, requestId })) {
      this.pending.delete(requestId);
      clearTimeout(entry.timer);
      entry.onError({ code: "NOT_CONNECTED", message: "Not connected; try again in a moment." });
    }
    return requestId;
  }
  /** A frame with a requestId of ours: its request is answered. */
  settle(message) {
    const requestId = message.requestId;
    if (typeof requestId !== "string") return;
    const entry = this.pending.get(requestId);
    if (!entry) return;
    this.pending.delete(requestId);
    clearTimeout(entry.timer);
    if (message.type === "error") entry.onError(toError(message));
    else entry.onDone(message);
  }
  /** Every request in flight fails (the socket closed). */
  failAll(code, message) {
    const entries = Array.from(this.pending.values());
    this.pending.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.onError({ code, message });
    }
  }
};
function toError(m) {
  const { type: _type, ...rest } = m;
  return { ...rest, code: typeof m.code === "string" ? m.code : "ERROR", message: typeof m.message === "string" ? m.message : "" };
}

// src/client/threads.ts
function byCreated(a, b) {
  if (a.createdAt === b.createdAt) return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  return a.createdAt < b.createdAt ? -1 : 1;
}
function newestFirst(a, b) {
  if (a.createdAt === b.createdAt) return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  return a.createdAt < b.createdAt ? 1 : -1;
}
function isObject(value) {
  return !!value && typeof value === "object" && !Array.isArray(value);
}
var ThreadStore = class {
  constructor(me) {
    this.me = me;
    this.threads = /* @__PURE__ */ new Map();
    // "t:"/"c:"/"r:" + id -> seq of the last change applied to it (older frames are ignored).
    this.versions = /* @__PURE__ */ new Map();
    // Threads whose `subscribed` is the client's guess, not the server's word.
    this.guessed = /* @__PURE__ */ new Set();
    // "commentId emoji" -> whether this user reacted: reaction frames say so even when the
    // comment's userIds (only the first five) do not name this user.
    this.myReactions = /* @__PURE__ */ new Map();
    // Live thread changes that arrive while the pages of a list are on their way (kept over them).
    this.liveDuringLoad = null;
    this.fresh = false;
    // the next page replaces everything held
    this.version = 0;
    this.snapshot = [];
    this.snapshotVersion = 0;
  }
  /** Every thread, newest first; the same array until something changes. */
  list() {
    if (this.snapshotVersion !== this.version) {
      this.snapshot = Object.freeze(Array.from(this.threads.values()).sort(newestFirst));
      this.snapshotVersion = this.version;
    }
    return this.snapshot;
  }
  get(threadId) {
    return this.threads.get(threadId);
  }
  has(threadId) {
    return this.threads.has(threadId);
  }
  ids() {
    return Array.from(this.threads.keys());
  }
  put(thread) {
    this.threads.set(thread.id, thread);
    this.version++;
  }
  /** Forget everything (the room ended, or a different room). */
  clear() {
    this.threads.clear();
    this.versions.clear();
    this.guessed.clear();
    this.liveDuringLoad = null;
    this.fresh = false;
    this.version++;
  }
  /** The positions of changes are unknown again (a full list follows). */
  forgetVersions() {
    this.versions.clear();
  }
  // --- listing -------------------------------------------------------------------------------
  /** A list from the start begins: its first page replaces what is held. */
  startList() {
    this.liveDuringLoad = /* @__PURE__ */ new Map();
    this.fresh = true;
  }
  /** A list stopped (failed): live changes are no longer kept aside for it. */
  stopList() {
    this.liveDuringLoad = null;
  }
  /** A page of threads.listed: applied; live changes of the list's time are kept over it. */
  page(data, last) {
    if (this.fresh) {
      this.threads = /* @__PURE__ */ new Map();
      this.guessed.clear();
      this.fresh = false;
      this.version++;
    }
    for (const t of data) this.upsertThread(t);
    const live = this.liveDuringLoad;
    if (live) {
      live.forEach((thread, id) => {
        if (thread === null) this.remove(id);
        else if (!this.threads.has(id)) this.upsertThread(thread);
      });
    }
    if (last) this.liveDuringLoad = null;
  }
  /** comments.listed: more of a thread's comments (oldest first), and where they go on. */
  moreComments(threadId, data, nextCursor) {
    const thread = this.threads.get(threadId);
    if (!thread) return;
    const comments = thread.comments.slice();
    for (const c of data) {
      if (isObject(c) && !comments.some((x) => x.id === c.id)) comments.push(c);
    }
    this.put({ ...thread, comments: comments.sort(byCreated), commentsNextCursor: nextCursor });
  }
  /** Skip what cannot be sent: the comments go on from `nextCursor`. */
  setCommentsCursor(threadId, nextCursor) {
    const thread = this.threads.get(threadId);
    if (thread) this.put({ ...thread, commentsNextCursor: nextCursor });
  }
  // --- change frames -------------------------------------------------------------------------
  /** The state change of one change frame. `seq` (null: unknown) guards each thread and comment
   * against an older change arriving after a newer one (racing writers, a live frame that
   * overtook the catch-up): seq is the room's order, not arrival. */
  apply(m, seq) {
    switch (m.type) {
      case "thread.created":
      case "thread.updated": {
        const thread = m.thread;
        if (isObject(thread) && typeof thread.id === "string") this.applyThread(thread, seq);
        const first = isObject(thread) && Array.isArray(thread.comments) ? thread.comments[0] : null;
        if (isObject(first)) this.guessSubscription(first);
        return;
      }
      case "thread.deleted": {
        const threadId = m.threadId;
        if (!this.newer("t:" + threadId, seq)) return;
        this.remove(threadId);
        if (this.liveDuringLoad) this.liveDuringLoad.set(threadId, null);
        return;
      }
      case "comment.created":
      case "comment.updated": {
        const comment = m.comment;
        if (!isObject(comment) || !this.threads.has(comment.threadId)) return;
        const c = comment;
        if (this.newer("c:" + c.id, seq)) {
          this.upsertComment(this.withNewerReactions(c, seq), m.type === "comment.created");
        }
        if (m.type === "comment.created") this.guessSubscription(c);
        return;
      }
      case "comment.deleted":
        if (this.newer("c:" + String(m.commentId), seq)) {
          this.removeComment(m.threadId, m.commentId);
        }
        return;
      case "room.deleted":
        this.threads.clear();
        this.version++;
        return;
      case "reaction.added":
      case "reaction.removed":
        if (this.newer("r:" + String(m.commentId), seq)) this.setReactions(m);
        return;
      default:
        return;
    }
  }
  applyThread(thread, seq) {
    const id = thread.id;
    if (this.newer("t:" + id, seq)) {
      this.upsertThread(thread);
      const held = this.threads.get(id);
      if (this.liveDuringLoad && held) this.liveDuringLoad.set(id, held);
      return;
    }
    if (!this.threads.has(id) || !Array.isArray(thread.comments)) return;
    for (const c of thread.comments) {
      if (isObject(c) && this.newer("c:" + String(c.id), seq)) this.upsertComment(c, false);
    }
  }
  /** Whether a change at `seq` is newer than the last applied to `key` (and mark it so). */
  newer(key, seq) {
    if (seq === null) return true;
    const known = this.versions.get(key);
    if (known !== void 0 && known >= seq) return false;
    this.versions.set(key, seq);
    return true;
  }
  upsertThread(t) {
    if (!isObject(t) || typeof t.id !== "string" || !t.id) return;
    const known = this.threads.get(t.id);
    const thread = { ...known ?? {}, ...t };
    if (typeof t.subscribed === "boolean") this.guessed.delete(t.id);
    if (Array.isArray(t.comments)) {
      thread.comments = t.comments.filter(isObject).map((c) => c).sort(byCreated);
    } else thread.comments = known ? known.comments : [];
    if (!("commentsNextCursor" in t)) thread.commentsNextCursor = known ? known.commentsNextCursor : null;
    else thread.commentsNextCursor = t.commentsNextCursor ?? null;
    this.put(thread);
  }
  remove(threadId) {
    if (this.threads.delete(threadId)) this.version++;
    this.guessed.delete(threadId);
  }
  upsertComment(c, created) {
    const thread = this.threads.get(c.threadId);
    if (!thread) return;
    const comments = thread.comments.slice();
    const at = comments.findIndex((x) => x.id === c.id);
    let commentCount = thread.commentCount;
    if (at >= 0) comments[at] = c;
    else {
      comments.push(c);
      comments.sort(byCreated);
      if (created) commentCount = (commentCount || 0) + 1;
    }
    this.put({ ...thread, comments, commentCount });
  }
  removeComment(threadId, commentId) {
    const thread = this.threads.get(threadId);
    if (!thread) return;
    const comments = thread.comments.filter((x) => x.id !== commentId);
    if (comments.length === thread.comments.length) return;
    this.put({ ...thread, comments, commentCount: Math.max(0, (thread.commentCount || 1) - 1) });
  }
  findComment(threadId, commentId) {
    const thread = this.threads.get(threadId);
    return thread?.comments.find((c) => c.id === commentId) ?? null;
  }
  // --- reactions -----------------------------------------------------------------------------
  /** A reaction frame: the comment's whole `reactions` summary after the change. */
  setReactions(m) {
    const comment = this.findComment(m.threadId, m.commentId);
    if (!comment || !Array.isArray(m.reactions)) return;
    this.upsertComment({ ...comment, reactions: m.reactions }, false);
  }
  /** A comment frame older than the comment's last reaction frame keeps the newer reactions. */
  withNewerReactions(c, seq) {
    const reacted = this.versions.get("r:" + c.id);
    const known = this.findComment(c.threadId, c.id);
    if (seq === null || reacted === void 0 || reacted <= seq || !known) return c;
    return { ...c, reactions: known.reactions };
  }
  /** This user's own reaction changes (any of its connections): remembered, as the summary's
   * userIds hold only the first five. */
  noteMyReaction(m) {
    if (!m.userId || m.userId !== this.me()) return;
    this.myReactions.set(String(m.commentId) + " " + String(m.emoji), m.type === "reaction.added");
  }
  reactedByMe(commentId, emoji) {
    const known = this.myReactions.get(commentId + " " + emoji);
    if (known !== void 0) return known;
    for (const thread of this.threads.values()) {
      const comment = thread.comments.find((c) => c.id === commentId);
      if (!comment) continue;
      const reaction = (comment.reactions || []).find((r) => r.emoji === emoji);
      const me = this.me();
      return !!reaction && Array.isArray(reaction.userIds) && me !== null && reaction.userIds.includes(me);
    }
    return false;
  }
  // --- unread state and subscriptions --------------------------------------------------------
  /** A thread's unreadCount or subscribed, as the server last said (this user's only). */
  marks(threadId, marks) {
    const thread = this.threads.get(threadId);
    if (!thread) return;
    const next = { ...thread };
    if (typeof marks.unreadCount === "number") next.unreadCount = marks.unreadCount;
    if (typeof marks.subscribed === "boolean") {
      next.subscribed = marks.subscribed;
      this.guessed.delete(threadId);
    }
    this.put(next);
  }
  /** A live comment: threads.list says whether this user is subscribed, but a thread that came
   * live says nothing. The server subscribes a comment's author and the users it mentions,
   * leaving a choice made with thread.(un)subscribe; until a list or a choice says otherwise
   * the client assumes that rule (and not subscribed otherwise). */
  guessSubscription(comment) {
    const thread = this.threads.get(comment.threadId);
    if (!thread || typeof thread.subscribed === "boolean" && !this.guessed.has(thread.id)) return;
    const me = this.me();
    const mentioned = Array.isArray(comment.mentions) && me !== null && comment.mentions.includes(me);
    const subscribed = thread.subscribed === true || comment.userId === me || mentioned;
    this.guessed.add(thread.id);
    if (thread.subscribed !== subscribed) this.put({ ...thread, subscribed });
  }
};

// src/client/token.ts
function base64UrlDecode(part) {
  let b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  while (b64.length % 4) b64 += "=";
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}
function claimsOf(token) {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === void 0) return null;
  try {
    const claims = JSON.parse(base64UrlDecode(parts[1]));
    return claims && typeof claims === "object" && !Array.isArray(claims) ? claims : null;
  } catch {
    return null;
  }
}
function generationOf(claims) {
  return claims && typeof claims.gen === "number" ? claims.gen : 0;
}
function isExpired(token) {
  const claims = claimsOf(token);
  if (!claims || typeof claims.exp !== "number") return false;
  return claims.exp - EXPIRY_SKEW_S <= Date.now() / 1e3;
}
function tokenBackoff(failures) {
  const ceiling = TOKEN_BACKOFF_BASE_MS * Math.pow(2, failures - 1);
  return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
}
var TokenProblem = class extends Error {
  constructor(message, problem) {
    super(message);
    this.problem = problem;
  }
};
var UNEXPECTED = "the sign-in service sent an unexpected answer";
function tokenUrlProvider(tokenUrl, method = "GET") {
  return async ({ roomId }) => {
    const headers = { Accept: "application/json" };
    const init = { method, credentials: "include", cache: "no-store", headers };
    if (method === "POST") {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify({ room: roomId });
    }
    let url;
    try {
      const base = typeof document !== "undefined" ? document.baseURI : void 0;
      url = new URL(tokenUrl, base).href;
    } catch {
      throw new TokenProblem("token-url is not a URL", UNEXPECTED);
    }
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    let timer = null;
    if (controller) {
      init.signal = controller.signal;
      timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    }
    const timedOut = () => !!controller && controller.signal.aborted;
    const timeout = () => new TokenProblem(
      "token-url did not answer within " + REQUEST_TIMEOUT_MS / 1e3 + " s",
      "the sign-in service did not answer"
    );
    try {
      let response;
      try {
        response = await fetch(url, init);
      } catch {
        throw timedOut() ? timeout() : new TokenProblem(
          "token-url could not be fetched: a network error, or an answer from another origin without CORS headers allowing this page with credentials",
          "the sign-in service could not be reached"
        );
      }
      if (!response.ok) {
        throw new TokenProblem(
          "token-url answered HTTP " + response.status,
          "the sign-in service answered with error " + response.status
        );
      }
      let body;
      try {
        body = await response.json();
      } catch {
        throw timedOut() ? timeout() : new TokenProblem("token-url did not answer JSON", UNEXPECTED);
      }
      const token = body && typeof body === "object" ? body.token : void 0;
      if (typeof token !== "string" || !token) {
        throw new TokenProblem('token-url did not answer {"token": "..."}', UNEXPECTED);
      }
      return token;
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  };
}
async function askProvider(provider, roomId, reason, who = "the token provider") {
  let timer = null;
  const late = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(
        new TokenProblem(
          who + " did not answer within " + REQUEST_TIMEOUT_MS / 1e3 + " s",
          "the sign-in service did not answer"
        )
      ),
      REQUEST_TIMEOUT_MS + 1e3
      // tokenUrl's own timeout says it first, in its words
    );
  });
  try {
    const token = await Promise.race([provider({ roomId, reason }), late]);
    if (typeof token !== "string" || !token) {
      throw new TokenProblem(who + ' did not answer {"token": "..."}', UNEXPECTED);
    }
    if (isExpired(token)) {
      throw new TokenProblem(
        who + " answered an expired token (check the clocks and the token lifetime)",
        "the sign-in service sent an expired token"
      );
    }
    return token;
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

// src/client/upload.ts
function httpUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const base = typeof document !== "undefined" ? document.baseURI : void 0;
    const url = new URL(value, base);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}
function storeRefusal(status, body) {
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? "";
  return "The file store refused it" + (message ? ": " + message : " (HTTP " + status + ")") + ".";
}
function postFile(upload, file, name, options) {
  return new Promise((resolve, reject) => {
    const fail = (code, message) => reject({ code, message });
    const post = upload && typeof upload === "object" ? upload : {};
    const url = httpUrl(post.url);
    if (!url) {
      fail("UPLOAD_FAILED", "The server gave no place to upload to.");
      return;
    }
    if (typeof XMLHttpRequest !== "function") {
      fail("UPLOAD_FAILED", "Uploads need XMLHttpRequest (a browser).");
      return;
    }
    const form = new FormData();
    const fields = post.fields && typeof post.fields === "object" ? post.fields : {};
    for (const key of Object.keys(fields)) form.append(key, String(fields[key]));
    form.append("file", file, name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) options.onProgress?.({ loaded: e.loaded, total: e.total });
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else fail("UPLOAD_FAILED", storeRefusal(xhr.status, String(xhr.responseText || "")));
    });
    xhr.addEventListener("error", () => fail("UPLOAD_FAILED", "The upload could not reach the file store."));
    xhr.addEventListener("abort", () => fail("UPLOAD_ABORTED", "The upload was cancelled."));
    if (options.signal) {
      if (options.signal.aborted) {
        fail("UPLOAD_ABORTED", "The upload was cancelled.");
        return;
      }
      options.signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    xhr.send(form);
  });
}

// src/client/room.ts
var OWN_EVENTS = /* @__PURE__ */ new Set([
  "status",
  "connected",
  "disconnected",
  "error",
  "presence",
  "others",
  "broadcast",
  "access",
  "threads",
  "inbox",
  "notice",
  "users",
  "message"
]);
var CHANGE_FRAMES = /* @__PURE__ */ new Set([
  "thread.created",
  "thread.updated",
  "thread.deleted",
  "comment.created",
  "comment.updated",
  "comment.deleted",
  "room.updated",
  "room.deleted",
  "reaction.added",
  "reaction.removed"
]);
function isObject2(value) {
  return !!value && typeof value === "object" && !Array.isArray(value);
}
function memberOf(m) {
  return {
    connectionId: m.connectionId,
    userId: m.userId,
    name: m.name ?? null,
    avatar: m.avatar ?? null,
    color: m.color ?? null,
    presence: m.presence === void 0 ? null : m.presence
  };
}
function global() {
  return globalThis;
}
function offline() {
  return typeof navigator !== "undefined" && navigator.onLine === false;
}
var RoomImpl = class {
  constructor(roomId, ctx, initialPresence) {
    this.roomId = roomId;
    this.ctx = ctx;
    this.events = new Emitter();
    this._status = "connecting";
    this.socket = null;
    // the client's token, or setToken()'s
    this.fetched = null;
    // a token from the provider (used over givenToken)
    this.fresh = false;
    // `fetched` and no connection has opened with it yet
    this.tokenFailures = 0;
    // provider failures in a row
    this._lastError = null;
    this._access = null;
    this.revoked = null;
    this.dialToken = null;
    // the token the current socket was opened with
    this.claims = null;
    this.attempt = 0;
    this._everConnected = false;
    this.wantRefresh = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.presenceTimer = null;
    this.presenceSentAt = 0;
    this.joinedAt = 0;
    this._connectionId = null;
    this._self = null;
    this.members = /* @__PURE__ */ new Map();
    // connectionId -> member (others only)
    this.othersSnapshot = Object.freeze([]);
    this.othersDirty = false;
    this.users = /* @__PURE__ */ new Map();
    this.threadsLoaded = false;
    this.loading = false;
    this.listError = null;
    this.listComplete = false;
    this.listRequestId = null;
    this.listResolved = void 0;
    this.listWaiters = [];
    this.stateSnapshot = { loaded: false, loading: false, complete: false, error: null };
    this.joining = false;
    // room.joined said more: room.members frames follow
    this.commentLoads = /* @__PURE__ */ new Map();
    // threadId -> requestId of comments.list
    this.commentWaiters = /* @__PURE__ */ new Map();
    this.commentQueue = [];
    this.pumping = false;
    this.position = new Position();
    this.catchUp = null;
    this.nameQueue = [];
    this.namesAsked = /* @__PURE__ */ new Set();
    this.nameBusy = false;
    this.generation = 0;
    // bumps on every (re)connect: late callbacks of old sockets are ignored
    this.active = false;
    this.startQueued = false;
    this.flushQueued = false;
    this.threadsEmitted = -1;
    this.onOnline = () => this.handleOnline();
    this.onOffline = () => this.handleOffline();
    this.marking = /* @__PURE__ */ new Map();
    this.givenToken = ctx.token;
    this._presence = initialPresence ? JSON.parse(JSON.stringify(initialPresence)) : null;
    this.requests = new Requests(
      (message) => this.send(message),
      (error) => this.emitError(error.code, error.message, error)
    );
    this.outbox = new Outbox(
      this.requests,
      () => this.myUserId(),
      () => this.active && this._status !== "stopped"
    );
    this.store = new ThreadStore(() => this.myUserId());
  }
  // --- state (snapshots: the same object until it changes) -----------------------------------
  get status() {
    return this._status;
  }
  get access() {
    return this._access;
  }
  get lastError() {
    return this._lastError;
  }
  get connectionId() {
    return this._connectionId;
  }
  get self() {
    return this._self;
  }
  get others() {
    if (this.othersDirty) {
      this.othersSnapshot = Object.freeze(Array.from(this.members.values()));
      this.othersDirty = false;
    }
    return this.othersSnapshot;
  }
  get presence() {
    return this._presence;
  }
  get threads() {
    return this.store.list();
  }
  get threadsState() {
    const s = this.stateSnapshot;
    const loading = this.loading;
    if (s.loaded !== this.threadsLoaded || s.loading !== loading || s.complete !== this.listComplete || s.error !== this.listError) {
      this.stateSnapshot = { loaded: this.threadsLoaded, loading, complete: this.listComplete, error: this.listError };
    }
    return this.stateSnapshot;
  }
  get everConnected() {
    return this._everConnected;
  }
  on(type, handler) {
    return this.events.on(type, handler);
  }
  subscribe(listener) {
    return this.events.subscribe(listener);
  }
  /** Something changed: listeners hear of it once, at the next microtask (one batch per frame). */
  changed() {
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
  emit(type, event) {
    this.events.emit(type, event);
  }
  // --- lifecycle -----------------------------------------------------------------------------
  /** Start connecting (at the next microtask, so handlers added right after enterRoom hear
   * everything); nothing when already active. */
  connect() {
    if (this.active) return;
    this.active = true;
    global().addEventListener?.("online", this.onOnline);
    global().addEventListener?.("offline", this.onOffline);
    this.queueStart();
  }
  /** Close the connection for good (status "offline") until connect() or reconnect(). */
  disconnect() {
    if (!this.active) return;
    this.active = false;
    global().removeEventListener?.("online", this.onOnline);
    global().removeEventListener?.("offline", this.onOffline);
    this.stop("offline");
  }
  /** Drop the current socket (if any) and connect again now (also after the room stopped). */
  reconnect() {
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
  setToken(token) {
    this.givenToken = token || null;
    this.fetched = null;
    this.fresh = false;
    this.wantRefresh = false;
    if (this.active && this._status !== "connected") this.queueStart();
  }
  /** The client left the room: closed, and its listeners forgotten. */
  destroy() {
    this.disconnect();
    this.setStatus("stopped");
    this.events.clear();
  }
  /** (Re)connect once, at the next microtask: several calls make one connection. */
  queueStart() {
    if (this.startQueued) return;
    this.startQueued = true;
    void Promise.resolve().then(() => {
      this.startQueued = false;
      if (this.active) this.reconnect();
    });
  }
  currentToken() {
    return this.fetched || this.givenToken;
  }
  start() {
    const badRoom = roomProblem(this.roomId);
    if (badRoom) {
      this.halt("INVALID_ROOM", badRoom + ".");
      return;
    }
    if (offline()) {
      this.setStatus("offline");
      return;
    }
    this.setStatus(this._everConnected ? "reconnecting" : "connecting");
    this.open();
  }
  open() {
    const generation = ++this.generation;
    const token = this.currentToken();
    const revoked = this.isRevoked(token);
    const outside = !!token && tokenLevel(claimsOf(token), this.roomId) === "none";
    const expired = !!token && isExpired(token);
    const needsToken = !token || revoked || outside || expired || this.wantRefresh;
    const provider = this.ctx.provider;
    if (needsToken && provider) {
      const reason = !token ? "initial" : expired ? "expired" : "refused";
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
        (error) => {
          if (generation !== this.generation || !this.active) return;
          this.tokenFailed(error);
        }
      );
      return;
    }
    if (revoked) {
      this.halt(
        "TOKEN_REVOKED",
        "The token was revoked and there is no token provider. Set a token minted after the revocation (setToken()), or a token provider (tokenProvider or tokenUrl)."
      );
      return;
    }
    if (outside) {
      this.outside("The token");
      return;
    }
    if (!token || expired) {
      this.halt(
        token ? "TOKEN_EXPIRED" : "MISSING_TOKEN",
        (token ? "The token has expired and there is no token provider. " : "There is no token and no token provider. ") + "Set a fresh token from your backend (setToken(): the room connects with it at once), or a token provider (tokenProvider or tokenUrl) to get one from."
      );
      return;
    }
    this.dial(token, generation);
  }
  /** The provider failed: try again after a growing wait, or stop after TOKEN_ATTEMPTS in a row. */
  tokenFailed(error) {
    if (offline()) {
      this.setStatus("offline");
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
        { attempt, retryInMs: null, problem }
      );
      return;
    }
    const delay = tokenBackoff(attempt);
    this.emitError("TOKEN_REFRESH_FAILED", message + ". Trying again in " + delay + " ms.", {
      attempt,
      retryInMs: delay,
      problem
    });
    this.setStatus(this._everConnected ? "reconnecting" : "connecting");
    this.schedule(delay);
  }
  /** An access token whose permissions do not reach the room: the server would refuse the
   * handshake (403 ROOM_ACCESS_DENIED, which a browser is not shown), so it is not dialled. */
  outside(whose) {
    this.setAccess("none");
    this.halt(
      "ROOM_ACCESS_DENIED",
      whose + " is an access token whose permissions give no access to room " + this.roomId + ": set a token that names it (or a prefix of it), or a token provider that mints one."
    );
  }
  /** Whether the server revoked `token`: the very token, or another of the same user minted
   * before the revocation (a token's `gen`, which every revocation moves on). */
  isRevoked(token) {
    const dead = this.revoked;
    if (!token || !dead) return false;
    if (token === dead.token) return true;
    const claims = claimsOf(token);
    return !!claims && claims.sub === dead.sub && generationOf(claims) <= dead.gen;
  }
  /** Stop trying: status "stopped" with the error that says why. setToken() or reconnect()
   * starts it again. */
  halt(code, message, extra) {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.outbox.drop("NOT_CONNECTED", "Not connected: this may not have been saved.");
    this.rejectWaiters({ code, message });
    this.emitError(code, message, extra);
    this.setStatus("stopped");
  }
  dial(token, generation) {
    let url;
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
    const Socket = this.ctx.WebSocket ?? globalThis.WebSocket ?? null;
    let socket;
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
      this.fresh = false;
      this.sendJoin();
    };
    socket.onmessage = (event) => {
      if (generation !== this.generation) return;
      let message;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (isObject2(message) && typeof message.type === "string") this.handle(message);
    };
    socket.onclose = (event) => {
      if (generation !== this.generation) return;
      this.closed(opened, event.code, event.reason || "");
    };
    socket.onerror = () => {
    };
  }
  closed(opened, code, reason) {
    const wasUp = this._status === "connected";
    this.socket = null;
    this.clearTimers();
    this.requests.failAll("NOT_CONNECTED", "The connection closed.");
    this.clearPresence();
    const stable = this.joinedAt && Date.now() - this.joinedAt >= STABLE_MS;
    this.joinedAt = 0;
    this._connectionId = null;
    if (stable) this.attempt = 0;
    if ((!opened || code !== 1e3 && code !== 1001) && !(this.fresh && !opened)) {
      this.wantRefresh = true;
    }
    if (wasUp || opened) this.emit("disconnected", { code, reason });
    if (!opened) {
      this.emitError(
        "CONNECT_REFUSED",
        "Could not connect: refused (bad key or token, bad room, full room, no access to the room, a room that does not exist) or unreachable."
      );
    }
    if (!this.active) return;
    this.retry();
  }
  retry() {
    if (!this.active) return;
    const cap = Math.min(this.ctx.backoffMaxMs, this.ctx.backoffInitialMs * Math.pow(2, this.attempt));
    const delay = Math.random() * cap;
    this.attempt = Math.min(this.attempt + 1, 30);
    this.setStatus(offline() ? "offline" : "reconnecting");
    this.schedule(delay);
  }
  schedule(delay) {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.active) this.start();
    }, delay);
  }
  /** Close the socket for good (status "offline") or for a reconnect (status null: unchanged);
   * `reason` goes to the disconnected event. */
  stop(status, reason) {
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
        socket.close(1e3, "Client closing");
      } catch {
      }
    }
    this.requests.failAll("NOT_CONNECTED", "The connection closed.");
    this.clearPresence();
    this.joinedAt = 0;
    this._connectionId = null;
    if (wasUp) this.emit("disconnected", { code: 1e3, reason: reason || "Client closing" });
    if (status) this.setStatus(status);
  }
  handleOnline() {
    const stuck = this._status === "stopped" && !this.retryable();
    if (this.active && !this.socket && !stuck) {
      this.attempt = 0;
      this.tokenFailures = 0;
      if (this.retryTimer !== null) clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.start();
    }
  }
  handleOffline() {
    if (this._status !== "connected" && this._status !== "stopped") this.setStatus("offline");
  }
  /** Stopped for a reason trying again may fix. */
  retryable() {
    return !!this._lastError && this._lastError.code === "TOKEN_REFRESH_FAILED";
  }
  clearTimers() {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    if (this.pongTimer !== null) clearTimeout(this.pongTimer);
    if (this.presenceTimer !== null) clearTimeout(this.presenceTimer);
    this.pingTimer = this.pongTimer = this.presenceTimer = null;
  }
  send(message) {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }
  /** Send a request and settle a promise from its answer (internal: the client's inbox too). */
  request(message) {
    return new Promise((resolve, reject) => {
      this.requests.request(message, resolve, reject);
    });
  }
  startPing() {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      if (this.pongTimer !== null) clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => {
        this.dropSocket(void 0);
        this.closed(true, 1006, "No pong");
      }, PONG_TIMEOUT_MS);
    }, PING_MS);
  }
  dropSocket(reason) {
    const socket = this.socket;
    this.generation++;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        if (reason === void 0) socket.close();
        else socket.close(1e3, reason);
      } catch {
      }
    }
  }
  // --- presence and broadcast ----------------------------------------------------------------
  updatePresence(patch, options) {
    if (!isObject2(patch)) throw new TypeError("updatePresence(patch): patch must be an object");
    const next = options?.replace ? patch : { ...this._presence ?? {}, ...patch };
    const json = JSON.stringify(next);
    if (new TextEncoder().encode(json).length > PRESENCE_MAX_BYTES) {
      this.emitError("PRESENCE_TOO_LARGE", "Presence must be at most 1 KB as JSON.");
      return;
    }
    this._presence = JSON.parse(json);
    this.changed();
    this.schedulePresence();
  }
  schedulePresence() {
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
  flushPresence() {
    if (this._presence === null || !this._connectionId) return;
    if (this.send({ type: "presence.update", data: this._presence })) {
      this.presenceSentAt = Date.now();
      if (this._self) this._self = { ...this._self, presence: this._presence };
      this.changed();
    }
  }
  /** Send any JSON value to the others (their `broadcast` event). Needs "write" access: below
   * it nothing is sent (the server would refuse it) and it returns false. */
  broadcast(event) {
    if (event === void 0) throw new TypeError("broadcast(event): event is required");
    if (this._connectionId && this._access !== null && !atLeast(this._access, "write")) {
      const message = "broadcast needs write access; this connection has " + this._access + ".";
      this.emitError("ACCESS_DENIED", message, { needed: "write" });
      return false;
    }
    return this.send({ type: "broadcast", event });
  }
  // --- server frames -------------------------------------------------------------------------
  handle(m) {
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
      case "users.left":
        for (const gone of m.type === "users.left" ? Array.isArray(m.left) ? m.left : [] : [m]) {
          if (isObject2(gone) && this.members.delete(gone.connectionId)) this.othersDirty = true;
        }
        this.changed();
        this.emitOthers();
        break;
      case "presence.updated":
        this.presenceUpdated(m);
        break;
      case "broadcast":
        this.emit("broadcast", {
          connectionId: m.connectionId,
          userId: m.userId,
          event: m.event
        });
        break;
      case "threads.listed":
        if (m.requestId === this.listRequestId) {
          this.listPage(Array.isArray(m.data) ? m.data : [], m.nextCursor || null);
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
        this.store.marks(m.threadId, { unreadCount: m.unreadCount });
        this.changed();
        break;
      case "thread.subscription":
        this.store.marks(m.threadId, { subscribed: m.subscribed });
        this.changed();
        break;
      case "users.found":
        this.usersFound(m.data);
        break;
      case "error":
        if (m.code === "NOT_CONNECTED") {
          this.requests.settle(m);
          this.dropSocket("Reconnecting");
          this.closed(true, 1e3, "Reconnecting");
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
          this.position.add(m.seq);
        }
        break;
    }
    this.requests.settle(m);
    this.emitFrame(m);
  }
  emitFrame(m) {
    this.emit("message", m);
    if (!OWN_EVENTS.has(m.type)) this.emit(m.type, m);
  }
  joined(m) {
    this._connectionId = m.connectionId || null;
    this.setAccess(m.access === void 0 ? "write" : levelOf(m.access));
    const me = isObject2(m.self) ? m.self : {};
    this._self = memberOf({ ...me, connectionId: this._connectionId, presence: this._presence });
    this.rememberUser(me);
    this.members = /* @__PURE__ */ new Map();
    this.othersDirty = true;
    for (const other of Array.isArray(m.others) ? m.others : []) this.memberIn(other);
    this.joinedAt = Date.now();
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
    const generation = this.generation;
    setTimeout(() => {
      if (this.joining && generation === this.generation) this.joinedAll();
    }, REQUEST_TIMEOUT_MS);
  }
  moreMembers(m) {
    if (!this.joining) return;
    for (const other of Array.isArray(m.others) ? m.others : []) this.memberIn(other);
    this.changed();
    if (m.more !== true) this.joinedAll();
  }
  joinedAll() {
    this.joining = false;
    this.emit("connected", {
      connectionId: this._connectionId,
      self: this._self,
      others: this.others.slice(),
      access: this._access
    });
    this.emitOthers();
  }
  emitOthers() {
    this.emit("others", { others: this.others.slice() });
  }
  memberIn(m) {
    if (!isObject2(m) || !m.connectionId || m.connectionId === this._connectionId) return;
    this.members.set(m.connectionId, memberOf(m));
    this.othersDirty = true;
    this.rememberUser(m);
    this.changed();
  }
  rememberUser(m) {
    if (typeof m.userId === "string" && m.userId) {
      this.users.set(m.userId, {
        userId: m.userId,
        name: m.name ?? null,
        avatar: m.avatar ?? null,
        color: m.color ?? null
      });
    }
  }
  presenceUpdated(m) {
    const member = this.members.get(m.connectionId);
    const data = m.data === void 0 ? null : m.data;
    if (member) {
      this.members.set(member.connectionId, { ...member, presence: data });
      this.othersDirty = true;
      this.changed();
    }
    this.emit("presence", { connectionId: m.connectionId, userId: m.userId, data });
  }
  clearPresence() {
    if (this.members.size) this.othersDirty = true;
    this.members = /* @__PURE__ */ new Map();
    this._self = null;
    this.changed();
  }
  // --- access --------------------------------------------------------------------------------
  setAccess(level) {
    const previous = this._access;
    this._access = level;
    if (previous !== level) {
      this.changed();
      this.emit("access", { access: level, previous });
    }
  }
  /** access.changed: held to the new level from the next message on; "none" ends it (the server
   * closes the connection right after, and a new one would be refused). */
  accessChanged(value) {
    if (typeof value !== "string") return;
    const level = levelOf(value);
    if (level === "none") {
      this.end(
        "ACCESS_REMOVED",
        "This user's access to the room was removed, and the connection was closed. The room does not reconnect on its own: reconnect() or a new token tries again.",
        "none"
      );
      return;
    }
    this.setAccess(level);
  }
  /** An action above the level (sent before an access.changed arrived): say so, and act below
   * what it needed from now on. */
  denied(m) {
    this.emit("notice", { message: m.message || "You do not have access to do that here." });
    const needed = LEVELS.indexOf(m.needed);
    if (needed > 0 && this._access !== null && LEVELS.indexOf(this._access) >= needed) {
      this.setAccess(LEVELS[needed - 1] ?? null);
    }
  }
  /** The customer's backend revoked this user's tokens: the server closes the connection. The
   * token (and any older one of the user) is never sent again. */
  tokenRevoked(m) {
    const token = this.dialToken;
    const claims = claimsOf(token);
    this.revoked = { token, sub: claims?.sub, gen: generationOf(claims) };
    if (this.fetched === token) this.fetched = null;
    this.fresh = false;
    this.end(
      "TOKEN_REVOKED",
      (typeof m.message === "string" && m.message ? m.message + " " : "") + "The room does not reconnect with this token: set a new one (setToken()), or call reconnect() to get one from the token provider.",
      null
    );
  }
  /** End the room's place: close the socket, forget its people and threads (this user may no
   * longer see them), and stop with `code`. */
  end(code, message, level) {
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
  get ended() {
    return this._status === "stopped" && !!this._lastError && ENDED_BY.has(this._lastError.code);
  }
  // --- catching up after a reconnect (docs/protocol.md, "Order and catch-up") ---------------
  /** join: with sinceSeq when the whole room is held as of a known position, so the server sends
   * only what was missed; otherwise a plain join, and the threads are listed. */
  sendJoin() {
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
  rejoined(m) {
    const seq = typeof m.seq === "number" ? m.seq : null;
    this.outbox.mutationIds = seq !== null;
    if (this.catchUp && seq !== null) {
      this.catchUp.joinedSeq = seq;
      const requestId = this.catchUp.requestId;
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
  resync(seq) {
    this.catchUp = null;
    this.position.reset(seq);
    this.store.forgetVersions();
    this.loadThreads(null);
    this.outbox.resend();
  }
  /** room.events: changes missed, in seq order, applied as their live frames are. */
  roomEvents(m) {
    if (!this.catchUp || m.requestId !== this.catchUp.requestId) return;
    for (const event of Array.isArray(m.events) ? m.events : []) {
      const frame = liveFrame(event);
      if (frame) this.change(frame);
    }
    this.changed();
  }
  /** room.caughtUp: every change up to `seq` has come, or is on its way as a live frame. A gap
   * still left below it after GAP_WAIT_MS means a change that will not come: list everything. */
  caughtUp(m) {
    if (!this.catchUp || m.requestId !== this.catchUp.requestId) return;
    const seq = typeof m.seq === "number" ? m.seq : this.catchUp.joinedSeq;
    if (seq !== null && !this.reached(seq)) {
      this.later(GAP_WAIT_MS, () => {
        if (!this.reached(seq)) this.resync(seq);
      });
    }
    this.catchUp = null;
    this.pumping = false;
    for (const id of this.store.ids()) this.queueComments(id);
    this.outbox.resend();
    this.changed();
  }
  reached(seq) {
    return this.position.seq !== null && this.position.seq >= seq;
  }
  /** A change too large to send (error REPLY_TOO_LARGE with its seq): list again to catch up.
   * Its seq counts as seen: the list started here shows the change. */
  changeTooLarge(m) {
    const seq = typeof m.seq === "number" ? m.seq : null;
    if (seq === null ? !!m.requestId : this.position.has(seq)) return;
    if (seq !== null) this.position.add(seq);
    if (this.threadsLoaded) this.loadThreads(null);
  }
  /** A change frame: applied unless it was already (caught up, or a replayed acknowledgement);
   * its seq moves the position on. */
  change(m) {
    const seq = typeof m.seq === "number" ? m.seq : null;
    if (m.type === "reaction.added" || m.type === "reaction.removed") this.store.noteMyReaction(m);
    if (seq !== null && this.position.has(seq)) return;
    this.store.apply(m, seq);
    if (seq !== null) this.position.add(seq);
  }
  // --- threads -------------------------------------------------------------------------------
  /** List every thread from the start (all pages); resolves once the last page arrived. The
   * room lists by itself on every (re)connect that cannot catch up. */
  listThreads(options) {
    return new Promise((resolve, reject) => {
      if (this._status === "stopped") {
        reject({ code: "NOT_CONNECTED", message: "The room is stopped: reconnect() first." });
        return;
      }
      this.listWaiters.push({ resolve, reject });
      const resolved = options?.resolved;
      const same = resolved === this.listResolved;
      this.listResolved = resolved;
      if (this._status !== "connected") return;
      if (!same || this.listError || this.listComplete || !this.loading) this.loadThreads(null);
    });
  }
  loadThreads(cursor) {
    const message = { type: "threads.list", comments: true };
    if (cursor) message.cursor = cursor;
    if (this.listResolved !== void 0) message.resolved = this.listResolved;
    this.loading = true;
    this.listError = null;
    if (!cursor) {
      this.listComplete = false;
      this.store.startList();
      this.commentQueue = [];
      this.pumping = false;
    }
    this.listRequestId = this.requests.request(message, void 0, (error) => this.listFailed(error, cursor));
    this.changed();
  }
  listFailed(error, cursor) {
    this.loading = false;
    if (error.code === "ITEM_TOO_LARGE" && "nextCursor" in error) {
      this.emit("notice", { message: "A thread is too large to show here; it was skipped." });
      this.listPage([], error.nextCursor || null);
      return;
    }
    if (error.code === "RATE_LIMITED" || error.code === "SERVICE_UNAVAILABLE") {
      this.loading = true;
      this.later((error.retryAfter || 1) * 1e3, () => this.loadThreads(cursor));
      return;
    }
    if (error.code === "NOT_CONNECTED") {
      this.changed();
      return;
    }
    this.store.stopList();
    this.listError = error;
    if (error.code === "TIMEOUT") this.listRequestId = null;
    this.rejectWaiters(error);
    this.changed();
  }
  listPage(data, nextCursor) {
    this.store.page(data, !nextCursor);
    this.threadsLoaded = true;
    this.loading = false;
    for (const t of data) if (isObject2(t) && typeof t.id === "string") this.queueComments(t.id);
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
  rejectWaiters(error) {
    const waiters = this.listWaiters;
    this.listWaiters = [];
    for (const w of waiters) w.reject(error);
  }
  /** `fn` after `ms`, unless the room has reconnected (or stopped) meanwhile. */
  later(ms, fn) {
    const generation = this.generation;
    setTimeout(() => {
      if (generation === this.generation && this.socket) fn();
    }, ms);
  }
  queueComments(threadId) {
    const thread = this.store.get(threadId);
    if (!thread || !thread.commentsNextCursor || thread.comments.length >= COMMENTS_SHOWN) return;
    if (!this.commentQueue.includes(threadId)) this.commentQueue.push(threadId);
    this.pumpComments();
  }
  pumpComments() {
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
  loadMoreComments(threadId) {
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
  isLoadingComments(threadId) {
    return this.commentLoads.has(threadId);
  }
  settleComments(threadId, error) {
    const waiters = this.commentWaiters.get(threadId) ?? [];
    this.commentWaiters.delete(threadId);
    for (const w of waiters) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }
  loadComments(threadId, more) {
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
          this.store.setCommentsCursor(threadId, error.nextCursor || null);
          this.emit("notice", { message: "A comment is too large to show here; it was skipped." });
          this.queueComments(threadId);
        } else if (error.code === "RATE_LIMITED" || error.code === "SERVICE_UNAVAILABLE") {
          this.later((error.retryAfter || 1) * 1e3, () => this.queueComments(threadId));
        }
        this.settleComments(threadId, error);
        this.pumpComments();
        this.changed();
      }
    );
    this.commentLoads.set(threadId, requestId);
    this.changed();
  }
  commentsListed(m) {
    const threadId = m.threadId;
    if (!this.store.has(threadId) || this.commentLoads.get(threadId) !== m.requestId) return;
    this.store.moreComments(threadId, Array.isArray(m.data) ? m.data : [], m.nextCursor || null);
    this.commentLoads.delete(threadId);
    this.queueComments(threadId);
    this.changed();
  }
  // --- writes --------------------------------------------------------------------------------
  write(message) {
    return new Promise((resolve, reject) => {
      this.outbox.write(message, resolve, reject);
    });
  }
  async createThread(input) {
    const message = { type: "thread.create", body: input.body };
    if (input.metadata !== void 0) message.metadata = input.metadata;
    if (input.attachmentIds?.length) message.attachmentIds = input.attachmentIds;
    const reply = await this.write(message);
    return this.store.get(reply.thread.id) ?? reply.thread;
  }
  async createComment(input) {
    const message = { type: "comment.create", threadId: input.threadId, body: input.body };
    if (input.attachmentIds?.length) message.attachmentIds = input.attachmentIds;
    return (await this.write(message)).comment;
  }
  async editComment(input) {
    const reply = await this.write({ type: "comment.update", ...input });
    return reply.comment;
  }
  async deleteComment(input) {
    await this.write({ type: "comment.delete", ...input });
  }
  async resolveThread(input) {
    const reply = await this.write({ type: "thread.resolve", ...input });
    return this.store.get(input.threadId) ?? reply.thread;
  }
  async addReaction(input) {
    return (await this.write({ type: "reaction.add", ...input })).reactions;
  }
  async removeReaction(input) {
    return (await this.write({ type: "reaction.remove", ...input })).reactions;
  }
  hasReacted(commentId, emoji) {
    return this.store.reactedByMe(commentId, emoji);
  }
  /** attachment.create (name, type, size), then the presigned POST straight to the file store;
   * resolves with the attachment to pass as attachmentIds once the upload is done. */
  async uploadAttachment(file, options = {}) {
    const name = options.name || file.name || "file";
    const mimeType = file.type || "application/octet-stream";
    const reply = await this.request({ type: "attachment.create", name, mimeType, size: file.size });
    await postFile(reply.upload, file, name, options);
    return reply.attachment;
  }
  // --- unread state, subscriptions, notifications, users -----------------------------------
  /** Read a thread: sent only when it has unread comments (and not already being read). */
  markThreadRead(threadId) {
    const thread = this.store.get(threadId);
    if (!thread || !((thread.unreadCount ?? 0) > 0)) return Promise.resolve();
    const key = "read:" + threadId;
    const inFlight = this.marking.get(key);
    if (inFlight) return inFlight;
    const done = this.request({ type: "thread.markRead", threadId }).then(
      () => void 0,
      (error) => Promise.reject(error)
    );
    const settled = done.finally(() => this.marking.delete(key));
    this.marking.set(key, settled);
    return settled;
  }
  async subscribeToThread(threadId) {
    await this.request({ type: "thread.subscribe", threadId });
  }
  async unsubscribeFromThread(threadId) {
    await this.request({ type: "thread.unsubscribe", threadId });
  }
  async getNotificationSettings() {
    const reply = await this.request({ type: "notifications.get" });
    return { roomId: reply.roomId, setting: reply.setting };
  }
  async setNotificationSettings(setting) {
    const reply = await this.request({ type: "notifications.set", setting });
    return { roomId: reply.roomId, setting: reply.setting };
  }
  async searchUsers(q) {
    const reply = await this.request({ type: "users.search", q });
    return (Array.isArray(reply.data) ? reply.data : []).filter(isObject2).map((u) => u);
  }
  getUser(userId) {
    const known = this.users.get(userId);
    if (known) return known;
    this.askName(userId);
    return null;
  }
  usersFound(data) {
    const found = [];
    for (const u of Array.isArray(data) ? data : []) {
      if (isObject2(u) && typeof u.userId === "string" && !this.users.has(u.userId)) found.push(u.userId);
      if (isObject2(u)) this.rememberUser(u);
    }
    if (found.length) this.emit("users", { userIds: found });
  }
  /** A user with no name known (not here, never seen): asked once, by id (users.search matches
   * ids by prefix), one question at a time. */
  askName(userId) {
    if (this.users.has(userId) || this.namesAsked.has(userId)) return;
    this.namesAsked.add(userId);
    this.nameQueue.push(userId);
    this.pumpNames();
  }
  pumpNames() {
    if (this.nameBusy || !this.nameQueue.length || this._status !== "connected") return;
    const userId = this.nameQueue.shift();
    this.nameBusy = true;
    const next = (wait) => {
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
        if (error.code === "NOT_CONNECTED" || limited) this.nameQueue.unshift(userId);
        next(limited ? (error.retryAfter || 1) * 1e3 : 0);
      }
    );
  }
  /** inbox.updated: this user's unread count changed (any room of the environment). A thread of
   * this room takes its new count. */
  inboxUpdated(m) {
    const update = {
      count: m.count,
      roomId: m.roomId === void 0 ? null : m.roomId,
      threadId: m.threadId,
      unreadCount: m.unreadCount
    };
    this.emit("inbox", update);
    this.ctx.onInbox(update);
    if (m.roomId !== this.roomId || typeof m.unreadCount !== "number") return;
    const marks = { unreadCount: m.unreadCount };
    if (m.unreadCount > 0) marks.subscribed = true;
    this.store.marks(update.threadId, marks);
    this.changed();
  }
  myUserId() {
    if (this._self && this._self.userId) return this._self.userId;
    return this.claims && typeof this.claims.sub === "string" ? this.claims.sub : null;
  }
  // --- status and errors ---------------------------------------------------------------------
  setStatus(status) {
    const changed = status !== this._status;
    this._status = status;
    if (changed) {
      this.changed();
      this.emit("status", { status });
    }
  }
  emitError(code, message, extra) {
    const detail = { code: code || "ERROR", message: message || "" };
    if (extra) {
      for (const key of ["requestId", "retryAfter", "attempt", "retryInMs", "problem", "field"]) {
        if (extra[key] !== void 0) detail[key] = extra[key];
      }
      if (typeof extra.needed === "string") detail.needed = extra.needed;
    }
    this._lastError = Object.freeze(detail);
    this.changed();
    this.emit("error", { ...detail });
  }
};

// src/client/client.ts
function required(options, name) {
  const value = options[name];
  if (typeof value !== "string" || !value.trim()) throw new TypeError(`createClient: ${name} is required`);
  return value.trim();
}
var PulseClient = class {
  constructor(options) {
    this.rooms = /* @__PURE__ */ new Map();
    this.events = new Emitter();
    this._inboxCount = null;
    this.lastInbox = "";
    if (!options || typeof options !== "object") throw new TypeError("createClient(options): options must be an object");
    const provider = options.tokenProvider ?? (options.tokenUrl ? tokenUrlProvider(options.tokenUrl, options.tokenMethod === "POST" ? "POST" : "GET") : null);
    this.context = {
      publicApiKey: required(options, "publicApiKey"),
      endpoint: required(options, "endpoint"),
      token: options.token?.trim() || null,
      provider,
      providerName: options.tokenProvider ? "the token provider" : "token-url",
      // Without one, the page's WebSocket is looked up at each dial (room.ts): a page (or a test
      // tool) may replace it after the client was made.
      WebSocket: options.WebSocket ?? null,
      presenceThrottleMs: options.presenceThrottleMs ?? PRESENCE_MIN_MS,
      backoffInitialMs: options.backoff?.initialMs ?? BACKOFF_BASE_MS,
      backoffMaxMs: options.backoff?.maxMs ?? BACKOFF_MAX_MS
    };
  }
  /** The room `roomId`, connecting (the same Room for the same id until it is left). */
  enterRoom(roomId, options = {}) {
    const known = this.rooms.get(roomId);
    if (known) return known;
    const room = new RoomImpl(
      roomId,
      { ...this.context, onInbox: (update) => this.inboxUpdated(update) },
      options.initialPresence ?? null
    );
    this.rooms.set(roomId, room);
    room.connect();
    return room;
  }
  getRoom(roomId) {
    return this.rooms.get(roomId) ?? null;
  }
  leaveRoom(roomId) {
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.rooms.delete(roomId);
    room.destroy();
  }
  get inboxCount() {
    return this._inboxCount;
  }
  /** A page of the user's inbox (inbox.list over any connected room's socket). */
  async getInbox(options = {}) {
    const room = Array.from(this.rooms.values()).find((r) => r.status === "connected");
    if (!room) {
      throw { code: "NOT_CONNECTED", message: "getInbox needs a connected room: enter one first." };
    }
    const message = { type: "inbox.list" };
    if (options.cursor) message.cursor = options.cursor;
    const reply = await room.request(message);
    const page = {
      data: Array.isArray(reply.data) ? reply.data : [],
      nextCursor: reply.nextCursor ?? null,
      count: typeof reply.count === "number" ? reply.count : 0
    };
    if (typeof reply.count === "number" && reply.count !== this._inboxCount) {
      this._inboxCount = reply.count;
      this.events.notify();
    }
    return page;
  }
  /** inbox.updated, heard on every connected room's socket: told once. */
  inboxUpdated(update) {
    const key = JSON.stringify(update);
    if (key === this.lastInbox) return;
    this.lastInbox = key;
    if (typeof update.count === "number") this._inboxCount = update.count;
    this.events.emit("inbox", update);
    this.events.notify();
  }
  on(type, handler) {
    return this.events.on(type, handler);
  }
  subscribe(listener) {
    return this.events.subscribe(listener);
  }
  destroy() {
    for (const id of Array.from(this.rooms.keys())) this.leaveRoom(id);
    this.events.clear();
  }
};

// src/client/index.ts
function createClient(options) {
  return new PulseClient(options);
}
export {
  createClient
};
