// The room's position in its order of changes (seq), and room.events entries as live frames.
import { MAX_AHEAD } from "./constants.js";
import type { ServerMessage } from "./types.js";

/** `seq`: the highest seq such that every change up to it was applied (null: unknown), and the
 * seqs applied above a gap (live frames of racing writers can arrive out of order). */
export class Position {
  seq: number | null = null;
  private ahead = new Set<number>();

  /** Whether the change `seq` was applied already. */
  has(seq: number): boolean {
    return (this.seq !== null && seq <= this.seq) || this.ahead.has(seq);
  }

  add(seq: number): void {
    if (this.has(seq)) return;
    this.ahead.add(seq);
    this.advance();
  }

  /** The whole state is known as of `seq` (room.joined before a full list, resync.required);
   * what was applied above it stays applied. null: unknown. */
  reset(seq: number | null): void {
    const ahead = this.ahead;
    this.seq = seq;
    this.ahead = new Set();
    if (seq === null) return;
    for (const s of ahead) if (s > seq) this.ahead.add(s);
    this.advance();
  }

  private advance(): void {
    if (this.seq !== null) {
      while (this.ahead.delete(this.seq + 1)) this.seq += 1;
    }
    // A gap that never fills (a change whose frame could not be sent): give up the position
    // rather than grow without end; the next reconnect lists everything again.
    if (this.ahead.size > MAX_AHEAD) this.reset(null);
  }
}

/** A room.events entry as the live frame of the same change ({type, data} -> the frame's shape);
 * null for an entry without data or seq. */
export function liveFrame(event: unknown): ServerMessage | null {
  if (!event || typeof event !== "object") return null;
  const { type, seq, data } = event as { type?: unknown; seq?: unknown; data?: unknown };
  if (!data || typeof data !== "object" || typeof seq !== "number") return null;
  const d = data as Record<string, unknown>;
  switch (type) {
    case "thread.created":
      return { type: "thread.created", seq, thread: d };
    case "thread.updated":
    case "thread.resolved": // its live frame is thread.updated
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
        reactions: d.reactions,
      };
    default:
      return { type: "unknown", seq }; // a newer server's: its seq counts
  }
}
