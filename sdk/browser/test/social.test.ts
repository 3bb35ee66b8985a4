// Reactions, unread counts and subscriptions, the inbox, notification settings, users and uploads.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { InboxUpdate } from "../src/client/index.js";
import { comment, connectedRoom, FakeSocket, joined, reply, resetSockets, settle, thread } from "./helpers.js";

beforeEach(resetSockets);
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("reactions", () => {
  it("applies the summary of each reaction frame and knows this user's own", async () => {
    const { room, socket } = await connectedRoom({}, {}, [thread("t1")]);
    const added = room.addReaction({ threadId: "t1", commentId: "t1-c1", emoji: "👍" });
    const sent = socket.lastOfType("reaction.add");
    expect(sent).toMatchObject({ emoji: "👍", commentId: "t1-c1" });
    expect(sent.clientMutationId).toBeTypeOf("string");
    const five = ["u1", "u2", "u3", "u4", "u5"];
    const reactions = [{ emoji: "👍", count: 6, userIds: five }];
    socket.receive({ type: "reaction.added", requestId: sent.requestId, seq: 1, threadId: "t1", commentId: "t1-c1", emoji: "👍", userId: "ada", reactions });
    await expect(added).resolves.toEqual(reactions);
    expect(room.threads[0]?.comments[0]?.reactions).toEqual(reactions);
    expect(room.hasReacted("t1-c1", "👍")).toBe(true); // not among the five named
    expect(room.hasReacted("t1-c1", "🎉")).toBe(false);
    socket.receive({ type: "reaction.removed", seq: 2, threadId: "t1", commentId: "t1-c1", emoji: "👍", userId: "ada", reactions: [] });
    expect(room.hasReacted("t1-c1", "👍")).toBe(false);
    // A comment frame older than the last reaction frame keeps the newer reactions.
    socket.receive({ type: "comment.updated", seq: 1, comment: comment("t1-c1", "t1", { reactions, body: "old" }) });
    await settle();
    expect(room.threads[0]?.comments[0]?.reactions).toEqual([]);
  });

  it("reads reactions of others from the summary's userIds", async () => {
    const { room } = await connectedRoom({}, {}, [
      thread("t1", { comments: [comment("c1", "t1", { reactions: [{ emoji: "🎉", count: 1, userIds: ["ada"] }] })] }),
    ]);
    expect(room.hasReacted("c1", "🎉")).toBe(true);
  });
});

describe("unread state and subscriptions", () => {
  it("takes unreadCount from the list, then inbox.updated; reads only what is unread", async () => {
    const { room, socket, client } = await connectedRoom({}, {}, [thread("t1", { unreadCount: 2, subscribed: false })]);
    expect(room.threads[0]).toMatchObject({ unreadCount: 2, subscribed: false });
    const updates: InboxUpdate[] = [];
    client.on("inbox", (e) => updates.push(e));
    socket.receive({ type: "inbox.updated", count: 7, roomId: "room-1", threadId: "t1", unreadCount: 3 });
    await settle();
    expect(room.threads[0]).toMatchObject({ unreadCount: 3, subscribed: true });
    expect(client.inboxCount).toBe(7);
    expect(updates).toEqual([{ count: 7, roomId: "room-1", threadId: "t1", unreadCount: 3 }]);
    const read = room.markThreadRead("t1");
    expect(room.markThreadRead("t1")).toBe(read); // one request while it is on its way
    expect(socket.ofType("thread.markRead")).toHaveLength(1);
    reply(socket, "thread.markRead", { type: "thread.read", threadId: "t1", unreadCount: 0 });
    await read;
    expect(room.threads[0]?.unreadCount).toBe(0);
    await room.markThreadRead("t1");
    expect(socket.ofType("thread.markRead")).toHaveLength(1); // nothing unread: nothing sent
  });

  it("subscribes and unsubscribes with the server's word", async () => {
    const { room, socket } = await connectedRoom({}, {}, [thread("t1", { subscribed: false })]);
    const on = room.subscribeToThread("t1");
    reply(socket, "thread.subscribe", { type: "thread.subscription", threadId: "t1", subscribed: true });
    await on;
    expect(room.threads[0]?.subscribed).toBe(true);
    const off = room.unsubscribeFromThread("t1");
    reply(socket, "thread.unsubscribe", { type: "thread.subscription", threadId: "t1", subscribed: false });
    await off;
    expect(room.threads[0]?.subscribed).toBe(false);
  });

  it("guesses a live thread's subscription from its first comment (author or mentioned)", async () => {
    const { room, socket } = await connectedRoom();
    socket.receive({ type: "thread.created", seq: 1, thread: thread("t1", { comments: [comment("c1", "t1", { userId: "bob", mentions: ["ada"] })] }) });
    socket.receive({ type: "thread.created", seq: 2, thread: thread("t2", { comments: [comment("c2", "t2", { userId: "bob" })] }) });
    await settle();
    expect(room.threads.find((t) => t.id === "t1")?.subscribed).toBe(true);
    expect(room.threads.find((t) => t.id === "t2")?.subscribed).toBe(false);
  });
});

describe("inbox", () => {
  it("getInbox asks over a connected room's socket", async () => {
    const { client, socket } = await connectedRoom();
    const page = client.getInbox({ cursor: "k1" });
    expect(socket.lastOfType("inbox.list")).toMatchObject({ cursor: "k1" });
    const entry = { threadId: "t1", roomId: "room-9", unreadCount: 2, reason: "mention", lastActivityAt: "2026-01-01T00:00:00Z" };
    reply(socket, "inbox.list", { type: "inbox.listed", data: [entry], nextCursor: null, count: 4 });
    await expect(page).resolves.toEqual({ data: [entry], nextCursor: null, count: 4 });
    expect(client.inboxCount).toBe(4);
  });

  it("getInbox without a connected room rejects with NOT_CONNECTED", async () => {
    const { client, room } = await connectedRoom();
    room.disconnect();
    await expect(client.getInbox()).rejects.toMatchObject({ code: "NOT_CONNECTED" });
  });

  it("an update heard on two rooms' sockets is told once", async () => {
    const { client, socket } = await connectedRoom();
    client.enterRoom("room-2");
    await settle();
    const second = FakeSocket.last;
    second.open();
    second.receive(joined());
    const heard = vi.fn();
    client.on("inbox", heard);
    const update = { type: "inbox.updated", count: 3, roomId: "room-1", threadId: "t1", unreadCount: 1 };
    socket.receive(update);
    second.receive(update);
    expect(heard).toHaveBeenCalledTimes(1);
  });
});

describe("notifications and users", () => {
  it("gets and sets the notification setting", async () => {
    const { room, socket } = await connectedRoom();
    const got = room.getNotificationSettings();
    reply(socket, "notifications.get", { type: "notifications.settings", roomId: "room-1", setting: "all" });
    await expect(got).resolves.toEqual({ roomId: "room-1", setting: "all" });
    const set = room.setNotificationSettings("mentions");
    expect(socket.lastOfType("notifications.set").setting).toBe("mentions");
    reply(socket, "notifications.set", { type: "notifications.settings", roomId: "room-1", setting: "mentions" });
    await expect(set).resolves.toEqual({ roomId: "room-1", setting: "mentions" });
  });

  it("searches users, and looks up an unknown user's name once", async () => {
    const { room, socket } = await connectedRoom();
    const found = room.searchUsers("gr");
    reply(socket, "users.search", { type: "users.found", q: "gr", data: [{ userId: "grace", name: "Grace" }] });
    await expect(found).resolves.toEqual([{ userId: "grace", name: "Grace" }]);
    expect(room.getUser("grace")?.name).toBe("Grace");
    expect(room.getUser("ada")?.name).toBe("Ada"); // this user, from room.joined
    const users = vi.fn();
    room.on("users", users);
    expect(room.getUser("zed")).toBeNull();
    expect(room.getUser("zed")).toBeNull();
    expect(socket.ofType("users.search").filter((m) => m.q === "zed")).toHaveLength(1);
    reply(socket, "users.search", { type: "users.found", q: "zed", data: [{ userId: "zed", name: "Zed" }] });
    expect(users).toHaveBeenCalledWith({ userIds: ["zed"] });
    expect(room.getUser("zed")?.name).toBe("Zed");
  });
});

describe("attachments", () => {
  class FakeXhr {
    static last: FakeXhr;
    status = 0;
    responseText = "";
    method = "";
    url = "";
    body: FormData | null = null;
    private handlers = new Map<string, () => void>();
    upload = {
      handlers: new Map<string, (e: { lengthComputable: boolean; loaded: number; total: number }) => void>(),
      addEventListener(type: string, h: (e: { lengthComputable: boolean; loaded: number; total: number }) => void) {
        this.handlers.set(type, h);
      },
    };
    constructor() {
      FakeXhr.last = this;
    }
    open(method: string, url: string) {
      this.method = method;
      this.url = url;
    }
    addEventListener(type: string, h: () => void) {
      this.handlers.set(type, h);
    }
    send(body: FormData) {
      this.body = body;
    }
    abort() {
      this.handlers.get("abort")?.();
    }
    progress(loaded: number, total: number) {
      this.upload.handlers.get("progress")?.({ lengthComputable: true, loaded, total });
    }
    finish(status: number, text = "") {
      this.status = status;
      this.responseText = text;
      this.handlers.get("load")?.();
    }
  }

  it("announces the file, posts it to the presigned URL with progress, and resolves", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const { room, socket } = await connectedRoom();
    const progress = vi.fn();
    const file = new Blob(["hello"], { type: "text/plain" });
    const upload = room.uploadAttachment(file, { name: "hello.txt", onProgress: progress });
    expect(socket.lastOfType("attachment.create")).toMatchObject({ name: "hello.txt", mimeType: "text/plain", size: 5 });
    const attachment = { id: "att_1", name: "hello.txt", mimeType: "text/plain", size: 5, url: null };
    reply(socket, "attachment.create", {
      type: "attachment.created",
      attachment,
      upload: { url: "https://bucket.example/", fields: { key: "k/1", policy: "p" } },
    });
    await settle();
    const xhr = FakeXhr.last;
    expect(xhr.method).toBe("POST");
    expect(xhr.url).toBe("https://bucket.example/");
    expect(Array.from(xhr.body!.keys())).toEqual(["key", "policy", "file"]);
    xhr.progress(2, 5);
    expect(progress).toHaveBeenCalledWith({ loaded: 2, total: 5 });
    xhr.finish(204);
    await expect(upload).resolves.toEqual(attachment);
  });

  it("a refused file rejects with the server's error; the store's refusal in words", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const { room, socket } = await connectedRoom();
    const refused = room.uploadAttachment(new Blob(["x"], { type: "application/x-evil" }));
    reply(socket, "attachment.create", { type: "error", code: "INVALID_INPUT", message: "mimeType: not allowed", field: "mimeType" });
    await expect(refused).rejects.toMatchObject({ code: "INVALID_INPUT", field: "mimeType" });
    const stored = room.uploadAttachment(new Blob(["x"], { type: "text/plain" }), { name: "a.txt" });
    reply(socket, "attachment.create", {
      type: "attachment.created",
      attachment: { id: "att_2" },
      upload: { url: "https://bucket.example/", fields: {} },
    });
    await settle();
    FakeXhr.last.finish(403, "<Error><Code>AccessDenied</Code><Message>Policy expired</Message></Error>");
    await expect(stored).rejects.toEqual({ code: "UPLOAD_FAILED", message: "The file store refused it: Policy expired." });
  });

  it("refuses an upload URL that is not http(s)", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const { room, socket } = await connectedRoom();
    const upload = room.uploadAttachment(new Blob(["x"]), { name: "a" });
    reply(socket, "attachment.create", { type: "attachment.created", attachment: { id: "a" }, upload: { url: "javascript:alert(1)", fields: {} } });
    await expect(upload).rejects.toMatchObject({ code: "UPLOAD_FAILED" });
  });
});
