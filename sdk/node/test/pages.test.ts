import { describe, expect, it } from "vitest";

import { Pulse } from "../src/index.js";
import { FakeFetch, json } from "./fake-fetch.js";

const room = (id: string) => ({ id });

describe("listAll", () => {
  it("walks every page, sending each nextCursor", async () => {
    const fake = new FakeFetch(
      json(200, { data: [room("a"), room("b")], nextCursor: "c1" }),
      json(200, { data: [room("c")], nextCursor: "c2" }),
      json(200, { data: [room("d")], nextCursor: null }),
    );
    const pulse = new Pulse({
      secretKey: "sk_t",
      baseUrl: "http://127.0.0.1:9",
      fetch: fake.fetch,
    });
    const ids: string[] = [];
    for await (const r of pulse.rooms.listAll({ limit: 2 })) ids.push(r.id);
    expect(ids).toEqual(["a", "b", "c", "d"]);
    expect(fake.sent.map((s) => s.url.search)).toEqual([
      "?limit=2",
      "?limit=2&cursor=c1",
      "?limit=2&cursor=c2",
    ]);
  });

  it("fetches no further page than the loop reads", async () => {
    const fake = new FakeFetch(
      json(200, { data: [room("a"), room("b")], nextCursor: "c1" }),
      json(200, { data: [room("c")], nextCursor: null }),
    );
    const pulse = new Pulse({
      secretKey: "sk_t",
      baseUrl: "http://127.0.0.1:9",
      fetch: fake.fetch,
    });
    for await (const r of pulse.rooms.listAll()) {
      if (r.id === "a") break;
    }
    expect(fake.sent).toHaveLength(1);
  });

  it("starts from a given cursor, with a room's path and filters", async () => {
    const fake = new FakeFetch(json(200, { data: [{ id: "th_1" }], nextCursor: null }));
    const pulse = new Pulse({
      secretKey: "sk_t",
      baseUrl: "http://127.0.0.1:9",
      fetch: fake.fetch,
    });
    const threads = [];
    for await (const t of pulse.threads.listAll("doc:1", { resolved: true, cursor: "x" }))
      threads.push(t);
    expect(threads).toHaveLength(1);
    expect(fake.sent[0]?.url.pathname).toBe("/api/v1/rooms/doc%3A1/threads");
    expect(fake.sent[0]?.url.search).toBe("?resolved=true&cursor=x");
  });
});
