// Tokens: reading a JWT's claims (unverified: exp, sub, gen, permissions), expiry, and the providers.
import { EXPIRY_SKEW_S, REQUEST_TIMEOUT_MS, TOKEN_BACKOFF_BASE_MS } from "./constants.js";
import type { TokenProvider } from "./types.js";

export interface Claims {
  sub?: unknown;
  exp?: unknown;
  gen?: unknown;
  permissions?: unknown;
  [name: string]: unknown;
}

function base64UrlDecode(part: string): string {
  let b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  while (b64.length % 4) b64 += "=";
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** The token's claims, unverified; null when it is not a JWT. */
export function claimsOf(token: string | null | undefined): Claims | null {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === undefined) return null;
  try {
    const claims: unknown = JSON.parse(base64UrlDecode(parts[1]));
    return claims && typeof claims === "object" && !Array.isArray(claims) ? (claims as Claims) : null;
  } catch {
    return null;
  }
}

/** A token's user token generation (revocations move it on); 0 when it carries none. */
export function generationOf(claims: Claims | null): number {
  return claims && typeof claims.gen === "number" ? claims.gen : 0;
}

/** Whether the token is past (or within EXPIRY_SKEW_S of) its exp; unknown: not expired. */
export function isExpired(token: string | null | undefined): boolean {
  const claims = claimsOf(token);
  if (!claims || typeof claims.exp !== "number") return false; // let the server say
  return claims.exp - EXPIRY_SKEW_S <= Date.now() / 1000;
}

/** Wait before the provider's next try after `failures` in a row: exponential, with "equal
 * jitter" (half fixed, half random), so clients spread out and each wait grows. */
export function tokenBackoff(failures: number): number {
  const ceiling = TOKEN_BACKOFF_BASE_MS * Math.pow(2, failures - 1);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** A provider failure: `message` for the page's developer, `problem` for its visitor. */
export class TokenProblem extends Error {
  constructor(
    message: string,
    readonly problem: string,
  ) {
    super(message);
  }
}

const UNEXPECTED = "the sign-in service sent an unexpected answer";

/** The tokenUrl convenience provider: fetch with the page's cookies (credentials "include"),
 * answer {"token"}; POST sends {"room"}. Its failures say what went wrong in words. */
export function tokenUrlProvider(tokenUrl: string, method: "GET" | "POST" = "GET"): TokenProvider {
  return async ({ roomId }) => {
    const headers: Record<string, string> = { Accept: "application/json" };
    const init: RequestInit = { method, credentials: "include", cache: "no-store", headers };
    if (method === "POST") {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify({ room: roomId });
    }
    let url: string;
    try {
      const base = typeof document !== "undefined" ? document.baseURI : undefined;
      url = new URL(tokenUrl, base).href;
    } catch {
      throw new TokenProblem("token-url is not a URL", UNEXPECTED);
    }
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    if (controller) {
      init.signal = controller.signal;
      timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    }
    const timedOut = (): boolean => !!controller && controller.signal.aborted;
    const timeout = (): TokenProblem =>
      new TokenProblem(
        "token-url did not answer within " + REQUEST_TIMEOUT_MS / 1000 + " s",
        "the sign-in service did not answer",
      );
    try {
      let response: Response;
      try {
        response = await fetch(url, init);
      } catch {
        // fetch says no more than "Failed to fetch", whatever the cause.
        throw timedOut()
          ? timeout()
          : new TokenProblem(
              "token-url could not be fetched: a network error, or an answer from another origin " +
                "without CORS headers allowing this page with credentials",
              "the sign-in service could not be reached",
            );
      }
      if (!response.ok) {
        throw new TokenProblem(
          "token-url answered HTTP " + response.status,
          "the sign-in service answered with error " + response.status,
        );
      }
      let body: unknown;
      try {
        body = await response.json();
      } catch {
        throw timedOut() ? timeout() : new TokenProblem("token-url did not answer JSON", UNEXPECTED);
      }
      const token = body && typeof body === "object" ? (body as { token?: unknown }).token : undefined;
      if (typeof token !== "string" || !token) {
        throw new TokenProblem('token-url did not answer {"token": "..."}', UNEXPECTED);
      }
      return token;
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  };
}

/** Ask `provider`, held to REQUEST_TIMEOUT_MS and to a usable answer (a string, not expired). */
export async function askProvider(
  provider: TokenProvider,
  roomId: string,
  reason: "initial" | "expired" | "refused",
  who = "the token provider",
): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TokenProblem(
            who + " did not answer within " + REQUEST_TIMEOUT_MS / 1000 + " s",
            "the sign-in service did not answer",
          ),
        ),
      REQUEST_TIMEOUT_MS + 1000, // tokenUrl's own timeout says it first, in its words
    );
  });
  try {
    const token: unknown = await Promise.race([provider({ roomId, reason }), late]);
    if (typeof token !== "string" || !token) {
      throw new TokenProblem(who + ' did not answer {"token": "..."}', UNEXPECTED);
    }
    if (isExpired(token)) {
      throw new TokenProblem(
        who + " answered an expired token (check the clocks and the token lifetime)",
        "the sign-in service sent an expired token",
      );
    }
    return token;
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}
