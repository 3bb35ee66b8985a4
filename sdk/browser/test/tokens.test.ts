// Token rules: the provider's reasons, its backoff and stop, revocation, and the stopped states.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TokenContext } from "../src/client/index.js";
import { connectedRoom, FakeSocket, joined, jwt, makeClient, resetSockets, settle, tokenFor } from "./helpers.js";

beforeEach(resetSockets);
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

function expired(userId: string): string {
  return jwt({ sub: userId, exp: Math.floor(Date.now() / 1000) - 60 });
}

describe("token provider", () => {
  it("is asked first when there is no token, and the room dials with its answer", async () => {
    const asked: TokenContext[] = [];
    const fresh = tokenFor("ada");
    const client = makeClient({ token: undefined, tokenProvider: async (ctx) => (asked.push(ctx), fresh) });
    client.enterRoom("room-1");
    await settle();
    expect(asked).toEqual([{ roomId: "room-1", reason: "initial" }]);
    expect(FakeSocket.last.params.get("token")).toBe(fresh);
  });

  it("is asked again when the token expires, with reason expired", async () => {
    const reasons: string[] = [];
    const { socket } = await connectedRoom({
      token: jwt({ sub: "ada", exp: Math.floor(Date.now() / 1000) + 60 }),
      tokenProvider: async (ctx) => (reasons.push(ctx.reason), tokenFor("ada")),
    });
    expect(reasons).toEqual([]);
    vi.advanceTimersByTime(120_000); // the token is past its exp now
    socket.drop(1000, "closing"); // a clean close: only the expiry asks for a new token
    vi.advanceTimersByTime(1_000);
    await settle();
    expect(reasons).toEqual(["expired"]);
  });

  it("is asked again when the server refused the token, with reason refused", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const reasons: string[] = [];
    const given = tokenFor("ada");
    const client = makeClient({ token: given, tokenProvider: async (ctx) => (reasons.push(ctx.reason), tokenFor("ada", { n: 1 })) });
    const room = client.enterRoom("room-1");
    await settle();
    expect(FakeSocket.last.params.get("token")).toBe(given);
    FakeSocket.last.drop(1006); // refused at the handshake
    expect(room.lastError?.code).toBe("CONNECT_REFUSED");
    vi.advanceTimersByTime(1);
    await settle();
    expect(reasons).toEqual(["refused"]);
    expect(FakeSocket.last.params.get("token")).not.toBe(given);
    // A token the provider just gave that is refused too is not replaced at once (the refusal
    // may have another cause: each retry would mint).
    FakeSocket.last.drop(1006);
    vi.advanceTimersByTime(1);
    await settle();
    expect(reasons).toEqual(["refused"]);
  });

  it("retries a failing provider with backoff, then stops with TOKEN_REFRESH_FAILED", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const provider = vi.fn(async () => {
      throw new Error("backend down");
    });
    const client = makeClient({ token: undefined, tokenProvider: provider });
    const room = client.enterRoom("room-1");
    const errors: { attempt?: number; retryInMs?: number | null; message: string }[] = [];
    room.on("error", (e) => errors.push(e));
    await settle();
    expect(provider).toHaveBeenCalledTimes(1);
    expect(errors[0]).toMatchObject({ attempt: 1, retryInMs: 500 });
    expect(room.status).toBe("connecting");
    vi.advanceTimersByTime(500);
    await settle();
    expect(errors[1]).toMatchObject({ attempt: 2, retryInMs: 1000 });
    vi.advanceTimersByTime(1000);
    await settle();
    vi.advanceTimersByTime(2000);
    await settle();
    expect(provider).toHaveBeenCalledTimes(4);
    expect(room.status).toBe("stopped");
    expect(room.lastError).toMatchObject({ code: "TOKEN_REFRESH_FAILED", attempt: 4, retryInMs: null });
    expect(room.lastError?.message).toContain("backend down");
    expect(room.lastError?.message).toContain("Stopped after 4 failures");
    vi.advanceTimersByTime(60_000);
    await settle();
    expect(provider).toHaveBeenCalledTimes(4);
    expect(FakeSocket.instances).toHaveLength(0);
    room.reconnect(); // tries again from the start
    await settle();
    expect(provider).toHaveBeenCalledTimes(5);
  });

  it("refuses an expired answer from the provider", async () => {
    const client = makeClient({ token: undefined, tokenProvider: async () => expired("ada") });
    const room = client.enterRoom("room-1");
    await settle();
    expect(room.lastError?.code).toBe("TOKEN_REFRESH_FAILED");
    expect(room.lastError?.message).toContain("expired token");
    expect(FakeSocket.instances).toHaveLength(0);
  });

  it("tokenUrl fetches with the page's cookies and POSTs the room", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ token: tokenFor("ada") }), { status: 200 });
    });
    const client = makeClient({ token: undefined, tokenUrl: "https://app.example/pulse-token", tokenMethod: "POST" });
    client.enterRoom("room-1");
    await vi.waitFor(() => expect(FakeSocket.instances).toHaveLength(1));
    expect(calls[0]?.url).toBe("https://app.example/pulse-token");
    expect(calls[0]?.init).toMatchObject({ method: "POST", credentials: "include", body: JSON.stringify({ room: "room-1" }) });
  });

  it("tokenUrl's HTTP error says so", async () => {
    vi.stubGlobal("fetch", async () => new Response("no", { status: 401 }));
    const client = makeClient({ token: undefined, tokenUrl: "https://app.example/pulse-token" });
    const room = client.enterRoom("room-1");
    await vi.waitFor(() => expect(room.lastError).not.toBeNull());
    expect(room.lastError?.message).toContain("token-url answered HTTP 401");
    expect(room.lastError?.problem).toBe("the sign-in service answered with error 401");
  });
});

describe("stopped states", () => {
  it("MISSING_TOKEN: no token and no provider", async () => {
    const room = makeClient({ token: undefined }).enterRoom("room-1");
    await settle();
    expect(room.status).toBe("stopped");
    expect(room.lastError?.code).toBe("MISSING_TOKEN");
    expect(FakeSocket.instances).toHaveLength(0);
  });

  it("TOKEN_EXPIRED: an expired token and no provider; setToken starts it again", async () => {
    const room = makeClient({ token: expired("ada") }).enterRoom("room-1");
    await settle();
    expect(room.lastError?.code).toBe("TOKEN_EXPIRED");
    expect(room.status).toBe("stopped");
    room.setToken(tokenFor("ada"));
    await settle();
    expect(FakeSocket.instances).toHaveLength(1);
    expect(room.status).toBe("connecting");
  });

  it("INVALID_ROOM and BAD_ENDPOINT are found before dialling", async () => {
    const bad = makeClient().enterRoom("..");
    const wrong = makeClient({ endpoint: "https://not-a-socket" }).enterRoom("room-1");
    await settle();
    expect(bad.lastError?.code).toBe("INVALID_ROOM");
    expect(wrong.lastError?.code).toBe("BAD_ENDPOINT");
    expect(bad.status).toBe("stopped");
    expect(wrong.status).toBe("stopped");
    expect(FakeSocket.instances).toHaveLength(0);
  });

  it("ROOM_ACCESS_DENIED: an access token whose permissions do not reach the room", async () => {
    const token = tokenFor("ada", { permissions: { "acme:*": "read", other: "write" } });
    const client = makeClient({ token });
    const inside = client.enterRoom("acme:docs");
    const outside = client.enterRoom("room-1");
    await settle();
    expect(outside.lastError?.code).toBe("ROOM_ACCESS_DENIED");
    expect(outside.access).toBe("none");
    expect(inside.status).toBe("connecting");
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it("ACCESS_REMOVED: access.changed none ends the room for good", async () => {
    const { room, socket } = await connectedRoom({}, {}, []);
    socket.receive({ type: "thread.created", seq: 1, thread: { id: "t1", roomId: "room-1", createdAt: "x", comments: [] } });
    await settle();
    expect(room.threads).toHaveLength(1);
    socket.receive({ type: "access.changed", access: "none" });
    await settle();
    expect(room.status).toBe("stopped");
    expect(room.lastError?.code).toBe("ACCESS_REMOVED");
    expect(room.access).toBe("none");
    expect(room.threads).toHaveLength(0);
    const before = FakeSocket.instances.length;
    vi.advanceTimersByTime(60_000);
    await settle();
    expect(FakeSocket.instances.length).toBe(before);
  });

  it("TOKEN_REVOKED: the token (and older ones of the user) are never sent again", async () => {
    const old = tokenFor("ada", { gen: 2 });
    const { room, socket } = await connectedRoom({ token: old });
    socket.receive({ type: "error", code: "TOKEN_REVOKED", message: "Revoked." });
    expect(room.status).toBe("stopped");
    expect(room.lastError?.code).toBe("TOKEN_REVOKED");
    const before = FakeSocket.instances.length;
    room.setToken(tokenFor("ada", { gen: 2, n: "other" })); // same generation: dead too
    await settle();
    expect(FakeSocket.instances.length).toBe(before);
    expect(room.lastError?.code).toBe("TOKEN_REVOKED");
    room.setToken(tokenFor("ada", { gen: 3 }));
    await settle();
    expect(FakeSocket.instances.length).toBe(before + 1);
  });

  it("a revoked token with a provider gets a fresh one on reconnect()", async () => {
    const reasons: string[] = [];
    const { room, socket } = await connectedRoom({
      tokenProvider: async (ctx) => (reasons.push(ctx.reason), tokenFor("ada", { gen: 5 })),
    });
    socket.receive({ type: "error", code: "TOKEN_REVOKED", message: "Revoked." });
    room.reconnect();
    await settle();
    expect(reasons).toEqual(["refused"]);
    expect(FakeSocket.last.params.get("token")).toBe(tokenFor("ada", { gen: 5 }));
    FakeSocket.last.open();
    FakeSocket.last.receive(joined());
    expect(room.status).toBe("connected");
    expect(room.lastError).toBeNull();
  });
});
