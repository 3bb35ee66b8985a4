// The finer rules the widget relies on: backoff reset, timeouts, skipped items, live changes during a list.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { comment, connectedRoom, FakeSocket, joined, makeClient, reply, resetSockets, settle, thread, tokenFor } from "./helpers.js";

beforeEach(resetSockets);
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

async function dropAndRejoin(socket: FakeSocket, wait = 1): Promise<FakeSocket> {
  socket.drop(1006);
  vi.advanceTimersByTime(wait);
  await settle();
  const next = FakeSocket.last;
  next.open();
  return next;
}

describe("backoff", () => {
  it("resets once a connection has lived 5 s", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const { socket } = await connectedRoom();
    // Two quick failures grow the wait: 500, then 1000.
    socket.drop();
    vi.advanceTimersByTime(500);
    await settle();
    FakeSocket.last.drop();
    vi.advanceTimersByTime(1000);
    await settle();
    const stable = FakeSocket.last;
    stable.open();
    stable.receive(joined());
    vi.advanceTimersByTime(5000);
    const before = FakeSocket.instances.length;
    stable.drop();
    vi.advanceTimersByTime(500); // back to the first wait, not 2000
    await settle();
    expect(FakeSocket.instances.length).toBe(before + 1);
  });
});

describe("timeouts", () => {
  it("a request not answered in 10 s rejects with TIMEOUT and says so", async () => {
    const { room } = await connectedRoom();
    const errors = vi.fn();
    room.on("error", errors);
    const asked = room.getNotificationSettings();
    vi.advanceTimersByTime(10_000);
    await expect(asked).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(errors).toHaveBeenCalledWith(expect.objectContaining({ code: "TIMEOUT" }));
  });

  it("a provider that never answers counts as a failure after the timeout", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const room = makeClient({ token: undefined, tokenProvider: () => new Promise<string>(() => {}) }).enterRoom("room-1");
    await settle();
    vi.advanceTimersByTime(11_000);
    await settle();
    expect(room.lastError).toMatchObject({ code: "TOKEN_REFRESH_FAILED", attempt: 1 });
    expect(room.lastError?.message).toContain("the token provider did not answer within 10 s");
  });

  it("a write before any connection fails at once with NOT_CONNECTED", async () => {
    const room = makeClient().enterRoom("room-1");
    await expect(room.createThread({ body: "early" })).rejects.toMatchObject({ code: "NOT_CONNECTED" });
  });
});

describe("skipped and oversized items", () => {
  it("skips a comment too large to send and goes on past it", async () => {
    const { room, socket } = await connectedRoom({}, {}, [thread("t1", { commentsNextCursor: "k1", commentCount: 9 })]);
    const notices = vi.fn();
    room.on("notice", notices);
    vi.advanceTimersByTime(100);
    reply(socket, "comments.list", { type: "error", code: "ITEM_TOO_LARGE", message: "big", nextCursor: "k2" });
    expect(notices).toHaveBeenCalledWith({ message: "A comment is too large to show here; it was skipped." });
    vi.advanceTimersByTime(100);
    expect(socket.lastOfType("comments.list").cursor).toBe("k2");
  });

  it("REPLY_TOO_LARGE for a change lists again, once", async () => {
    const { socket } = await connectedRoom({}, { seq: 1 }, [thread("t1")]);
    const lists = socket.ofType("threads.list").length;
    socket.receive({ type: "error", code: "REPLY_TOO_LARGE", message: "too large", seq: 2 });
    expect(socket.ofType("threads.list")).toHaveLength(lists + 1);
    socket.receive({ type: "error", code: "REPLY_TOO_LARGE", message: "too large", seq: 2 });
    expect(socket.ofType("threads.list")).toHaveLength(lists + 1);
  });
});

describe("live changes while listing", () => {
  it("keeps a thread created, and drops one deleted, while the pages come", async () => {
    const client = makeClient();
    const room = client.enterRoom("room-1");
    await settle();
    const socket = FakeSocket.last;
    socket.open();
    socket.receive(joined({ seq: 10 }));
    const first = socket.lastOfType("threads.list");
    socket.receive({ type: "thread.created", seq: 11, thread: thread("t9") });
    socket.receive({ type: "thread.deleted", seq: 12, threadId: "t2" });
    socket.receive({ type: "threads.listed", requestId: first.requestId, data: [thread("t2"), thread("t1")], nextCursor: null });
    await settle();
    expect(room.threads.map((t) => t.id)).toEqual(["t9", "t1"]);
  });
});

describe("users and tokens", () => {
  it("asks a name again after a rate limit's wait", async () => {
    const { room, socket } = await connectedRoom();
    room.getUser("zed");
    reply(socket, "users.search", { type: "error", code: "USER_RATE_LIMITED", message: "slow", retryAfter: 3 });
    vi.advanceTimersByTime(2999);
    expect(socket.ofType("users.search")).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(socket.ofType("users.search")).toHaveLength(2);
  });

  it("setToken while connected keeps the connection and dials with it next time", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const { room, socket } = await connectedRoom();
    const next = tokenFor("ada", { n: 2 });
    room.setToken(next);
    await settle();
    expect(room.status).toBe("connected");
    expect(FakeSocket.last).toBe(socket);
    socket.drop(1000);
    vi.advanceTimersByTime(1);
    await settle();
    expect(FakeSocket.last.params.get("token")).toBe(next);
  });

  it("a kept write of another user than the one now signed in is not resent", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const { room, socket } = await connectedRoom({}, { seq: 1 }, [thread("t1")]);
    const write = room.createComment({ threadId: "t1", body: "ada's" });
    room.setToken(tokenFor("grace"));
    const next = await dropAndRejoin(socket);
    const join = next.lastOfType("join");
    next.receive(joined({ seq: 1, requestId: join.requestId, self: { userId: "grace", name: "Grace" } }));
    next.receive({ type: "room.caughtUp", requestId: join.requestId, seq: 1 });
    await expect(write).rejects.toMatchObject({ code: "NOT_CONNECTED", message: expect.stringContaining("someone else") });
    expect(next.ofType("comment.create")).toHaveLength(0);
  });
});

describe("uploads", () => {
  it("an aborted upload rejects with UPLOAD_ABORTED", async () => {
    class Xhr {
      static last: Xhr;
      handlers = new Map<string, () => void>();
      upload = { addEventListener() {} };
      status = 0;
      responseText = "";
      constructor() {
        Xhr.last = this;
      }
      open() {}
      send() {}
      addEventListener(type: string, h: () => void) {
        this.handlers.set(type, h);
      }
      abort() {
        this.handlers.get("abort")?.();
      }
    }
    vi.stubGlobal("XMLHttpRequest", Xhr);
    const { room, socket } = await connectedRoom();
    const controller = new AbortController();
    const upload = room.uploadAttachment(new Blob(["x"]), { name: "a.txt", signal: controller.signal });
    reply(socket, "attachment.create", { type: "attachment.created", attachment: { id: "a" }, upload: { url: "https://s3.example/", fields: {} } });
    await settle();
    controller.abort();
    await expect(upload).rejects.toMatchObject({ code: "UPLOAD_ABORTED" });
  });
});

describe("comments of an unknown thread", () => {
  it("a comment frame for a thread not held changes nothing", async () => {
    const { room, socket } = await connectedRoom({}, {}, [thread("t1")]);
    const before = room.threads;
    socket.receive({ type: "comment.created", seq: 1, comment: comment("x", "t-unknown") });
    await settle();
    expect(room.threads).toBe(before);
  });
});
