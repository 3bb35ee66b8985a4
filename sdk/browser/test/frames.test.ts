// Frames as events: each frame reaches a handler once, whether its type is one of the room's
// own event names ("broadcast", "error": the typed event) or not (the frame as is).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { connectedRoom, resetSockets, thread } from "./helpers.js";

beforeEach(resetSockets);
afterEach(() => vi.useRealTimers());

describe("frames as events", () => {
  it("tells a broadcast or an error once, in the typed event's shape", async () => {
    const { room, socket } = await connectedRoom();
    const broadcasts = vi.fn();
    const errors = vi.fn();
    room.on("broadcast", broadcasts);
    room.on("error", errors);
    socket.receive({ type: "broadcast", connectionId: "c-bob", userId: "bob", event: 7 });
    socket.receive({ type: "error", code: "RATE_LIMITED", message: "Slow down.", retryAfter: 1 });
    expect(broadcasts.mock.calls).toEqual([[{ connectionId: "c-bob", userId: "bob", event: 7 }]]);
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors.mock.calls[0]?.[0]).toMatchObject({ code: "RATE_LIMITED", retryAfter: 1 });
    expect(errors.mock.calls[0]?.[0]).not.toHaveProperty("type");
  });

  it("tells any other frame by its type, and every frame as message", async () => {
    const { room, socket } = await connectedRoom();
    const created = vi.fn();
    const messages: string[] = [];
    room.on("thread.created", created);
    room.on("message", (m) => messages.push(m.type));
    const frame = { type: "thread.created", thread: thread("th-1"), seq: 1 };
    socket.receive(frame);
    socket.receive({ type: "broadcast", connectionId: "c-bob", userId: "bob", event: 1 });
    expect(created.mock.calls).toEqual([[frame]]);
    expect(messages).toEqual(["thread.created", "broadcast"]);
  });
});
