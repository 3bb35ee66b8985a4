/** Pulse's server SDK for Node: `new Pulse({secretKey, baseUrl})`, PulseError, and webhook
 * verification. */
export { Pulse, type MintOptions } from "./client.js";
export { PulseError, WebhookVerificationError, type PulseErrorDetails } from "./errors.js";
export { VERSION, type PulseOptions, type RequestOptions, type RetryInfo } from "./http.js";
export type { Page } from "./pages.js";
export { routes, type Method, type Route } from "./routes.js";
export * from "./types.js";
export {
  Webhook,
  verifyWebhook,
  type VerifyOptions,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookHeaders,
} from "./webhooks.js";
