// Two users on the built headless client (chalicelib/static/sdk/pulse-client.js) against a real
// stack, over Node's WebSocket: presence, a thread with a mention, a reply, a reaction, unread
// state, and a reconnect that catches up with join sinceSeq. Run by tests/sdk/test_browser_client.py:
//   node --experimental-websocket browser_client_scenario.mjs CLIENT_MODULE CONFIG_JSON
// Prints one JSON object of what each user saw; every wait is bounded (a failure says which).
const [modulePath, configJson] = process.argv.slice(2);
const { createClient } = await import(modulePath);
const config = JSON.parse(configJson);
const WAIT_MS = 15000;

/** A WebSocket that remembers what the client sent (to check the rejoin's frames). */
function recordingSocket(log) {
  return class extends WebSocket {
    constructor(url) {
      super(url);
      sockets.push(this);
    }
    send(data) {
      log.push(JSON.parse(data));
      super.send(data);
    }
  };
}
const sockets = [];

async function until(what, check) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const value = check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("timed out waiting for: " + what);
}

const sent = { ada: [], grace: [] };
const open = (user) =>
  createClient({
    publicApiKey: config.pk,
    endpoint: config.ws,
    tokenProvider: async ({ reason }) => {
      minted.push({ user, reason });
      return config.tokens[user];
    },
    WebSocket: recordingSocket(sent[user]),
  });
const minted = [];
const result = { steps: [] };
const step = (name) => result.steps.push(name);

const ada = open("ada");
const grace = open("grace");
const adaRoom = ada.enterRoom(config.room, { initialPresence: { page: "home" } });
const graceRoom = grace.enterRoom(config.room);
const inbox = [];
grace.on("inbox", (e) => inbox.push(e));
try {
  await until("both connected", () => adaRoom.status === "connected" && graceRoom.status === "connected");
  await until("ada sees grace", () => adaRoom.others.some((o) => o.userId === "grace"));
  await until("grace sees ada's initial presence", () =>
    graceRoom.others.some((o) => o.userId === "ada" && o.presence && o.presence.page === "home"),
  );
  step("presence");
  graceRoom.updatePresence({ cursor: [3, 4] });
  await until("ada sees grace's cursor", () =>
    adaRoom.others.some((o) => o.userId === "grace" && o.presence && o.presence.cursor && o.presence.cursor[0] === 3),
  );
  result.access = adaRoom.access;

  const thread = await adaRoom.createThread({ body: "Hello <@grace>", metadata: { x: 1 } });
  result.threadId = thread.id;
  await until("grace sees the thread", () => graceRoom.threads.some((t) => t.id === thread.id));
  result.mentions = graceRoom.threads.find((t) => t.id === thread.id).comments[0].mentions;
  const reply = await graceRoom.createComment({ threadId: thread.id, body: "Hi Ada" });
  await until("ada sees the reply", () => adaRoom.threads.find((t) => t.id === thread.id)?.comments.some((c) => c.id === reply.id));
  step("comments");

  const reactions = await graceRoom.addReaction({ threadId: thread.id, commentId: reply.id, emoji: "👍" });
  result.reactions = reactions;
  await until("ada sees the reaction", () =>
    adaRoom.threads.find((t) => t.id === thread.id)?.comments.find((c) => c.id === reply.id)?.reactions?.length === 1,
  );
  result.graceReacted = graceRoom.hasReacted(reply.id, "👍");
  step("reactions");

  // Ada writes again: grace (mentioned, so subscribed) has unread comments, then reads them.
  await adaRoom.createComment({ threadId: thread.id, body: "Are you there?" });
  // Both of Ada's comments counted (the mention, then this one): the stream's fan-out runs after
  // the write, so waiting for one could let the other arrive after the read below.
  await until("grace's unread count", () => (graceRoom.threads.find((t) => t.id === thread.id)?.unreadCount ?? 0) >= 2);
  await until("grace's inbox event", () => inbox.length > 0);
  result.inboxCount = grace.inboxCount;
  result.inboxBefore = await grace.getInbox();
  await graceRoom.markThreadRead(thread.id);
  await until("grace read it", () => graceRoom.threads.find((t) => t.id === thread.id)?.unreadCount === 0);
  result.inboxAfter = await grace.getInbox();
  step("unread");

  // Grace drops; Ada writes meanwhile; Grace comes back and catches up without listing again.
  const listsBefore = sent.grace.filter((m) => m.type === "threads.list").length;
  graceRoom.disconnect();
  await until("grace offline", () => graceRoom.status === "offline");
  const missed = await adaRoom.createComment({ threadId: thread.id, body: "While you were away" });
  const edited = await adaRoom.editComment({ threadId: thread.id, commentId: missed.id, body: "While you were away (edited)" });
  graceRoom.connect();
  await until("grace caught up", () =>
    graceRoom.threads.find((t) => t.id === thread.id)?.comments.some((c) => c.id === edited.id && c.body === edited.body),
  );
  const joins = sent.grace.filter((m) => m.type === "join");
  result.rejoin = joins[joins.length - 1];
  result.listsAfterRejoin = sent.grace.filter((m) => m.type === "threads.list").length - listsBefore;
  step("catch-up");

  // Ada's socket closes right after a write went out: the write is resent after the rejoin with
  // the same clientMutationId, and the room holds it once.
  const adaSocket = sockets.find((ws) => ws.url.includes(encodeURIComponent(config.tokens.ada)) && ws.readyState === 1);
  const sentBefore = sent.ada.length;
  const kept = adaRoom.createComment({ threadId: thread.id, body: "Sent as the line dropped" });
  adaSocket.close(1000, "test drop");
  const resent = await kept;
  const writes = sent.ada.slice(sentBefore).filter((m) => m.type === "comment.create");
  result.resend = { sends: writes.length, sameId: new Set(writes.map((m) => m.clientMutationId)).size === 1 };
  await until("grace sees the resent comment", () =>
    graceRoom.threads.find((t) => t.id === thread.id)?.comments.some((c) => c.id === resent.id),
  );
  await until("ada reconnected", () => adaRoom.status === "connected");
  result.resentCopies = graceRoom.threads
    .find((t) => t.id === thread.id)
    .comments.filter((c) => c.body === "Sent as the line dropped").length;
  step("resend");

  const settings = await graceRoom.setNotificationSettings("mentions");
  result.settings = settings;
  const found = await graceRoom.searchUsers("ad");
  result.found = found.map((u) => u.userId);
  result.minted = minted;
  result.lastErrors = { ada: adaRoom.lastError, grace: graceRoom.lastError };
} catch (error) {
  result.error = String(error && error.message ? error.message : error);
  result.state = {
    ada: { status: adaRoom.status, lastError: adaRoom.lastError },
    grace: { status: graceRoom.status, lastError: graceRoom.lastError },
  };
} finally {
  ada.destroy();
  grace.destroy();
}
console.log(JSON.stringify(result));
