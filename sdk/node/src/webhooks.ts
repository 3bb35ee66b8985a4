/** Webhook verification (Standard Webhooks, docs/webhooks.md): the signature over
 * `{webhook-id}.{webhook-timestamp}.{raw body}` and a timestamp within 5 minutes. */
import { createHmac, timingSafeEqual } from "node:crypto";

import { WebhookVerificationError } from "./errors.js";

const SECRET_PREFIX = "whsec_";
const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export type WebhookEventType =
  | "room.updated"
  | "room.deleted"
  | "thread.created"
  | "thread.updated"
  | "thread.resolved"
  | "thread.deleted"
  | "comment.created"
  | "comment.updated"
  | "comment.deleted"
  | "reaction.added"
  | "reaction.removed"
  | "notification.created"
  | "webhook.test";

/** A delivery's body: `data` is the resource as the REST API answers it, with `environmentId`,
 * `roomId` and (except `notification.created`) `seq`. */
export interface WebhookEvent {
  type: WebhookEventType;
  timestamp: string;
  data: Record<string, unknown> & { environmentId: string; roomId?: string; seq?: number };
}

/** Node's `req.headers`, a fetch `Headers`, or any record of header names (any case). */
export type WebhookHeaders = Headers | Record<string, string | readonly string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") {
    return (headers as Headers).get(name) ?? undefined;
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    return Array.isArray(value) ? value.join(" ") : (value as string | undefined);
  }
  return undefined;
}

export interface VerifyOptions {
  /** How far the timestamp may be from this clock (default 300 s). */
  toleranceSeconds?: number;
}

/** Verifies deliveries signed with one endpoint's secret (`whsec_...`, from the Admin API or
 * panel). */
export class Webhook {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (typeof secret !== "string" || secret === "") {
      throw new TypeError("webhook secret is required: the endpoint's whsec_... secret");
    }
    const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
      throw new TypeError("webhook secret is not whsec_ followed by base64");
    }
    this.key = Buffer.from(encoded, "base64");
  }

  /** The event, parsed, when `body` (the raw bytes or text, before any JSON parsing) carries a
   * good signature and a recent timestamp; throws WebhookVerificationError otherwise. */
  verify(
    body: string | Uint8Array,
    headers: WebhookHeaders,
    options: VerifyOptions = {},
  ): WebhookEvent {
    const id = header(headers, "webhook-id");
    const timestamp = header(headers, "webhook-timestamp");
    const signatures = header(headers, "webhook-signature");
    if (!id) throw new WebhookVerificationError("missing the webhook-id header");
    if (!timestamp) throw new WebhookVerificationError("missing the webhook-timestamp header");
    if (!signatures) throw new WebhookVerificationError("missing the webhook-signature header");
    if (!/^\d+$/.test(timestamp)) {
      throw new WebhookVerificationError("webhook-timestamp is not Unix seconds");
    }
    const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
    const skew = Math.floor(Date.now() / 1000) - Number(timestamp);
    if (skew > tolerance) throw new WebhookVerificationError("webhook-timestamp is too old");
    if (skew < -tolerance) throw new WebhookVerificationError("webhook-timestamp is in the future");

    const raw = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
    const expected = createHmac("sha256", this.key)
      .update(`${id}.${timestamp}.`)
      .update(raw)
      .digest();
    // Two signatures, space-separated, for 24 hours after a secret rotation: any one will do.
    const matches = signatures.split(" ").some((entry) => {
      const [version, signature] = entry.split(",", 2);
      if (version !== "v1" || !signature) return false;
      const given = Buffer.from(signature, "base64");
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (!matches) throw new WebhookVerificationError("no webhook-signature matches the body");

    let event: unknown;
    try {
      event = JSON.parse(raw.toString("utf8"));
    } catch {
      throw new WebhookVerificationError("the signed body is not JSON");
    }
    return event as WebhookEvent;
  }
}

/** One-off verification: `new Webhook(secret).verify(body, headers)`. */
export function verifyWebhook(
  secret: string,
  body: string | Uint8Array,
  headers: WebhookHeaders,
  options?: VerifyOptions,
): WebhookEvent {
  return new Webhook(secret).verify(body, headers, options);
}
