/** Minted tokens kept until shortly before they expire, per user and request: a page load that
 * asks for a user's token again gets the same one without a round trip. */
import type { MintedToken, MintRequest } from "./types.js";

/** At most this long before `expiresAt` a cached token is minted afresh (and at most a quarter
 * of its lifetime, so a short-lived token is still reused). */
const REFRESH_BEFORE_MS = 60_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  userId: string;
  token: MintedToken;
  freshUntil: number;
}

/** A stable key: the same request with its keys in another order is the same entry. */
function keyOf(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(keyOf).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${keyOf(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<MintedToken>>();

  async get(request: MintRequest, mint: () => Promise<MintedToken>): Promise<MintedToken> {
    const key = keyOf(request);
    const now = Date.now();
    const entry = this.entries.get(key);
    if (entry && now < entry.freshUntil) return entry.token;
    this.entries.delete(key);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight; // concurrent asks for one user share one mint
    const minting = mint()
      .then((token) => {
        this.store(key, request.userId, token, now);
        return token;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, minting);
    return minting;
  }

  clear(): void {
    this.entries.clear();
  }

  /** Drops a user's tokens: after their revocation they would be refused. */
  forget(userId: string): void {
    for (const [key, entry] of this.entries) {
      if (entry.userId === userId) this.entries.delete(key);
    }
  }

  private store(key: string, userId: string, token: MintedToken, mintedAt: number): void {
    const expiresAt = Date.parse(token.expiresAt);
    if (Number.isNaN(expiresAt)) return;
    const margin = Math.min(REFRESH_BEFORE_MS, (expiresAt - mintedAt) / 4);
    if (this.entries.size >= MAX_ENTRIES) {
      // Oldest first (a Map keeps insertion order): bounded memory in a long-lived server.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { userId, token, freshUntil: expiresAt - margin });
  }
}
