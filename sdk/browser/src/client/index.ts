// The headless client's entry (served as /sdk/pulse-client.js): createClient and the public types.
import type { Client, ClientOptions } from "./types.js";

export * from "./types.js";

/** A client for one environment: rooms entered with it share its options and token provider. */
export function createClient(options: ClientOptions): Client {
  void options;
  throw new Error("createClient: not implemented yet");
}
