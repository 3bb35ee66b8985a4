// The one Node client of bench/side_by_side.py: the same scenarios against Pulse's local stack
// and the Liveblocks dev server, each through its own REST API and WebSocket protocol.
//
//   node --experimental-websocket client.mjs '<config JSON>'   -> one JSON line of results
//
// Config: {target: "pulse" | "liveblocks", http, ws, secret, publishable?, scenario, ...}.
// Latencies are send-to-receive on one clock (every client lives in this process).
// Loops are bounded in count and time; the process exits on its own.

const config = JSON.parse(process.argv[2]);
const now = () => performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function pct(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function summary(values) {
  return { n: values.length, p50: pct(values, 50), p95: pct(values, 95), p99: pct(values, 99), max: pct(values, 100) };
}

// --- the two servers: their REST calls, tokens and WebSocket messages ---------------------------

const pulse = {
  auth: () => ({ Authorization: `Bearer ${config.secret}`, "Content-Type": "application/json" }),
  getRoom: (id) => ["GET", `/api/v1/rooms/${encodeURIComponent(id)}`],
  listRooms: () => ["GET", "/api/v1/rooms?limit=20"],
  createRoom: (id) => ["POST", "/api/v1/rooms", { id }],
  async mint(userId) {
    const body = await call("POST", "/auth/token", { userId, name: userId }, 200);
    return body.token;
  },
  url: (room, token) =>
    `${config.ws}/?apiKey=${encodeURIComponent(config.publishable)}&token=${encodeURIComponent(token)}&room=${encodeURIComponent(room)}`,
  join: () => ({ type: "join", requestId: "j" }),
  joined: (m) => m.type === "room.joined",
  broadcast: (payload) => ({ type: "broadcast", event: payload }),
  presence: (payload) => ({ type: "presence.update", data: payload }),
  received(m) {
    if (m.type === "broadcast") return ["broadcast", m.event];
    if (m.type === "presence.updated") return ["presence", m.data];
    if (m.type === "error") return ["error", m];
    return null;
  },
};

const liveblocks = {
  auth: () => ({ Authorization: `Bearer ${config.secret}`, "Content-Type": "application/json" }),
  getRoom: (id) => ["GET", `/v2/rooms/${encodeURIComponent(id)}`],
  listRooms: () => ["GET", "/v2/rooms?limit=20"],
  createRoom: (id) => ["POST", "/v2/rooms", { id, defaultAccesses: ["room:write"] }],
  async mint(userId, room) {
    const body = await call(
      "POST",
      "/v2/authorize-user",
      { userId, userInfo: { name: userId }, permissions: { [room]: ["room:write"] } },
      200,
    );
    return body.token;
  },
  url: (room, token) => `${config.ws}/v7?roomId=${encodeURIComponent(room)}&tok=${encodeURIComponent(token)}`,
  join: null, // the server sends ROOM_STATE (104) on its own
  joined: (m) => m.type === 104,
  broadcast: (payload) => [{ type: 103, event: payload }],
  presence: (payload) => [{ type: 100, data: payload }],
  received(m) {
    if (m.type === 103) return ["broadcast", m.event];
    if (m.type === 100) return ["presence", m.data];
    return null;
  },
};

const target = config.target === "pulse" ? pulse : liveblocks;

// --- REST -------------------------------------------------------------------------------------

async function call(method, path, body, expect) {
  const response = await fetch(config.http + path, {
    method,
    headers: target.auth(),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (expect !== undefined && response.status !== expect) {
    throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  }
  return text ? JSON.parse(text) : null;
}

async function timed(count, make, expect) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const [method, path, body] = make(i);
    const started = now();
    await call(method, path, body, expect);
    times.push(now() - started);
  }
  return summary(times);
}

async function rest() {
  const n = config.requests;
  const prefix = `r${Date.now().toString(36)}`;
  await call(...target.createRoom(`${prefix}-get`), 201).catch(async () => {
    await call(...target.createRoom(`${prefix}-get`)); // Liveblocks answers 200
  });
  for (let i = 0; i < 20; i++) await call(...target.createRoom(`${prefix}-seed-${i}`));
  await timed(config.warmup, () => target.getRoom(`${prefix}-get`), 200);
  return {
    get: await timed(n, () => target.getRoom(`${prefix}-get`), 200),
    list: await timed(n, () => target.listRooms(), 200),
    create: await timed(n, (i) => target.createRoom(`${prefix}-new-${i}`)),
  };
}

// --- sockets ----------------------------------------------------------------------------------

function open(url, onMessage) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => reject(new Error("connect timed out")), 15000);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve(ws);
    };
    ws.onerror = (e) => {
      clearTimeout(timer);
      reject(new Error(`connect failed: ${e.message ?? e.type}`));
    };
    ws.onmessage = (event) => {
      const parsed = JSON.parse(event.data);
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) onMessage(m, ws);
    };
  });
}

// Mint, connect and join: resolves with the socket once the join is answered.
async function member(room, userId, onMessage) {
  let resolveJoined;
  const joined = new Promise((resolve) => (resolveJoined = resolve));
  const token = await target.mint(userId, room);
  const ws = await open(target.url(room, token), (m, socket) => {
    if (target.joined(m)) resolveJoined();
    else onMessage(m, socket);
  });
  if (target.join) ws.send(JSON.stringify(target.join()));
  const timer = setTimeout(() => resolveJoined(new Error("join timed out")), 15000);
  const outcome = await joined;
  clearTimeout(timer);
  if (outcome instanceof Error) throw outcome;
  return ws;
}

async function connects() {
  const times = [];
  const room = `c${Date.now().toString(36)}`;
  for (let i = 0; i < config.connects; i++) {
    const started = now();
    const ws = await member(room, `u${i % 8}`, () => {});
    times.push(now() - started);
    ws.close();
    await sleep(5);
  }
  return summary(times);
}

// `clients` members of one room each send `rate` messages a second for `seconds` (first sends
// spread over one period); every other member records each one's latency.
async function fanout(kind, clients, rate, seconds) {
  const room = `${kind}${Date.now().toString(36)}`;
  const latencies = [];
  let errors = 0;
  let sent = 0;
  const sockets = [];
  for (let i = 0; i < clients; i++) {
    sockets.push(
      await member(room, `user-${i}`, (m) => {
        const got = target.received(m);
        if (got === null) return;
        if (got[0] === "error") {
          errors++;
          return;
        }
        if (got[0] === kind && got[1] && typeof got[1].t === "number") latencies.push(now() - got[1].t);
      }),
    );
  }
  await sleep(300);
  const period = 1000 / rate;
  const started = now();
  const end = started + seconds * 1000;
  await Promise.all(
    sockets.map(async (ws, i) => {
      let next = started + (period * i) / clients;
      let seq = 0;
      while (next < end) {
        const wait = next - now();
        if (wait > 0) await sleep(wait);
        const payload = { from: i, seq: seq++, t: now() };
        ws.send(JSON.stringify(kind === "broadcast" ? target.broadcast(payload) : target.presence(payload)));
        sent++;
        next += period;
      }
    }),
  );
  // Let the backlog drain (bounded): every delivery expected, or no progress for 3 s.
  const expected = sent * (clients - 1);
  let last = -1;
  let quiet = now();
  const drainUntil = now() + config.drainSeconds * 1000;
  while (latencies.length < expected && now() < drainUntil) {
    await sleep(100);
    if (latencies.length !== last) {
      last = latencies.length;
      quiet = now();
    } else if (now() - quiet > 3000) break;
  }
  const elapsed = (now() - started) / 1000;
  for (const ws of sockets) ws.close();
  await sleep(200);
  return { ...summary(latencies), sent, expected, received: latencies.length, errors, elapsed, perSecond: latencies.length / elapsed };
}

// `pushes` deliveries as fast as the server takes them, in windows: members of one room each
// send presence updates, at most `window` messages in flight per sender.
async function pushes() {
  const clients = config.clients;
  const room = `m${Date.now().toString(36)}`;
  let received = 0;
  const waiting = [];
  const sockets = [];
  for (let i = 0; i < clients; i++) {
    sockets.push(
      await member(room, `user-${i}`, (m) => {
        const got = target.received(m);
        if (got && got[0] === "presence") {
          received++;
          while (waiting.length && waiting[0][0] <= received) waiting.shift()[1]();
        }
      }),
    );
  }
  const until = (count) => new Promise((resolve) => (received >= count ? resolve() : waiting.push([count, resolve])));
  const perRound = clients * (clients - 1);
  const rounds = Math.ceil(config.pushes / perRound);
  const deadline = now() + config.drainSeconds * 1000;
  let seq = 0;
  for (let r = 0; r < rounds && now() < deadline; r++) {
    for (let i = 0; i < clients; i++) sockets[i].send(JSON.stringify(target.presence({ from: i, seq: seq++, t: now() })));
    // One round in flight at a time, and at most `rate` rounds a second (the server's per-
    // connection message limit is the same for every round).
    await Promise.race([until((r + 1) * perRound), sleep(10000)]);
    await sleep(1000 / config.roundsPerSecond);
  }
  for (const ws of sockets) ws.close();
  await sleep(200);
  return { received, expected: rounds * perRound };
}

const scenarios = { rest, connects, pushes };
let result;
if (config.scenario === "broadcast" || config.scenario === "presence") {
  result = await fanout(config.scenario, config.clients, config.rate, config.seconds);
} else {
  result = await scenarios[config.scenario]();
}
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(0);
