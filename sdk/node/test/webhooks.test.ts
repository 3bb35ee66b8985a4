/** Verification against deliveries signed by the published `standardwebhooks` package. */
import { randomBytes } from "node:crypto";

import { Webhook as Reference } from "standardwebhooks";
import { describe, expect, it } from "vitest";

import { Webhook, WebhookVerificationError, verifyWebhook } from "../src/index.js";

const secret = "whsec_" + randomBytes(24).toString("base64");
const body = JSON.stringify({
  type: "comment.created",
  timestamp: "2026-12-07T10:00:00.000Z",
  data: { id: "cm_1", threadId: "th_1", roomId: "doc:1", environmentId: "env_1", seq: 3 },
});

function signed(payload = body, at = new Date(), key = secret, id = "msg_1") {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Reference(key).sign(id, at, payload),
  };
}

describe("Webhook.verify", () => {
  it("accepts a delivery the reference library signed, and returns the event", () => {
    const event = new Webhook(secret).verify(body, signed());
    expect(event.type).toBe("comment.created");
    expect(event.data.seq).toBe(3);
  });

  it("accepts raw bytes and fetch Headers", () => {
    const headers = new Headers(signed());
    const event = verifyWebhook(secret, new TextEncoder().encode(body), headers);
    expect(event.data.roomId).toBe("doc:1");
  });

  it("accepts either of two signatures (a rotated secret)", () => {
    const old = "whsec_" + randomBytes(24).toString("base64");
    const headers = signed();
    const byOld = signed(body, new Date(), old)["webhook-signature"];
    headers["webhook-signature"] = `${byOld} ${headers["webhook-signature"]}`;
    expect(new Webhook(secret).verify(body, headers).type).toBe("comment.created");
    expect(new Webhook(old).verify(body, headers).type).toBe("comment.created");
  });

  it("refuses a tampered body", () => {
    const tampered = body.replace('"seq":3', '"seq":4');
    expect(() => new Webhook(secret).verify(tampered, signed())).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(tampered, signed())).toThrow(
      /no webhook-signature matches/,
    );
  });

  it("refuses another endpoint's secret", () => {
    const other = "whsec_" + randomBytes(24).toString("base64");
    expect(() => new Webhook(other).verify(body, signed())).toThrow(/no webhook-signature matches/);
  });

  it("refuses a changed id or timestamp", () => {
    const headers = { ...signed(), "webhook-id": "msg_2" };
    expect(() => new Webhook(secret).verify(body, headers)).toThrow(WebhookVerificationError);
    const at = new Date();
    const moved = {
      ...signed(body, at),
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000) + 1),
    };
    expect(() => new Webhook(secret).verify(body, moved)).toThrow(WebhookVerificationError);
  });

  it("refuses a timestamp more than 5 minutes away", () => {
    const old = new Date(Date.now() - 301_000);
    expect(() => new Webhook(secret).verify(body, signed(body, old))).toThrow(/too old/);
    const future = new Date(Date.now() + 301_000);
    expect(() => new Webhook(secret).verify(body, signed(body, future))).toThrow(/in the future/);
    const recent = new Date(Date.now() - 200_000);
    expect(new Webhook(secret).verify(body, signed(body, recent)).type).toBe("comment.created");
  });

  it("names a missing header", () => {
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"] as const) {
      const headers = Object.fromEntries(Object.entries(signed()).filter(([k]) => k !== name));
      expect(() => new Webhook(secret).verify(body, headers)).toThrow(`missing the ${name} header`);
    }
  });

  it("reads header names in any case, as Node and frameworks hand them", () => {
    const headers = Object.fromEntries(
      Object.entries(signed()).map(([k, v]) => [k.toUpperCase(), v]),
    );
    expect(new Webhook(secret).verify(body, headers).type).toBe("comment.created");
  });

  it("refuses a secret that is not whsec_ + base64", () => {
    expect(() => new Webhook("")).toThrow(/secret is required/);
    expect(() => new Webhook("whsec_not base64!")).toThrow(/not whsec_ followed by base64/);
  });

  it("agrees with the reference verifier on what it accepts", () => {
    const headers = signed();
    expect(new Reference(secret).verify(body, headers)).toEqual(
      new Webhook(secret).verify(body, headers),
    );
  });
});
