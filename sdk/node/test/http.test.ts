import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { Pulse, PulseError, type RetryInfo } from "../src/index.js";
import { FakeFetch, apiError, json } from "./fake-fetch.js";

const ROOM = {
  id: "doc:1",
  metadata: {},
  createdAt: "2026-12-07T00:00:00.000Z",
  updatedAt: "2026-12-07T00:00:00.000Z",
  defaultAccess: "write",
  usersAccess: {},
  groupsAccess: {},
};

function pulse(fake: FakeFetch, extra: Partial<ConstructorParameters<typeof Pulse>[0]> = {}) {
  return new Pulse({
    secretKey: "sk_test",
    baseUrl: "http://127.0.0.1:9/",
    fetch: fake.fetch,
    ...extra,
  });
}

/** The promise's outcome, without letting a rejection go unhandled while timers advance. */
function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe("retries", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("waits Retry-After seconds after a 429, then succeeds", async () => {
    const fake = new FakeFetch(
      apiError(429, "RATE_LIMITED", "slow down", { "Retry-After": "2" }),
      json(200, ROOM),
    );
    const retries: RetryInfo[] = [];
    const result = settle(pulse(fake, { onRetry: (r) => retries.push(r) }).rooms.get("doc:1"));

    await vi.advanceTimersByTimeAsync(1_999);
    expect(fake.sent).toHaveLength(1); // still waiting
    await vi.advanceTimersByTimeAsync(1);
    expect(await result).toEqual({ value: ROOM });
    expect(fake.sent).toHaveLength(2);
    expect(retries).toEqual([
      { operationId: "getRoom", attempt: 1, status: 429, code: "RATE_LIMITED", delayMs: 2_000 },
    ]);
  });

  it("backs off with jitter after a 503 without Retry-After", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const fake = new FakeFetch(
      apiError(503, "SERVICE_UNAVAILABLE", "busy"),
      apiError(503, "SERVICE_UNAVAILABLE", "busy"),
      json(200, ROOM),
    );
    const retries: RetryInfo[] = [];
    const result = settle(pulse(fake, { onRetry: (r) => retries.push(r) }).rooms.get("doc:1"));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await result).toEqual({ value: ROOM });
    // half the ceiling plus a random half of it: 500 ms then 1,000 ms ceilings
    expect(retries.map((r) => r.delayMs)).toEqual([375, 750]);
  });

  it("gives up after maxRetries and throws the last answer", async () => {
    const limited = () => apiError(429, "RATE_LIMITED", "slow down", { "Retry-After": "1" });
    const fake = new FakeFetch(limited(), limited(), limited(), json(200, ROOM));
    const result = settle(pulse(fake, { maxRetries: 2 }).rooms.get("doc:1"));
    await vi.advanceTimersByTimeAsync(10_000);
    const { error } = await result;
    expect(error).toBeInstanceOf(PulseError);
    expect(error).toMatchObject({ status: 429, code: "RATE_LIMITED", details: { retryAfter: 1 } });
    expect(fake.sent).toHaveLength(3);
  });

  it("throws at once when Retry-After is longer than maxRetryDelayMs", async () => {
    const fake = new FakeFetch(
      apiError(429, "RATE_LIMITED", "quota", { "Retry-After": "3600" }),
      json(200, ROOM),
    );
    const { error } = await settle(pulse(fake).rooms.get("doc:1"));
    expect(error).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    expect(fake.sent).toHaveLength(1);
  });

  it("retries a 409 IDEMPOTENCY_KEY_IN_USE with the same key", async () => {
    const fake = new FakeFetch(
      apiError(409, "IDEMPOTENCY_KEY_IN_USE", "running", { "Retry-After": "1" }),
      json(201, ROOM),
    );
    const result = settle(pulse(fake).rooms.create({ id: "doc:1" }));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await result).toEqual({ value: ROOM });
    const [first, second] = fake.sent.map((s) => s.headers.get("idempotency-key"));
    expect(first).toBeTruthy();
    expect(second).toBe(first);
  });

  it("does not retry other 409s or 4xx answers", async () => {
    const fake = new FakeFetch(apiError(409, "ROOM_EXISTS", "exists"), json(201, ROOM));
    const { error } = await settle(pulse(fake).rooms.create({ id: "doc:1" }));
    expect(error).toMatchObject({ status: 409, code: "ROOM_EXISTS" });
    expect(fake.sent).toHaveLength(1);
  });

  it("retries a GET that got no answer", async () => {
    const fake = new FakeFetch(new TypeError("fetch failed"), json(200, ROOM));
    const result = settle(pulse(fake).rooms.get("doc:1"));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await result).toEqual({ value: ROOM });
  });

  it("retries a GET whose answer was cut off", async () => {
    const cut = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"id":'));
        controller.error(new TypeError("terminated"));
      },
    });
    const fake = new FakeFetch(new Response(cut, { status: 200 }), json(200, ROOM));
    const retries: RetryInfo[] = [];
    const result = settle(pulse(fake, { onRetry: (r) => retries.push(r) }).rooms.get("doc:1"));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await result).toEqual({ value: ROOM });
    expect(retries.map((r) => r.code)).toEqual(["NETWORK_ERROR"]);
  });

  it("does not repeat a POST without an idempotency key that got no answer", async () => {
    const fake = new FakeFetch(new TypeError("fetch failed"), json(201, ROOM));
    const { error } = await settle(
      pulse(fake).rooms.create({ id: "doc:1" }, { idempotencyKey: false }),
    );
    expect(error).toMatchObject({ status: 0, code: "NETWORK_ERROR" });
    expect(fake.sent).toHaveLength(1);
  });

  it("stops waiting when the caller aborts", async () => {
    const fake = new FakeFetch(
      apiError(429, "RATE_LIMITED", "slow down", { "Retry-After": "5" }),
      json(200, ROOM),
    );
    const controller = new AbortController();
    const result = settle(pulse(fake).rooms.get("doc:1", { signal: controller.signal }));
    await vi.advanceTimersByTimeAsync(100);
    controller.abort(new Error("caller gave up"));
    const { error } = await result;
    expect(error).toMatchObject({ message: "caller gave up" });
    expect(fake.sent).toHaveLength(1);
  });
});

describe("errors", () => {
  it("carry status, code, message, details and the request id", async () => {
    const fake = new FakeFetch(
      apiError(
        400,
        "INVALID_INPUT",
        "limit must be 1-100",
        { "X-Request-Id": "req-42" },
        { field: "limit", suggestion: "Send 1-100." },
      ),
    );
    const error = await pulse(fake)
      .rooms.list({ limit: 500 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PulseError);
    expect(error).toMatchObject({
      name: "PulseError",
      status: 400,
      code: "INVALID_INPUT",
      message: "limit must be 1-100",
      requestId: "req-42",
      operationId: "listRooms",
      details: { field: "limit", suggestion: "Send 1-100." },
    });
  });

  it("name the status when the answer has no error body", async () => {
    const fake = new FakeFetch(new Response("<html>bad gateway</html>", { status: 502 }));
    const error = await pulse(fake)
      .rooms.get("doc:1")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502, code: "HTTP_502", requestId: null });
    expect((error as PulseError).details.body).toBe("<html>bad gateway</html>");
  });

  it("refuse a success whose body is not JSON", async () => {
    const fake = new FakeFetch(new Response("<html>login</html>", { status: 200 }));
    const error = await pulse(fake)
      .rooms.get("doc:1")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 200, code: "INVALID_RESPONSE" });
    expect((error as PulseError).details.body).toBe("<html>login</html>");
  });

  it("report a timeout as TIMEOUT", async () => {
    const hang = (_sent: unknown, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener("abort", () => {
          reject(init.signal?.reason as Error);
        });
      });
    const fake = new FakeFetch(hang);
    const error = await pulse(fake, { timeoutMs: 20, maxRetries: 0 })
      .rooms.get("doc:1")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 0, code: "TIMEOUT" });
  });

  it("refuse a publishable key and a bad base URL up front", () => {
    expect(() => new Pulse({ secretKey: "pk_abc", baseUrl: "http://x" })).toThrow(/publishable/);
    expect(() => new Pulse({ secretKey: "", baseUrl: "http://x" })).toThrow(/secretKey/);
    expect(() => new Pulse({ secretKey: "sk_1", baseUrl: "ftp://x" })).toThrow(/baseUrl/);
  });
});

describe("requests", () => {
  it("send the secret key, JSON and a fresh Idempotency-Key on each POST", async () => {
    const fake = new FakeFetch(json(201, ROOM), json(201, ROOM));
    const client = pulse(fake);
    await client.rooms.create({ id: "doc:1" });
    await client.rooms.create({ id: "doc:2" });
    const [a, b] = fake.sent;
    expect(a?.method).toBe("POST");
    expect(a?.url.href).toBe("http://127.0.0.1:9/api/v1/rooms");
    expect(a?.headers.get("authorization")).toBe("Bearer sk_test");
    expect(a?.headers.get("content-type")).toBe("application/json");
    expect(a?.body).toEqual({ id: "doc:1" });
    const keys = [a?.headers.get("idempotency-key"), b?.headers.get("idempotency-key")];
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it("use the caller's Idempotency-Key, or none when told", async () => {
    const fake = new FakeFetch(json(201, ROOM), json(201, ROOM));
    const client = pulse(fake);
    await client.rooms.create({ id: "doc:1" }, { idempotencyKey: "order-7" });
    await client.rooms.create({ id: "doc:1" }, { idempotencyKey: false });
    expect(fake.sent.map((s) => s.headers.get("idempotency-key"))).toEqual(["order-7", null]);
  });

  it("send no Idempotency-Key where the contract takes none", async () => {
    const fake = new FakeFetch(json(200, ROOM), json(200, {}));
    const client = pulse(fake);
    await client.rooms.get("doc:1");
    await client.inbox.markRead("u1", "th_1");
    expect(fake.sent.map((s) => s.headers.get("idempotency-key"))).toEqual([null, null]);
    expect(fake.sent[1]?.body).toBeUndefined();
  });

  it("encode ids, escaping the ones a URL cannot carry", async () => {
    const fake = new FakeFetch();
    const client = pulse(fake);
    await client.rooms.list({ userId: "u 1", limit: 5, cursor: undefined });
    await client.threads.list("doc:42", { resolved: false });
    await client.users.get("..");
    await client.users.get("~tilde");
    expect(fake.sent.map((s) => s.url.pathname + s.url.search)).toEqual([
      "/api/v1/rooms?userId=u+1&limit=5",
      "/api/v1/rooms/doc%3A42/threads?resolved=false",
      "/api/v1/users/~Li4",
      "/api/v1/users/~fnRpbGRl",
    ]);
  });

  it("refuse an empty id, or a dot segment where no escape exists", async () => {
    const client = pulse(new FakeFetch());
    await expect(client.rooms.get("")).rejects.toThrow(/roomId must be a non-empty string/);
    await expect(client.threads.get("doc:1", "..")).rejects.toThrow(/threadId "\.\." is not/);
  });

  it("resolve a 204 to undefined", async () => {
    const fake = new FakeFetch(new Response(null, { status: 204 }));
    await expect(pulse(fake).rooms.delete("doc:1")).resolves.toBeUndefined();
    expect(fake.sent[0]?.method).toBe("DELETE");
  });
});
