// Threads and comments: listing pages, writes settled by echoes and errors, resends, and catch-up.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { comment, connectedRoom, FakeSocket, joined, makeClient, reply, resetSockets, settle, thread } from "./helpers.js";

beforeEach(resetSockets);
afterEach(() => vi.useRealTimers());

describe("listing", () => {
  it("lists every page, newest first, and resolves listThreads once the last came", async () => {
    const { room, socket } = await connectedRoom({}, {}, []);
    const done = vi.fn();
    void room.listThreads().then(done);
    const first = socket.lastOfType("threads.list");
    expect(first.cursor).toBeUndefined();
    socket.receive({ type: "threads.listed", requestId: first.requestId, data: [thread("t3"), thread("t2")], nextCursor: "p2" });
    await settle();
    expect(room.threads.map((t) => t.id)).toEqual(["t3", "t2"]);
    expect(room.threadsState).toMatchObject({ loaded: true, loading: true, complete: false });
    expect(done).not.toHaveBeenCalled();
    vi.advanceTimersByTime(100);
    const second = socket.lastOfType("threads.list");
    expect(second.cursor).toBe("p2");
    socket.receive({ type: "threads.listed", requestId: second.requestId, data: [thread("t1")], nextCursor: null });
    await settle();
    expect(room.threads.map((t) => t.id)).toEqual(["t3", "t2", "t1"]);
    expect(room.threadsState).toMatchObject({ loading: false, complete: true, error: null });
    expect(done).toHaveBeenCalled();
  });

  it("a failed list says why, rejects, and listThreads() tries again", async () => {
    const client = (await connectedRoom()).client;
    const room = client.getRoom("room-1")!;
    const socket = FakeSocket.last;
    const failed = room.listThreads();
    reply(socket, "threads.list", { type: "error", code: "INTERNAL_ERROR", message: "boom" });
    await expect(failed).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
    expect(room.threadsState.error?.code).toBe("INTERNAL_ERROR");
    const again = room.listThreads();
    reply(socket, "threads.list", { type: "threads.listed", data: [thread("t1")], nextCursor: null });
    await expect(again).resolves.toBeUndefined();
    expect(room.threadsState.error).toBeNull();
  });

  it("waits out RATE_LIMITED and skips an item too large to send", async () => {
    const { room, socket } = await connectedRoom();
    const notices: string[] = [];
    room.on("notice", (e) => notices.push(e.message));
    void room.listThreads();
    reply(socket, "threads.list", { type: "error", code: "RATE_LIMITED", message: "slow", retryAfter: 2 });
    const sent = socket.ofType("threads.list").length;
    vi.advanceTimersByTime(1999);
    expect(socket.ofType("threads.list")).toHaveLength(sent);
    vi.advanceTimersByTime(1);
    expect(socket.ofType("threads.list")).toHaveLength(sent + 1);
    reply(socket, "threads.list", { type: "error", code: "ITEM_TOO_LARGE", message: "big", nextCursor: "p2" });
    expect(notices).toEqual(["A thread is too large to show here; it was skipped."]);
    vi.advanceTimersByTime(100);
    expect(socket.lastOfType("threads.list").cursor).toBe("p2");
  });

  it("lists a thread's further comments by itself, then more on request", async () => {
    const many = Array.from({ length: 100 }, (_, i) => comment("c" + String(i).padStart(3, "0"), "t1"));
    const { room, socket } = await connectedRoom({}, {}, [
      thread("t1", { comments: many.slice(0, 40), commentsNextCursor: "k40", commentCount: 150 }),
    ]);
    vi.advanceTimersByTime(100);
    const list = socket.lastOfType("comments.list");
    expect(list).toMatchObject({ threadId: "t1", cursor: "k40" });
    expect(room.isLoadingComments("t1")).toBe(true);
    socket.receive({ type: "comments.listed", requestId: list.requestId, threadId: "t1", data: many.slice(40), nextCursor: "k100" });
    await settle();
    expect(room.threads[0]?.comments).toHaveLength(100);
    vi.advanceTimersByTime(1000);
    expect(socket.ofType("comments.list")).toHaveLength(1); // 100 shown: the rest on request
    const more = room.loadMoreComments("t1");
    const next = socket.lastOfType("comments.list");
    expect(next.cursor).toBe("k100");
    socket.receive({
      type: "comments.listed",
      requestId: next.requestId,
      threadId: "t1",
      data: [comment("c100", "t1", { createdAt: "2026-01-01T00:00:02Z" })],
      nextCursor: null,
    });
    await more;
    expect(room.threads[0]?.comments).toHaveLength(101);
    expect(room.threads[0]?.commentsNextCursor).toBeNull();
  });
});

describe("writes", () => {
  it("createThread sends a clientMutationId and settles from the echo", async () => {
    const { room, socket } = await connectedRoom();
    const created = room.createThread({ body: "hi", metadata: { x: 1 } });
    const sent = socket.lastOfType("thread.create");
    expect(sent).toMatchObject({ body: "hi", metadata: { x: 1 } });
    expect(sent.clientMutationId).toMatch(/^[0-9a-f]{32}$/);
    socket.receive({ type: "thread.created", requestId: sent.requestId, seq: 1, thread: thread("t1") });
    await expect(created).resolves.toMatchObject({ id: "t1" });
    expect(room.threads.map((t) => t.id)).toEqual(["t1"]);
  });

  it("an error frame rejects the write with its code and field", async () => {
    const { room, socket } = await connectedRoom({}, {}, [thread("t1")]);
    const write = room.createComment({ threadId: "t1", body: "" });
    reply(socket, "comment.create", { type: "error", code: "INVALID_INPUT", message: "body: empty", field: "body" });
    await expect(write).rejects.toMatchObject({ code: "INVALID_INPUT", field: "body" });
    expect(room.lastError).toMatchObject({ code: "INVALID_INPUT", field: "body" });
  });

  it("each write kind sends its message and resolves with its answer", async () => {
    const { room, socket } = await connectedRoom({}, {}, [thread("t1")]);
    const c = comment("c2", "t1");
    const created = room.createComment({ threadId: "t1", body: "x", attachmentIds: ["a1"] });
    expect(socket.lastOfType("comment.create")).toMatchObject({ attachmentIds: ["a1"] });
    reply(socket, "comment.create", { type: "comment.created", seq: 1, comment: c });
    await expect(created).resolves.toMatchObject({ id: "c2" });
    expect(room.threads[0]?.commentCount).toBe(2);
    const edited = room.editComment({ threadId: "t1", commentId: "c2", body: "y" });
    reply(socket, "comment.update", { type: "comment.updated", seq: 2, comment: { ...c, body: "y" } });
    await expect(edited).resolves.toMatchObject({ body: "y" });
    const resolved = room.resolveThread({ threadId: "t1", resolved: true });
    reply(socket, "thread.resolve", { type: "thread.updated", seq: 3, thread: { ...thread("t1"), resolved: true } });
    await expect(resolved).resolves.toMatchObject({ resolved: true });
    const deleted = room.deleteComment({ threadId: "t1", commentId: "c2" });
    reply(socket, "comment.delete", { type: "comment.deleted", seq: 4, threadId: "t1", commentId: "c2" });
    await expect(deleted).resolves.toBeUndefined();
    expect(room.threads[0]?.comments.map((x) => x.id)).toEqual(["t1-c1"]);
    expect(room.threads[0]?.resolved).toBe(true);
  });

  it("a write not acknowledged when the socket drops is resent with the same id after the rejoin", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const { room, socket } = await connectedRoom({}, { seq: 5 }, [thread("t1")]);
    const write = room.createComment({ threadId: "t1", body: "kept" });
    const first = socket.lastOfType("comment.create");
    const settled = vi.fn();
    write.then(settled, settled);
    socket.drop(1006);
    await settle();
    expect(settled).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    await settle();
    const next = FakeSocket.last;
    expect(next).not.toBe(socket);
    next.open();
    expect(next.lastOfType("join")).toMatchObject({ sinceSeq: 5 });
    const join = next.lastOfType("join");
    next.receive(joined({ seq: 5, requestId: join.requestId }));
    next.receive({ type: "room.caughtUp", requestId: join.requestId, seq: 5 });
    const again = next.lastOfType("comment.create");
    expect(again.clientMutationId).toBe(first.clientMutationId);
    expect(again.body).toBe("kept");
    next.receive({ type: "comment.created", requestId: again.requestId, seq: 6, replay: true, comment: comment("c9", "t1") });
    await expect(write).resolves.toMatchObject({ id: "c9" });
  });

  it("writes kept for a rejoin fail when the room stops", async () => {
    const { room, socket } = await connectedRoom({}, { seq: 1 }, [thread("t1")]);
    const write = room.createComment({ threadId: "t1", body: "lost" });
    socket.drop(1006);
    room.disconnect();
    room.setToken(null);
    room.reconnect(); // no token now: stops with MISSING_TOKEN
    await expect(write).rejects.toMatchObject({ code: "NOT_CONNECTED" });
    expect(room.status).toBe("stopped");
  });
});

describe("catching up", () => {
  async function dropAndRejoin(socket: FakeSocket): Promise<{ next: FakeSocket; requestId: unknown }> {
    vi.spyOn(Math, "random").mockReturnValue(0);
    socket.drop(1006);
    vi.advanceTimersByTime(1);
    await settle();
    const next = FakeSocket.last;
    next.open();
    const join = next.lastOfType("join");
    return { next, requestId: join.requestId };
  }

  it("rejoins with sinceSeq and applies room.events without listing again", async () => {
    const { room, socket } = await connectedRoom({}, { seq: 3 }, [thread("t1")]);
    socket.receive({ type: "comment.created", seq: 4, comment: comment("c4", "t1", { createdAt: "2026-01-01T00:00:04Z" }) });
    const { next, requestId } = await dropAndRejoin(socket);
    expect(next.lastOfType("join").sinceSeq).toBe(4);
    next.receive(joined({ seq: 6, requestId }));
    next.receive({
      type: "room.events",
      requestId,
      events: [
        { type: "comment.created", seq: 5, data: comment("c5", "t1", { createdAt: "2026-01-01T00:00:05Z" }) },
        { type: "thread.created", seq: 6, data: thread("t2") },
      ],
    });
    next.receive({ type: "room.caughtUp", requestId, seq: 6 });
    await settle();
    expect(next.ofType("threads.list")).toHaveLength(0);
    expect(room.threads.map((t) => t.id)).toEqual(["t2", "t1"]);
    expect(room.threads[1]?.comments.map((c) => c.id)).toEqual(["t1-c1", "c4", "c5"]);
    // A live frame that repeats a change already applied is not applied twice.
    next.receive({ type: "comment.created", seq: 5, comment: comment("c5", "t1", { createdAt: "2026-01-01T00:00:05Z" }) });
    expect(room.threads[1]?.commentCount).toBe(3);
  });

  it("resync.required lists everything again", async () => {
    const { room, socket } = await connectedRoom({}, { seq: 3 }, [thread("t1")]);
    const { next, requestId } = await dropAndRejoin(socket);
    next.receive(joined({ seq: 90, requestId }));
    next.receive({ type: "resync.required", requestId, seq: 90 });
    const list = next.lastOfType("threads.list");
    expect(list.cursor).toBeUndefined();
    next.receive({ type: "threads.listed", requestId: list.requestId, data: [thread("t7")], nextCursor: null });
    await settle();
    expect(room.threads.map((t) => t.id)).toEqual(["t7"]); // the old picture is replaced
    // A live frame of a change the list already shows (below its seq) is not applied again.
    next.receive({ type: "comment.created", seq: 85, comment: comment("t7-c1", "t7") });
    next.receive({ type: "comment.created", seq: 86, comment: comment("c86", "t7") });
    await settle();
    expect(room.threads[0]?.commentCount).toBe(1);
    expect(room.threads[0]?.comments.map((c) => c.id)).toEqual(["t7-c1"]);
    next.receive({ type: "comment.created", seq: 91, comment: comment("c91", "t7", { createdAt: "2026-01-01T00:00:09Z" }) });
    await settle();
    expect(room.threads[0]?.commentCount).toBe(2);
  });

  it("lists again when a gap below room.caughtUp never fills", async () => {
    const { socket } = await connectedRoom({}, { seq: 3 }, [thread("t1")]);
    const { next, requestId } = await dropAndRejoin(socket);
    next.receive(joined({ seq: 5, requestId }));
    next.receive({ type: "room.events", requestId, events: [{ type: "thread.updated", seq: 5, data: thread("t1") }] });
    next.receive({ type: "room.caughtUp", requestId, seq: 5 }); // seq 4 is missing
    expect(next.ofType("threads.list")).toHaveLength(0);
    vi.advanceTimersByTime(2000);
    expect(next.ofType("threads.list")).toHaveLength(1);
  });

  it("a join before the list completed is plain, and lists from the start", async () => {
    const client = makeClient();
    client.enterRoom("room-1");
    await settle();
    const socket = FakeSocket.last;
    socket.open();
    socket.receive(joined({ seq: 3 })); // its threads.list is never answered
    const { next } = await dropAndRejoin(socket);
    expect(next.lastOfType("join")).toEqual({ type: "join" });
    next.receive(joined({ seq: 4 }));
    expect(next.lastOfType("threads.list").cursor).toBeUndefined();
  });

  it("applies an older frame after a newer one without going back", async () => {
    const { room, socket } = await connectedRoom({}, { seq: 0 }, [thread("t1")]);
    const c = comment("c2", "t1");
    socket.receive({ type: "comment.created", seq: 1, comment: c });
    socket.receive({ type: "comment.updated", seq: 3, comment: { ...c, body: "newest" } });
    socket.receive({ type: "comment.updated", seq: 2, comment: { ...c, body: "older" } });
    await settle();
    expect(room.threads[0]?.comments.find((x) => x.id === "c2")?.body).toBe("newest");
  });
});

describe("snapshots", () => {
  it("keep their identity until they change", async () => {
    const { room, socket } = await connectedRoom({}, {}, [thread("t1")]);
    const threads = room.threads;
    const others = room.others;
    const listener = vi.fn();
    room.subscribe(listener);
    socket.receive({ type: "user.joined", connectionId: "c-bob", userId: "bob", name: "Bob", presence: null });
    await settle();
    expect(listener).toHaveBeenCalled();
    expect(room.threads).toBe(threads);
    expect(room.others).not.toBe(others);
    const seen = room.others;
    expect(room.others).toBe(seen);
    socket.receive({ type: "comment.created", seq: 1, comment: comment("c2", "t1") });
    await settle();
    expect(room.threads).not.toBe(threads);
    expect(room.others).toBe(seen);
  });

  it("fire a threads event once per change batch and a frame event by type", async () => {
    const { room, socket } = await connectedRoom({}, {}, [thread("t1")]);
    const threadsEvents = vi.fn();
    const created = vi.fn();
    const every = vi.fn();
    room.on("threads", threadsEvents);
    room.on("comment.created", created);
    room.on("message", every);
    socket.receive({ type: "comment.created", seq: 1, comment: comment("c2", "t1") });
    await settle();
    expect(threadsEvents).toHaveBeenCalledTimes(1);
    expect(created).toHaveBeenCalledWith(expect.objectContaining({ type: "comment.created", seq: 1 }));
    expect(every).toHaveBeenCalledTimes(1);
  });
});
