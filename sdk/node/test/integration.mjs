// The SDK against a real stack, run by tests/sdk/test_node_sdk.py (which starts the stack and
// asserts this script's JSON report). Uses the built package (dist/), as a user would.
//   node test/integration.mjs api      PULSE_URL, PULSE_SECRET_KEY
//   node test/integration.mjs webhook  WEBHOOK_SECRET, WEBHOOK_BODY_FILE, WEBHOOK_HEADERS (JSON)
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";

import { Pulse, PulseError, Webhook, WebhookVerificationError } from "../dist/index.js";

const BURST = 20;

async function api() {
  const retries = [];
  const pulse = new Pulse({
    secretKey: process.env.PULSE_SECRET_KEY,
    baseUrl: process.env.PULSE_URL,
    maxRetries: 10, // a burst of 20 at 5 a second needs 4 windows; retries come in herds
    onRetry: (retry) => retries.push(retry),
  });
  const report = {};

  const minted = await pulse.mintToken({ userId: "user-1", name: "Ada" });
  const again = await pulse.mintToken({ name: "Ada", userId: "user-1" });
  report.mint = {
    jwt: minted.token.split(".").length === 3,
    expiresAt: minted.expiresAt,
    cached: again.token === minted.token,
  };

  const roomIds = ["doc:1", "doc:2", "doc:3", "doc:4", "doc:5"];
  for (const [n, id] of roomIds.entries()) {
    await pulse.rooms.create({ id, metadata: { n } });
  }
  const thread = await pulse.threads.create("doc:1", {
    comment: { userId: "user-1", body: "First, from the Node SDK" },
    metadata: { sdk: "node" },
  });
  const comment = await pulse.comments.create("doc:1", thread.id, {
    userId: "user-2",
    body: "Second",
  });
  report.thread = { id: thread.id, firstComment: thread.comments[0]?.body };
  report.comment = { id: comment.id, threadId: comment.threadId, body: comment.body };

  const pages = [];
  let cursor;
  do {
    const page = await pulse.rooms.list({ limit: 2, cursor });
    pages.push(page.data.map((room) => room.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const iterated = [];
  for await (const room of pulse.rooms.listAll({ limit: 2 })) iterated.push(room.id);
  const comments = [];
  for await (const c of pulse.comments.listAll("doc:1", thread.id, { limit: 1 })) {
    comments.push(c.body);
  }
  report.pages = { pages, iterated, comments };

  // A burst over the key's per-second limit: some answers are 429s the SDK waits out.
  const before = retries.length;
  const burst = await Promise.all(Array.from({ length: BURST }, () => pulse.rooms.get("doc:2")));
  const waited = retries.slice(before);
  report.burst = {
    requests: BURST,
    succeeded: burst.filter((room) => room.id === "doc:2").length,
    retried429: waited.filter((r) => r.status === 429 && r.code === "RATE_LIMITED").length,
    delaysMs: [...new Set(waited.filter((r) => r.status === 429).map((r) => r.delayMs))],
  };

  try {
    await pulse.rooms.get("no-such-room");
    report.notFound = { thrown: false };
  } catch (error) {
    report.notFound = {
      thrown: true,
      isPulseError: error instanceof PulseError,
      status: error.status,
      code: error.code,
      message: error.message,
      requestId: error.requestId,
    };
  }
  report.retries = retries.length; // every wait, the burst's and any of the calls before it
  return report;
}

function webhook() {
  const verifier = new Webhook(process.env.WEBHOOK_SECRET);
  const body = readFileSync(process.env.WEBHOOK_BODY_FILE);
  const headers = JSON.parse(process.env.WEBHOOK_HEADERS);
  const event = verifier.verify(body, headers);
  const tampered = Buffer.from(body.toString("utf8").replace("First", "Frist"));
  let refused = null;
  try {
    verifier.verify(tampered, headers);
  } catch (error) {
    refused = {
      isVerificationError: error instanceof WebhookVerificationError,
      message: error.message,
    };
  }
  return {
    event: { type: event.type, threadId: event.data.id, roomId: event.data.roomId },
    refused,
  };
}

const phase = process.argv[2];
const report = phase === "api" ? await api() : phase === "webhook" ? webhook() : null;
if (report === null) {
  console.error("usage: node test/integration.mjs api|webhook");
  process.exit(2);
}
console.log(JSON.stringify(report));
