/** What the widget says: status labels, the notice line's sentences, and the hints it adds to
 * errors for the page's developer (who sets attributes, not client options). */

import type { Status } from "../client/types.js";

export const STATUS_TEXT: Record<Status, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  stopped: "Not connected",
};

export const SIGN_IN_FAILED = "Could not sign you in to comments: ";

/** What the page's visitor reads when the widget stops, by the error that stopped it. */
export const STOPPED_TEXT: Record<string, string> = {
  TOKEN_EXPIRED: "Your session has expired. Reload the page to continue.",
  MISSING_TOKEN: "Comments are unavailable: this page has not signed you in.",
  ACCESS_REMOVED: "Your access to this room was removed.",
  ROOM_ACCESS_DENIED: "You do not have access to this room.",
  TOKEN_REVOKED: "Your session was revoked.",
};

export const MISCONFIGURED_TEXT = "Comments are unavailable: this page has not set up the widget fully.";

/** The stops that end the widget's place in the room: the room's comments are not kept. */
export const ENDED_BY = new Set(["ACCESS_REMOVED", "TOKEN_REVOKED"]);

export const VIEW_ONLY_TITLE = "You can read this room's comments, not add to them.";

// The client's advice names its options; a page using the widget sets attributes instead.
const WIDGET_TERMS: readonly [RegExp, string][] = [
  [/there is no token and no token provider/i, "<pulse-widget> has no token and no token-url"],
  [/there is no token provider/i, "<pulse-widget> has no token-url"],
  [/setToken\(\): the room connects/g, "the token attribute or property: the widget connects"],
  [/\(setToken\(\)\)/g, "(the token attribute or property)"],
  [/a token provider \(tokenProvider or tokenUrl\) to get one from/g, "a token-url the widget can fetch one from"],
  [/a token provider \(tokenProvider or tokenUrl\)/g, "a token-url"],
  [/from the token provider/g, "from token-url"],
  [/a token provider that/g, "a token-url that"],
  [/The room does not/g, "The widget does not"],
];

/** The client's error message as the page's developer acts on it (attributes, not options). */
export function inWidgetTerms(message: string): string {
  return WIDGET_TERMS.reduce((text, [pattern, words]) => text.replace(pattern, words), message);
}

/** The server's rule for a room id (chalicelib/validation.py): refused before dialling, so a
 * page learns why instead of seeing its connection refused again and again. */
const ROOM_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
export function roomProblem(room: string): string | null {
  if (!ROOM_ID.test(room)) return "room must be 1-128 letters, digits and -_.:";
  if (room === "." || room === "..") return 'room must not be "." or ".."';
  return null;
}
