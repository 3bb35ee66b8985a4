// Presence (throttled, latest wins), the others joining and leaving, broadcast and access levels.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RoomEventMap } from "../src/client/index.js";
import { connectedRoom, FakeSocket, joined, makeClient, resetSockets, settle } from "./helpers.js";

beforeEach(resetSockets);
afterEach(() => vi.useRealTimers());

describe("presence", () => {
  it("sends at most one update per 100 ms, the latest merged data winning", async () => {
    const { room, socket } = await connectedRoom();
    room.updatePresence({ cursor: 1, name: "x" });
    room.updatePresence({ cursor: 2 });
    room.updatePresence({ cursor: 3 });
    expect(socket.ofType("presence.update")).toEqual([{ type: "presence.update", data: { cursor: 1, name: "x" } }]);
    vi.advanceTimersByTime(99);
    expect(socket.ofType("presence.update")).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(socket.ofType("presence.update")).toHaveLength(2);
    expect(socket.lastOfType("presence.update").data).toEqual({ cursor: 3, name: "x" });
    expect(room.presence).toEqual({ cursor: 3, name: "x" });
    expect(room.self?.presence).toEqual({ cursor: 3, name: "x" });
    room.updatePresence({ only: true }, { replace: true });
    vi.advanceTimersByTime(100);
    expect(socket.lastOfType("presence.update").data).toEqual({ only: true });
  });

  it("honours presenceThrottleMs", async () => {
    const { room, socket } = await connectedRoom({ presenceThrottleMs: 500 });
    room.updatePresence({ a: 1 });
    room.updatePresence({ a: 2 });
    vi.advanceTimersByTime(499);
    expect(socket.ofType("presence.update")).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(socket.ofType("presence.update")).toHaveLength(2);
  });

  it("sends the initial presence after the join, and again after a rejoin", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const client = makeClient();
    const room = client.enterRoom("room-1", { initialPresence: { page: "home" } });
    await settle();
    const socket = FakeSocket.last;
    socket.open();
    expect(socket.ofType("presence.update")).toHaveLength(0);
    socket.receive(joined());
    expect(socket.lastOfType("presence.update").data).toEqual({ page: "home" });
    socket.drop();
    vi.advanceTimersByTime(1);
    await settle();
    FakeSocket.last.open();
    FakeSocket.last.receive(joined());
    expect(FakeSocket.last.lastOfType("presence.update").data).toEqual({ page: "home" });
    expect(room.self?.presence).toEqual({ page: "home" });
  });

  it("refuses presence over 1 KB with PRESENCE_TOO_LARGE and keeps the last", async () => {
    const { room, socket } = await connectedRoom();
    room.updatePresence({ small: 1 });
    room.updatePresence({ big: "x".repeat(1100) });
    expect(room.lastError?.code).toBe("PRESENCE_TOO_LARGE");
    expect(room.presence).toEqual({ small: 1 });
    vi.advanceTimersByTime(200);
    expect(socket.ofType("presence.update")).toHaveLength(1);
    expect(() => room.updatePresence([] as never)).toThrow(TypeError);
  });
});

describe("others", () => {
  it("follows joins, presence updates and departures", async () => {
    const { room, socket } = await connectedRoom();
    const others: RoomEventMap["others"][] = [];
    const presence: RoomEventMap["presence"][] = [];
    room.on("others", (e) => others.push(e));
    room.on("presence", (e) => presence.push(e));
    const member = (n: string) => ({ connectionId: "c-" + n, userId: n, name: n, presence: null });
    socket.receive({ type: "user.joined", ...member("bob") });
    socket.receive({ type: "user.joined", ...member("cy") });
    socket.receive({ type: "user.joined", ...member("dee") });
    socket.receive({ type: "user.joined", ...member("ada"), connectionId: "c-ada" }); // this connection
    expect(room.others.map((m) => m.userId)).toEqual(["bob", "cy", "dee"]);
    socket.receive({ type: "presence.updated", connectionId: "c-bob", userId: "bob", data: { x: 5 } });
    expect(room.others[0]?.presence).toEqual({ x: 5 });
    expect(presence).toEqual([{ connectionId: "c-bob", userId: "bob", data: { x: 5 } }]);
    socket.receive({ type: "user.left", connectionId: "c-bob", userId: "bob" });
    socket.receive({ type: "users.left", left: [{ connectionId: "c-cy" }, { connectionId: "c-dee" }] });
    expect(room.others).toEqual([]);
    expect(others.map((e) => e.others.length)).toEqual([1, 2, 3, 3, 2, 0]);
  });
});

describe("broadcast and access", () => {
  it("broadcasts at write access", async () => {
    const { room, socket } = await connectedRoom();
    expect(room.broadcast({ kind: "wave" })).toBe(true);
    expect(socket.lastOfType("broadcast")).toEqual({ type: "broadcast", event: { kind: "wave" } });
    const heard = vi.fn();
    room.on("broadcast", heard);
    socket.receive({ type: "broadcast", connectionId: "c-bob", userId: "bob", event: 7 });
    expect(heard).toHaveBeenCalledWith({ connectionId: "c-bob", userId: "bob", event: 7 });
  });

  it("refuses broadcast below write: nothing sent, false, ACCESS_DENIED", async () => {
    const { room, socket } = await connectedRoom({}, { access: "comment" });
    const errors = vi.fn();
    room.on("error", errors);
    expect(room.broadcast("hi")).toBe(false);
    expect(socket.ofType("broadcast")).toHaveLength(0);
    expect(errors).toHaveBeenCalledWith(expect.objectContaining({ code: "ACCESS_DENIED", needed: "write" }));
  });

  it("access.changed applies live; ACCESS_DENIED lowers the level", async () => {
    const { room, socket } = await connectedRoom();
    const changes: RoomEventMap["access"][] = [];
    room.on("access", (e) => changes.push(e));
    socket.receive({ type: "access.changed", access: "read" });
    expect(room.access).toBe("read");
    socket.receive({ type: "access.changed", access: "write" });
    const notices = vi.fn();
    room.on("notice", notices);
    socket.receive({ type: "error", code: "ACCESS_DENIED", message: "Needs comment.", needed: "comment" });
    expect(room.access).toBe("read");
    expect(notices).toHaveBeenCalledWith({ message: "Needs comment." });
    expect(changes).toEqual([
      { access: "read", previous: "write" },
      { access: "write", previous: "read" },
      { access: "read", previous: "write" },
    ]);
    socket.receive({ type: "access.changed", access: "owner" }); // a newer server's level
    expect(room.access).toBe("read");
  });

  it("a server without access levels lets the connection write", async () => {
    const { room } = await connectedRoom({}, { access: undefined });
    expect(room.access).toBe("write");
  });
});
