/** The route table against the server's contract (chalicelib/openapi.json): every operation,
 * method, path, query parameter, body field and Idempotency-Key header, both ways. */
import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { Pulse, routes, type Route } from "../src/index.js";
import { FakeFetch, json } from "./fake-fetch.js";

interface Parameter {
  name: string;
  in: string;
}
type Ref = { $ref: string };
interface Operation {
  operationId: string;
  parameters?: (Parameter | Ref)[];
  requestBody?: { content: { "application/json": { schema: Ref | Schema } } };
}
interface Schema {
  properties?: Record<string, unknown>;
}

const contract = JSON.parse(
  readFileSync(new URL("../../../chalicelib/openapi.json", import.meta.url), "utf8"),
) as { paths: Record<string, Record<string, Operation | (Parameter | Ref)[]>> } & Record<
  string,
  unknown
>;

function resolve<T>(value: T | Ref): T {
  let current: unknown = value;
  while (current && typeof current === "object" && "$ref" in current) {
    const path = (current as Ref).$ref.replace(/^#\//, "").split("/");
    current = path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], contract);
  }
  return current as T;
}

const METHODS = ["get", "head", "post", "put", "patch", "delete"];

/** The contract's operations, in the route table's shape. */
function contractRoutes(): Record<string, Route> {
  const found: Record<string, Route> = {};
  for (const [path, item] of Object.entries(contract.paths)) {
    const shared = (item.parameters ?? []) as (Parameter | Ref)[];
    for (const method of METHODS) {
      const operation = item[method] as Operation | undefined;
      if (!operation) continue;
      const parameters = [...shared, ...(operation.parameters ?? [])].map((p) => resolve(p));
      const schema = operation.requestBody
        ? resolve(operation.requestBody.content["application/json"].schema)
        : undefined;
      found[operation.operationId] = {
        method: method.toUpperCase() as Route["method"],
        path,
        query: parameters.filter((p) => p.in === "query").map((p) => p.name),
        body: schema ? Object.keys(schema.properties ?? {}) : null,
        idempotencyKey: parameters.some((p) => p.in === "header" && p.name === "Idempotency-Key"),
      };
    }
  }
  return found;
}

describe("the route table", () => {
  const expected = contractRoutes();

  it("names exactly the contract's operations", () => {
    expect(Object.keys(routes).sort()).toEqual(Object.keys(expected).sort());
    expect(Object.keys(expected).length).toBeGreaterThanOrEqual(33);
  });

  for (const [operationId, route] of Object.entries(expected)) {
    it(`matches ${operationId}: method, path, query, body fields, Idempotency-Key`, () => {
      const ours = (routes as Record<string, Route>)[operationId];
      expect(ours, `${operationId} is missing from src/routes.ts`).toBeDefined();
      expect({
        ...ours,
        query: [...(ours?.query ?? [])].sort(),
        body: ours?.body ? [...ours.body].sort() : null,
      }).toEqual({
        ...route,
        query: [...route.query].sort(),
        body: route.body ? [...route.body].sort() : null,
      });
    });
  }
});

describe("the resources", () => {
  it("reach every operation of the route table", async () => {
    const fake = new FakeFetch();
    fake.fallback = () =>
      json(200, { data: [], nextCursor: null, expiresAt: "2099-01-01T00:00:00.000Z" });
    const p = new Pulse({ secretKey: "sk_t", baseUrl: "http://127.0.0.1:9", fetch: fake.fetch });
    const r = "doc:1";
    const calls: (() => Promise<unknown>)[] = [
      () => p.mintToken({ userId: "u", name: "U" }),
      () => p.rooms.list(),
      () => p.rooms.create({ id: r }),
      () => p.rooms.get(r),
      () => p.rooms.update(r, { metadata: {} }),
      () => p.rooms.delete(r),
      () => p.threads.list(r),
      () => p.threads.create(r, { comment: { userId: "u", body: "b" } }),
      () => p.threads.get(r, "th_1"),
      () => p.threads.update(r, "th_1", { resolved: true }),
      () => p.threads.delete(r, "th_1"),
      () => p.comments.list(r, "th_1"),
      () => p.comments.create(r, "th_1", { userId: "u", body: "b" }),
      () => p.comments.update(r, "th_1", "cm_1", { body: "c" }),
      () => p.comments.delete(r, "th_1", "cm_1"),
      () => p.reactions.add(r, "th_1", "cm_1", { emoji: "👍", userId: "u" }),
      () => p.reactions.remove(r, "th_1", "cm_1", "👍", { userId: "u" }),
      () => p.attachments.create(r, { name: "a.png", mimeType: "image/png", size: 1 }),
      () => p.events.list(r, { since: 0 }),
      () => p.users.list({ q: "a" }),
      () => p.users.get("u"),
      () => p.users.revokeTokens("u"),
      () => p.users.erase("u", { mode: "delete" }),
      () => p.users.eraseJob("u", "job_1"),
      () => p.users.export("u"),
      () => p.inbox.list("u"),
      () => p.inbox.count("u"),
      () => p.inbox.markRead("u", "th_1"),
      () => p.inbox.subscribe(r, "th_1", { userId: "u" }),
      () => p.inbox.unsubscribe(r, "th_1", { userId: "u" }),
      () => p.notificationSettings.get(r, "u"),
      () => p.notificationSettings.set(r, "u", { setting: "all" }),
      () => p.activeUsers.list(r),
      () => p.broadcast.send(r, { event: { kind: "ping" } }),
      () => p.contract.get(),
      () => p.contract.head(),
    ];
    for (const call of calls) await call();

    const template = (route: Route) =>
      new RegExp(`^${route.method} ${route.path.replace(/\{\w+\}/g, "[^/]+")}$`);
    const reached = Object.entries(routes as Record<string, Route>)
      .filter(([, route]) =>
        fake.sent.some((s) => template(route).test(`${s.method} ${s.url.pathname}`)),
      )
      .map(([id]) => id);
    expect(reached.sort()).toEqual(Object.keys(routes).sort());
  });
});
