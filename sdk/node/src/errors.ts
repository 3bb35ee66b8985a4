/** The errors the SDK throws: PulseError for an API answer (or no answer), and
 * WebhookVerificationError for a webhook that fails verification. */

/** What the API said beside `code` and `message` (its error shape), and the raw body. */
export interface PulseErrorDetails {
  /** What to do about it, when the API says. */
  suggestion?: string;
  /** The request field at fault (`limit`, `metadata.title`, `comment.body`). */
  field?: string;
  /** `Retry-After` in seconds, on a 429, 503 or 409 `IDEMPOTENCY_KEY_IN_USE`. */
  retryAfter?: number;
  /** The answer's body as received (parsed JSON, or text when it was not JSON). */
  body?: unknown;
}

/** An operation that did not succeed: the API's error answer, or no answer at all (status 0,
 * code `NETWORK_ERROR` or `TIMEOUT`). */
export class PulseError extends Error {
  override readonly name = "PulseError";
  /** The HTTP status; 0 when no answer arrived. */
  readonly status: number;
  /** Stable, for programs: `ROOM_NOT_FOUND`, `INVALID_INPUT`, `RATE_LIMITED`, ... */
  readonly code: string;
  readonly details: PulseErrorDetails;
  /** The request's id (`X-Request-Id`): the server's log line carries the same. */
  readonly requestId: string | null;
  /** The operation that failed (`createRoom`, ...). */
  readonly operationId: string;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    details?: PulseErrorDetails;
    requestId?: string | null;
    operationId: string;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? {};
    this.requestId = init.requestId ?? null;
    this.operationId = init.operationId;
  }
}

/** A webhook whose headers, timestamp or signature do not check out: answer it 400. */
export class WebhookVerificationError extends Error {
  override readonly name = "WebhookVerificationError";
}
