/** The transport: builds each request from the route table, sends it with the secret key,
 * retries what is safe to retry (429, 503, a 409 IDEMPOTENCY_KEY_IN_USE, and no answer for a
 * request that can run twice), and turns every failure into a PulseError. */
import { randomUUID } from "node:crypto";

import { PulseError } from "./errors.js";
import { routes, type Route } from "./routes.js";
import type { Answer, OperationId } from "./types.js";

export const VERSION = "0.1.0";

export interface PulseOptions {
  /** The environment's secret key (`sk_...`) or a restricted key (`rk_...`). Backend only. */
  secretKey: string;
  /** The REST API's URL: `http://127.0.0.1:8000` for `make dev`, the `chalice deploy` URL
   * (`https://{id}.execute-api.{region}.amazonaws.com/api`) for a deployment. */
  baseUrl: string;
  /** How long one attempt may take before it is abandoned (default 10,000 ms). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 2); 0 turns retrying off. */
  maxRetries?: number;
  /** The longest `Retry-After` waited for (default 60,000 ms): a longer one is thrown at once. */
  maxRetryDelayMs?: number;
  /** The fetch to use (default: Node's global fetch). */
  fetch?: typeof fetch;
  /** Called before each retry: for logs and metrics. */
  onRetry?: (retry: RetryInfo) => void;
}

export interface RetryInfo {
  operationId: OperationId;
  /** The attempt that failed: 1 for the first. */
  attempt: number;
  /** Its HTTP status; 0 when no answer arrived. */
  status: number;
  /** Its error code (`RATE_LIMITED`, `SERVICE_UNAVAILABLE`, `TIMEOUT`, ...). */
  code: string;
  /** How long the SDK waits before the next attempt. */
  delayMs: number;
}

export interface RequestOptions {
  /** The `Idempotency-Key` of a POST that takes one: default a new UUID per call (the same on
   * every retry of it); `false` sends none. */
  idempotencyKey?: string | false;
  /** Abandons the call (and its retries). */
  signal?: AbortSignal;
}

export interface CallArgs {
  path?: Record<string, string>;
  query?: object | undefined;
  body?: unknown;
}

const RETRY_STATUSES = new Set([429, 503]);
const BACKOFF_INITIAL_MS = 500;
const BACKOFF_MAX_MS = 8_000;

// Room and user ids a URL cannot carry as they are (`.` and `..` climb a level; a segment
// starting with `~` is read as an escape) are sent escaped: `~` + unpadded base64url.
const ESCAPED_PARAMS = new Set(["roomId", "userId"]);

export function pathSegment(name: string, value: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${name} must be a non-empty string`);
  }
  if (value === "." || value === ".." || value.startsWith("~")) {
    if (!ESCAPED_PARAMS.has(name)) {
      throw new TypeError(`${name} ${JSON.stringify(value)} is not a valid id`);
    }
    return "~" + Buffer.from(value, "utf8").toString("base64url");
  }
  return encodeURIComponent(value);
}

function buildUrl(baseUrl: string, route: Route, args: CallArgs): string {
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = args.path?.[name];
    if (value === undefined) throw new TypeError(`${name} is required`);
    return pathSegment(name, value);
  });
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(args.query ?? {})) {
    if (value === undefined || value === null) continue;
    search.append(name, String(value));
  }
  const query = search.toString();
  return baseUrl + path + (query ? `?${query}` : "");
}

function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get("retry-after");
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

function backoffMs(attempt: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2); // jitter: spread a crowd
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  const reason = (): Error =>
    signal?.reason instanceof Error
      ? signal.reason
      : new Error("aborted", { cause: signal?.reason });
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(reason());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(reason());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** An error answer's body: its JSON, or its text when it is not JSON (a gateway's page). */
function errorBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A success's JSON answer; anything else (a proxy's page) is no answer the types describe, so
 * it is thrown rather than handed on as if it were. */
function successBody(operationId: OperationId, response: Response, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new PulseError({
      status: response.status,
      code: "INVALID_RESPONSE",
      message: `${operationId} answered ${response.status} with a body that is not JSON`,
      details: { body: text.slice(0, 1024) },
      requestId: response.headers.get("x-request-id"),
      operationId,
      cause,
    });
  }
}

function errorFrom(operationId: OperationId, response: Response, body: unknown): PulseError {
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  const text = (key: string): string | undefined =>
    typeof error?.[key] === "string" ? error[key] : undefined;
  const retryAfter = retryAfterMs(response);
  return new PulseError({
    status: response.status,
    code: text("code") ?? `HTTP_${response.status}`,
    message: text("message") ?? `${operationId} answered ${response.status} without an error body`,
    details: {
      ...(text("suggestion") !== undefined && { suggestion: text("suggestion") }),
      ...(text("field") !== undefined && { field: text("field") }),
      ...(retryAfter !== undefined && { retryAfter: retryAfter / 1000 }),
      body,
    },
    requestId: response.headers.get("x-request-id") ?? text("requestId") ?? null,
    operationId,
  });
}

export class Transport {
  private readonly baseUrl: string;
  private readonly secretKey: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRetryDelayMs: number;
  private readonly fetch: typeof fetch;
  private readonly onRetry: ((retry: RetryInfo) => void) | undefined;

  constructor(options: PulseOptions) {
    if (typeof options.secretKey !== "string" || options.secretKey === "") {
      throw new TypeError("secretKey is required: the environment's sk_... (or an rk_...)");
    }
    if (options.secretKey.startsWith("pk_")) {
      throw new TypeError("secretKey is a publishable key (pk_...): use the secret key, sk_...");
    }
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`baseUrl must be an http(s) URL, got ${JSON.stringify(options.baseUrl)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`baseUrl must be an http(s) URL, got ${JSON.stringify(options.baseUrl)}`);
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.secretKey = options.secretKey;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxRetries = Math.max(0, options.maxRetries ?? 2);
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.onRetry = options.onRetry;
  }

  async call<Op extends OperationId>(
    operationId: Op,
    args: CallArgs = {},
    options: RequestOptions = {},
  ): Promise<Answer<Op>> {
    const route: Route = routes[operationId];
    const url = buildUrl(this.baseUrl, route, args);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.secretKey}`,
      Accept: "application/json",
      "User-Agent": `pulse-node/${VERSION}`,
    };
    let body: string | undefined;
    if (route.body !== null) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(args.body ?? {});
    }
    if (route.idempotencyKey && options.idempotencyKey !== false) {
      headers["Idempotency-Key"] = options.idempotencyKey ?? randomUUID();
    }
    // Without an answer we cannot know whether it ran: only repeat what may run twice.
    const repeatable =
      route.method === "GET" ||
      route.method === "HEAD" ||
      route.method === "PUT" ||
      route.method === "DELETE" ||
      headers["Idempotency-Key"] !== undefined;

    for (let attempt = 1; ; attempt += 1) {
      const last = attempt > this.maxRetries;
      let response: Response;
      let text: string;
      try {
        const signals = [AbortSignal.timeout(this.timeoutMs)];
        if (options.signal) signals.push(options.signal);
        response = await this.fetch(url, {
          method: route.method,
          headers,
          body,
          signal: AbortSignal.any(signals),
          redirect: "error",
        });
        // Read inside the attempt: a body cut off or too slow fails this attempt like no answer.
        text = route.method === "HEAD" ? "" : await response.text();
      } catch (cause) {
        if (options.signal?.aborted) throw options.signal.reason;
        const timedOut = cause instanceof DOMException && cause.name === "TimeoutError";
        const code = timedOut ? "TIMEOUT" : "NETWORK_ERROR";
        if (repeatable && !last) {
          await this.wait(operationId, attempt, 0, code, backoffMs(attempt), options.signal);
          continue;
        }
        throw new PulseError({
          status: 0,
          code,
          message: timedOut
            ? `${operationId}: no answer within ${this.timeoutMs} ms`
            : `${operationId}: could not reach ${this.baseUrl} (${String(cause)})`,
          operationId,
          cause,
        });
      }
      if (response.ok) {
        if (route.method === "HEAD" || response.status === 204) return undefined as Answer<Op>;
        return successBody(operationId, response, text) as Answer<Op>;
      }
      const error = errorFrom(operationId, response, errorBody(text));
      const retryable =
        RETRY_STATUSES.has(response.status) ||
        (response.status === 409 && error.code === "IDEMPOTENCY_KEY_IN_USE");
      if (!retryable || last) throw error;
      const asked = retryAfterMs(response);
      if (asked !== undefined && asked > this.maxRetryDelayMs) throw error;
      const delay = asked ?? backoffMs(attempt);
      await this.wait(operationId, attempt, response.status, error.code, delay, options.signal);
    }
  }

  private async wait(
    operationId: OperationId,
    attempt: number,
    status: number,
    code: string,
    delayMs: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    this.onRetry?.({ operationId, attempt, status, code, delayMs });
    await sleep(delayMs, signal);
  }
}
