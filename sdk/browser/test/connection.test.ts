// Connecting, joining, members paging, reconnecting with backoff, pings and the offline state.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RoomEventMap } from "../src/client/index.js";
import { connectedRoom, FakeSocket, joined, makeClient, resetSockets, settle, tokenFor } from "./helpers.js";

beforeEach(resetSockets);
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("connect and join", () => {
  it("dials with the key, token and room, joins, and reports who is here", async () => {
    const client = makeClient();
    const room = client.enterRoom("room-1");
    expect(client.enterRoom("room-1")).toBe(room);
    expect(client.getRoom("room-1")).toBe(room);
    const connected: RoomEventMap["connected"][] = [];
    room.on("connected", (e) => connected.push(e));
    const statuses: string[] = [];
    room.on("status", (e) => statuses.push(e.status));
    await settle();
    const socket = FakeSocket.last;
    expect(socket.params.get("apiKey")).toBe("pk_test");
    expect(socket.params.get("room")).toBe("room-1");
    expect(socket.params.get("token")).toBe(tokenFor("ada"));
    socket.open();
    expect(socket.sent).toEqual([{ type: "join" }]);
    socket.receive(
      joined({
        others: [{ connectionId: "c-bob", userId: "bob", name: "Bob", avatar: null, color: "#00f", presence: { x: 1 } }],
        access: "comment",
      }),
    );
    expect(room.status).toBe("connected");
    expect(room.access).toBe("comment");
    expect(room.connectionId).toBe("c-ada");
    expect(room.self).toMatchObject({ userId: "ada", name: "Ada", connectionId: "c-ada" });
    expect(room.others.map((m) => m.userId)).toEqual(["bob"]);
    expect(room.others[0]?.presence).toEqual({ x: 1 });
    expect(connected).toHaveLength(1);
    expect(connected[0]?.access).toBe("comment");
    expect(statuses).toEqual(["connected"]);
    // The first join lists every thread, with their first comments.
    expect(socket.lastOfType("threads.list")).toMatchObject({ comments: true });
    expect(room.lastError).toBeNull();
  });

  it("waits for every room.members page before saying connected", async () => {
    const client = makeClient();
    const room = client.enterRoom("room-1");
    const connected: RoomEventMap["connected"][] = [];
    room.on("connected", (e) => connected.push(e));
    await settle();
    const socket = FakeSocket.last;
    socket.open();
    const member = (n: number) => ({ connectionId: "c" + n, userId: "u" + n, name: "U" + n, presence: null });
    socket.receive(joined({ others: [member(1)], more: true }));
    expect(connected).toHaveLength(0);
    socket.receive({ type: "room.members", others: [member(2)], more: true });
    socket.receive({ type: "room.members", others: [member(3)], more: false });
    expect(connected).toHaveLength(1);
    expect(connected[0]?.others.map((m) => m.userId)).toEqual(["u1", "u2", "u3"]);
    // Pages after the last are not members of this join.
    socket.receive({ type: "room.members", others: [member(4)], more: false });
    expect(room.others).toHaveLength(3);
  });

  it("carries on with who is known when the last members page never comes", async () => {
    const client = makeClient();
    const room = client.enterRoom("room-1");
    const connected = vi.fn();
    room.on("connected", connected);
    await settle();
    FakeSocket.last.open();
    FakeSocket.last.receive(joined({ more: true }));
    vi.advanceTimersByTime(10_000);
    expect(connected).toHaveBeenCalledTimes(1);
  });

  it("rejects createClient without a key or endpoint", () => {
    expect(() => makeClient({ publicApiKey: "" })).toThrow(/publicApiKey/);
    expect(() => makeClient({ endpoint: "" })).toThrow(/endpoint/);
  });
});

describe("reconnecting", () => {
  it("reconnects after a drop with a jittered backoff, and says disconnected", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const { room, socket } = await connectedRoom();
    const disconnected = vi.fn();
    room.on("disconnected", disconnected);
    socket.drop(1006, "gone");
    expect(disconnected).toHaveBeenCalledWith({ code: 1006, reason: "gone" });
    expect(room.status).toBe("reconnecting");
    expect(room.self).toBeNull();
    const before = FakeSocket.instances.length;
    vi.advanceTimersByTime(249); // first wait: random() * 500
    await settle();
    expect(FakeSocket.instances.length).toBe(before);
    vi.advanceTimersByTime(1);
    await settle();
    expect(FakeSocket.instances.length).toBe(before + 1);
    // A refusal (never opened) waits twice as long the next time.
    FakeSocket.last.drop(1006);
    expect(room.lastError?.code).toBe("CONNECT_REFUSED");
    vi.advanceTimersByTime(499);
    await settle();
    expect(FakeSocket.instances.length).toBe(before + 1);
    vi.advanceTimersByTime(1);
    await settle();
    expect(FakeSocket.instances.length).toBe(before + 2);
  });

  it("honours the backoff options", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const { socket } = await connectedRoom({ backoff: { initialMs: 50, maxMs: 60 } });
    const before = FakeSocket.instances.length;
    socket.drop();
    vi.advanceTimersByTime(50);
    await settle();
    expect(FakeSocket.instances.length).toBe(before + 1);
    FakeSocket.last.drop();
    vi.advanceTimersByTime(60); // capped at maxMs, not 100
    await settle();
    expect(FakeSocket.instances.length).toBe(before + 2);
  });

  it("pings every five minutes and reconnects when no pong comes", async () => {
    const { room, socket } = await connectedRoom();
    vi.advanceTimersByTime(5 * 60 * 1000);
    expect(socket.ofType("ping")).toHaveLength(1);
    socket.receive({ type: "pong" });
    vi.advanceTimersByTime(5 * 60 * 1000);
    expect(socket.ofType("ping")).toHaveLength(2);
    vi.advanceTimersByTime(20_000);
    expect(room.status).toBe("reconnecting");
    expect(socket.closedWith).not.toBeNull();
  });

  it("reconnects at once on NOT_CONNECTED", async () => {
    const { room, socket } = await connectedRoom();
    socket.receive({ type: "error", code: "NOT_CONNECTED", message: "reconnect" });
    expect(room.status).toBe("reconnecting");
    expect(socket.closedWith?.code).toBe(1000);
  });

  it("disconnect() closes for good and connect() comes back", async () => {
    const { room, socket } = await connectedRoom();
    const before = FakeSocket.instances.length;
    room.disconnect();
    expect(room.status).toBe("offline");
    expect(socket.closedWith).toEqual({ code: 1000, reason: "Client closing" });
    vi.advanceTimersByTime(60_000);
    await settle();
    expect(FakeSocket.instances.length).toBe(before);
    room.connect();
    await settle();
    expect(FakeSocket.instances.length).toBe(before + 1);
  });

  it("waits offline for the network and reconnects when it is back", async () => {
    const listeners = new Map<string, () => void>();
    const nav = { onLine: true };
    vi.stubGlobal("navigator", nav);
    vi.stubGlobal("addEventListener", (type: string, handler: () => void) => listeners.set(type, handler));
    vi.stubGlobal("removeEventListener", (type: string) => listeners.delete(type));
    const { room, socket } = await connectedRoom();
    nav.onLine = false;
    listeners.get("offline")?.();
    expect(room.status).toBe("connected"); // an open socket says for itself when it is gone
    socket.drop();
    expect(room.status).toBe("offline");
    const before = FakeSocket.instances.length;
    vi.advanceTimersByTime(60_000);
    await settle();
    expect(room.status).toBe("offline");
    nav.onLine = true;
    listeners.get("online")?.();
    await settle();
    expect(FakeSocket.instances.length).toBeGreaterThan(before);
    expect(room.status).toBe("reconnecting");
  });

  it("leaveRoom closes the room and forgets it", async () => {
    const { client, room, socket } = await connectedRoom();
    client.leaveRoom("room-1");
    expect(socket.closedWith).not.toBeNull();
    expect(room.status).toBe("stopped");
    expect(client.getRoom("room-1")).toBeNull();
    expect(client.enterRoom("room-1")).not.toBe(room);
  });
});

describe("the WebSocket class", () => {
  it("is the page's, looked up at each dial, when none is given", async () => {
    const client = makeClient({ WebSocket: undefined });
    vi.stubGlobal("WebSocket", FakeSocket); // replaced after the client was made
    const room = client.enterRoom("room-1");
    await settle();
    expect(FakeSocket.instances).toHaveLength(1);
    expect(room.status).toBe("connecting");
  });

  it("missing everywhere is a CONNECT_FAILED, retried", async () => {
    vi.stubGlobal("WebSocket", undefined);
    const room = makeClient({ WebSocket: undefined }).enterRoom("room-1");
    await settle();
    expect(room.lastError?.code).toBe("CONNECT_FAILED");
    expect(room.status).toBe("reconnecting");
  });
});
