// The headless client's entry (served as /sdk/pulse-client.js): createClient and the public types.
import { PulseClient } from "./client.js";
import type { Client, ClientOptions } from "./types.js";

export * from "./types.js";

/** A client for one environment: rooms entered with it share its key, endpoint and tokens. */
export function createClient(options: ClientOptions): Client {
  return new PulseClient(options);
}
