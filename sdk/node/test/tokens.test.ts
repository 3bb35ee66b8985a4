import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { Pulse } from "../src/index.js";
import { FakeFetch, json } from "./fake-fetch.js";

const NOW = Date.parse("2026-12-07T10:00:00.000Z");

/** Answers every mint with a token numbered in order, valid `ttlSeconds` from the fake now. */
function minter(ttlSeconds = 900) {
  let n = 0;
  const fake = new FakeFetch();
  fake.fallback = () => {
    n += 1;
    return json(200, {
      token: `jwt-${n}`,
      expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
    });
  };
  const pulse = new Pulse({ secretKey: "sk_t", baseUrl: "http://127.0.0.1:9", fetch: fake.fetch });
  return { fake, pulse };
}

describe("mintToken's cache", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("gives the same token for the same request without a second mint", async () => {
    const { fake, pulse } = minter();
    const first = await pulse.mintToken({ userId: "u1", name: "Ada", groupIds: ["a"] });
    const again = await pulse.mintToken({ groupIds: ["a"], name: "Ada", userId: "u1" });
    expect(again).toEqual(first);
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0]?.url.pathname).toBe("/auth/token");
    expect(fake.sent[0]?.headers.get("idempotency-key")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("mints apart for another user or other claims", async () => {
    const { fake, pulse } = minter();
    await pulse.mintToken({ userId: "u1", name: "Ada" });
    await pulse.mintToken({ userId: "u2", name: "Ada" });
    await pulse.mintToken({ userId: "u1", name: "Ada", permissions: { "doc:*": "read" } });
    expect(fake.sent).toHaveLength(3);
  });

  it("mints afresh a minute before expiry", async () => {
    const { fake, pulse } = minter(900);
    const first = await pulse.mintToken({ userId: "u1", name: "Ada" });
    vi.setSystemTime(NOW + (900 - 61) * 1000);
    expect((await pulse.mintToken({ userId: "u1", name: "Ada" })).token).toBe(first.token);
    vi.setSystemTime(NOW + (900 - 60) * 1000);
    expect((await pulse.mintToken({ userId: "u1", name: "Ada" })).token).toBe("jwt-2");
    expect(fake.sent).toHaveLength(2);
  });

  it("keeps a short-lived token for three quarters of its life", async () => {
    const { pulse } = minter(60);
    await pulse.mintToken({ userId: "u1", name: "Ada" });
    vi.setSystemTime(NOW + 44_000);
    expect((await pulse.mintToken({ userId: "u1", name: "Ada" })).token).toBe("jwt-1");
    vi.setSystemTime(NOW + 45_000);
    expect((await pulse.mintToken({ userId: "u1", name: "Ada" })).token).toBe("jwt-2");
  });

  it("shares one mint between concurrent asks", async () => {
    const { fake, pulse } = minter();
    const tokens = await Promise.all(
      [1, 2, 3].map(() => pulse.mintToken({ userId: "u1", name: "Ada" })),
    );
    expect(new Set(tokens.map((t) => t.token)).size).toBe(1);
    expect(fake.sent).toHaveLength(1);
  });

  it("mints anew with cache: false, and after the user's tokens are revoked", async () => {
    const { fake, pulse } = minter();
    await pulse.mintToken({ userId: "u1", name: "Ada" });
    expect((await pulse.mintToken({ userId: "u1", name: "Ada" }, { cache: false })).token).toBe(
      "jwt-2",
    );
    await pulse.users.revokeTokens("u1"); // the fake answers it too (jwt-3 unused)
    expect((await pulse.mintToken({ userId: "u1", name: "Ada" })).token).toBe("jwt-4");
    expect(fake.sent.map((s) => s.url.pathname)).toEqual([
      "/auth/token",
      "/auth/token",
      "/api/v1/users/u1/revoke-tokens",
      "/auth/token",
    ]);
  });

  it("does not keep a failed mint", async () => {
    const fake = new FakeFetch(json(400, { error: { code: "INVALID_INPUT", message: "name" } }));
    fake.fallback = () =>
      json(200, { token: "ok", expiresAt: new Date(Date.now() + 900_000).toISOString() });
    const pulse = new Pulse({
      secretKey: "sk_t",
      baseUrl: "http://127.0.0.1:9",
      fetch: fake.fetch,
    });
    await expect(pulse.mintToken({ userId: "u1", name: "" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    expect((await pulse.mintToken({ userId: "u1", name: "" })).token).toBe("ok");
  });
});
