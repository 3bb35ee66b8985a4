/*! Pulse widget SDK: <pulse-widget>. Dependency-free; no build step.
 *
 *   <script src="https://YOUR-API/sdk/pulse.js"></script>
 *   <pulse-widget api-key="pk_..." token="eyJ..." room="dashboard" endpoint="wss://..."
 *                 token-url="/pulse-token"></pulse-widget>
 *
 * Attributes: api-key (publishable key), token (a user token from POST /auth/token), room,
 * endpoint (the WebSocket URL, ws:// or wss://), token-url (optional: the widget fetches a fresh
 * {"token"} from it when its token has expired, or was refused, or a connection dropped
 * abnormally), token-method (optional: GET or POST, default GET).
 *
 * token-url is fetched with credentials (fetch's credentials: "include"): the browser sends the
 * page's cookies for it, so the customer's backend knows whose token to mint. On another origin
 * it must answer with Access-Control-Allow-Origin naming the page's origin (not *) and
 * Access-Control-Allow-Credentials: true. A failed fetch (network, CORS, HTTP error, not JSON
 * with a "token", an expired token, no answer in 10 s) is retried with exponential backoff and
 * jitter; after 4 failures in a row the widget stops (status "stopped") and offers "Try again".
 * A token token-url gave that the server then refuses is not replaced at once: it is retried
 * until it nears expiry, so a refusal for another reason does not mint at every retry.
 *
 * Events (bubbling, composed CustomEvents): pulse:connected {connectionId, self, others,
 * access}, pulse:disconnected {code, reason}, pulse:error {code, message, ...}, pulse:presence
 * {connectionId, userId, data}, pulse:members {members}, pulse:broadcast
 * {connectionId, userId, event}, pulse:status {status}, pulse:access {access, previous},
 * pulse:inbox {count, roomId, threadId, unreadCount} (the user's unread count changed, in any
 * room of the environment: count is the whole inbox's, for a badge on the page). A
 * token-url failure's pulse:error (TOKEN_REFRESH_FAILED) adds attempt (failures in a row) and
 * retryInMs (null: stopped); an ACCESS_DENIED one adds needed (the level the action needs).
 *
 * Status (the status property, the data-status attribute, pulse:status): connecting, connected,
 * reconnecting, offline (the browser is offline; it reconnects when the network is back), or
 * stopped: the widget will not try again on its own, and lastError says why (TOKEN_EXPIRED,
 * MISSING_TOKEN, MISSING_ATTRIBUTE, BAD_ENDPOINT, TOKEN_REFRESH_FAILED, ACCESS_REMOVED: the room
 * took this user's access away, TOKEN_REVOKED: the customer's backend revoked the user's
 * tokens, ROOM_ACCESS_DENIED: an access token whose permissions do not reach the room, found
 * before dialling). A new token (attribute or property), a changed attribute or reconnect()
 * starts it again; a revoked token is never sent again (with token-url the widget fetches a new
 * one).
 *
 * Access (the access property, the data-access attribute, pulse:access): the level room.joined
 * gave this connection, as access.changed changes it live: "read" shows the room with a
 * "View only" label and no composer, reply, resolve, edit or delete; "comment" and "write" may
 * do all of those; only "write" may broadcast() (below it, broadcast() sends nothing, returns
 * false and fires pulse:error ACCESS_DENIED). "none" (access removed while connected) ends the
 * connection for good: the widget says so, forgets the room's comments and does not reconnect.
 * null until the first room.joined. A connection refused at the handshake because an identity
 * token has no access to the room, or the room does not exist (403, 404: a browser is not told
 * the status) is a refusal like any other: CONNECT_REFUSED, retried with backoff, as access may
 * be granted or the room created meanwhile.
 *
 * Methods: updatePresence(data) (at most one send per 100 ms; the latest data wins),
 * broadcast(event), reconnect(). Properties: status, access, lastError (the last pulse:error's
 * detail; null again once connected), token (the token attribute: setting it hands the widget a
 * new token, and a widget that is not connected connects with it at once), connectionId, self,
 * others (copies). Errors raised while the widget starts (a missing or expired token, say) fire
 * before a page's later scripts add their listeners: read status and lastError to learn them.
 *
 * The widget lists every thread of the room, page after page (each page one WebSocket message),
 * and loads up to 100 comments per thread ("Show more" for the rest). A list that fails says so,
 * with a "Try again" button; a thread or comment too large to send is skipped with a notice.
 * In a big room, pulse:connected fires once every member has arrived (room.members frames).
 *
 * Reconnecting loses nothing and lists nothing again: the widget keeps its place in the room's
 * order of changes (each change frame's seq) and rejoins with join sinceSeq, applying the
 * room.events it missed as their live frames; on resync.required (the server no longer keeps
 * them) it lists the threads again. Each write (new thread, reply, edit, delete, resolve) carries
 * a random clientMutationId; one not acknowledged when the socket drops is resent with the same
 * id after the rejoin, and the server stores it at most once (its answer says replay: true).
 *
 * Comments: a body's <@userId> of the comment's mentions is a chip with the user's name; typing
 * "@" and letters in a composer lists who can read the room (users.search), and picking one puts
 * "@Name" in the text, sent as <@userId>. Each comment's reactions are toggle buttons, with a
 * picker of common emoji. "Attach" (or a drop or paste) uploads files straight to S3 with
 * attachment.create's presigned POST, showing progress or the refusal; comments show images as
 * thumbnails and other files as chips, each linking to its presigned download. A thread with
 * comments this user has not read shows "N new" (threads.list's unreadCount, then
 * inbox.updated); clicking or focusing in it sends thread.markRead. "Subscribe" / "Unsubscribe"
 * toggles the user's subscription (thread.subscribe, thread.unsubscribe).
 *
 * The protocol is docs/protocol.md. All user text is set with textContent, never as HTML.
 */
(function () {
  "use strict";

  if (typeof window === "undefined" || !window.customElements || !window.HTMLElement) return;
  if (window.customElements.get("pulse-widget")) return;

  var PING_MS = 5 * 60 * 1000; // API Gateway closes a connection idle for 10 minutes
  var PONG_TIMEOUT_MS = 20 * 1000; // no pong by then: the socket is dead, reconnect
  var BACKOFF_BASE_MS = 500;
  var BACKOFF_MAX_MS = 30 * 1000;
  var STABLE_MS = 5 * 1000; // a connection that lived this long resets the backoff
  var PRESENCE_MIN_MS = 100;
  var PRESENCE_MAX_BYTES = 1024;
  var REQUEST_TIMEOUT_MS = 10 * 1000;
  var TOKEN_ATTEMPTS = 4; // token-url failures in a row before the widget stops and says so
  var TOKEN_BACKOFF_BASE_MS = 1000; // waits of 0.5-1 s, 1-2 s, 2-4 s between them
  var EXPIRY_SKEW_S = 10; // refresh a token this close to its exp
  var MAX_AVATARS = 5;
  var BODY_MAX = 10000;
  var COMMENTS_SHOWN = 100; // a thread loads its comments up to this many (then "Show more")
  var BACKGROUND_MS = 100; // between the pages the widget lists by itself (20 messages/s max)
  // Changes applied above a gap in the room's seq that the widget remembers; past that it stops
  // tracking its position (the next reconnect lists the threads again instead of catching up).
  var MAX_AHEAD = 1000;
  // How long a gap below room.caughtUp's seq may wait for its live frame before a full list.
  var GAP_WAIT_MS = 2000;
  var STATUS_TEXT = {
    connecting: "Connecting…",
    connected: "Connected",
    reconnecting: "Reconnecting…",
    offline: "Offline",
    stopped: "Not connected",
  };
  var SIGN_IN_FAILED = "Could not sign you in to comments: ";
  // What the page's visitor reads when the widget stops, by the error that stopped it.
  var STOPPED_TEXT = {
    TOKEN_EXPIRED: "Your session has expired. Reload the page to continue.",
    MISSING_TOKEN: "Comments are unavailable: this page has not signed you in.",
    ACCESS_REMOVED: "Your access to this room was removed.",
    ROOM_ACCESS_DENIED: "You do not have access to this room.",
    TOKEN_REVOKED: "Your session was revoked.",
  };
  // The stops that end the widget's place in the room: the room's comments are not kept.
  var ENDED_BY = { ACCESS_REMOVED: true, TOKEN_REVOKED: true };
  // Room access levels, lowest first (docs/protocol.md, "Room access").
  var LEVELS = ["none", "read", "comment", "write"];
  var VIEW_ONLY_TITLE = "You can read this room's comments, not add to them.";
  var MISCONFIGURED_TEXT = "Comments are unavailable: this page has not set up the widget fully.";
  // `<@userId>` in a body (chalicelib/mentions.py); one of the comment's `mentions` is a chip.
  var MENTION = /<@([^\s<>]{1,128})>/g;
  // The word being typed after `@` (the server matches ids and words of names by prefix).
  var MENTION_TYPED = /(^|\s)@([^\s@<>]{1,64})$/;
  var SEARCH_DEBOUNCE_MS = 200; // users.search while typing: one per pause, not per key
  // Between two lookups of a mentioned user's name: at most 4/s, well inside the 20 messages a
  // second a connection may send beside the comment pages listed in the background.
  var NAME_LOOKUP_MS = 250;
  var REACTION_PICKS = ["\uD83D\uDC4D", "\u2764\uFE0F", "\uD83D\uDE02", "\uD83C\uDF89",
    "\uD83D\uDE2E", "\uD83D\uDE22", "\uD83D\uDC40", "\uD83D\uDE80"]; // 👍 ❤️ 😂 🎉 😮 😢 👀 🚀

  var CSS = [
    ":host{display:block;box-sizing:border-box;width:100%;max-width:100%;min-width:0;",
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;",
    "color:var(--pulse-text,#1f2328);background:var(--pulse-bg,#fff);",
    "border:1px solid var(--pulse-border,#d0d7de);border-radius:12px;overflow:hidden}",
    ":host([hidden]){display:none}",
    "*,*::before,*::after{box-sizing:border-box}",
    "[hidden]{display:none!important}",
    ".sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;",
    "clip:rect(0 0 0 0);white-space:nowrap;border:0}",
    "header.bar{display:flex;align-items:center;justify-content:space-between;gap:8px;",
    "padding:10px 12px;border-bottom:1px solid var(--pulse-border,#d0d7de);",
    "background:var(--pulse-bar,#f6f8fa);flex-wrap:wrap}",
    ".presence{display:flex;align-items:center;min-width:0}",
    ".avatars{display:flex;align-items:center;list-style:none;margin:0;padding:0 0 0 6px}",
    ".avatars li{margin-left:-6px;position:relative}",
    ".avatar{position:relative;display:inline-flex;align-items:center;justify-content:center;",
    "width:30px;height:30px;border-radius:50%;border:2px solid var(--pulse-bg,#fff);",
    "box-shadow:0 0 0 2px var(--c,#888);background:var(--c,#888);color:var(--fg,#fff);",
    "font-size:12px;font-weight:600;letter-spacing:.02em;overflow:hidden;user-select:none;",
    "flex:none}",
    ".avatar img{width:100%;height:100%;object-fit:cover;display:block}",
    ".avatar.small{width:22px;height:22px;font-size:10px;border-width:1px;box-shadow:none}",
    ".avatar.more{background:var(--pulse-muted-bg,#eaeef2);color:var(--pulse-text,#1f2328);",
    "box-shadow:0 0 0 2px var(--pulse-border,#d0d7de)}",
    ".avatar .dot{position:absolute;right:1px;bottom:1px;width:8px;height:8px;border-radius:50%;",
    "background:#2da44e;border:1px solid #fff}",
    ".here{margin-left:8px;font-size:12px;color:var(--pulse-muted,#57606a);white-space:nowrap}",
    ".status{display:inline-flex;align-items:center;gap:6px;font-size:12px;",
    "color:var(--pulse-muted,#57606a);white-space:nowrap}",
    ".status::before{content:'';width:8px;height:8px;border-radius:50%;background:#8c959f}",
    ".status[data-status=connected]::before{background:#2da44e}",
    ".status[data-status=connecting]::before,.status[data-status=reconnecting]::before{",
    "background:#bf8700;animation:pulse-blink 1s ease-in-out infinite}",
    ".status[data-status=offline]::before{background:#cf222e}",
    "@keyframes pulse-blink{50%{opacity:.3}}",
    "@media (prefers-reduced-motion:reduce){.status::before{animation:none!important}}",
    ".panel{padding:12px}",
    ".panel-head{display:flex;align-items:center;justify-content:space-between;gap:8px;",
    "margin-bottom:8px;flex-wrap:wrap}",
    "h2{font-size:15px;margin:0}",
    ".filters{display:inline-flex;border:1px solid var(--pulse-border,#d0d7de);border-radius:8px;",
    "overflow:hidden}",
    ".filters button{border:0;border-radius:0;background:transparent;padding:4px 10px;",
    "font-size:12px}",
    ".filters button[aria-pressed=true]{background:var(--pulse-accent,#0969da);color:#fff}",
    "button{font:inherit;cursor:pointer;border:1px solid var(--pulse-border,#d0d7de);",
    "background:var(--pulse-btn,#f6f8fa);color:inherit;border-radius:6px;padding:4px 10px;",
    "min-height:28px}",
    "button:hover{background:var(--pulse-btn-hover,#eaeef2)}",
    "button:disabled{opacity:.55;cursor:not-allowed}",
    "button.primary{background:var(--pulse-accent,#0969da);",
    "border-color:var(--pulse-accent,#0969da);",
    "color:#fff}",
    "button.primary:hover{filter:brightness(.95)}",
    "button.link{border:0;background:transparent;padding:2px 4px;min-height:0;font-size:12px;",
    "color:var(--pulse-accent,#0969da)}",
    "button.link:hover{text-decoration:underline;background:transparent}",
    "button.danger{color:#cf222e}",
    "button:focus-visible,textarea:focus-visible{outline:2px solid var(--pulse-accent,#0969da);",
    "outline-offset:1px}",
    "textarea{display:block;width:100%;min-height:38px;max-height:200px;resize:vertical;",
    "font:inherit;",
    "padding:6px 8px;border:1px solid var(--pulse-border,#d0d7de);border-radius:6px;",
    "background:var(--pulse-bg,#fff);color:inherit}",
    "form{margin:0}",
    ".compose{display:flex;flex-direction:column;gap:6px;margin-bottom:10px}",
    ".compose .row{display:flex;justify-content:space-between;align-items:center;gap:8px}",
    ".hint{font-size:11px;color:var(--pulse-muted,#57606a)}",
    "@media (hover:none){.hint{visibility:hidden}}",
    ".form-error{color:#cf222e;font-size:12px;min-height:0}",
    ".form-error:empty{display:none}",
    ".threads{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:10px}",
    ".thread{border:1px solid var(--pulse-border,#d0d7de);border-radius:10px;padding:8px 10px;",
    "background:var(--pulse-card,#fff)}",
    ".thread.resolved{background:var(--pulse-muted-bg,#f6f8fa)}",
    ".thread-head{display:flex;justify-content:space-between;align-items:center;gap:6px;",
    "margin-bottom:4px;font-size:12px;color:var(--pulse-muted,#57606a)}",
    ".badge{font-size:11px;border-radius:999px;padding:1px 8px;background:#dafbe1;color:#116329}",
    ".unread{font-size:11px;font-weight:600;border-radius:999px;padding:1px 8px;margin-left:6px;",
    "background:var(--pulse-accent,#0969da);color:#fff}",
    ".thread.has-unread{border-color:var(--pulse-accent,#0969da)}",
    ".thread-tools{display:inline-flex;align-items:center;gap:2px}",
    ".view-only{font-size:11px;border-radius:999px;padding:1px 8px;margin-right:auto;",
    "background:var(--pulse-muted-bg,#eaeef2);color:var(--pulse-muted,#57606a);",
    "border:1px solid var(--pulse-border,#d0d7de)}",
    ".comments{list-style:none;margin:0;padding:0}",
    ".comment{padding:6px 0;border-top:1px solid var(--pulse-divider,#eaeef2)}",
    ".comment:first-child{border-top:0}",
    ".meta{display:flex;align-items:center;gap:6px;min-width:0;flex-wrap:wrap}",
    ".author{font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;",
    "max-width:60%}",
    "time,.edited{font-size:11px;color:var(--pulse-muted,#57606a)}",
    ".body{margin:2px 0 0;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}",
    ".actions{display:flex;gap:4px;flex-wrap:wrap;margin-top:2px}",
    ".edit-form{display:flex;flex-direction:column;gap:6px;margin-top:4px}",
    ".edit-form .row,.reply .row,.confirm{display:flex;gap:6px;justify-content:flex-end;",
    "align-items:center;flex-wrap:wrap}",
    ".confirm span{font-size:12px}",
    ".reply{display:flex;flex-direction:column;gap:6px;margin-top:6px}",
    ".more-comments{font-size:12px;color:var(--pulse-muted,#57606a);margin:4px 0 0}",
    ".empty{color:var(--pulse-muted,#57606a);font-size:13px;text-align:center;padding:12px 0;",
    "margin:0}",
    ".load-more{display:block;margin:10px auto 0}",
    ".notice{display:flex;align-items:center;justify-content:space-between;gap:4px 8px;",
    "flex-wrap:wrap;margin:0;padding:6px 12px;font-size:12px;background:#fff8c5;color:#4d2d00;",
    "border-bottom:1px solid #eed888}",
    ".notice button{font-size:12px;min-height:24px;padding:2px 10px;background:#fff;",
    "color:#4d2d00;border-color:#d4a72c}",
    ".mention{display:inline-block;padding:0 5px;border-radius:999px;font-weight:600;",
    "background:var(--pulse-mention-bg,#ddf4ff);color:var(--pulse-accent,#0969da);white-space:nowrap}",
    ".mention-list{list-style:none;margin:0;padding:4px;border:1px solid var(--pulse-border,#d0d7de);",
    "border-radius:8px;background:var(--pulse-bg,#fff);box-shadow:0 4px 12px rgba(0,0,0,.12);",
    "max-height:220px;overflow:auto}",
    ".mention-list li{display:flex;align-items:center;gap:6px;padding:4px 6px;border-radius:6px;",
    "cursor:pointer;min-width:0}",
    ".mention-list li[aria-selected=true]{background:var(--pulse-accent,#0969da);color:#fff}",
    ".mention-list .uid{font-size:11px;opacity:.75;overflow:hidden;text-overflow:ellipsis}",
    ".reactions{display:flex;flex-wrap:wrap;gap:4px;margin-top:4px;align-items:center}",
    ".reactions button{min-height:24px;padding:0 8px;border-radius:999px;font-size:13px}",
    ".reactions button[aria-pressed=true]{border-color:var(--pulse-accent,#0969da);",
    "background:var(--pulse-mention-bg,#ddf4ff)}",
    ".picker{display:flex;flex-wrap:wrap;gap:2px}",
    ".picker button{border:0;background:transparent;font-size:16px;padding:0 4px}",
    ".files{display:flex;flex-wrap:wrap;gap:6px;margin-top:4px;list-style:none;padding:0}",
    ".files img{display:block;max-width:120px;max-height:90px;border-radius:6px;",
    "border:1px solid var(--pulse-border,#d0d7de);object-fit:cover}",
    ".file,.upload{display:inline-flex;align-items:center;gap:6px;max-width:100%;min-width:0;",
    "padding:2px 8px;border:1px solid var(--pulse-border,#d0d7de);border-radius:999px;",
    "font-size:12px;color:inherit;text-decoration:none}",
    ".file .name,.upload .name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;",
    "min-width:0}",
    ".upload[data-state=failed]{border-color:#cf222e;color:#cf222e;border-radius:8px;",
    "flex-wrap:wrap;white-space:normal}",
    ".upload progress{width:60px;height:6px}",
    ".upload button{min-height:0;padding:0 4px;border:0;background:transparent}",
    ".uploads{display:flex;flex-wrap:wrap;gap:6px;list-style:none;margin:0;padding:0}",
    ".compose.dragging{outline:2px dashed var(--pulse-accent,#0969da);outline-offset:2px}",
    "@media (prefers-color-scheme:dark){:host{--pulse-text:#e6edf3;--pulse-bg:#0d1117;",
    "--pulse-mention-bg:#0c2d6b;",
    "--pulse-border:#30363d;--pulse-bar:#161b22;--pulse-muted:#8d96a0;--pulse-muted-bg:#161b22;",
    "--pulse-btn:#21262d;--pulse-btn-hover:#30363d;--pulse-card:#0d1117;--pulse-divider:#21262d;",
    "--pulse-accent:#2f81f7}.badge{background:#033a16;color:#7ee787}}",
  ].join("\n");

  // --- helpers (the DOM is built with createElement and textContent only) -------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var name in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, name)) continue;
        var value = attrs[name];
        if (value === null || value === undefined || value === false) continue;
        if (name === "text") node.textContent = String(value);
        else if (name === "className") node.className = value;
        else node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    if (children) {
      for (var i = 0; i < children.length; i++) {
        if (children[i]) node.appendChild(children[i]);
      }
    }
    return node;
  }

  function base64UrlDecode(part) {
    var b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var binary = window.atob(b64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new TextDecoder().decode(bytes);
  }

  /** The token's claims, unverified (for exp and sub only); null when it is not a JWT. */
  function claimsOf(token) {
    if (typeof token !== "string") return null;
    var parts = token.split(".");
    if (parts.length !== 3) return null;
    try {
      var claims = JSON.parse(base64UrlDecode(parts[1]));
      return claims && typeof claims === "object" ? claims : null;
    } catch (e) {
      return null;
    }
  }

  /** A token's user token generation (revocations move it on); 0 when it carries none. */
  function generationOf(claims) {
    return claims && typeof claims.gen === "number" ? claims.gen : 0;
  }

  function isExpired(token) {
    var claims = claimsOf(token);
    if (!claims || typeof claims.exp !== "number") return false; // unknown: let the server say
    return claims.exp - EXPIRY_SKEW_S <= Date.now() / 1000;
  }

  /** Wait before token-url's next try after `failures` in a row: exponential, with "equal
   * jitter" (half fixed, half random), so widgets spread out and each wait grows. */
  function tokenBackoff(failures) {
    var ceiling = TOKEN_BACKOFF_BASE_MS * Math.pow(2, failures - 1);
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  /** A token-url failure: `message` for the page's developer, `problem` for its visitor. */
  function tokenProblem(message, problem) {
    var error = new Error(message);
    error.problem = problem;
    return error;
  }

  /** Whether `level` allows what `needed` allows (both names from LEVELS). */
  function atLeast(level, needed) {
    return LEVELS.indexOf(level) >= LEVELS.indexOf(needed);
  }

  /** An access token's level in `room` (the server's rule, chalicelib/access.py): its exact
   * entry, else its longest matching prefix ("acme:*"), else none. null for an identity token
   * (no permissions claim): only the room knows, at the handshake. */
  function tokenLevel(token, room) {
    var claims = claimsOf(token);
    var permissions = claims && claims.permissions;
    if (!permissions || typeof permissions !== "object" || Array.isArray(permissions)) return null;
    if (Object.prototype.hasOwnProperty.call(permissions, room)) {
      return LEVELS.indexOf(permissions[room]) >= 0 ? permissions[room] : "none";
    }
    var best = "none";
    var bestLength = -1;
    Object.keys(permissions).forEach(function (pattern) {
      if (pattern.charAt(pattern.length - 1) !== "*") return;
      var prefix = pattern.slice(0, -1);
      if (prefix.length > bestLength && room.slice(0, prefix.length) === prefix) {
        best = LEVELS.indexOf(permissions[pattern]) >= 0 ? permissions[pattern] : "none";
        bestLength = prefix.length;
      }
    });
    return best;
  }

  /** A level the server sent; an unknown one (a newer server's) is taken as "read": shown, not
   * acted on. */
  function levelOf(value) {
    return LEVELS.indexOf(value) >= 0 ? value : "read";
  }

  function safeColor(value) {
    return typeof value === "string" && /^#[0-9a-f]{3,8}$/i.test(value) ? value : "#6e7781";
  }

  /** Black or white, whichever reads better on `hex`. */
  function textOn(hex) {
    var h = hex.replace("#", "");
    if (h.length === 3 || h.length === 4) h = h[0] + h[0] + h[1] + h[1] + h[2] + h[2];
    var r = parseInt(h.slice(0, 2), 16) / 255;
    var g = parseInt(h.slice(2, 4), 16) / 255;
    var b = parseInt(h.slice(4, 6), 16) / 255;
    var lin = function (c) {
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    var luminance = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    return luminance > 0.4 ? "#1f2328" : "#ffffff";
  }

  // Every URL the widget requests is built by urlWith: ids (the room) only ever travel as query
  // values, never as path segments, so no id can change a path (a room named ".." cannot climb).
  function urlWith(address, base, query) {
    var url = base ? new URL(address, base) : new URL(address);
    Object.keys(query || {}).forEach(function (name) {
      url.searchParams.set(name, query[name]);
    });
    return url;
  }

  // The server's rule for a room id (chalicelib/validation.py): refused here before dialling, so
  // a page learns why instead of seeing its connection refused again and again.
  var ROOM_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
  function roomProblem(room) {
    if (!ROOM_ID.test(room)) return "room must be 1-128 letters, digits and -_.:";
    if (room === "." || room === "..") return 'room must not be "." or ".."';
    return null;
  }

  function safeImageUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      var url = new URL(value, document.baseURI);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function initials(name) {
    var words = String(name || "?")
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    if (!words.length) return "?";
    var first = Array.from(words[0])[0] || "?";
    var last = words.length > 1 ? Array.from(words[words.length - 1])[0] || "" : "";
    return (first + last).toUpperCase();
  }

  function formatTime(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    var now = new Date();
    var sameDay = date.toDateString() === now.toDateString();
    var options = sameDay
      ? { hour: "2-digit", minute: "2-digit" }
      : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
    try {
      return date.toLocaleString(undefined, options);
    } catch (e) {
      return date.toISOString();
    }
  }

  function byCreated(a, b) {
    if (a.createdAt === b.createdAt) return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    return a.createdAt < b.createdAt ? -1 : 1;
  }

  function sameOrder(parent, nodes) {
    var child = parent.firstElementChild;
    for (var i = 0; i < nodes.length; i++) {
      if (child !== nodes[i]) return false;
      child = child.nextElementSibling;
    }
    return child === null;
  }

  /** Put `nodes` in `parent` in this order, moving as little as possible (keeps focus). */
  function reconcile(parent, nodes) {
    if (sameOrder(parent, nodes)) return;
    var keep = new Set(nodes);
    Array.prototype.slice.call(parent.children).forEach(function (child) {
      if (!keep.has(child)) parent.removeChild(child);
    });
    for (var i = 0; i < nodes.length; i++) {
      var at = parent.children[i];
      if (at !== nodes[i]) parent.insertBefore(nodes[i], at || null);
    }
  }

  /** A random clientMutationId (32 hex digits): crypto.getRandomValues, unlike randomUUID,
   * works on pages that are not a secure context. */
  function mutationId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return (b < 16 ? "0" : "") + b.toString(16);
      })
      .join("");
  }

  /** The widget's position in its room's order of changes (docs/protocol.md, "Order and
   * catch-up"): `seq`, the highest seq such that every change up to it was applied (null:
   * unknown), and the seqs applied above a gap (live frames of racing writers can arrive out of
   * order). */
  function Position() {
    this.seq = null;
    this.ahead = new Set();
  }

  /** Whether the change `seq` was applied already. */
  Position.prototype.has = function (seq) {
    return (this.seq !== null && seq <= this.seq) || this.ahead.has(seq);
  };

  Position.prototype.add = function (seq) {
    if (this.has(seq)) return;
    this.ahead.add(seq);
    this._advance();
  };

  /** The whole state is known as of `seq` (room.joined before a full list, resync.required);
   * what was applied above it stays applied. null: unknown. */
  Position.prototype.reset = function (seq) {
    var ahead = this.ahead;
    this.seq = seq;
    this.ahead = new Set();
    if (seq === null) return;
    ahead.forEach(function (s) {
      if (s > seq) this.ahead.add(s);
    }, this);
    this._advance();
  };

  Position.prototype._advance = function () {
    if (this.seq !== null) {
      while (this.ahead.delete(this.seq + 1)) this.seq += 1;
    }
    // A gap that never fills (a change whose frame could not be sent): give up the position
    // rather than grow without end; the next reconnect lists everything again.
    if (this.ahead.size > MAX_AHEAD) this.reset(null);
  };

  /** A room.events entry as the live frame of the same change ({type, data} -> the frame's
   * shape); null for an entry without data or seq. */
  function liveFrame(event) {
    var data = event && event.data;
    if (!data || typeof data !== "object" || typeof event.seq !== "number") return null;
    var frame = { seq: event.seq };
    switch (event.type) {
      case "thread.created":
        return Object.assign(frame, { type: "thread.created", thread: data });
      case "thread.updated":
      case "thread.resolved": // its live frame is thread.updated
        return Object.assign(frame, { type: "thread.updated", thread: data });
      case "thread.deleted":
        return Object.assign(frame, { type: "thread.deleted", threadId: data.id });
      case "comment.created":
      case "comment.updated":
        return Object.assign(frame, { type: event.type, comment: data });
      case "comment.deleted":
        return Object.assign(frame, {
          type: "comment.deleted",
          commentId: data.id,
          threadId: data.threadId,
        });
      case "room.updated":
        return Object.assign(frame, { type: "room.updated", room: data });
      case "room.deleted":
        return Object.assign(frame, { type: "room.deleted" });
      case "reaction.added":
      case "reaction.removed":
        return Object.assign(frame, {
          type: event.type,
          threadId: data.threadId,
          commentId: data.commentId,
          emoji: data.emoji,
          userId: data.userId,
          reactions: data.reactions,
        });
      default:
        return Object.assign(frame, { type: "unknown" }); // a newer server's: its seq counts
    }
  }

  var uid = 0;
  function nextId(prefix) {
    uid += 1;
    return prefix + "-" + uid;
  }

  // --- the element ---------------------------------------------------------------------------

  class PulseWidget extends HTMLElement {
    constructor() {
      super();
      this._init();
    }

    static get observedAttributes() {
      return ["api-key", "token", "room", "endpoint", "token-url"];
    }
  }

  var proto = PulseWidget.prototype;

  proto._init = function () {
    this._shadow = this.attachShadow({ mode: "open" });
    this._status = "offline";
    this._socket = null;
    this._token = null; // a token fetched from token-url; the attribute's otherwise
    this._fresh = false; // _token is from token-url and no connection has opened with it yet
    this._tokenFailures = 0; // token-url failures in a row
    this._tokenProblem = ""; // the last one, as the page's visitor reads it
    this._lastError = null;
    this._info = ""; // a passing message for the visitor while connected (the notice line)
    this._access = null; // this connection's level (room.joined, access.changed); null: unknown
    this._revoked = null; // the token the server revoked ({token, sub, gen}): never sent again
    this._dialToken = null; // the token the current socket was opened with
    this._attempt = 0;
    this._everConnected = false;
    this._wantRefresh = false;
    this._retryTimer = null;
    this._pingTimer = null;
    this._pongTimer = null;
    this._presenceTimer = null;
    this._presence = null; // what updatePresence last asked for
    this._presenceSentAt = 0;
    this._joinedAt = 0;
    this._connectionId = null;
    this._self = null;
    this._members = new Map(); // connectionId -> member (others only)
    this._users = new Map(); // userId -> {name, avatar, color}: comment authors
    this._threads = new Map(); // threadId -> thread (with .comments, oldest first)
    this._threadsCursor = null; // the page being listed (every page is listed, one by one)
    this._threadsLoaded = false;
    this._listError = null; // why listing stopped: shown with a "Try again" button
    this._joining = false; // room.joined said more: room.members frames follow
    this._commentLoads = new Map(); // threadId -> requestId of its comments.list in flight
    this._commentQueue = []; // threadIds whose comments are to be listed, one at a time
    this._filter = "open";
    this._pending = new Map(); // requestId -> {onDone, onError, timer}
    this._position = new Position(); // where this widget is in the room's order of changes
    this._versions = new Map(); // "t:"/"c:" + id -> seq of the last change applied to it
    this._listComplete = false; // every page of the threads was listed (a catch-up needs it)
    this._catchUp = null; // {requestId, since, joinedSeq} of a join with sinceSeq until caught up
    this._place = null; // endpoint, api-key and room the position and the outbox belong to
    this._outbox = new Map(); // clientMutationId -> a write not acknowledged yet (resent)
    this._mutationIds = false; // the server takes clientMutationId (it sends seq)
    this._requestSeq = 0;
    this._threadEls = new Map();
    // "commentId emoji" -> whether this user reacted: reaction frames say so even when the
    // comment's userIds (only the first five) do not name this user.
    this._myReactions = new Map();
    this._nameQueue = []; // mentioned userIds whose names are to be asked (users.search)
    this._namesAsked = new Set();
    this._nameBusy = false;
    this._generation = 0; // bumps on every (re)connect: late callbacks of old sockets are ignored
    this._active = false;
    this._onOnline = this._handleOnline.bind(this);
    this._onOffline = this._handleOffline.bind(this);
    this._ready = false; // a custom element's constructor must not add attributes to the host
    this._build();
    this._ready = true;
  };

  proto.connectedCallback = function () {
    if (this._active) return;
    // `token` set on the element before this script defined it: an own property hides ours.
    if (Object.prototype.hasOwnProperty.call(this, "token")) {
      var early = this.token;
      delete this.token;
      this.token = early;
    }
    this._active = true;
    window.addEventListener("online", this._onOnline);
    window.addEventListener("offline", this._onOffline);
    this._queueStart();
  };

  /** (Re)connect once, at the next microtask: attributes set one after another (or right after
   * the element was inserted) make one connection, not one per attribute. */
  proto._queueStart = function () {
    if (this._startQueued) return;
    this._startQueued = true;
    var widget = this;
    Promise.resolve().then(function () {
      widget._startQueued = false;
      if (widget._active) widget.reconnect();
    });
  };

  proto.disconnectedCallback = function () {
    this._active = false;
    window.removeEventListener("online", this._onOnline);
    window.removeEventListener("offline", this._onOffline);
    this._stop("offline");
  };

  proto.attributeChangedCallback = function (name, oldValue, newValue) {
    if (oldValue === newValue || !this._active) return;
    if (name === "token") {
      this._token = null; // the page gave a new token: use it from now on
      this._fresh = false;
      this._wantRefresh = false;
      if (this._status !== "connected") this._queueStart();
      return;
    }
    if (name === "token-url") return;
    this._queueStart(); // api-key, room or endpoint: a different connection
  };

  // --- public API ----------------------------------------------------------------------------

  Object.defineProperties(proto, {
    status: {
      get: function () {
        return this._status;
      },
    },
    lastError: {
      get: function () {
        return this._lastError ? Object.assign({}, this._lastError) : null;
      },
    },
    access: {
      get: function () {
        return this._access;
      },
    },
    token: {
      get: function () {
        return this.getAttribute("token");
      },
      set: function (value) {
        if (value === null || value === undefined || value === "") this.removeAttribute("token");
        else this.setAttribute("token", String(value));
      },
    },
    connectionId: {
      get: function () {
        return this._connectionId;
      },
    },
    self: {
      get: function () {
        return this._self ? Object.assign({}, this._self) : null;
      },
    },
    others: {
      get: function () {
        return Array.from(this._members.values()).map(function (m) {
          return Object.assign({}, m);
        });
      },
    },
  });

  /** Share this user's presence (an object of at most 1 KB as JSON) with the room. At most one
   * message per 100 ms is sent; the latest data wins. Kept across reconnects. */
  proto.updatePresence = function (data) {
    if (!data || typeof data !== "object" || Array.isArray(data)) {
      throw new TypeError("updatePresence(data): data must be an object");
    }
    var json = JSON.stringify(data);
    if (new TextEncoder().encode(json).length > PRESENCE_MAX_BYTES) {
      this._emitError("PRESENCE_TOO_LARGE", "Presence must be at most 1 KB as JSON.");
      return;
    }
    this._presence = JSON.parse(json);
    this._schedulePresence();
  };

  /** Send any JSON value to the others in the room (they get pulse:broadcast). Needs "write"
   * access: below it nothing is sent (the server would refuse it) and it returns false. */
  proto.broadcast = function (event) {
    if (event === undefined) throw new TypeError("broadcast(event): event is required");
    if (this._connectionId && this._access !== null && !atLeast(this._access, "write")) {
      var message = "broadcast needs write access; this connection has " + this._access + ".";
      this._emitError("ACCESS_DENIED", message, { needed: "write" });
      return false;
    }
    return this._send({ type: "broadcast", event: event });
  };

  /** Drop the current socket (if any) and connect again now (also after the widget stopped). */
  proto.reconnect = function () {
    if (!this._active) return;
    this._stop(null);
    this._attempt = 0;
    this._tokenFailures = 0;
    this._start();
  };

  // --- connection ----------------------------------------------------------------------------

  proto._config = function () {
    return {
      apiKey: (this.getAttribute("api-key") || "").trim(),
      room: (this.getAttribute("room") || "").trim(),
      endpoint: (this.getAttribute("endpoint") || "").trim(),
      tokenUrl: (this.getAttribute("token-url") || "").trim(),
      tokenMethod: (this.getAttribute("token-method") || "GET").trim().toUpperCase(),
    };
  };

  proto._currentToken = function () {
    return this._token || (this.getAttribute("token") || "").trim();
  };

  proto._start = function () {
    var config = this._config();
    var missing = ["apiKey", "room", "endpoint"].filter(function (k) {
      return !config[k];
    });
    if (missing.length) {
      var names = { apiKey: "api-key", room: "room", endpoint: "endpoint" };
      this._halt(
        "MISSING_ATTRIBUTE",
        "Set " + missing.map(function (k) {
          return names[k];
        }).join(", ") + " on <pulse-widget>.",
      );
      return;
    }
    var badRoom = roomProblem(config.room);
    if (badRoom) {
      this._halt("INVALID_ROOM", badRoom + ".");
      return;
    }
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      this._setStatus("offline"); // the "online" event starts it
      return;
    }
    this._setStatus(this._everConnected ? "reconnecting" : "connecting");
    this._open(config);
  };

  proto._open = function (config) {
    var widget = this;
    var generation = ++this._generation;
    var token = this._currentToken();
    var revoked = this._isRevoked(token);
    var outside = !!token && tokenLevel(token, config.room) === "none";
    var needsToken = !token || revoked || outside || isExpired(token) || this._wantRefresh;
    if (needsToken && config.tokenUrl) {
      this._fetchToken(config).then(
        function (fresh) {
          if (generation !== widget._generation || !widget._active) return;
          widget._token = fresh;
          widget._fresh = true;
          widget._wantRefresh = false;
          widget._tokenFailures = 0;
          if (tokenLevel(fresh, config.room) === "none") {
            widget._outside(config.room, "token-url's token");
            return;
          }
          widget._dial(config, fresh, generation);
        },
        function (error) {
          if (generation !== widget._generation || !widget._active) return;
          widget._tokenFailed(error);
        },
      );
      return;
    }
    if (revoked) {
      this._halt(
        "TOKEN_REVOKED",
        "The token was revoked and <pulse-widget> has no token-url. Set a token minted after " +
          "the revocation (the token attribute or property), or a token-url.",
      );
      return;
    }
    if (outside) {
      this._outside(config.room, "The token");
      return;
    }
    if (!token || isExpired(token)) {
      // Nothing to connect with and nowhere to get a token from: the page must give one.
      this._halt(
        token ? "TOKEN_EXPIRED" : "MISSING_TOKEN",
        (token
          ? "The token has expired and <pulse-widget> has no token-url. "
          : "<pulse-widget> has no token and no token-url. ") +
          "Set a fresh token from your backend (the token attribute or property: the widget " +
          "connects with it at once), or a token-url the widget can fetch one from.",
      );
      return;
    }
    this._dial(config, token, generation);
  };

  proto._fetchToken = function (config) {
    var init = {
      method: config.tokenMethod === "POST" ? "POST" : "GET",
      credentials: "include",
      cache: "no-store",
      headers: { Accept: "application/json" },
    };
    if (init.method === "POST") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify({ room: config.room });
    }
    var unexpected = "the sign-in service sent an unexpected answer";
    var url;
    try {
      url = urlWith(config.tokenUrl, document.baseURI).href;
    } catch (e) {
      return Promise.reject(tokenProblem("token-url is not a URL", unexpected));
    }
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = null;
    if (controller) {
      init.signal = controller.signal;
      timer = setTimeout(function () {
        controller.abort();
      }, REQUEST_TIMEOUT_MS);
    }
    var timedOut = function () {
      return !!controller && controller.signal.aborted;
    };
    var timeout = function () {
      return tokenProblem(
        "token-url did not answer within " + REQUEST_TIMEOUT_MS / 1000 + " s",
        "the sign-in service did not answer",
      );
    };
    return window
      .fetch(url, init)
      .then(
        function (response) {
          if (!response.ok) {
            throw tokenProblem(
              "token-url answered HTTP " + response.status,
              "the sign-in service answered with error " + response.status,
            );
          }
          return response.json().then(
            function (body) {
              if (!body || typeof body.token !== "string" || !body.token) {
                throw tokenProblem('token-url did not answer {"token": "..."}', unexpected);
              }
              if (isExpired(body.token)) {
                throw tokenProblem(
                  "token-url answered an expired token (check the clocks and the token lifetime)",
                  "the sign-in service sent an expired token",
                );
              }
              return body.token;
            },
            function () {
              throw timedOut() ? timeout() : tokenProblem("token-url did not answer JSON", unexpected);
            },
          );
        },
        function () {
          // fetch says no more than "Failed to fetch", whatever the cause.
          throw timedOut()
            ? timeout()
            : tokenProblem(
                "token-url could not be fetched: a network error, or an answer from another " +
                  "origin without CORS headers allowing this page with credentials",
                "the sign-in service could not be reached",
              );
        },
      )
      .then(
        function (token) {
          clearTimeout(timer);
          return token;
        },
        function (error) {
          clearTimeout(timer);
          throw error;
        },
      );
  };

  /** token-url failed: try again after a growing wait, or stop after TOKEN_ATTEMPTS in a row. */
  proto._tokenFailed = function (error) {
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      this._setStatus("offline"); // not token-url's fault: the "online" event starts it again
      return;
    }
    this._tokenFailures += 1;
    this._tokenProblem = error.problem || "the sign-in service failed";
    var attempt = this._tokenFailures;
    var message = "Could not get a token from token-url: " + error.message;
    if (attempt >= TOKEN_ATTEMPTS) {
      this._halt(
        "TOKEN_REFRESH_FAILED",
        message +
          ". Stopped after " +
          attempt +
          " failures in a row; call reconnect() or set a token to try again.",
        { attempt: attempt, retryInMs: null },
      );
      return;
    }
    var delay = tokenBackoff(attempt);
    this._emitError("TOKEN_REFRESH_FAILED", message + ". Trying again in " + delay + " ms.", {
      attempt: attempt,
      retryInMs: delay,
    });
    this._setStatus(this._everConnected ? "reconnecting" : "connecting");
    this._schedule(delay);
  };

  /** An access token whose permissions do not reach the room: the server would refuse the
   * handshake (403 ROOM_ACCESS_DENIED, which a browser is not shown), so it is not dialled. */
  proto._outside = function (room, whose) {
    this._setAccess("none");
    this._halt(
      "ROOM_ACCESS_DENIED",
      whose + " is an access token whose permissions give no access to room " + room +
        ": set a token that names it (or a prefix of it), or a token-url that mints one.",
    );
  };

  /** Whether the server revoked `token`: the very token, or another of the same user minted
   * before the revocation. A token carries its user's token generation (`gen`, absent: 0), which
   * every revocation moves on: one of the revoked token's generation or older is dead, one
   * minted after the revocation is not, even within the same second. */
  proto._isRevoked = function (token) {
    var dead = this._revoked;
    if (!token || !dead) return false;
    if (token === dead.token) return true;
    var claims = claimsOf(token);
    return !!claims && claims.sub === dead.sub && generationOf(claims) <= dead.gen;
  };

  /** Stop trying: status "stopped" with the error that says why (pulse:error, lastError). The
   * page (a new token or attribute, reconnect()) or the visitor ("Try again") starts it again. */
  proto._halt = function (code, message, extra) {
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._dropWrites("NOT_CONNECTED", "Not connected: this may not have been saved.");
    this._emitError(code, message, extra);
    this._setStatus("stopped");
  };

  proto._dial = function (config, token, generation) {
    var url;
    try {
      url = urlWith(config.endpoint, null, { apiKey: config.apiKey, token: token, room: config.room });
      if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new Error("not ws(s)");
    } catch (e) {
      this._halt("BAD_ENDPOINT", "endpoint must be a ws:// or wss:// URL.");
      return;
    }
    var socket;
    try {
      socket = new WebSocket(url.href);
    } catch (e) {
      this._emitError("CONNECT_FAILED", String(e && e.message ? e.message : e));
      this._retry();
      return;
    }
    var widget = this;
    var opened = false;
    this._socket = socket;
    this._dialToken = token;
    this._claims = claimsOf(token);
    socket.onopen = function () {
      if (generation !== widget._generation) return;
      opened = true;
      widget._fresh = false; // the token was accepted
      widget._sendJoin(config);
    };
    socket.onmessage = function (event) {
      if (generation !== widget._generation) return;
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (message && typeof message === "object") widget._handle(message);
    };
    socket.onclose = function (event) {
      if (generation !== widget._generation) return;
      widget._closed(opened, event.code, event.reason || "");
    };
    socket.onerror = function () {
      // Always followed by close, which decides what to do.
    };
  };

  proto._closed = function (opened, code, reason) {
    var wasUp = this._status === "connected";
    this._socket = null;
    this._clearTimers();
    this._failPending("NOT_CONNECTED", "The connection closed.");
    this._clearPresence();
    var stable = this._joinedAt && Date.now() - this._joinedAt >= STABLE_MS;
    this._joinedAt = 0;
    this._connectionId = null;
    if (stable) this._attempt = 0;
    // Refused (never opened) or dropped abnormally: the token may be the reason; get a new one.
    // Not when token-url just gave it: another would be refused alike (a full room, a bad key),
    // and each would be minted by the customer's backend. It is replaced once it nears expiry.
    if ((!opened || (code !== 1000 && code !== 1001)) && !(this._fresh && !opened)) {
      this._wantRefresh = true;
    }
    if (wasUp || opened) this._emit("pulse:disconnected", { code: code, reason: reason });
    if (!opened) {
      // A browser is not told why (the status is hidden from it): say what it may be.
      this._emitError(
        "CONNECT_REFUSED",
        "Could not connect: refused (bad key or token, bad room, full room, no access to the " +
          "room, a room that does not exist) or unreachable.",
      );
    }
    if (!this._active) return;
    this._retry();
  };

  proto._retry = function () {
    if (!this._active) return;
    var cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, this._attempt));
    var delay = Math.random() * cap; // full jitter
    this._attempt = Math.min(this._attempt + 1, 30);
    this._setStatus(
      typeof navigator !== "undefined" && navigator.onLine === false ? "offline" : "reconnecting",
    );
    this._schedule(delay);
  };

  proto._schedule = function (delay) {
    var widget = this;
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(function () {
      widget._retryTimer = null;
      if (widget._active) widget._start();
    }, delay);
  };

  /** Close the socket for good (status "offline") or for a reconnect (status null: unchanged);
   * `reason` goes to pulse:disconnected. */
  proto._stop = function (status, reason) {
    this._generation++;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._clearTimers();
    var socket = this._socket;
    this._socket = null;
    var wasUp = this._status === "connected";
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(1000, "Client closing");
      } catch (e) {
        /* already closed */
      }
    }
    this._failPending("NOT_CONNECTED", "The connection closed.");
    this._clearPresence();
    this._joinedAt = 0;
    this._connectionId = null;
    if (wasUp) this._emit("pulse:disconnected", { code: 1000, reason: reason || "Client closing" });
    if (status) this._setStatus(status);
  };

  proto._handleOnline = function () {
    // A stop the network may explain (token-url unreachable) ends; one only the page can end
    // (no token, an expired one) does not.
    var stuck = this._status === "stopped" && !this._retryable();
    if (this._active && !this._socket && !stuck) {
      this._attempt = 0;
      this._tokenFailures = 0;
      clearTimeout(this._retryTimer);
      this._retryTimer = null;
      this._start();
    }
  };

  proto._handleOffline = function () {
    if (this._status !== "connected" && this._status !== "stopped") this._setStatus("offline");
  };

  /** Stopped for a reason trying again may fix: the visitor is offered "Try again". */
  proto._retryable = function () {
    return !!this._lastError && this._lastError.code === "TOKEN_REFRESH_FAILED";
  };

  proto._clearTimers = function () {
    clearInterval(this._pingTimer);
    clearTimeout(this._pongTimer);
    clearTimeout(this._presenceTimer);
    this._pingTimer = this._pongTimer = this._presenceTimer = null;
  };

  proto._send = function (message) {
    var socket = this._socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  };

  /** Send with a requestId; `onDone(reply)` on the event or reply echoing it, `onError(error)`
   * on an error reply, a closed socket or no answer in time. */
  proto._request = function (message, onDone, onError) {
    var requestId = "w" + ++this._requestSeq;
    var widget = this;
    var entry = {
      onDone: onDone || function () {},
      onError: onError || function () {},
      timer: setTimeout(function () {
        if (widget._pending.delete(requestId)) {
          var error = { code: "TIMEOUT", message: "No answer from the server; try again." };
          widget._emitError(error.code, error.message, { requestId: requestId });
          entry.onError(error);
        }
      }, REQUEST_TIMEOUT_MS),
    };
    this._pending.set(requestId, entry);
    if (!this._send(Object.assign({}, message, { requestId: requestId }))) {
      this._pending.delete(requestId);
      clearTimeout(entry.timer);
      entry.onError({ code: "NOT_CONNECTED", message: "Not connected; try again in a moment." });
    }
    return requestId;
  };

  proto._settle = function (message) {
    var requestId = message.requestId;
    if (typeof requestId !== "string" || !this._pending.has(requestId)) return;
    var entry = this._pending.get(requestId);
    this._pending.delete(requestId);
    clearTimeout(entry.timer);
    if (message.type === "error") entry.onError(message);
    else entry.onDone(message);
  };

  proto._failPending = function (code, text) {
    var entries = Array.from(this._pending.values());
    this._pending.clear();
    entries.forEach(function (entry) {
      clearTimeout(entry.timer);
      entry.onError({ code: code, message: text });
    });
  };

  proto._startPing = function () {
    var widget = this;
    clearInterval(this._pingTimer);
    this._pingTimer = setInterval(function () {
      if (!widget._send({ type: "ping" })) return;
      clearTimeout(widget._pongTimer);
      widget._pongTimer = setTimeout(function () {
        // No pong: the socket is half-open. Drop it and reconnect.
        var socket = widget._socket;
        widget._generation++;
        if (socket) {
          socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
          try {
            socket.close();
          } catch (e) {
            /* ignore */
          }
        }
        widget._closed(true, 1006, "No pong");
      }, PONG_TIMEOUT_MS);
    }, PING_MS);
  };

  proto._schedulePresence = function () {
    if (this._presenceTimer || this._presence === null) return;
    var widget = this;
    var wait = this._presenceSentAt + PRESENCE_MIN_MS - Date.now();
    if (wait <= 0) {
      this._flushPresence();
      return;
    }
    this._presenceTimer = setTimeout(function () {
      widget._presenceTimer = null;
      widget._flushPresence();
    }, wait);
  };

  proto._flushPresence = function () {
    if (this._presence === null || !this._connectionId) return; // sent after the next join
    if (this._send({ type: "presence.update", data: this._presence })) {
      this._presenceSentAt = Date.now();
      if (this._self) this._self.presence = this._presence;
      this._renderPresence();
    }
  };

  // --- server messages -----------------------------------------------------------------------

  proto._handle = function (m) {
    switch (m.type) {
      case "room.joined":
        this._joined(m);
        break;
      case "room.members":
        this._moreMembers(m);
        break;
      case "pong":
        clearTimeout(this._pongTimer);
        this._pongTimer = null;
        break;
      case "user.joined":
        this._memberIn(m);
        this._renderPresence();
        this._emitMembers();
        break;
      case "user.left":
      case "users.left": // several left at once: one frame naming them all
        (m.type === "users.left" ? m.left || [] : [m]).forEach(function (gone) {
          this._members.delete(gone.connectionId);
        }, this);
        this._renderPresence();
        this._emitMembers();
        break;
      case "presence.updated":
        this._presenceUpdated(m);
        break;
      case "broadcast":
        this._emit("pulse:broadcast", {
          connectionId: m.connectionId,
          userId: m.userId,
          event: m.event,
        });
        break;
      case "threads.listed":
        this._threadsListed(m);
        break;
      case "comments.listed":
        this._commentsListed(m);
        break;
      case "thread.created":
      case "thread.updated":
      case "thread.deleted":
      case "comment.created":
      case "comment.updated":
      case "comment.deleted":
      case "room.updated":
      case "room.deleted":
      case "reaction.added":
      case "reaction.removed":
        this._liveChange(m);
        break;
      case "room.events":
        this._roomEvents(m);
        break;
      case "room.caughtUp":
        this._caughtUp(m);
        break;
      case "resync.required":
        this._resyncRequired(m);
        break;
      case "access.changed":
        this._accessChanged(m.access);
        break;
      case "inbox.updated":
        this._inboxUpdated(m);
        break;
      case "thread.read":
        this._threadMarks(m.threadId, { unreadCount: m.unreadCount });
        break;
      case "thread.subscription":
        this._threadMarks(m.threadId, { subscribed: m.subscribed });
        break;
      case "error":
        if (m.code === "NOT_CONNECTED") {
          this._settle(m);
          this._dropAndRetry();
          return;
        }
        if (m.code === "TOKEN_REVOKED") {
          this._tokenRevoked(m);
          return;
        }
        this._emitError(m.code, m.message, m);
        if (m.code === "ACCESS_DENIED") this._denied(m);
        if (m.code === "REPLY_TOO_LARGE") this._changeTooLarge(m);
        break;
      default:
        // A change this widget does not show (a newer server's): seen all the same.
        if (typeof m.seq === "number") this._position.add(m.seq);
        break;
    }
    this._settle(m);
  };

  proto._dropAndRetry = function () {
    var socket = this._socket;
    this._generation++;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(1000, "Reconnecting");
      } catch (e) {
        /* ignore */
      }
    }
    this._closed(true, 1000, "Reconnecting");
  };

  proto._joined = function (m) {
    this._connectionId = m.connectionId || null;
    // A server from before room access sends none: it lets every connection do everything.
    this._setAccess(m.access === undefined ? "write" : levelOf(m.access));
    this._info = "";
    var me = m.self || {};
    this._self = {
      connectionId: this._connectionId,
      userId: me.userId,
      name: me.name,
      avatar: me.avatar,
      color: me.color,
      presence: this._presence,
    };
    this._rememberUser(me);
    // A fresh list on every (re)connect: nothing from a previous connection survives.
    this._members = new Map();
    var others = Array.isArray(m.others) ? m.others : [];
    for (var i = 0; i < others.length; i++) this._memberIn(others[i]);
    this._joinedAt = Date.now(); // the backoff resets once this connection has proved stable
    this._everConnected = true;
    this._lastError = null;
    this._setStatus("connected");
    this._startPing();
    this._renderPresence();
    this._renderThreads();
    this._rejoined(m);
    if (this._presence !== null) this._flushPresence();
    this._pumpNames();
    this._joining = m.more === true;
    if (!this._joining) {
      this._joinedAll();
      return;
    }
    // A big room's members come in room.joined, then room.members frames (the last says
    // more: false). Should one never come, carry on with who is known.
    var widget = this;
    var generation = this._generation;
    setTimeout(function () {
      if (widget._joining && generation === widget._generation) widget._joinedAll();
    }, REQUEST_TIMEOUT_MS);
  };

  proto._moreMembers = function (m) {
    if (!this._joining) return;
    var others = Array.isArray(m.others) ? m.others : [];
    for (var i = 0; i < others.length; i++) this._memberIn(others[i]);
    this._renderPresence();
    if (m.more !== true) this._joinedAll();
  };

  proto._joinedAll = function () {
    this._joining = false;
    this._emit("pulse:connected", {
      connectionId: this._connectionId,
      self: this.self,
      others: this.others,
      access: this._access,
    });
    this._emitMembers();
  };

  proto._memberIn = function (m) {
    if (!m || !m.connectionId || m.connectionId === this._connectionId) return;
    this._members.set(m.connectionId, {
      connectionId: m.connectionId,
      userId: m.userId,
      name: m.name,
      avatar: m.avatar,
      color: m.color,
      presence: m.presence === undefined ? null : m.presence,
    });
    this._rememberUser(m);
  };

  proto._rememberUser = function (m) {
    if (m && m.userId) {
      this._users.set(m.userId, { name: m.name, avatar: m.avatar, color: m.color });
    }
  };

  proto._presenceUpdated = function (m) {
    var member = this._members.get(m.connectionId);
    if (member) member.presence = m.data === undefined ? null : m.data;
    this._renderPresence();
    this._emit("pulse:presence", {
      connectionId: m.connectionId,
      userId: m.userId,
      data: m.data,
    });
  };

  proto._clearPresence = function () {
    this._members = new Map();
    this._self = null;
    this._renderPresence();
  };

  proto._emitMembers = function () {
    this._emit("pulse:members", { members: this.others });
  };

  // --- access --------------------------------------------------------------------------------

  /** The level the widget acts on: the connection's, none once it was ended (access removed,
   * session revoked), null while not known. */
  proto._level = function () {
    if (this._ended()) return "none";
    return this._access;
  };

  proto._can = function (needed) {
    var level = this._level();
    return level !== null && atLeast(level, needed);
  };

  proto._ended = function () {
    return this._status === "stopped" && !!this._lastError && !!ENDED_BY[this._lastError.code];
  };

  proto._setAccess = function (level) {
    var previous = this._access;
    this._access = level;
    if (this._ready) {
      if (level === null) this.removeAttribute("data-access");
      else this.setAttribute("data-access", level);
    }
    if (previous !== level) {
      this._renderThreads();
      this._emit("pulse:access", { access: level, previous: previous });
    }
  };

  /** access.changed: held to the new level from the next message on; "none" ends it (the server
   * closes the connection right after, and a new one would be refused). */
  proto._accessChanged = function (value) {
    if (typeof value !== "string") return;
    var level = levelOf(value);
    this._info = "";
    if (level === "none") {
      this._end(
        "ACCESS_REMOVED",
        "This user's access to the room was removed, and the connection was closed. The " +
          "widget does not reconnect on its own: reconnect() or a new token tries again.",
        "none",
      );
      return;
    }
    this._setAccess(level);
    this._renderNotice();
  };

  /** An action above the level (sent before an access.changed arrived, or one the widget does
   * not know of): say so, and act below what it needed from now on. */
  proto._denied = function (m) {
    this._inform(m.message || "You do not have access to do that here.");
    var needed = LEVELS.indexOf(m.needed);
    if (needed > 0 && this._access !== null && LEVELS.indexOf(this._access) >= needed) {
      this._setAccess(LEVELS[needed - 1]);
    }
  };

  /** The customer's backend revoked this user's tokens: the server closes the connection. The
   * token (and any older one of the user) is never sent again. */
  proto._tokenRevoked = function (m) {
    var token = this._dialToken;
    var claims = claimsOf(token) || {};
    this._revoked = { token: token, sub: claims.sub, gen: generationOf(claims) };
    if (this._token === token) this._token = null;
    this._fresh = false;
    this._end(
      "TOKEN_REVOKED",
      (typeof m.message === "string" && m.message ? m.message + " " : "") +
        "The widget does not reconnect with this token: set a new one (the token attribute or " +
        "property), or call reconnect() to fetch one from token-url.",
      null,
    );
  };

  /** End the widget's place in the room: close the socket, forget the room's people and
   * comments (this user may no longer see them), and stop with `code`. */
  proto._end = function (code, message, level) {
    this._stop(null, code);
    this._threads.clear();
    this._threadsLoaded = false;
    this._listComplete = false;
    this._position.reset(null);
    this._versions.clear();
    this._listError = null;
    this._liveDuringLoad = null;
    this._commentQueue = [];
    this._commentLoads.clear();
    this._setAccess(level);
    this._halt(code, message);
  };

  /** A passing message for the visitor while connected (a refused action, a skipped item). */
  proto._inform = function (text) {
    this._info = text;
    this._renderNotice();
  };

  // --- catching up after a reconnect (docs/protocol.md, "Order and catch-up") --------------

  /** join: with sinceSeq when the widget holds the whole room as of a known position, so the
   * server sends only what it missed; otherwise a plain join, and the threads are listed. */
  proto._sendJoin = function (config) {
    // A position, and writes to resend, belong to one room of one environment.
    var place = [config.endpoint, config.apiKey, config.room].join(" ");
    if (this._place !== place) {
      this._place = place;
      this._position.reset(null);
      this._versions.clear();
      this._listComplete = false;
      this._dropWrites("NOT_CONNECTED", "The widget moved to another room: this may not have been saved.");
    }
    var since = this._position.seq;
    if (since === null || !this._listComplete) {
      this._catchUp = null;
      this._send({ type: "join" });
      return;
    }
    var requestId = "w" + ++this._requestSeq;
    this._catchUp = { requestId: requestId, since: since, joinedSeq: null };
    this._send({ type: "join", sinceSeq: since, requestId: requestId });
  };

  /** After room.joined: catch up (room.events, then room.caughtUp or resync.required follow),
   * or list the room from the start as of room.joined's seq. */
  proto._rejoined = function (m) {
    var seq = typeof m.seq === "number" ? m.seq : null;
    this._mutationIds = seq !== null; // a server before seq knows no clientMutationId either
    if (this._catchUp && seq !== null) {
      this._catchUp.joinedSeq = seq;
      var widget = this;
      var requestId = this._catchUp.requestId;
      // Should room.caughtUp never come, list everything as of the join instead.
      this._later(REQUEST_TIMEOUT_MS, function () {
        if (widget._catchUp && widget._catchUp.requestId === requestId) widget._resync(seq);
      });
      return;
    }
    this._catchUp = null;
    this._resync(seq);
  };

  /** List the threads from the start (as on the first load), at position `seq` (null: unknown):
   * the list shows the room as of `seq` or later. Then resend what was not acknowledged. */
  proto._resync = function (seq) {
    this._catchUp = null;
    this._position.reset(seq);
    this._versions.clear();
    this._loadThreads(null);
    this._resendWrites();
  };

  /** room.events: changes the widget missed, in seq order, applied as their live frames are. */
  proto._roomEvents = function (m) {
    if (!this._catchUp || m.requestId !== this._catchUp.requestId) return;
    var events = Array.isArray(m.events) ? m.events : [];
    for (var i = 0; i < events.length; i++) {
      var frame = liveFrame(events[i]);
      if (frame) this._change(frame);
    }
    this._renderThreads();
  };

  /** room.caughtUp: every change up to `seq` has come, or is on its way as a live frame (posted
   * after its commit, it can come later). A gap still left below it after GAP_WAIT_MS means a
   * change the widget will not get: list everything instead. */
  proto._caughtUp = function (m) {
    if (!this._catchUp || m.requestId !== this._catchUp.requestId) return;
    var seq = typeof m.seq === "number" ? m.seq : this._catchUp.joinedSeq;
    var widget = this;
    if (seq !== null && !this._reached(seq)) {
      this._later(GAP_WAIT_MS, function () {
        if (!widget._reached(seq)) widget._resync(seq);
      });
    }
    this._catchUp = null;
    // The listing of threads' further comments that the drop cut short goes on.
    this._pumping = false;
    this._threads.forEach(function (thread) {
      widget._queueComments(thread.id);
    });
    this._resendWrites();
    this._renderThreads();
  };

  proto._reached = function (seq) {
    return this._position.seq !== null && this._position.seq >= seq;
  };

  /** resync.required: the server no longer keeps what the widget missed (or the room is not
   * the one it knew): reload as on the first load, at the position it names. */
  proto._resyncRequired = function (m) {
    if (!this._catchUp || m.requestId !== this._catchUp.requestId) return;
    this._resync(typeof m.seq === "number" ? m.seq : null);
  };

  /** A change too large to send (error REPLY_TOO_LARGE with its seq; without a requestId from
   * a server before seq): list again to catch up. Its seq counts as seen: a catch-up needs a
   * complete list, and the one started here shows the change. */
  proto._changeTooLarge = function (m) {
    var seq = typeof m.seq === "number" ? m.seq : null;
    if (seq === null ? !!m.requestId : this._position.has(seq)) return;
    if (seq !== null) this._position.add(seq);
    if (this._threadsLoaded) this._loadThreads(null);
  };

  /** A live change frame: applied unless it was already (caught up, or a replayed
   * acknowledgement); its seq moves the position on. */
  proto._liveChange = function (m) {
    this._change(m);
    this._renderThreads();
  };

  proto._change = function (m) {
    var seq = typeof m.seq === "number" ? m.seq : null;
    if (m.type === "reaction.added" || m.type === "reaction.removed") this._noteMyReaction(m);
    if (seq !== null && this._position.has(seq)) return;
    this._apply(m, seq);
    if (seq !== null) this._position.add(seq);
  };

  /** The state change of one change frame. `seq` (null: unknown) guards each thread and comment
   * against an older change arriving after a newer one (racing writers, a live frame that
   * overtook the catch-up): seq is the room's order, not arrival. */
  proto._apply = function (m, seq) {
    switch (m.type) {
      case "thread.created":
      case "thread.updated":
        if (m.thread && m.thread.id) this._applyThread(m.thread, seq);
        if (m.thread && Array.isArray(m.thread.comments) && m.thread.comments[0]) {
          this._guessSubscription(m.thread.comments[0]);
        }
        return;
      case "thread.deleted":
        if (!this._newer("t:" + m.threadId, seq)) return;
        this._threads.delete(m.threadId);
        if (this._liveDuringLoad) this._liveDuringLoad.set(m.threadId, null);
        return;
      case "comment.created":
      case "comment.updated":
        // A thread the widget does not hold (an older page) is not marked: nothing was applied.
        if (!m.comment || !this._threads.has(m.comment.threadId)) return;
        if (this._newer("c:" + m.comment.id, seq)) {
          this._upsertComment(this._withNewerReactions(m.comment, seq), m.type === "comment.created");
        }
        if (m.type === "comment.created") this._guessSubscription(m.comment);
        return;
      case "comment.deleted":
        if (this._newer("c:" + m.commentId, seq)) this._removeComment(m.threadId, m.commentId);
        return;
      case "room.deleted":
        this._threads.clear();
        return;
      case "reaction.added":
      case "reaction.removed":
        if (this._newer("r:" + m.commentId, seq)) this._setReactions(m);
        return;
      default:
        return; // room.updated: the widget shows none of the room's settings
    }
  };

  proto._applyThread = function (thread, seq) {
    if (this._newer("t:" + thread.id, seq)) {
      this._upsertThread(thread);
      if (this._liveDuringLoad) this._liveDuringLoad.set(thread.id, this._threads.get(thread.id));
      return;
    }
    // A newer change of the thread came first: keep it, but not without the comments this
    // older frame brings (a thread.created overtaken by the thread's first update).
    if (!this._threads.has(thread.id) || !Array.isArray(thread.comments)) return;
    for (var i = 0; i < thread.comments.length; i++) {
      var c = thread.comments[i];
      if (c && this._newer("c:" + c.id, seq)) this._upsertComment(c, false);
    }
  };

  /** Whether a change at `seq` is newer than the last applied to `key` (and mark it so). */
  proto._newer = function (key, seq) {
    if (seq === null) return true;
    var known = this._versions.get(key);
    if (known !== undefined && known >= seq) return false;
    this._versions.set(key, seq);
    return true;
  };

  // --- writes that survive a reconnect -------------------------------------------------------

  /** Send a write (thread.create, comment.create, comment.update, comment.delete,
   * thread.resolve) with a clientMutationId. Not acknowledged when the socket drops, it is kept
   * and resent with the same id after the rejoin: the server writes it at most once and answers
   * a resend of one it did write with the original acknowledgement (`replay: true`). */
  proto._write = function (message, onDone, onError) {
    var entry = {
      id: null,
      userId: this._myUserId(), // a resend goes only with this user's token
      inFlight: false, // sent on the current socket, not answered yet
      settled: false,
      message: message,
      onDone: onDone || function () {},
      onError: onError || function () {},
    };
    if (this._mutationIds) {
      entry.id = mutationId();
      entry.message = Object.assign({}, message, { clientMutationId: entry.id });
      this._outbox.set(entry.id, entry);
    }
    this._sendWrite(entry);
  };

  proto._sendWrite = function (entry) {
    var widget = this;
    entry.inFlight = true;
    this._request(
      entry.message,
      function (reply) {
        entry.inFlight = false;
        widget._settleWrite(entry, reply, null);
      },
      function (error) {
        entry.inFlight = false;
        // The socket went (or was gone) before an answer: the rejoin resends it.
        var kept = widget._outbox.has(entry.id) && widget._willRejoin();
        if (error.code === "NOT_CONNECTED" && kept) return;
        widget._settleWrite(entry, null, error);
      },
    );
  };

  proto._settleWrite = function (entry, reply, error) {
    if (entry.settled) return;
    entry.settled = true;
    this._outbox.delete(entry.id);
    if (error) entry.onError(error);
    else entry.onDone(reply);
  };

  /** Resend the writes not acknowledged (and not on their way), in the order first sent; not
   * those of another user than the one now signed in (a new token for someone else). */
  proto._resendWrites = function () {
    var entries = Array.from(this._outbox.values());
    var me = this._myUserId();
    for (var i = 0; i < entries.length; i++) {
      if (entries[i].userId !== me) {
        this._settleWrite(entries[i], null, {
          code: "NOT_CONNECTED",
          message: "Signed in as someone else since: this may not have been saved.",
        });
      } else if (!entries[i].inFlight) {
        this._sendWrite(entries[i]);
      }
    }
  };

  /** Fail the writes kept for a rejoin that will not come (the widget stopped). */
  proto._dropWrites = function (code, text) {
    var widget = this;
    Array.from(this._outbox.values()).forEach(function (entry) {
      widget._settleWrite(entry, null, { code: code, message: text });
    });
  };

  proto._willRejoin = function () {
    return this._active && this._status !== "stopped";
  };

  // --- threads state -------------------------------------------------------------------------

  /** List the room's threads: the first page (cursor null, on every (re)connect), then every
   * next one until nextCursor is null. Threads come with their first comments
   * (`comments: true`); the server sends as many as fit one message. */
  proto._loadThreads = function (cursor) {
    var message = { type: "threads.list", comments: true };
    if (cursor) message.cursor = cursor;
    var widget = this;
    this._loadingMore = true;
    this._listError = null;
    this._threadsCursor = cursor || null;
    // Live thread events that arrive while the pages are on their way are kept over them.
    if (!cursor) {
      this._listComplete = false;
      this._liveDuringLoad = new Map();
      this._listFresh = true; // the first answer replaces what the widget holds
      this._commentQueue = [];
      this._pumping = false; // a pump timer of a previous connection never fires
    }
    this._listRequestId = this._request(
      message,
      function () {
        widget._loadingMore = false;
      },
      function (error) {
        widget._listFailed(error, cursor || null);
      },
    );
    this._renderThreads();
  };

  proto._listFailed = function (error, cursor) {
    this._loadingMore = false;
    if (error.code === "ITEM_TOO_LARGE" && "nextCursor" in error) {
      // One thread cannot be sent at all: skip it, say so, and go on with the rest.
      this._inform("A thread is too large to show here; it was skipped.");
      this._listPage([], error.nextCursor || null);
      return;
    }
    if (error.code === "RATE_LIMITED" || error.code === "SERVICE_UNAVAILABLE") {
      var widget = this;
      this._later((error.retryAfter || 1) * 1000, function () {
        widget._loadThreads(cursor);
      });
      return;
    }
    this._liveDuringLoad = null;
    this._listError = { message: error.message || error.code, cursor: cursor };
    if (error.code === "TIMEOUT") this._listRequestId = null; // a late answer is ignored
    this._renderThreads();
  };

  proto._threadsListed = function (m) {
    if (m.requestId !== this._listRequestId) return; // an older request's answer
    this._listPage(Array.isArray(m.data) ? m.data : [], m.nextCursor || null);
  };

  proto._listPage = function (data, nextCursor) {
    if (this._listFresh) {
      this._threads = new Map(); // the whole picture again: nothing stale is kept
      this._listFresh = false;
    }
    for (var i = 0; i < data.length; i++) this._upsertThread(data[i]);
    var live = this._liveDuringLoad;
    if (live) {
      var widget = this;
      live.forEach(function (thread, id) {
        if (thread === null) widget._threads.delete(id);
        else if (!widget._threads.has(id)) widget._upsertThread(thread);
      });
    }
    this._threadsLoaded = true;
    this._loadingMore = false;
    for (var j = 0; j < data.length; j++) this._queueComments(data[j].id);
    if (nextCursor) {
      var self = this;
      this._loadingMore = true;
      this._later(BACKGROUND_MS, function () {
        self._loadThreads(nextCursor);
      });
    } else {
      this._threadsCursor = null;
      this._liveDuringLoad = null;
      this._listComplete = true;
    }
    this._renderThreads();
  };

  /** `fn` after `ms`, unless the widget has reconnected (or stopped) meanwhile. */
  proto._later = function (ms, fn) {
    var widget = this;
    var generation = this._generation;
    setTimeout(function () {
      if (generation === widget._generation && widget._socket) fn();
    }, ms);
  };

  proto._queueComments = function (threadId) {
    var thread = this._threads.get(threadId);
    if (!thread || !thread.commentsNextCursor || thread.comments.length >= COMMENTS_SHOWN) return;
    if (this._commentQueue.indexOf(threadId) < 0) this._commentQueue.push(threadId);
    this._pumpComments();
  };

  proto._pumpComments = function () {
    if (this._commentLoads.size || !this._commentQueue.length || this._pumping) return;
    var widget = this;
    this._pumping = true;
    this._later(BACKGROUND_MS, function () {
      widget._pumping = false;
      var threadId = widget._commentQueue.shift();
      if (threadId) widget._loadComments(threadId);
      widget._pumpComments();
    });
  };

  /** The rest of a thread's first comments (a thread sheds comments to fit one message; its
   * commentsNextCursor goes on with them), up to COMMENTS_SHOWN; `more` past that. */
  proto._loadComments = function (threadId, more) {
    var thread = this._threads.get(threadId);
    if (!thread || !thread.commentsNextCursor || this._commentLoads.has(threadId)) return;
    if (!more && thread.comments.length >= COMMENTS_SHOWN) return;
    var widget = this;
    var requestId = this._request(
      { type: "comments.list", threadId: threadId, cursor: thread.commentsNextCursor },
      function () {
        widget._commentLoads.delete(threadId);
        widget._pumpComments();
      },
      function (error) {
        widget._commentLoads.delete(threadId);
        var known = widget._threads.get(threadId);
        if (known && error.code === "ITEM_TOO_LARGE" && "nextCursor" in error) {
          known.commentsNextCursor = error.nextCursor || null; // skip the one that cannot come
          widget._inform("A comment is too large to show here; it was skipped.");
          widget._queueComments(threadId);
        } else if (error.code === "RATE_LIMITED" || error.code === "SERVICE_UNAVAILABLE") {
          widget._later((error.retryAfter || 1) * 1000, function () {
            widget._queueComments(threadId);
          });
        } // otherwise "Show more" stays, to try again
        widget._pumpComments();
        widget._renderThreads();
      },
    );
    this._commentLoads.set(threadId, requestId);
  };

  proto._commentsListed = function (m) {
    var thread = this._threads.get(m.threadId);
    if (!thread || this._commentLoads.get(m.threadId) !== m.requestId) return;
    var comments = thread.comments.slice();
    var data = Array.isArray(m.data) ? m.data : [];
    for (var i = 0; i < data.length; i++) {
      var c = data[i];
      if (!comments.some(function (x) { return x.id === c.id; })) comments.push(c);
    }
    thread.comments = comments.sort(byCreated);
    thread.commentsNextCursor = m.nextCursor || null;
    this._commentLoads.delete(m.threadId);
    this._queueComments(m.threadId);
    this._renderThreads();
  };

  proto._upsertThread = function (t) {
    if (!t || !t.id) return;
    var known = this._threads.get(t.id);
    var thread = Object.assign({}, known || {}, t);
    if (typeof t.subscribed === "boolean") thread._guessed = false; // the server's word
    if (Array.isArray(t.comments)) thread.comments = t.comments.slice().sort(byCreated);
    else thread.comments = known ? known.comments : [];
    if (!("commentsNextCursor" in t)) {
      thread.commentsNextCursor = known ? known.commentsNextCursor : null;
    }
    this._threads.set(t.id, thread);
  };

  proto._upsertComment = function (c, created) {
    var thread = this._threads.get(c.threadId);
    if (!thread) return; // a thread this widget has not loaded (an older page)
    var comments = thread.comments.slice();
    var at = comments.findIndex(function (x) {
      return x.id === c.id;
    });
    if (at >= 0) comments[at] = c;
    else {
      comments.push(c);
      comments.sort(byCreated);
      if (created) thread.commentCount = (thread.commentCount || 0) + 1;
    }
    thread.comments = comments;
  };

  proto._removeComment = function (threadId, commentId) {
    var thread = this._threads.get(threadId);
    if (!thread) return;
    var before = thread.comments.length;
    thread.comments = thread.comments.filter(function (x) {
      return x.id !== commentId;
    });
    if (thread.comments.length < before) {
      thread.commentCount = Math.max(0, (thread.commentCount || 1) - 1);
    }
  };

  // --- reactions -----------------------------------------------------------------------------

  /** A reaction frame: the comment's whole `reactions` summary after the change. */
  proto._setReactions = function (m) {
    var comment = this._findComment(m.threadId, m.commentId);
    if (!comment || !Array.isArray(m.reactions)) return;
    this._upsertComment(Object.assign({}, comment, { reactions: m.reactions }), false);
  };

  /** A comment frame older than the comment's last reaction frame keeps the newer reactions. */
  proto._withNewerReactions = function (c, seq) {
    var reacted = this._versions.get("r:" + c.id);
    var known = this._findComment(c.threadId, c.id);
    if (seq === null || reacted === undefined || reacted <= seq || !known) return c;
    return Object.assign({}, c, { reactions: known.reactions });
  };

  proto._findComment = function (threadId, commentId) {
    var thread = this._threads.get(threadId);
    if (!thread) return null;
    for (var i = 0; i < thread.comments.length; i++) {
      if (thread.comments[i].id === commentId) return thread.comments[i];
    }
    return null;
  };

  /** This user's own reaction changes (any of its connections): remembered, as the summary's
   * userIds hold only the first five. */
  proto._noteMyReaction = function (m) {
    if (!m.userId || m.userId !== this._myUserId()) return;
    this._myReactions.set(m.commentId + " " + m.emoji, m.type === "reaction.added");
  };

  proto._reactedByMe = function (commentId, reaction) {
    var known = this._myReactions.get(commentId + " " + reaction.emoji);
    if (known !== undefined) return known;
    var ids = Array.isArray(reaction.userIds) ? reaction.userIds : [];
    return ids.indexOf(this._myUserId()) >= 0;
  };

  /** Add or take back this user's `emoji` on a comment (the room's frame updates it). */
  proto._react = function (threadId, commentId, emoji, add, onSettled) {
    var type = add ? "reaction.add" : "reaction.remove";
    var message = { type: type, threadId: threadId, commentId: commentId, emoji: emoji };
    this._write(message, onSettled, onSettled);
  };

  // --- unread state and subscriptions (docs/protocol.md) -------------------------------------

  /** inbox.updated: this user's unread count changed (any room of the environment; the page
   * hears of every one as pulse:inbox). A thread of this room shows its new count, and one the
   * visitor is in (focus inside it) is read at once. */
  proto._inboxUpdated = function (m) {
    this._emit("pulse:inbox", {
      count: m.count,
      roomId: m.roomId === undefined ? null : m.roomId,
      threadId: m.threadId,
      unreadCount: m.unreadCount,
    });
    if (m.roomId !== this._config().room || typeof m.unreadCount !== "number") return;
    // Unread activity reaches only a thread's subscribers (a mention subscribes): a count above
    // zero is the server's word that this user is subscribed, whatever an earlier list said.
    var marks = { unreadCount: m.unreadCount };
    if (m.unreadCount > 0) marks.subscribed = true;
    this._threadMarks(m.threadId, marks);
    var node = this._threadEls.get(m.threadId);
    var focus = this._shadow.activeElement;
    if (m.unreadCount > 0 && node && focus && node.contains(focus)) this._markRead(m.threadId);
  };

  /** A thread's unreadCount or subscribed, as the server last said (this user's only). */
  proto._threadMarks = function (threadId, marks) {
    var thread = this._threads.get(threadId);
    if (!thread) return;
    Object.keys(marks).forEach(function (name) {
      if (marks[name] !== undefined) thread[name] = marks[name];
    });
    if (typeof marks.subscribed === "boolean") thread._guessed = false; // the server's word
    this._renderThreads();
  };

  /** A live comment: threads.list says whether this user is subscribed, but a thread that came
   * live says nothing. The server subscribes a comment's author and the users it mentions,
   * leaving a choice made with thread.(un)subscribe; until a list or a choice says otherwise the
   * widget assumes that rule (and not subscribed otherwise). */
  proto._guessSubscription = function (comment) {
    var thread = this._threads.get(comment.threadId);
    if (!thread || (typeof thread.subscribed === "boolean" && !thread._guessed)) return;
    var me = this._myUserId();
    var mentioned = Array.isArray(comment.mentions) && comment.mentions.indexOf(me) >= 0;
    thread.subscribed = thread.subscribed === true || comment.userId === me || mentioned;
    thread._guessed = true;
  };

  /** The visitor opened a thread (clicked or focused in it): read, if it had unread comments. */
  proto._markRead = function (threadId) {
    var thread = this._threads.get(threadId);
    if (!thread || !(thread.unreadCount > 0) || thread._markingRead) return;
    thread._markingRead = true;
    var done = function () {
      thread._markingRead = false;
    };
    this._request({ type: "thread.markRead", threadId: threadId }, done, done);
  };

  proto._toggleSubscription = function (threadId) {
    var thread = this._threads.get(threadId);
    if (!thread || typeof thread.subscribed !== "boolean") return;
    var type = thread.subscribed ? "thread.unsubscribe" : "thread.subscribe";
    this._request({ type: type, threadId: threadId });
  };

  // --- mentioned users' names ----------------------------------------------------------------

  proto._usersFound = function (reply) {
    var data = reply && Array.isArray(reply.data) ? reply.data : [];
    for (var i = 0; i < data.length; i++) this._rememberUser(data[i]);
  };

  /** A mentioned user the widget has no name for (not here, never seen writing): asked once,
   * by id (users.search matches ids by prefix), one question at a time. */
  proto._askName = function (userId) {
    if (this._users.has(userId) || this._namesAsked.has(userId)) return;
    this._namesAsked.add(userId);
    this._nameQueue.push(userId);
    this._pumpNames();
  };

  proto._pumpNames = function () {
    if (this._nameBusy || !this._nameQueue.length || this._status !== "connected") return;
    var widget = this;
    var userId = this._nameQueue.shift();
    this._nameBusy = true;
    var next = function (wait) {
      setTimeout(function () {
        widget._nameBusy = false;
        widget._pumpNames();
      }, wait || NAME_LOOKUP_MS);
    };
    this._request(
      { type: "users.search", q: userId },
      function (reply) {
        widget._usersFound(reply);
        if (widget._users.has(userId)) widget._renderThreads();
        next();
      },
      function (error) {
        var limited = error.code === "RATE_LIMITED" || error.code === "USER_RATE_LIMITED";
        if (error.code === "NOT_CONNECTED" || limited) {
          widget._nameQueue.unshift(userId); // asked again once connected, or after the wait
        }
        next(limited ? (error.retryAfter || 1) * 1000 : 0);
      },
    );
  };

  proto._myUserId = function () {
    if (this._self && this._self.userId) return this._self.userId;
    return this._claims && typeof this._claims.sub === "string" ? this._claims.sub : null;
  };

  // --- rendering -----------------------------------------------------------------------------

  proto._build = function () {
    var root = this._shadow;
    var css = CSS;
    if ("adoptedStyleSheets" in root && window.CSSStyleSheet) {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(css); // not subject to a page's style-src CSP
        root.adoptedStyleSheets = [sheet];
      } catch (e) {
        root.appendChild(el("style", { text: css }));
      }
    } else {
      root.appendChild(el("style", { text: css }));
    }

    var presenceLabel = nextId("pulse-presence");
    this._avatars = el("ul", { className: "avatars", "aria-labelledby": presenceLabel });
    this._hereText = el("span", { className: "here", "aria-hidden": "true" });
    this._statusEl = el("span", {
      className: "status",
      role: "status",
      "aria-live": "polite",
      "data-status": "offline",
      text: STATUS_TEXT.offline,
    });
    var bar = el("header", { className: "bar", part: "header" }, [
      el("div", { className: "presence" }, [
        el("span", { className: "sr-only", id: presenceLabel, text: "Who is here" }),
        this._avatars,
        this._hereText,
      ]),
      this._statusEl,
    ]);
    this._noticeText = el("span");
    this._retryBtn = el("button", { type: "button", text: "Try again", hidden: true });
    this._retryBtn.addEventListener("click", function () {
      widget.reconnect();
    });
    this._notice = el("div", { className: "notice", role: "alert", hidden: true }, [
      this._noticeText,
      this._retryBtn,
    ]);

    var headingId = nextId("pulse-comments");
    this._countEl = el("span", { className: "sr-only" });
    this._openBtn = el("button", { type: "button", "aria-pressed": "true", text: "Open" });
    this._resolvedBtn = el("button", { type: "button", "aria-pressed": "false", text: "Resolved" });
    var widget = this;
    this._openBtn.addEventListener("click", function () {
      widget._setFilter("open");
    });
    this._resolvedBtn.addEventListener("click", function () {
      widget._setFilter("resolved");
    });
    var filters = el("div", { className: "filters", role: "group", "aria-label": "Show threads" }, [
      this._openBtn,
      this._resolvedBtn,
    ]);
    this._viewOnlyEl = el("span", {
      className: "view-only",
      title: VIEW_ONLY_TITLE,
      "aria-label": "View only: " + VIEW_ONLY_TITLE,
      text: "View only",
      hidden: true,
    });

    this._compose = this._composer({
      label: "Start a new thread",
      placeholder: "Start a new thread…",
      submit: "Comment",
      hint: true,
      className: "compose new-thread",
      attach: true,
      onSubmit: function (body, done, attachmentIds) {
        var message = { type: "thread.create", body: body };
        if (attachmentIds.length) message.attachmentIds = attachmentIds;
        widget._write(message, function () {
          done(null);
          widget._setFilter("open");
        }, done);
      },
    });

    this._threadList = el("ol", { className: "threads", "aria-labelledby": headingId });
    this._emptyEl = el("p", { className: "empty", text: "" });
    this._moreBtn = el("button", {
      type: "button",
      className: "load-more",
      text: "Try again",
    });
    this._moreBtn.addEventListener("click", function () {
      if (widget._listError) widget._loadThreads(widget._listError.cursor);
    });

    var panel = el("section", { className: "panel", "aria-labelledby": headingId, part: "panel" }, [
      el("div", { className: "panel-head" }, [
        el("h2", { id: headingId }, [document.createTextNode("Comments"), this._countEl]),
        this._viewOnlyEl,
        filters,
      ]),
      this._compose.form,
      this._threadList,
      this._emptyEl,
      this._moreBtn,
    ]);
    root.appendChild(bar);
    root.appendChild(this._notice);
    root.appendChild(panel);
    this._renderPresence();
    this._renderThreads();
  };

  /** A labelled textarea + submit button, with `@` suggestions, and with `attach` an attach
   * button (its uploads' ids go with the body). onSubmit(body, done, attachmentIds) calls
   * done(error|null). */
  proto._composer = function (opts) {
    var id = nextId("pulse-text");
    var errorId = nextId("pulse-error");
    var textarea = el("textarea", {
      id: id,
      rows: opts.rows || 2,
      maxlength: BODY_MAX,
      placeholder: opts.placeholder,
      "aria-describedby": errorId,
    });
    var busy = false;
    var widget = this;
    var sync = function () {
      var uploading = !!files && files.busy();
      submit.disabled =
        busy || uploading || !textarea.value.trim() || widget._status !== "connected";
      if (files) files.button.disabled = widget._status !== "connected";
    };
    var mentions = this._mentionBox(textarea);
    var files = opts.attach ? this._attachBox(sync) : null;
    if (opts.value) textarea.value = mentions.toDisplay(opts.value);
    var submit = el("button", { type: "submit", className: "primary", text: opts.submit });
    var error = el("p", { className: "form-error", id: errorId, role: "alert" });
    var buttons = [opts.extra, files && files.button, submit];
    var row = el("div", { className: "row" }, [
      opts.hint
        ? el("span", { className: "hint", "aria-hidden": "true", text: "Ctrl+Enter to send" })
        : el("span"),
      el("span", {}, buttons),
    ]);
    var form = el("form", { className: opts.className, novalidate: true }, [
      el("label", { for: id, className: "sr-only", text: opts.label }),
      textarea,
      mentions.list,
      files && files.list,
      files && files.input,
      error,
      row,
    ]);
    if (opts.extra) opts.extra.style.marginRight = "6px";
    if (files) {
      files.button.style.marginRight = "6px";
      files.acceptDrops(form, textarea);
    }
    textarea.addEventListener("input", sync);
    textarea.addEventListener("keydown", function (e) {
      if (mentions.keydown(e)) return;
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        if (typeof form.requestSubmit === "function") form.requestSubmit();
        else form.dispatchEvent(new Event("submit", { cancelable: true }));
      } else if (e.key === "Escape" && opts.onCancel) {
        e.preventDefault();
        opts.onCancel();
      }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = mentions.toBody(textarea.value);
      if (busy || !body.trim() || (files && files.busy())) return;
      busy = true;
      error.textContent = "";
      sync();
      var ids = files ? files.ids() : [];
      opts.onSubmit(
        body,
        function (failure) {
          busy = false;
          if (failure) {
            error.textContent = failure.message || "Something went wrong.";
          } else if (!opts.keep) {
            textarea.value = "";
            mentions.reset();
            if (files) files.clear();
          }
          sync();
        },
        ids,
      );
    });
    sync();
    return { form: form, textarea: textarea, sync: sync };
  };

  /** The composer's `@` suggestions: typing `@` and letters asks the server (users.search,
   * debounced) and lists who can read the room; picking one (click, or arrows and Enter) puts
   * `@Name` in the text, sent as `<@userId>`. A listbox the textarea points at
   * (aria-activedescendant), as a combobox does. */
  proto._mentionBox = function (textarea) {
    var widget = this;
    var listId = nextId("pulse-mentions");
    var list = el("ul", {
      className: "mention-list",
      role: "listbox",
      id: listId,
      "aria-label": "People to mention",
      hidden: true,
    });
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", listId);
    textarea.setAttribute("aria-expanded", "false");
    var typed = null; // {q, start}: the `@word` before the caret
    var options = []; // [{user, node}]
    var active = -1;
    var timer = null;
    var picks = new Map(); // name -> userId: `@name` in the text stands for `<@userId>`

    var close = function () {
      clearTimeout(timer);
      typed = null;
      options = [];
      active = -1;
      list.replaceChildren();
      list.hidden = true;
      textarea.setAttribute("aria-expanded", "false");
      textarea.removeAttribute("aria-activedescendant");
    };
    var setActive = function (index) {
      active = index;
      options.forEach(function (option, i) {
        option.node.setAttribute("aria-selected", String(i === index));
      });
      if (index >= 0) {
        textarea.setAttribute("aria-activedescendant", options[index].node.id);
        options[index].node.scrollIntoView({ block: "nearest" });
      } else {
        textarea.removeAttribute("aria-activedescendant");
      }
    };
    var pick = function (index) {
      var user = options[index] && options[index].user;
      if (!user || !typed) return;
      var name = user.name || user.userId;
      var end = typed.start + 1 + typed.q.length;
      var text = textarea.value;
      var inserted = "@" + name + " ";
      textarea.value = text.slice(0, typed.start) + inserted + text.slice(end);
      var caret = typed.start + inserted.length;
      textarea.setSelectionRange(caret, caret);
      picks.set(name, user.userId);
      close();
      textarea.dispatchEvent(new Event("input"));
    };
    var show = function (users) {
      options = users.map(function (user, i) {
        var node = el("li", { role: "option", id: listId + "-" + i, "aria-selected": "false" }, [
          widget._avatar(user, true),
          el("span", { className: "name", text: user.name || user.userId }),
          el("span", { className: "uid", text: user.userId }),
        ]);
        node.addEventListener("mousedown", function (e) {
          e.preventDefault(); // keep the focus (and the caret) in the textarea
        });
        node.addEventListener("click", function () {
          pick(i);
        });
        return { user: user, node: node };
      });
      list.replaceChildren.apply(
        list,
        options.map(function (o) {
          return o.node;
        }),
      );
      list.hidden = !options.length;
      textarea.setAttribute("aria-expanded", String(!!options.length));
      setActive(options.length ? 0 : -1);
    };
    var search = function () {
      var q = typed && typed.q;
      if (!q) return;
      widget._request({ type: "users.search", q: q }, function (reply) {
        widget._usersFound(reply);
        if (typed && typed.q === q) show(Array.isArray(reply.data) ? reply.data : []);
      });
    };
    textarea.addEventListener("input", function () {
      var before = textarea.value.slice(0, textarea.selectionStart);
      var found = MENTION_TYPED.exec(before);
      if (!found) {
        close();
        return;
      }
      clearTimeout(timer);
      typed = { q: found[2], start: before.length - found[2].length - 1 };
      timer = setTimeout(search, SEARCH_DEBOUNCE_MS);
    });
    textarea.addEventListener("blur", close);

    var escape = function (text) {
      return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    };
    return {
      list: list,
      /** Arrow keys, Enter, Tab and Escape while the list is open; true: handled. */
      keydown: function (e) {
        if (list.hidden || !options.length) return false;
        if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          var step = e.key === "ArrowDown" ? 1 : -1;
          setActive((active + step + options.length) % options.length);
        } else if ((e.key === "Enter" && !e.ctrlKey && !e.metaKey) || e.key === "Tab") {
          pick(active < 0 ? 0 : active);
        } else if (e.key === "Escape") {
          close();
          e.stopPropagation(); // closes the list, not the editor around it
        } else {
          return false;
        }
        e.preventDefault();
        return true;
      },
      /** The text as sent: each picked `@Name` becomes `<@userId>` (longest names first). */
      toBody: function (text) {
        var names = Array.from(picks.keys()).sort(function (a, b) {
          return b.length - a.length;
        });
        if (!names.length) return text;
        var pattern = new RegExp("@(" + names.map(escape).join("|") + ")", "g");
        return text.replace(pattern, function (all, name) {
          return "<@" + picks.get(name) + ">";
        });
      },
      /** A stored body as the composer shows it: mentions of known users as `@Name`. */
      toDisplay: function (body) {
        return String(body).replace(MENTION, function (all, userId) {
          var user = widget._users.get(userId);
          if (!user || !user.name || (picks.has(user.name) && picks.get(user.name) !== userId)) {
            return all;
          }
          picks.set(user.name, userId);
          return "@" + user.name;
        });
      },
      reset: function () {
        picks.clear();
        close();
      },
    };
  };

  /** The composer's files: each is announced (attachment.create), then uploaded straight to
   * the file store with the presigned POST it returned (XMLHttpRequest, for its progress), and
   * shown as a chip with its progress, its refusal, and a remove button. `onChange` runs when
   * an upload starts or ends (the submit waits for them). */
  proto._attachBox = function (onChange) {
    var widget = this;
    var uploads = [];
    var input = el("input", { type: "file", multiple: true, hidden: true, tabindex: "-1" });
    var button = el("button", { type: "button", text: "Attach", "aria-label": "Attach files" });
    var list = el("ul", { className: "uploads", "aria-label": "Files to attach", hidden: true });
    button.addEventListener("click", function () {
      input.click();
    });
    input.addEventListener("change", function () {
      add(input.files);
      input.value = "";
    });

    var render = function () {
      list.replaceChildren.apply(
        list,
        uploads.map(function (u) {
          return u.node;
        }),
      );
      list.hidden = !uploads.length;
      onChange();
    };
    var show = function (u) {
      var remove = el("button", { type: "button", "aria-label": "Remove " + u.name, text: "\u00D7" });
      remove.addEventListener("click", function () {
        if (u.xhr) u.xhr.abort();
        u.removed = true;
        uploads = uploads.filter(function (x) {
          return x !== u;
        });
        render();
      });
      var status = u.state === "failed" ? u.error : u.state === "done" ? formatSize(u.size) : "";
      var progress =
        u.state === "uploading"
          ? el("progress", { max: String(u.size), value: String(u.loaded), "aria-label": "Uploading " + u.name })
          : null;
      var node = el("li", { className: "upload", "data-state": u.state }, [
        el("span", { className: "name", text: u.name }),
        progress,
        status ? el("span", { className: "state", text: status }) : null,
        remove,
      ]);
      if (u.node && u.node.parentNode) u.node.parentNode.replaceChild(node, u.node);
      u.node = node;
    };
    var update = function (u, changes) {
      if (u.removed) return;
      Object.assign(u, changes);
      show(u);
      onChange();
    };
    var fail = function (u, text) {
      update(u, { state: "failed", error: text, xhr: null });
    };
    var send = function (u, upload) {
      var url = upload && safeImageUrl(upload.url);
      if (!url) {
        fail(u, "The server gave no place to upload to.");
        return;
      }
      var form = new FormData();
      var fields = upload.fields || {};
      Object.keys(fields).forEach(function (name) {
        form.append(name, fields[name]);
      });
      form.append("file", u.file);
      var xhr = new XMLHttpRequest();
      u.xhr = xhr;
      xhr.open("POST", url);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) update(u, { loaded: e.loaded });
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) update(u, { state: "done", xhr: null });
        else fail(u, storeRefusal(xhr));
      });
      xhr.addEventListener("error", function () {
        fail(u, "The upload could not reach the file store.");
      });
      xhr.send(form);
    };
    var start = function (u) {
      var message = { type: "attachment.create", name: u.name, mimeType: u.type, size: u.size };
      widget._request(
        message,
        function (reply) {
          if (u.removed) return;
          u.id = reply.attachment && reply.attachment.id;
          update(u, { state: "uploading" });
          send(u, reply.upload);
        },
        function (error) {
          fail(u, uploadRefusal(u, error));
        },
      );
    };
    var add = function (fileList) {
      Array.prototype.forEach.call(fileList || [], function (file) {
        var u = {
          file: file,
          name: file.name || "file",
          type: file.type || "application/octet-stream",
          size: file.size,
          state: "asking",
          loaded: 0,
          id: null,
          xhr: null,
          node: null,
        };
        uploads.push(u);
        show(u);
        start(u);
      });
      render();
    };
    return {
      input: input,
      button: button,
      list: list,
      busy: function () {
        return uploads.some(function (u) {
          return u.state === "asking" || u.state === "uploading";
        });
      },
      ids: function () {
        return uploads
          .filter(function (u) {
            return u.state === "done" && u.id;
          })
          .map(function (u) {
            return u.id;
          });
      },
      clear: function () {
        uploads = [];
        render();
      },
      /** Files dropped on the form or pasted into the text are attached too. */
      acceptDrops: function (form, textarea) {
        form.addEventListener("dragover", function (e) {
          if (!e.dataTransfer || Array.prototype.indexOf.call(e.dataTransfer.types, "Files") < 0) return;
          e.preventDefault();
          form.classList.add("dragging");
        });
        form.addEventListener("dragleave", function () {
          form.classList.remove("dragging");
        });
        form.addEventListener("drop", function (e) {
          form.classList.remove("dragging");
          if (!e.dataTransfer || !e.dataTransfer.files.length) return;
          e.preventDefault();
          add(e.dataTransfer.files);
        });
        textarea.addEventListener("paste", function (e) {
          var pasted = e.clipboardData && e.clipboardData.files;
          if (!pasted || !pasted.length) return;
          e.preventDefault();
          add(pasted);
        });
      },
    };
  };

  /** Why attachment.create refused a file, short: the list of accepted types is long. */
  function uploadRefusal(u, error) {
    if (error.field === "mimeType") {
      return "Not attached: files of type " + u.type + " are not accepted here (mimeType).";
    }
    return "Not attached: " + (error.message || error.code);
  }

  /** The file store's refusal (S3 answers XML: <Error><Code/><Message/></Error>) as a sentence. */
  function storeRefusal(xhr) {
    var text = "";
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
      var message = doc.getElementsByTagName("Message")[0];
      var code = doc.getElementsByTagName("Code")[0];
      text = (message && message.textContent) || (code && code.textContent) || "";
    } catch (e) {
      text = "";
    }
    return "The file store refused it" + (text ? ": " + text : " (HTTP " + xhr.status + ")") + ".";
  }

  function formatSize(bytes) {
    if (bytes >= 1024 * 1024) return (bytes / (1024 * 1024)).toFixed(1) + " MB";
    if (bytes >= 1024) return Math.round(bytes / 1024) + " KB";
    return bytes + " B";
  }

  proto._avatar = function (user, small) {
    var color = safeColor(user && user.color);
    var name = (user && user.name) || (user && user.userId) || "Someone";
    var node = el("span", { className: small ? "avatar small" : "avatar", "aria-hidden": "true" });
    node.style.setProperty("--c", color);
    node.style.setProperty("--fg", textOn(color));
    var src = safeImageUrl(user && user.avatar);
    var text = initials(name);
    if (src) {
      var img = el("img", { alt: "", src: src, referrerpolicy: "no-referrer", loading: "lazy" });
      img.addEventListener("error", function () {
        if (img.parentNode) img.parentNode.removeChild(img);
        node.textContent = text;
      });
      node.appendChild(img);
    } else {
      node.textContent = text;
    }
    return node;
  };

  proto._renderPresence = function () {
    if (!this._avatars) return;
    var me = this._self;
    // One avatar per user: a user's other tabs are one person here.
    var people = [];
    var seen = new Map();
    if (me) {
      var mine = Object.assign({}, me, { isSelf: true, connections: 1 });
      people.push(mine);
      seen.set(me.userId, mine);
    }
    this._members.forEach(function (m) {
      var known = seen.get(m.userId);
      if (known) {
        known.connections += 1;
        if (!known.isSelf && m.presence) known.presence = m.presence;
        return;
      }
      var person = Object.assign({}, m, { isSelf: false, connections: 1 });
      people.push(person);
      seen.set(m.userId, person);
    });
    var items = [];
    var shown = people.slice(0, people.length > MAX_AVATARS ? MAX_AVATARS - 1 : MAX_AVATARS);
    var avatarEls = new Map();
    for (var i = 0; i < shown.length; i++) {
      var p = shown[i];
      var label = (p.name || p.userId || "Someone") + (p.isSelf ? " (you)" : "");
      var look = JSON.stringify([p.name, p.userId, p.avatar, p.color]);
      var li = this._avatarEls && this._avatarEls.get(p.userId);
      if (!li || li._look !== look) {
        li = el("li");
        li._look = look;
        li.appendChild(this._avatar(p, false));
        li._label = li.appendChild(el("span", { className: "sr-only" }));
      }
      avatarEls.set(p.userId, li);
      li.style.zIndex = String(shown.length + 1 - i); // the first (you) on top
      li.title = label;
      li._label.textContent = label;
      li.setAttribute("data-user-id", p.userId || "");
      li.setAttribute("data-connection-id", p.connectionId || "");
      if (p.isSelf) li.setAttribute("data-self", "true");
      else li.removeAttribute("data-self");
      if (p.presence) li.setAttribute("data-presence", JSON.stringify(p.presence));
      else li.removeAttribute("data-presence");
      items.push(li);
    }
    this._avatarEls = avatarEls;
    var rest = people.slice(shown.length);
    if (rest.length) {
      var names = rest
        .map(function (p) {
          return p.name || p.userId;
        })
        .join(", ");
      var more = el("li", { title: names }, [
        el("span", { className: "avatar more", "aria-hidden": "true", text: "+" + rest.length }),
        el("span", { className: "sr-only", text: "and " + rest.length + " more: " + names }),
      ]);
      items.push(more);
    }
    reconcile(this._avatars, items);
    var count = people.length;
    this._hereText.textContent = me ? (count === 1 ? "Only you" : count + " here") : "";
    if (this._ready) this.setAttribute("data-members", String(Math.max(0, count - (me ? 1 : 0))));
  };

  proto._setFilter = function (filter) {
    this._filter = filter;
    this._openBtn.setAttribute("aria-pressed", String(filter === "open"));
    this._resolvedBtn.setAttribute("aria-pressed", String(filter === "resolved"));
    this._renderThreads();
  };

  proto._renderThreads = function () {
    if (!this._threadList) return;
    var widget = this;
    var all = Array.from(this._threads.values());
    var open = all.filter(function (t) {
      return !t.resolved;
    });
    var resolved = all.filter(function (t) {
      return t.resolved;
    });
    this._openBtn.textContent = "Open (" + open.length + ")";
    this._resolvedBtn.textContent = "Resolved (" + resolved.length + ")";
    this._countEl.textContent = ", " + open.length + " open, " + resolved.length + " resolved";
    var visible = (this._filter === "resolved" ? resolved : open).slice().sort(function (a, b) {
      return -byCreated(a, b); // newest first
    });
    var nodes = visible.map(function (t) {
      var node = widget._threadEls.get(t.id);
      if (!node) {
        node = widget._threadNode(t);
        widget._threadEls.set(t.id, node);
      }
      widget._updateThread(node, t);
      return node;
    });
    this._threadEls.forEach(function (node, id) {
      if (!widget._threads.has(id)) widget._threadEls.delete(id);
    });
    reconcile(this._threadList, nodes);
    var connected = this._status === "connected";
    var canComment = this._can("comment");
    var empty = "";
    if (connected && this._listError) {
      empty = "Comments could not be loaded: " + this._listError.message;
    } else if (!visible.length) {
      if (this._ended()) empty = ""; // the notice says why; nothing of the room is shown
      else if (!connected) empty = "Comments appear once connected.";
      else if (!this._threadsLoaded) empty = "Loading comments…";
      else if (this._filter === "resolved") empty = "No resolved threads.";
      else empty = canComment ? "No open threads. Start one above." : "No open threads.";
    }
    this._emptyEl.textContent = empty;
    this._emptyEl.hidden = !empty;
    this._moreBtn.hidden = !(connected && this._listError);
    this._moreBtn.disabled = !connected || !!this._loadingMore;
    // Actions follow the level: none for "read" (and none before it is known).
    this._compose.form.hidden = !canComment;
    this._viewOnlyEl.hidden = this._level() !== "read";
    this._compose.sync();
    this._threadEls.forEach(function (node) {
      node._reply.sync();
    });
  };

  proto._threadNode = function (t) {
    var widget = this;
    var threadId = t.id;
    var node = el("li", { className: "thread", "data-thread-id": threadId });
    var resolveBtn = el("button", { type: "button", className: "link" });
    resolveBtn.addEventListener("click", function () {
      var thread = widget._threads.get(threadId);
      if (!thread) return;
      resolveBtn.disabled = true;
      widget._write(
        { type: "thread.resolve", threadId: threadId, resolved: !thread.resolved },
        function () {
          resolveBtn.disabled = false;
        },
        function () {
          resolveBtn.disabled = false; // the error itself went out as pulse:error
        },
      );
    });
    var stateEl = el("span", { className: "thread-state" });
    var unreadEl = el("span", { className: "unread", hidden: true });
    var subscribeBtn = el("button", { type: "button", className: "link subscribe", hidden: true });
    subscribeBtn.addEventListener("click", function () {
      widget._toggleSubscription(threadId);
    });
    var open = function () {
      widget._markRead(threadId);
    };
    node.addEventListener("pointerdown", open);
    node.addEventListener("focusin", open);
    var tools = el("span", { className: "thread-tools" }, [subscribeBtn, resolveBtn]);
    var head = el("div", { className: "thread-head" }, [
      el("span", {}, [stateEl, unreadEl]),
      tools,
    ]);
    node._unread = unreadEl;
    node._subscribeBtn = subscribeBtn;
    var list = el("ol", { className: "comments" });
    var moreText = el("span");
    var moreBtn = el("button", { type: "button", className: "link", text: "Show more" });
    moreBtn.addEventListener("click", function () {
      widget._loadComments(threadId, true);
      widget._renderThreads();
    });
    var more = el("p", { className: "more-comments" }, [moreText, moreBtn]);
    var reply = this._composer({
      label: "Reply",
      placeholder: "Reply…",
      submit: "Reply",
      rows: 1,
      className: "reply",
      attach: true,
      onSubmit: function (body, done, attachmentIds) {
        var message = { type: "comment.create", threadId: threadId, body: body };
        if (attachmentIds.length) message.attachmentIds = attachmentIds;
        widget._write(message, function () {
          done(null);
        }, done);
      },
    });
    node.appendChild(head);
    node.appendChild(list);
    node.appendChild(more);
    node.appendChild(reply.form);
    node._head = stateEl;
    node._resolveBtn = resolveBtn;
    node._list = list;
    node._more = more;
    node._moreText = moreText;
    node._moreBtn = moreBtn;
    node._reply = reply;
    node._commentEls = new Map();
    return node;
  };

  proto._updateThread = function (node, t) {
    var widget = this;
    node.classList.toggle("resolved", !!t.resolved);
    node.setAttribute("data-resolved", t.resolved ? "true" : "false");
    var first = t.comments[0];
    var starter = first ? this._userName(first.userId) : "";
    node.setAttribute("aria-label", "Thread" + (starter ? " by " + starter : ""));
    node._head.replaceChildren(
      t.resolved
        ? el("span", { className: "badge", text: "Resolved" })
        : document.createTextNode(
            (t.commentCount || t.comments.length) +
              ((t.commentCount || t.comments.length) === 1 ? " comment" : " comments"),
          ),
    );
    this._updateMarks(node, t);
    var canComment = this._can("comment");
    node._resolveBtn.hidden = !canComment;
    node._reply.form.hidden = !canComment;
    node._resolveBtn.textContent = t.resolved ? "Reopen" : "Resolve";
    node._resolveBtn.setAttribute("aria-label", (t.resolved ? "Reopen" : "Resolve") + " thread");
    var seen = new Set();
    var items = t.comments.map(function (c) {
      seen.add(c.id);
      var item = node._commentEls.get(c.id);
      if (!item) {
        item = widget._commentNode(t.id, c);
        node._commentEls.set(c.id, item);
      }
      widget._updateComment(item, c);
      return item;
    });
    node._commentEls.forEach(function (item, id) {
      if (!seen.has(id)) node._commentEls.delete(id);
    });
    reconcile(node._list, items);
    var hidden = (t.commentCount || 0) - t.comments.length;
    var loading = this._commentLoads.has(t.id);
    node._moreText.textContent =
      hidden > 0 ? (loading ? "Loading comments…" : hidden + " more comments not shown") : "";
    node._moreBtn.hidden = !(hidden > 0 && t.commentsNextCursor && !loading);
    node._more.hidden = hidden <= 0;
  };

  /** The thread's unread badge and subscribe toggle (shown where the server tells them). */
  proto._updateMarks = function (node, t) {
    var unread = typeof t.unreadCount === "number" ? t.unreadCount : 0;
    node._unread.hidden = unread <= 0;
    node._unread.textContent = unread + " new";
    node._unread.setAttribute("aria-label", unread + (unread === 1 ? " unread comment" : " unread comments"));
    node.classList.toggle("has-unread", unread > 0);
    node.setAttribute("data-unread", String(unread));
    var known = typeof t.subscribed === "boolean";
    node._subscribeBtn.hidden = !known;
    node._subscribeBtn.textContent = t.subscribed ? "Unsubscribe" : "Subscribe";
    node._subscribeBtn.setAttribute("data-subscribed", String(!!t.subscribed));
    node._subscribeBtn.setAttribute(
      "aria-label",
      t.subscribed ? "Unsubscribe from this thread" : "Subscribe to this thread",
    );
    node._subscribeBtn.title = t.subscribed
      ? "You are notified of new comments here. Click to stop."
      : "Get notified of new comments here.";
    node._subscribeBtn.disabled = this._status !== "connected";
  };

  proto._userName = function (userId) {
    var me = this._myUserId();
    var user = this._users.get(userId);
    var name = (user && user.name) || userId || "Someone";
    if (userId && userId === me && !(user && user.name) && this._claims && this._claims.name) {
      name = this._claims.name;
    }
    return name;
  };

  proto._commentNode = function (threadId, c) {
    var widget = this;
    var commentId = c.id;
    var item = el("li", { className: "comment", "data-comment-id": commentId });
    var avatarSlot = el("span");
    var author = el("span", { className: "author" });
    var time = el("time");
    var edited = el("span", { className: "edited", text: "(edited)" });
    var body = el("p", { className: "body" });
    var files = el("ul", { className: "files", "aria-label": "Attachments", hidden: true });
    var reactions = this._reactionBar(threadId, commentId);
    var actions = el("div", { className: "actions" });
    var editBtn = el("button", { type: "button", className: "link", text: "Edit" });
    var deleteBtn = el("button", { type: "button", className: "link danger", text: "Delete" });
    actions.appendChild(editBtn);
    actions.appendChild(deleteBtn);
    item.appendChild(el("div", { className: "meta" }, [avatarSlot, author, time, edited]));
    item.appendChild(body);
    item.appendChild(files);
    item.appendChild(reactions.node);
    item.appendChild(actions);
    item._files = files;
    item._reactions = reactions;
    item._avatarSlot = avatarSlot;
    item._author = author;
    item._time = time;
    item._edited = edited;
    item._body = body;
    item._actions = actions;
    item._editBtn = editBtn;
    item._deleteBtn = deleteBtn;
    item._editing = null;
    item._confirm = null;

    editBtn.addEventListener("click", function () {
      if (item._editing) return;
      var current = item._comment;
      var cancel = function () {
        if (!item._editing) return;
        item.removeChild(item._editing.form);
        item._editing = null;
        body.hidden = false;
        files.hidden = !files.firstChild;
        actions.hidden = false;
        editBtn.focus();
      };
      var cancelBtn = el("button", { type: "button", text: "Cancel" });
      cancelBtn.addEventListener("click", cancel);
      var editor = widget._composer({
        label: "Edit comment",
        submit: "Save",
        value: current.body,
        className: "edit-form",
        keep: true,
        extra: cancelBtn,
        onCancel: cancel,
        onSubmit: function (text, done) {
          widget._write(
            { type: "comment.update", threadId: threadId, commentId: commentId, body: text },
            function () {
              done(null);
              cancel();
            },
            done,
          );
        },
      });
      item._editing = editor;
      body.hidden = true;
      files.hidden = true;
      actions.hidden = true;
      item.insertBefore(editor.form, actions);
      editor.textarea.focus();
      editor.textarea.setSelectionRange(editor.textarea.value.length, editor.textarea.value.length);
    });

    deleteBtn.addEventListener("click", function () {
      if (item._confirm) return;
      var yes = el("button", { type: "button", className: "danger", text: "Delete" });
      var no = el("button", { type: "button", text: "Cancel" });
      var confirmRow = el(
        "div",
        { className: "confirm", role: "group", "aria-label": "Confirm delete" },
        [el("span", { text: "Delete this comment?" }), no, yes],
      );
      var close = function () {
        if (!item._confirm) return;
        item.removeChild(item._confirm);
        item._confirm = null;
        actions.hidden = false;
        deleteBtn.focus();
      };
      no.addEventListener("click", close);
      yes.addEventListener("click", function () {
        yes.disabled = no.disabled = true;
        widget._write(
          { type: "comment.delete", threadId: threadId, commentId: commentId },
          function () {},
          function () {
            yes.disabled = no.disabled = false; // the error itself went out as pulse:error
          },
        );
      });
      item._confirm = confirmRow;
      actions.hidden = true;
      item.insertBefore(confirmRow, actions.nextSibling);
      no.focus();
    });
    return item;
  };

  proto._updateComment = function (item, c) {
    var previous = item._comment;
    item._comment = c;
    var name = this._userName(c.userId);
    var user = this._users.get(c.userId) || {};
    var mine = !!c.userId && c.userId === this._myUserId();
    item.setAttribute("data-user-id", c.userId || "");
    item.classList.toggle("mine", mine);
    if (!previous || previous.userId !== c.userId || item._authorName !== name) {
      item._authorName = name;
      item._avatarSlot.replaceChildren(
        this._avatar(
          { name: name, userId: c.userId, avatar: user.avatar, color: user.color },
          true,
        ),
      );
      item._author.textContent = name + (mine ? " (you)" : "");
    }
    item._time.setAttribute("datetime", c.createdAt || "");
    item._time.textContent = formatTime(c.createdAt);
    item._time.title = c.createdAt ? new Date(c.createdAt).toLocaleString() : "";
    item._edited.hidden = !c.editedAt;
    this._renderBody(item, c);
    this._renderFiles(item, c);
    item._reactions.update(c);
    if (!this._can("comment")) this._closeEditors(item); // the level went down meanwhile
    item._actions.hidden = !mine || !this._can("comment") || !!item._editing || !!item._confirm;
    var connected = this._status === "connected";
    item._editBtn.disabled = !connected;
    item._deleteBtn.disabled = !connected;
    item._editBtn.setAttribute("aria-label", "Edit your comment");
    item._deleteBtn.setAttribute("aria-label", "Delete your comment");
  };

  /** The body as text, each of the comment's `mentions` a chip with the user's name; a
   * `<@userId>` not among them (no access) stays as it was typed. */
  proto._renderBody = function (item, c) {
    var body = String(c.body || "");
    var mentioned = Array.isArray(c.mentions) ? c.mentions : [];
    var widget = this;
    var names = mentioned.map(function (userId) {
      var user = widget._users.get(userId);
      if (!user || !user.name) widget._askName(userId);
      return user && user.name ? user.name : userId;
    });
    var key = JSON.stringify([body, mentioned, names]);
    if (item._bodyKey === key) return;
    item._bodyKey = key;
    var nodes = [];
    var at = 0;
    var match;
    MENTION.lastIndex = 0;
    while ((match = MENTION.exec(body))) {
      var index = mentioned.indexOf(match[1]);
      if (index < 0) continue;
      if (match.index > at) nodes.push(document.createTextNode(body.slice(at, match.index)));
      nodes.push(
        el("span", {
          className: "mention",
          "data-user-id": match[1],
          title: match[1],
          text: "@" + names[index],
        }),
      );
      at = match.index + match[0].length;
    }
    if (at < body.length || !nodes.length) nodes.push(document.createTextNode(body.slice(at)));
    item._body.replaceChildren.apply(item._body, nodes);
  };

  /** The comment's files: images as thumbnails opening the full image in a new tab, the rest as
   * chips with name and size; each links to its presigned download. */
  proto._renderFiles = function (item, c) {
    var files = Array.isArray(c.attachments) ? c.attachments : [];
    var key = JSON.stringify(
      files.map(function (f) {
        return [f.id, f.url];
      }),
    );
    if (item._filesKey === key) return;
    item._filesKey = key;
    item._files.replaceChildren.apply(item._files, files.map(fileNode));
    item._files.hidden = !files.length || !!item._editing;
  };

  function fileNode(file) {
    var url = safeImageUrl(file.url);
    var name = String(file.name || "file");
    var size = typeof file.size === "number" ? formatSize(file.size) : "";
    var image = url && /^image\//.test(String(file.mimeType || ""));
    var link = { href: url, target: "_blank", rel: "noopener noreferrer" };
    if (image) {
      var img = el("img", { src: url, alt: name, referrerpolicy: "no-referrer" });
      return el("li", { "data-attachment-id": file.id }, [
        el("a", Object.assign({ className: "thumb", title: name + " (" + size + ")" }, link), [img]),
      ]);
    }
    var chip = [el("span", { className: "name", text: name }), el("span", { text: size })];
    return el("li", { "data-attachment-id": file.id }, [
      url
        ? el("a", Object.assign({ className: "file", title: name }, link), chip)
        : el("span", { className: "file", title: name + " (not available)" }, chip),
    ]);
  }

  /** A comment's reactions: one toggle button per emoji (pressed: this user reacted), and a
   * small picker of common emoji. */
  proto._reactionBar = function (threadId, commentId) {
    var widget = this;
    var buttons = new Map(); // emoji -> button
    var node = el("div", { className: "reactions", role: "group", "aria-label": "Reactions" });
    var addBtn = el("button", {
      type: "button",
      className: "add-reaction",
      "aria-label": "Add reaction",
      "aria-expanded": "false",
      text: "+\u263A",
    });
    var picker = el("div", { className: "picker", role: "group", "aria-label": "Pick a reaction", hidden: true });
    var comment = null;
    var toggle = function (emoji, button) {
      var reaction = (comment.reactions || []).find(function (r) {
        return r.emoji === emoji;
      });
      var mine = !!reaction && widget._reactedByMe(commentId, reaction);
      if (button) button.disabled = true;
      widget._react(threadId, commentId, emoji, !mine, function () {
        if (button) button.disabled = widget._status !== "connected";
      });
    };
    REACTION_PICKS.forEach(function (emoji) {
      var pick = el("button", { type: "button", "aria-label": "React with " + emoji, text: emoji });
      pick.addEventListener("click", function () {
        picker.hidden = true;
        addBtn.setAttribute("aria-expanded", "false");
        toggle(emoji, null);
      });
      picker.appendChild(pick);
    });
    addBtn.addEventListener("click", function () {
      picker.hidden = !picker.hidden;
      addBtn.setAttribute("aria-expanded", String(!picker.hidden));
    });
    var buttonFor = function (emoji) {
      var button = buttons.get(emoji);
      if (!button) {
        button = el("button", { type: "button", className: "reaction", "data-emoji": emoji });
        button.addEventListener("click", function () {
          toggle(emoji, button);
        });
        buttons.set(emoji, button);
      }
      return button;
    };
    return {
      node: node,
      update: function (c) {
        comment = c;
        var canReact = widget._can("comment") && widget._status === "connected";
        var reactions = Array.isArray(c.reactions) ? c.reactions : [];
        var shown = reactions.map(function (r) {
          var button = buttonFor(r.emoji);
          var mine = widget._reactedByMe(commentId, r);
          var label = r.emoji + " " + r.count + (mine ? ", including you" : "");
          button.textContent = r.emoji + " " + r.count;
          button.setAttribute("aria-pressed", String(mine));
          button.setAttribute("aria-label", label);
          button.title = (r.userIds || []).map(function (id) {
            return widget._userName(id);
          }).join(", ") + (r.count > (r.userIds || []).length ? " and others" : "");
          button.disabled = !canReact;
          return button;
        });
        buttons.forEach(function (button, emoji) {
          if (!reactions.some(function (r) { return r.emoji === emoji; })) buttons.delete(emoji);
        });
        addBtn.hidden = !widget._can("comment");
        addBtn.disabled = !canReact;
        if (!canReact) picker.hidden = true;
        reconcile(node, shown.concat([addBtn, picker]));
      },
    };
  };

  /** Close a comment's open editor or delete confirmation, keeping nothing of them. */
  proto._closeEditors = function (item) {
    if (item._editing) {
      item.removeChild(item._editing.form);
      item._editing = null;
      item._body.hidden = false;
      item._files.hidden = !item._files.firstChild;
    }
    if (item._confirm) {
      item.removeChild(item._confirm);
      item._confirm = null;
    }
  };

  // --- status and events ---------------------------------------------------------------------

  proto._setStatus = function (status) {
    var changed = status !== this._status;
    this._status = status;
    if (this._ready) this.setAttribute("data-status", status);
    if (this._statusEl) {
      this._statusEl.setAttribute("data-status", status);
      this._statusEl.textContent = STATUS_TEXT[status] || status;
    }
    this._renderNotice();
    if (changed) {
      this._renderThreads();
      this._emit("pulse:status", { status: status });
    }
  };

  proto._renderNotice = function () {
    if (!this._notice) return;
    var text = this._noticeFor(this._status);
    this._noticeText.textContent = text;
    this._notice.hidden = !text;
    this._retryBtn.hidden = !(this._status === "stopped" && this._retryable());
  };

  /** The line the page's visitor reads under the header: what is wrong, and what happens next. */
  proto._noticeFor = function (status) {
    var code = this._lastError ? this._lastError.code : null;
    var signIn = code === "TOKEN_REFRESH_FAILED";
    if (status === "stopped") {
      if (signIn) return SIGN_IN_FAILED + this._tokenProblem + ".";
      return STOPPED_TEXT[code] || MISCONFIGURED_TEXT;
    }
    if (status === "offline") {
      return "You are offline. The widget reconnects when the network is back.";
    }
    if (status === "connecting" || status === "reconnecting") {
      if (signIn) return SIGN_IN_FAILED + this._tokenProblem + ". Trying again…";
      if (status === "reconnecting") {
        return this._everConnected ? "Connection lost. Reconnecting…" : "Could not connect. Trying again…";
      }
    }
    if (status === "connected") return this._info;
    return "";
  };

  proto._emit = function (name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail: detail, bubbles: true, composed: true }));
  };

  proto._emitError = function (code, message, extra) {
    var detail = { code: code || "ERROR", message: message || "" };
    if (extra && extra.requestId) detail.requestId = extra.requestId;
    if (extra && extra.retryAfter !== undefined) detail.retryAfter = extra.retryAfter;
    if (extra && extra.attempt !== undefined) detail.attempt = extra.attempt;
    if (extra && extra.retryInMs !== undefined) detail.retryInMs = extra.retryInMs;
    if (extra && typeof extra.needed === "string") detail.needed = extra.needed;
    this._lastError = detail; // kept for listeners added later (status + lastError)
    this._emit("pulse:error", Object.assign({}, detail));
  };

  window.customElements.define("pulse-widget", PulseWidget);
  window.PulseWidget = PulseWidget;
})();
