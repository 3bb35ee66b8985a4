/** A fake fetch for unit tests: answers from a script and records every request it got. */

export interface Sent {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

export type Answer = Response | Error | ((sent: Sent, init: RequestInit) => Promise<Response>);

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "X-Request-Id": "req-1", ...headers },
  });
}

export function apiError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  extra: Record<string, string> = {},
): Response {
  return json(status, { error: { code, message, ...extra } }, headers);
}

export class FakeFetch {
  readonly sent: Sent[] = [];
  private readonly answers: Answer[];
  /** Answers once the script has run out. */
  fallback: (sent: Sent) => Response = () => json(200, { data: [], nextCursor: null });

  constructor(...answers: Answer[]) {
    this.answers = answers;
  }

  readonly fetch = async (
    input: string | URL | Request,
    init: RequestInit = {},
  ): Promise<Response> => {
    const headers = new Headers(init.headers);
    const text = typeof init.body === "string" ? init.body : undefined;
    const sent: Sent = {
      method: init.method ?? "GET",
      url: new URL(
        typeof input === "string" ? input : input instanceof URL ? input.href : input.url,
      ),
      headers,
      body: text === undefined ? undefined : (JSON.parse(text) as unknown),
    };
    this.sent.push(sent);
    const answer = this.answers.shift();
    if (answer === undefined) return this.fallback(sent);
    if (answer instanceof Error) throw answer;
    if (typeof answer === "function") return answer(sent, init);
    return answer;
  };
}
