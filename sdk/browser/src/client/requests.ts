// Requests that expect an answer: a requestId each, settled by the frame echoing it, an error, a drop or a timeout.
import { REQUEST_TIMEOUT_MS } from "./constants.js";
import type { PulseError, ServerMessage } from "./types.js";

export type OnDone = (reply: ServerMessage) => void;
export type OnError = (error: PulseError) => void;

interface Pending {
  onDone: OnDone;
  onError: OnError;
  timer: ReturnType<typeof setTimeout>;
}

export class Requests {
  private pending = new Map<string, Pending>();
  private seq = 0;

  constructor(
    private readonly send: (message: Record<string, unknown>) => boolean,
    private readonly timedOut: (error: PulseError) => void,
  ) {}

  nextId(): string {
    return "c" + ++this.seq;
  }

  /** Send with a requestId; `onDone(reply)` on the event or reply echoing it, `onError(error)`
   * on an error reply, a closed socket or no answer in time. */
  request(message: Record<string, unknown>, onDone?: OnDone, onError?: OnError): string {
    const requestId = this.nextId();
    const entry: Pending = {
      onDone: onDone ?? (() => {}),
      onError: onError ?? (() => {}),
      timer: setTimeout(() => {
        if (this.pending.delete(requestId)) {
          const error: PulseError = { code: "TIMEOUT", message: "No answer from the server; try again.", requestId };
          this.timedOut(error);
          entry.onError(error);
        }
      }, REQUEST_TIMEOUT_MS),
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
  settle(message: ServerMessage): void {
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
  failAll(code: string, message: string): void {
    const entries = Array.from(this.pending.values());
    this.pending.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.onError({ code, message });
    }
  }
}

/** An error frame as a PulseError (its type dropped, its other fields kept). */
export function toError(m: ServerMessage): PulseError {
  const { type: _type, ...rest } = m;
  return { ...rest, code: typeof m.code === "string" ? m.code : "ERROR", message: typeof m.message === "string" ? m.message : "" };
}
