/*! Pulse headless client (ES module). Built from sdk/browser/src/client; do not edit. */

// src/client/index.ts
function createClient(options) {
  void options;
  throw new Error("createClient: not implemented yet");
}
export {
  createClient
};
