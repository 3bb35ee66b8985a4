// The client's timings and limits (the same as <pulse-widget>'s; docs/protocol.md explains the server's side).

export const PING_MS = 5 * 60 * 1000; // API Gateway closes a connection idle for 10 minutes
export const PONG_TIMEOUT_MS = 20 * 1000; // no pong by then: the socket is dead, reconnect
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30 * 1000;
export const STABLE_MS = 5 * 1000; // a connection that lived this long resets the backoff
export const PRESENCE_MIN_MS = 100;
export const PRESENCE_MAX_BYTES = 1024;
export const REQUEST_TIMEOUT_MS = 10 * 1000;
export const TOKEN_ATTEMPTS = 4; // token provider failures in a row before the room stops
export const TOKEN_BACKOFF_BASE_MS = 1000; // waits of 0.5-1 s, 1-2 s, 2-4 s between them
export const EXPIRY_SKEW_S = 10; // refresh a token this close to its exp
export const COMMENTS_SHOWN = 100; // a thread's comments are listed up to this many by itself
export const BACKGROUND_MS = 100; // between the pages listed by itself (20 messages/s max)
// Changes applied above a gap in the room's seq that are remembered; past that the position is
// given up (the next reconnect lists the threads again instead of catching up).
export const MAX_AHEAD = 1000;
// How long a gap below room.caughtUp's seq may wait for its live frame before a full list.
export const GAP_WAIT_MS = 2000;
// Between two lookups of an unknown user's name: at most 4/s, well inside the 20 messages a
// second a connection may send beside the pages listed in the background.
export const NAME_LOOKUP_MS = 250;
export const OPEN = 1; // WebSocket.OPEN (an injected class may not define the static)
// The stops that end the room's place: its threads are not kept (this user may not see them).
export const ENDED_BY: ReadonlySet<string> = new Set(["ACCESS_REMOVED", "TOKEN_REVOKED"]);
