// Writes that survive a reconnect: a clientMutationId each, resent with the same id after the rejoin.
import type { PulseError, ServerMessage } from "./types.js";
import type { OnDone, OnError, Requests } from "./requests.js";

interface Entry {
  id: string | null;
  userId: string | null; // a resend goes only with this user's token
  inFlight: boolean; // sent on the current socket, not answered yet
  settled: boolean;
  message: Record<string, unknown>;
  onDone: OnDone;
  onError: OnError;
}

/** A random clientMutationId (32 hex digits): crypto.getRandomValues, unlike randomUUID, works on
 * pages that are not a secure context. */
export function mutationId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => (b < 16 ? "0" : "") + b.toString(16)).join("");
}

export class Outbox {
  private entries = new Map<string, Entry>();
  /** The server takes clientMutationId (room.joined carries seq). */
  mutationIds = false;

  constructor(
    private readonly requests: Requests,
    private readonly me: () => string | null,
    private readonly willRejoin: () => boolean,
  ) {}

  /** Send a write with a clientMutationId. Not acknowledged when the socket drops, it is kept and
   * resent with the same id after the rejoin: the server writes it at most once and answers a
   * resend of one it did write with the original acknowledgement (`replay: true`). */
  write(message: Record<string, unknown>, onDone: OnDone, onError: OnError): void {
    const entry: Entry = { id: null, userId: this.me(), inFlight: false, settled: false, message, onDone, onError };
    if (this.mutationIds) {
      entry.id = mutationId();
      entry.message = { ...message, clientMutationId: entry.id };
      this.entries.set(entry.id, entry);
    }
    this.send(entry);
  }

  private send(entry: Entry): void {
    entry.inFlight = true;
    this.requests.request(
      entry.message,
      (reply) => {
        entry.inFlight = false;
        this.settle(entry, reply, null);
      },
      (error) => {
        entry.inFlight = false;
        // The socket went (or was gone) before an answer: the rejoin resends it.
        const kept = entry.id !== null && this.entries.has(entry.id) && this.willRejoin();
        if (error.code === "NOT_CONNECTED" && kept) return;
        this.settle(entry, null, error);
      },
    );
  }

  private settle(entry: Entry, reply: ServerMessage | null, error: PulseError | null): void {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.id !== null) this.entries.delete(entry.id);
    if (error) entry.onError(error);
    else if (reply) entry.onDone(reply);
  }

  /** Resend the writes not acknowledged (and not on their way), in the order first sent; not
   * those of another user than the one now signed in (a new token for someone else). */
  resend(): void {
    const me = this.me();
    for (const entry of Array.from(this.entries.values())) {
      if (entry.userId !== me) {
        this.settle(entry, null, {
          code: "NOT_CONNECTED",
          message: "Signed in as someone else since: this may not have been saved.",
        });
      } else if (!entry.inFlight) {
        this.send(entry);
      }
    }
  }

  /** Fail the writes kept for a rejoin that will not come. */
  drop(code: string, message: string): void {
    for (const entry of Array.from(this.entries.values())) this.settle(entry, null, { code, message });
  }

  get size(): number {
    return this.entries.size;
  }
}
