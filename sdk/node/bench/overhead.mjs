// What the SDK itself costs, without a network: a cold import of the built package, a call through
// it to an in-memory fetch (URL, headers, JSON, the answer parsed) against the same fetch called
// by hand, and a webhook verification. `npm run build && node bench/overhead.mjs` in sdk/node.
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";

import { Pulse, Webhook } from "../dist/index.js";

const ROOM = JSON.stringify({
  id: "doc:1",
  metadata: { title: "Q3" },
  createdAt: "2026-12-07T00:00:00.000Z",
  updatedAt: "2026-12-07T00:00:00.000Z",
  defaultAccess: "write",
  usersAccess: {},
  groupsAccess: {},
});
const answer = () =>
  new Response(ROOM, { status: 200, headers: { "Content-Type": "application/json" } });
const fakeFetch = async () => answer();

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median microseconds per call over `rounds` rounds of `n` calls, after a warm-up round. */
async function perCall(fn, n = 2000, rounds = 7) {
  for (let i = 0; i < n; i += 1) await fn();
  const times = [];
  for (let r = 0; r < rounds; r += 1) {
    const start = performance.now();
    for (let i = 0; i < n; i += 1) await fn();
    times.push(((performance.now() - start) * 1000) / n);
  }
  return median(times);
}

function coldStartMs(code, runs = 9) {
  const times = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    const done = spawnSync(process.execPath, ["--input-type=module", "-e", code]);
    if (done.status !== 0) throw new Error(done.stderr.toString());
    times.push(performance.now() - start);
  }
  return median(times);
}

const pulse = new Pulse({ secretKey: "sk_bench", baseUrl: "http://127.0.0.1:9", fetch: fakeFetch });
const secret = "whsec_" + Buffer.alloc(24, 7).toString("base64");
const webhook = new Webhook(secret);
const { Webhook: Reference } = await import("standardwebhooks");
const body = JSON.stringify({ type: "comment.created", timestamp: "x", data: { id: "cm_1" } });
const at = new Date();
const headers = {
  "webhook-id": "msg_1",
  "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
  "webhook-signature": new Reference(secret).sign("msg_1", at, body),
};

const results = {
  node: process.version,
  coldNodeMs: coldStartMs(""),
  coldImportSdkMs: coldStartMs('await import("./dist/index.js")'),
  rawFetchUs: await perCall(async () => {
    const response = await fakeFetch("http://127.0.0.1:9/api/v1/rooms/doc%3A1", {
      headers: { Authorization: "Bearer sk_bench" },
    });
    return response.json();
  }),
  sdkGetUs: await perCall(() => pulse.rooms.get("doc:1")),
  sdkCreateUs: await perCall(() => pulse.rooms.create({ id: "doc:1" })),
  webhookVerifyUs: await perCall(async () => webhook.verify(body, headers)),
};
console.log(
  JSON.stringify(
    results,
    (key, value) => (typeof value === "number" ? Math.round(value * 10) / 10 : value),
    2,
  ),
);
