// The room's threads and their comments as the client holds them: applying change frames in seq order.
import type { Comment, Reaction, ServerMessage, Thread } from "./types.js";

function byCreated(a: Comment, b: Comment): number {
  if (a.createdAt === b.createdAt) return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  return a.createdAt < b.createdAt ? -1 : 1;
}

/** Newest first: the order threads.list pages come in. */
function newestFirst(a: Thread, b: Thread): number {
  if (a.createdAt === b.createdAt) return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  return a.createdAt < b.createdAt ? 1 : -1;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === "object" && !Array.isArray(value);
}

/** Threads by id. Each change replaces the thread's object (and its comments array), so a
 * snapshot's identity changes only when something in it did. */
export class ThreadStore {
  private threads = new Map<string, Thread>();
  // "t:"/"c:"/"r:" + id -> seq of the last change applied to it (older frames are ignored).
  private versions = new Map<string, number>();
  // Threads whose `subscribed` is the client's guess, not the server's word.
  private guessed = new Set<string>();
  // "commentId emoji" -> whether this user reacted: reaction frames say so even when the
  // comment's userIds (only the first five) do not name this user.
  private myReactions = new Map<string, boolean>();
  // Live thread changes that arrive while the pages of a list are on their way (kept over them).
  private liveDuringLoad: Map<string, Thread | null> | null = null;
  private fresh = false; // the next page replaces everything held
  version = 0;
  private snapshot: readonly Thread[] = [];
  private snapshotVersion = 0;

  constructor(private readonly me: () => string | null) {}

  /** Every thread, newest first; the same array until something changes. */
  list(): readonly Thread[] {
    if (this.snapshotVersion !== this.version) {
      this.snapshot = Object.freeze(Array.from(this.threads.values()).sort(newestFirst));
      this.snapshotVersion = this.version;
    }
    return this.snapshot;
  }

  get(threadId: string): Thread | undefined {
    return this.threads.get(threadId);
  }

  has(threadId: string): boolean {
    return this.threads.has(threadId);
  }

  ids(): string[] {
    return Array.from(this.threads.keys());
  }

  private put(thread: Thread): void {
    this.threads.set(thread.id, thread);
    this.version++;
  }

  /** Forget everything (the room ended, or a different room). */
  clear(): void {
    this.threads.clear();
    this.versions.clear();
    this.guessed.clear();
    this.liveDuringLoad = null;
    this.fresh = false;
    this.version++;
  }

  /** The positions of changes are unknown again (a full list follows). */
  forgetVersions(): void {
    this.versions.clear();
  }

  // --- listing -------------------------------------------------------------------------------

  /** A list from the start begins: its first page replaces what is held. */
  startList(): void {
    this.liveDuringLoad = new Map();
    this.fresh = true;
  }

  /** A list stopped (failed): live changes are no longer kept aside for it. */
  stopList(): void {
    this.liveDuringLoad = null;
  }

  /** A page of threads.listed: applied; live changes of the list's time are kept over it. */
  page(data: unknown[], last: boolean): void {
    if (this.fresh) {
      this.threads = new Map(); // the whole picture again: nothing stale is kept
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
  moreComments(threadId: string, data: unknown[], nextCursor: string | null): void {
    const thread = this.threads.get(threadId);
    if (!thread) return;
    const comments = thread.comments.slice();
    for (const c of data) {
      if (isObject(c) && !comments.some((x) => x.id === c.id)) comments.push(c as Comment);
    }
    this.put({ ...thread, comments: comments.sort(byCreated), commentsNextCursor: nextCursor });
  }

  /** Skip what cannot be sent: the comments go on from `nextCursor`. */
  setCommentsCursor(threadId: string, nextCursor: string | null): void {
    const thread = this.threads.get(threadId);
    if (thread) this.put({ ...thread, commentsNextCursor: nextCursor });
  }

  // --- change frames -------------------------------------------------------------------------

  /** The state change of one change frame. `seq` (null: unknown) guards each thread and comment
   * against an older change arriving after a newer one (racing writers, a live frame that
   * overtook the catch-up): seq is the room's order, not arrival. */
  apply(m: ServerMessage, seq: number | null): void {
    switch (m.type) {
      case "thread.created":
      case "thread.updated": {
        const thread = m.thread;
        if (isObject(thread) && typeof thread.id === "string") this.applyThread(thread, seq);
        const first = isObject(thread) && Array.isArray(thread.comments) ? (thread.comments[0] as unknown) : null;
        if (isObject(first)) this.guessSubscription(first as Comment);
        return;
      }
      case "thread.deleted": {
        const threadId = m.threadId as string;
        if (!this.newer("t:" + threadId, seq)) return;
        this.remove(threadId);
        if (this.liveDuringLoad) this.liveDuringLoad.set(threadId, null);
        return;
      }
      case "comment.created":
      case "comment.updated": {
        const comment = m.comment;
        // A thread not held (an older page) is not marked: nothing was applied.
        if (!isObject(comment) || !this.threads.has(comment.threadId as string)) return;
        const c = comment as Comment;
        if (this.newer("c:" + c.id, seq)) {
          this.upsertComment(this.withNewerReactions(c, seq), m.type === "comment.created");
        }
        if (m.type === "comment.created") this.guessSubscription(c);
        return;
      }
      case "comment.deleted":
        if (this.newer("c:" + String(m.commentId), seq)) {
          this.removeComment(m.threadId as string, m.commentId as string);
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
        return; // room.updated: no thread state
    }
  }

  private applyThread(thread: Record<string, unknown>, seq: number | null): void {
    const id = thread.id as string;
    if (this.newer("t:" + id, seq)) {
      this.upsertThread(thread);
      const held = this.threads.get(id);
      if (this.liveDuringLoad && held) this.liveDuringLoad.set(id, held);
      return;
    }
    // A newer change of the thread came first: keep it, but not without the comments this
    // older frame brings (a thread.created overtaken by the thread's first update).
    if (!this.threads.has(id) || !Array.isArray(thread.comments)) return;
    for (const c of thread.comments as unknown[]) {
      if (isObject(c) && this.newer("c:" + String(c.id), seq)) this.upsertComment(c as Comment, false);
    }
  }

  /** Whether a change at `seq` is newer than the last applied to `key` (and mark it so). */
  private newer(key: string, seq: number | null): boolean {
    if (seq === null) return true;
    const known = this.versions.get(key);
    if (known !== undefined && known >= seq) return false;
    this.versions.set(key, seq);
    return true;
  }

  upsertThread(t: unknown): void {
    if (!isObject(t) || typeof t.id !== "string" || !t.id) return;
    const known = this.threads.get(t.id);
    const thread = { ...(known ?? {}), ...t } as Thread;
    if (typeof t.subscribed === "boolean") this.guessed.delete(t.id); // the server's word
    if (Array.isArray(t.comments)) {
      thread.comments = (t.comments as unknown[]).filter(isObject).map((c) => c as Comment).sort(byCreated);
    } else thread.comments = known ? known.comments : [];
    if (!("commentsNextCursor" in t)) thread.commentsNextCursor = known ? known.commentsNextCursor : null;
    else thread.commentsNextCursor = (t.commentsNextCursor as string | null) ?? null;
    this.put(thread);
  }

  private remove(threadId: string): void {
    if (this.threads.delete(threadId)) this.version++;
    this.guessed.delete(threadId);
  }

  private upsertComment(c: Comment, created: boolean): void {
    const thread = this.threads.get(c.threadId);
    if (!thread) return; // a thread not held (an older page)
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

  private removeComment(threadId: string, commentId: string): void {
    const thread = this.threads.get(threadId);
    if (!thread) return;
    const comments = thread.comments.filter((x) => x.id !== commentId);
    if (comments.length === thread.comments.length) return;
    this.put({ ...thread, comments, commentCount: Math.max(0, (thread.commentCount || 1) - 1) });
  }

  findComment(threadId: string, commentId: string): Comment | null {
    const thread = this.threads.get(threadId);
    return thread?.comments.find((c) => c.id === commentId) ?? null;
  }

  // --- reactions -----------------------------------------------------------------------------

  /** A reaction frame: the comment's whole `reactions` summary after the change. */
  private setReactions(m: ServerMessage): void {
    const comment = this.findComment(m.threadId as string, m.commentId as string);
    if (!comment || !Array.isArray(m.reactions)) return;
    this.upsertComment({ ...comment, reactions: m.reactions as Reaction[] }, false);
  }

  /** A comment frame older than the comment's last reaction frame keeps the newer reactions. */
  private withNewerReactions(c: Comment, seq: number | null): Comment {
    const reacted = this.versions.get("r:" + c.id);
    const known = this.findComment(c.threadId, c.id);
    if (seq === null || reacted === undefined || reacted <= seq || !known) return c;
    return { ...c, reactions: known.reactions };
  }

  /** This user's own reaction changes (any of its connections): remembered, as the summary's
   * userIds hold only the first five. */
  noteMyReaction(m: ServerMessage): void {
    if (!m.userId || m.userId !== this.me()) return;
    this.myReactions.set(String(m.commentId) + " " + String(m.emoji), m.type === "reaction.added");
  }

  reactedByMe(commentId: string, emoji: string): boolean {
    const known = this.myReactions.get(commentId + " " + emoji);
    if (known !== undefined) return known;
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
  marks(threadId: string, marks: { unreadCount?: unknown; subscribed?: unknown }): void {
    const thread = this.threads.get(threadId);
    if (!thread) return;
    const next: Thread = { ...thread };
    if (typeof marks.unreadCount === "number") next.unreadCount = marks.unreadCount;
    if (typeof marks.subscribed === "boolean") {
      next.subscribed = marks.subscribed;
      this.guessed.delete(threadId); // the server's word
    }
    this.put(next);
  }

  /** A live comment: threads.list says whether this user is subscribed, but a thread that came
   * live says nothing. The server subscribes a comment's author and the users it mentions,
   * leaving a choice made with thread.(un)subscribe; until a list or a choice says otherwise
   * the client assumes that rule (and not subscribed otherwise). */
  private guessSubscription(comment: Comment): void {
    const thread = this.threads.get(comment.threadId);
    if (!thread || (typeof thread.subscribed === "boolean" && !this.guessed.has(thread.id))) return;
    const me = this.me();
    const mentioned = Array.isArray(comment.mentions) && me !== null && comment.mentions.includes(me);
    const subscribed = thread.subscribed === true || comment.userId === me || mentioned;
    this.guessed.add(thread.id);
    if (thread.subscribed !== subscribed) this.put({ ...thread, subscribed });
  }
}
