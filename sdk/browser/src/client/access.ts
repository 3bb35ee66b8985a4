// Room access levels: their order, a token's level in a room, and the level a server sent.
import type { AccessLevel } from "./types.js";
import type { Claims } from "./token.js";

export const LEVELS: readonly AccessLevel[] = ["none", "read", "comment", "write"];

/** Whether `level` allows what `needed` allows. */
export function atLeast(level: AccessLevel, needed: AccessLevel): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(needed);
}

/** A level the server sent; an unknown one (a newer server's) is taken as "read": shown, not
 * acted on. */
export function levelOf(value: unknown): AccessLevel {
  return LEVELS.indexOf(value as AccessLevel) >= 0 ? (value as AccessLevel) : "read";
}

/** An access token's level in `room` (the server's rule, chalicelib/access.py): its exact entry,
 * else its longest matching prefix ("acme:*"), else none. null for an identity token (no
 * permissions claim): only the room knows, at the handshake. */
export function tokenLevel(claims: Claims | null, room: string): AccessLevel | null {
  const permissions = claims?.permissions;
  if (!permissions || typeof permissions !== "object" || Array.isArray(permissions)) return null;
  const table = permissions as Record<string, unknown>;
  const known = (value: unknown): AccessLevel => (LEVELS.indexOf(value as AccessLevel) >= 0 ? (value as AccessLevel) : "none");
  if (Object.prototype.hasOwnProperty.call(table, room)) return known(table[room]);
  let best: AccessLevel = "none";
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

// The server's rule for a room id (chalicelib/validation.py): refused before dialling, so a page
// learns why instead of seeing its connection refused again and again.
const ROOM_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
export function roomProblem(room: string): string | null {
  if (!ROOM_ID.test(room)) return "room must be 1-128 letters, digits and -_.:";
  if (room === "." || room === "..") return 'room must not be "." or ".."';
  return null;
}
