"""Benchmark 6: churn on the local stack.

Starts the real local stack as bench/e2e_load.py does (`python -m devstack`, ephemeral, on free
ports), makes an environment through the admin API, then runs N concurrent workers for a bounded
time. Each worker repeats sessions: mint a token (POST /auth/token with the environment's sk_,
for a user drawn from a shared pool, so the same user is sometimes minted by two workers at
once), connect to one of R rooms over WebSocket, `join`, then create threads and comments
(`thread.create` / `comment.create`, and a share through REST POST with an Idempotency-Key), one
at a time, each awaited until it is acknowledged (the sender's own `thread.created` /
`comment.created`, matched by requestId; for REST, the 201). Then it disconnects: cleanly (close
frame), or by dropping the TCP connection (sometimes right after sending one more write, whose
answer it never waits for). Some sessions connect and leave without joining.

When the time is up, no new session starts; running ones finish (bounded), then all sockets are
closed. Afterwards, through the stack's own APIs (and its DynamoDB for the rows):
- every acknowledged write is readable: a full REST walk (rooms, threads, each thread's
  comments) finds its comment, in its thread, with its body; lost must be 0; a write refused
  with an error must not be there; no body twice;
- the counters equal the data: the environment's analytics (rooms, threads, comments, users;
  the daily comments) against the walk, each thread's commentCount against its comments, each
  room row's thread and comment counts against its threads;
- no connection row outlives its socket: GET .../active_users is empty for every room (polled
  until it is, bounded), no CONN# row is left in the data table and every room's live count is 0.
Refusals and errors are counted by where they happened and their code.

Abuse limits: the stack runs with every PULSE_RATE_* limit raised to 1,000,000 per window (still
counted, never reached), so the run measures churn, not the limiter; `--default-limits` keeps
the defaults, and their 429s then show among the refusals.

Every loop is bounded in count and time; the run stops by itself.

    .venv/bin/python -m bench.churn                                  # 40 clients, 8 rooms, 60 s
    .venv/bin/python -m bench.churn --clients 4 --rooms 2 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import random
import re
import signal
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import requests
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from chalicelib.config import DEFAULT_RATES

from .common import machine, percentile, table
from .e2e_load import ADMIN_EMAIL, ADMIN_PASSWORD, Stack, local_stack, log_trouble

HIGH_LIMIT = 1_000_000
HTTP_TIMEOUT = 30.0
CLOSE_WAIT = 5.0
MAX_PAGES = 20_000  # per listing walked
SESSIONS_PER_WORKER = 10_000
CLOSED = {"type": "_closed"}  # what a pending request gets when its socket ends first


# --- HTTP (blocking, in threads) ----------------------------------------------------------------


class Http:
    """Blocking JSON calls to the stack, one requests.Session per thread. Never raises: a call
    that got no answer has status 0 and the exception's name as its code."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def call(
        self,
        method: str,
        path: str,
        token: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        try:
            response = self._session().request(
                method, self.base + path, json=body, headers=all_headers, timeout=HTTP_TIMEOUT
            )
        except requests.RequestException as exc:
            return 0, {"error": {"code": type(exc).__name__}}, {}
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        return response.status_code, data, dict(response.headers)

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()


def error_code(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("code"))
    return "-"


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Write:
    via: str  # "ws thread", "ws comment", "rest thread", "rest comment"
    room: str
    body: str
    thread_id: str | None  # the thread commented on, or the one created (once acknowledged)
    comment_id: str | None = None
    outcome: str = ""  # "acked", "refused <code>", "unanswered <why>"
    sent_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%H:%M:%S.%f")[:12])


@dataclass
class Tally:
    sessions: int = 0  # sockets opened
    mints: int = 0
    minted_users: set[str] = field(default_factory=set)
    writes: list[Write] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)  # "<where> <status> <code>"
    closes: Counter[str] = field(default_factory=Counter)  # how our side ended each socket
    server_closes: Counter[str] = field(default_factory=Counter)  # sockets the server ended
    frames: Counter[str] = field(default_factory=Counter)  # frames received, by type
    mint_s: list[float] = field(default_factory=list)
    join_s: list[float] = field(default_factory=list)  # handshake ($connect) + join
    ws_ack_s: list[float] = field(default_factory=list)
    rest_s: list[float] = field(default_factory=list)
    rest_retries: int = 0
    cut_at_hard_stop: int = 0


@dataclass
class Conn:
    ws: ClientConnection
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    ours: bool = False  # we ended it (close frame or abort)
    seq: int = 0

    def next_id(self) -> str:
        self.seq += 1
        return str(self.seq)


@dataclass
class Run:
    args: argparse.Namespace
    stack: Stack
    http: Http
    pk: str
    sk: str
    users: list[str]
    rooms: list[str]
    deadline: float
    tally: Tally = field(default_factory=Tally)
    threads: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        return await asyncio.to_thread(self.http.call, method, path, self.sk, body, **kw)


async def read(conn: Conn, tally: Tally) -> None:
    try:
        async for raw in conn.ws:
            try:
                frame = json.loads(raw)
            except ValueError:
                tally.frames["not JSON"] += 1
                continue
            kind = str(frame.get("type"))
            tally.frames[kind] += 1
            rid = frame.get("requestId")
            future = conn.pending.pop(rid, None) if isinstance(rid, str) else None
            if future is not None and not future.done():
                future.set_result(frame)
            elif kind == "error":
                tally.refusals[f"ws error (no request) {frame.get('code')}"] += 1
    except ConnectionClosed:
        pass
    finally:
        if not conn.ours:
            tally.server_closes[str(conn.ws.close_code)] += 1
        for future in conn.pending.values():
            if not future.done():
                future.set_result(CLOSED)
        conn.pending.clear()


async def request(conn: Conn, message: dict[str, Any], wait: float) -> dict[str, Any] | None:
    """Send and wait for the frame that answers it (None: no answer within `wait`)."""
    rid = conn.next_id()
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    conn.pending[rid] = future
    try:
        await conn.ws.send(json.dumps({**message, "requestId": rid}))
    except ConnectionClosed:
        conn.pending.pop(rid, None)
        return CLOSED
    try:
        return await asyncio.wait_for(future, wait)
    except TimeoutError:
        conn.pending.pop(rid, None)
        return None


def ws_message(w: Write) -> dict[str, Any]:
    if w.via == "ws thread":
        return {"type": "thread.create", "body": w.body}
    return {"type": "comment.create", "threadId": w.thread_id, "body": w.body}


async def ws_write(run: Run, conn: Conn, w: Write) -> None:
    started = time.monotonic()
    frame = await request(conn, ws_message(w), run.args.wait)
    if frame is None:
        w.outcome = "unanswered timeout"
    elif frame is CLOSED:
        w.outcome = "unanswered socket closed"
    elif frame.get("type") == "error":
        w.outcome = f"refused {frame.get('code')}"
    elif frame.get("type") == "thread.created" and w.via == "ws thread":
        thread = frame.get("thread") or {}
        first = (thread.get("comments") or [{}])[0]
        w.thread_id, w.comment_id = thread.get("id"), first.get("id")
        w.outcome = "acked" if first.get("body") == w.body else "acked, other body"
    elif frame.get("type") == "comment.created" and w.via == "ws comment":
        comment = frame.get("comment") or {}
        w.comment_id = comment.get("id")
        w.outcome = "acked" if comment.get("body") == w.body else "acked, other body"
    else:
        w.outcome = f"answered {frame.get('type')}"
    if w.outcome.startswith("acked"):
        run.tally.ws_ack_s.append(time.monotonic() - started)


async def rest_write(run: Run, user: str, w: Write) -> None:
    """POST with an Idempotency-Key; one retry with the same key after no answer, a 5xx or a
    429 (so a retried write that had committed is replayed, not written twice)."""
    room = quote(w.room, safe="")
    if w.via == "rest thread":
        path = f"/api/v1/rooms/{room}/threads"
        body: dict[str, Any] = {"comment": {"userId": user, "body": w.body}}
    else:
        path = f"/api/v1/rooms/{room}/threads/{w.thread_id}/comments"
        body = {"userId": user, "body": w.body}
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    started = time.monotonic()
    status, data = 0, None
    for attempt in range(2):
        status, data, answer_headers = await run.call("POST", path, body, headers=headers)
        if status and status < 500 and status != 429:
            break
        if attempt == 0:
            run.tally.rest_retries += 1
            retry_after = answer_headers.get("Retry-After", "1")
            await asyncio.sleep(min(2.0, float(retry_after) if retry_after.isdigit() else 1.0))
    if status == 201 and isinstance(data, dict):
        run.tally.rest_s.append(time.monotonic() - started)
        if w.via == "rest thread":
            first = (data.get("comments") or [{}])[0]
            w.thread_id, w.comment_id = data.get("id"), first.get("id")
        else:
            w.comment_id = data.get("id")
        w.outcome = "acked"
    elif status == 0:
        w.outcome = f"unanswered {error_code(data)}"
    else:
        w.outcome = f"refused {status} {error_code(data)}"


def new_write(run: Run, rng: random.Random, room: str, via: str, label: str) -> Write:
    known = run.threads[room]
    kind = "thread" if not known or rng.random() < run.args.new_thread else "comment"
    thread_id = rng.choice(known) if kind == "comment" else None
    return Write(f"{via} {kind}", room, f"churn {label} {uuid.uuid4().hex[:8]}", thread_id)


def record(run: Run, w: Write) -> None:
    run.tally.writes.append(w)
    if w.outcome.startswith("acked") and w.via.endswith("thread") and w.thread_id:
        run.threads[w.room].append(w.thread_id)


async def session(run: Run, worker: int, number: int, rng: random.Random) -> None:
    args, tally = run.args, run.tally
    user = rng.choice(run.users)
    started = time.monotonic()
    status, data, _ = await run.call("POST", "/auth/token", {"userId": user, "name": user})
    if status not in (200, 201) or not isinstance(data, dict) or "token" not in data:
        tally.refusals[f"mint {status} {error_code(data)}"] += 1
        await asyncio.sleep(0.5)
        return
    tally.mints += 1
    tally.minted_users.add(user)
    tally.mint_s.append(time.monotonic() - started)
    room = rng.choice(run.rooms)
    query = urlencode({"apiKey": run.pk, "token": data["token"], "room": room})
    started = time.monotonic()
    try:
        ws = await connect(
            f"{run.stack.ws_url}/?{query}",
            open_timeout=args.wait,
            close_timeout=2,
            ping_interval=None,
        )
    except InvalidStatus as exc:
        try:
            code = error_code(json.loads(exc.response.body or b"null"))
        except ValueError:
            code = "-"
        tally.refusals[f"connect {exc.response.status_code} {code}"] += 1
        return
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        tally.refusals[f"connect 0 {type(exc).__name__}"] += 1
        return
    tally.sessions += 1
    conn = Conn(ws)
    reader = asyncio.create_task(read(conn, tally))
    try:
        joined = rng.random() >= args.connect_only
        if joined:
            frame = await request(conn, {"type": "join"}, args.wait)
            if frame is None or frame.get("type") != "room.joined":
                what = "timeout" if frame is None else frame.get("code", frame.get("type"))
                tally.refusals[f"join - {what}"] += 1
                return
            tally.join_s.append(time.monotonic() - started)
            for n in range(rng.randint(1, args.writes)):
                await asyncio.sleep(rng.uniform(0, args.think))
                if conn.ws.close_code is not None:
                    break
                via = "rest" if rng.random() < args.rest else "ws"
                w = new_write(run, rng, room, via, f"w{worker}.{number}.{n}")
                if via == "ws":
                    await ws_write(run, conn, w)
                else:
                    await rest_write(run, user, w)
                record(run, w)
        if rng.random() < args.drop:
            if joined and conn.ws.close_code is None and rng.random() < 0.5:
                w = new_write(run, rng, room, "ws", f"w{worker}.{number}.last")
                w.outcome = "unanswered dropped in flight"
                with contextlib.suppress(ConnectionClosed):
                    await conn.ws.send(json.dumps({**ws_message(w), "requestId": "last"}))
                record(run, w)
                tally.closes["dropped, a write in flight"] += 1
            else:
                tally.closes["dropped" if joined else "dropped before join"] += 1
            conn.ours = True
            ws.transport.abort()
        else:
            conn.ours = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), CLOSE_WAIT)
            tally.closes["closed" if joined else "closed before join"] += 1
    finally:
        if not conn.ours:
            conn.ours = True
            tally.closes["dropped after a failure"] += 1
            ws.transport.abort()
        try:
            await asyncio.wait_for(reader, CLOSE_WAIT)
        except TimeoutError:
            reader.cancel()
        except asyncio.CancelledError:  # the hard stop
            reader.cancel()
            raise


async def worker(run: Run, number: int) -> None:
    rng = random.Random(run.args.seed * 1000 + number)
    await asyncio.sleep(rng.uniform(0, 1))  # arrivals spread over the first second
    for n in range(SESSIONS_PER_WORKER):
        if time.monotonic() >= run.deadline:
            return
        try:
            await session(run, number, n, rng)
        except Exception as exc:  # a surprise in the bench's own code: count it, go on
            run.tally.refusals[f"bench {type(exc).__name__}: {exc}"[:120]] += 1


async def load(run: Run) -> float:
    loop = asyncio.get_running_loop()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=run.args.clients + 8)  # HTTP calls
    loop.set_default_executor(pool)
    started = time.monotonic()
    # The hard stop: a session finishes within its writes' waits (REST: two attempts), the
    # mint, the handshake, the join and the close.
    args = run.args
    grace = args.writes * (max(args.wait, 2 * HTTP_TIMEOUT + 2) + args.think)
    grace += HTTP_TIMEOUT + 2 * args.wait + 2 * CLOSE_WAIT
    tasks = [asyncio.create_task(worker(run, n)) for n in range(run.args.clients)]
    done, pending = await asyncio.wait(tasks, timeout=args.seconds + grace)
    run.tally.cut_at_hard_stop = len(pending)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return time.monotonic() - started


# --- afterwards ---------------------------------------------------------------------------------


def pages(http: Http, path: str, token: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Every item of a listing (limit 100), with the failures met (each retried once)."""
    items: list[dict[str, Any]] = []
    failures: list[str] = []
    cursor: str | None = None
    sep = "&" if "?" in path else "?"
    for _ in range(MAX_PAGES):
        url = f"{path}{sep}limit=100" + (f"&cursor={quote(cursor, safe='')}" if cursor else "")
        for _attempt in range(2):
            status, data, _ = http.call("GET", url, token)
            if status == 200:
                break
            failures.append(f"GET {path}: {status} {error_code(data)}")
            time.sleep(1)
        if status != 200:
            return items, failures
        items += data["data"]
        cursor = data.get("nextCursor")
        if not cursor:
            return items, failures
    failures.append(f"GET {path}: more than {MAX_PAGES} pages")
    return items, failures


@dataclass
class Walk:
    rooms: list[str]
    threads: dict[str, dict[str, Any]]  # id -> thread
    comments: dict[str, dict[str, Any]]  # id -> comment
    users: int
    failures: list[str]


def walk(http: Http, sk: str) -> Walk:
    rooms, failures = pages(http, "/api/v1/rooms", sk)
    room_ids = [r["id"] for r in rooms]
    threads: dict[str, dict[str, Any]] = {}
    for room in room_ids:
        listed, failed = pages(http, f"/api/v1/rooms/{quote(room, safe='')}/threads", sk)
        failures += failed
        threads.update({t["id"]: t for t in listed})

    def comments_of(t: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
        room = quote(t["roomId"], safe="")
        return pages(http, f"/api/v1/rooms/{room}/threads/{t['id']}/comments", sk)

    comments: dict[str, dict[str, Any]] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for listed, failed in pool.map(comments_of, list(threads.values())):
            failures += failed
            comments.update({c["id"]: c for c in listed})
    users, failed = pages(http, "/api/v1/users", sk)
    return Walk(room_ids, threads, comments, len(users), failures + failed)


def settle(http: Http, sk: str, rooms: list[str], limit: float) -> tuple[float, dict[str, int]]:
    """Poll every room's active_users until all are empty (or `limit` s): (seconds, leftovers)."""
    started = time.monotonic()
    while True:
        left = {}
        for room in rooms:
            status, data, _ = http.call(
                "GET", f"/api/v1/rooms/{quote(room, safe='')}/active_users", sk
            )
            count = len(data["data"]) if status == 200 else -1  # -1: could not ask
            if count:
                left[room] = count
        elapsed = time.monotonic() - started
        if not left or elapsed >= limit:
            return elapsed, left
        time.sleep(0.25)


def dynamodb_rows(log: str, env_id: str) -> dict[str, Any] | None:
    """CONN# rows and the room rows' counters, read from the stack's DynamoDB (its endpoint and
    tables are in the banner). None when the banner does not say."""
    import boto3

    found = re.search(r"DynamoDB:\s+(http://\S+)\s+\(region (\S+); tables ([^)]*)\)", log)
    if not found:
        return None
    endpoint, region, names = found.groups()
    data_table = next(n.strip() for n in names.split(",") if n.strip().endswith("data"))
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="pulse-local",
        aws_secret_access_key="pulse-local",
    )
    conn_rows: list[tuple[str, str]] = []
    rooms: dict[str, dict[str, int]] = {}
    env_pk = f"ENV#{env_id}"
    kwargs: dict[str, Any] = {"TableName": data_table}
    for _ in range(MAX_PAGES):
        page = client.scan(**kwargs)
        for item in page["Items"]:
            pk, sk = item["pk"]["S"], item["sk"]["S"]
            if pk.startswith("CONN#") or sk.startswith("CONN#"):
                conn_rows.append((pk, sk))
            elif pk == env_pk and sk.startswith("ROOM#"):
                rooms[sk.removeprefix("ROOM#")] = {
                    name: int(item[name]["N"]) if name in item else 0
                    for name in ("connections", "thread_count", "comment_count")
                }
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {"conn_rows": conn_rows, "rooms": rooms}


@dataclass
class Check:
    name: str
    expected: Any
    found: Any
    ok: bool


def verify(run: Run, admin: str, env_id: str) -> tuple[list[Check], dict[str, Any]]:
    http, sk, tally = run.http, run.sk, run.tally
    info: dict[str, Any] = {}
    rooms, failures = pages(http, "/api/v1/rooms", sk)
    settled, left = settle(http, sk, [r["id"] for r in rooms], run.args.settle)
    info["settled_s"] = settled
    # A $default still running for a dropped socket may commit late: a short pause, then the
    # analytics are read before and after the walk (they must not move).
    time.sleep(1.0)
    path = f"/admin/api/environments/{env_id}/analytics"
    _, before, _ = http.call("GET", path, admin)
    data = walk(http, sk)
    _, after, _ = http.call("GET", path, admin)
    rows = dynamodb_rows(run.stack.log(), env_id)
    info["walk_failures"] = failures + data.failures

    # Every acknowledged write readable; refused ones absent; no body twice.
    by_body: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for listed in data.comments.values():
        by_body[listed["body"]].append(listed)
    acked = [w for w in tally.writes if w.outcome.startswith("acked")]
    lost = []
    for w in acked:
        c: dict[str, Any] | None = data.comments.get(w.comment_id or "")
        if c is None and w.comment_id is None:  # no id in the answer: look for the body
            c = next(iter(by_body.get(w.body, [])), None)
        if (
            c is None
            or c["body"] != w.body
            or c["threadId"] != w.thread_id
            or c["roomId"] != w.room
        ):
            lost.append(w)
    refused_written = [
        w for w in tally.writes if w.outcome.startswith("refused") and w.body in by_body
    ]
    unanswered = [w for w in tally.writes if w.outcome.startswith("unanswered")]
    info["unanswered_committed"] = sum(1 for w in unanswered if w.body in by_body)
    info["unanswered"] = len(unanswered)
    info["lost"] = lost
    duplicates = sum(len(v) - 1 for v in by_body.values() if len(v) > 1)

    # The details of what should not be there: when each copy was written says how it came.
    def copies(body: str) -> str:
        return ", ".join(f"{c['id']} at {c['createdAt'][11:23]}" for c in by_body[body])

    outcome_of = {w.body: f"{w.via}, {w.outcome}, sent at {w.sent_at}" for w in tally.writes}
    info["anomalies"] = [
        f"refused yet written ({outcome_of[w.body]}): {copies(w.body)}" for w in refused_written
    ] + [
        f"written {len(v)} times ({outcome_of.get(body, 'not sent by the bench')}): {copies(body)}"
        for body, v in by_body.items()
        if len(v) > 1
    ]

    # Counters against the data.
    comment_counts = Counter(c["threadId"] for c in data.comments.values())
    thread_counts = Counter(t["roomId"] for t in data.threads.values())
    room_comments = Counter(c["roomId"] for c in data.comments.values())
    bad_threads = [
        t["id"] for t in data.threads.values() if t["commentCount"] != comment_counts[t["id"]]
    ]
    a = before if isinstance(before, dict) else {}
    today = datetime.now(UTC).date().isoformat()
    daily_comments = sum(d["comments"] for d in a.get("daily", []))
    daily_users = next((d["activeUsers"] for d in a.get("daily", []) if d["date"] == today), None)
    expected_users = len(tally.minted_users)
    checks = [
        Check("acknowledged writes readable (lost)", len(acked), len(acked) - len(lost), not lost),
        Check("refused writes found in the data", 0, len(refused_written), not refused_written),
        Check("comment bodies found twice", 0, duplicates, duplicates == 0),
        Check(
            "analytics rooms = rooms walked",
            len(data.rooms),
            a.get("rooms"),
            a.get("rooms") == len(data.rooms),
        ),
        Check(
            "analytics threads = threads walked",
            len(data.threads),
            a.get("threads"),
            a.get("threads") == len(data.threads),
        ),
        Check(
            "analytics comments = comments walked",
            len(data.comments),
            a.get("comments"),
            a.get("comments") == len(data.comments),
        ),
        Check(
            "analytics users = users walked",
            data.users,
            a.get("users"),
            a.get("users") == data.users,
        ),
        Check(
            "users walked = distinct users minted",
            expected_users,
            data.users,
            data.users == expected_users,
        ),
        Check(
            "daily comments (sum) = comments walked",
            len(data.comments),
            daily_comments,
            daily_comments == len(data.comments),
        ),
        Check(
            "analytics unchanged across the walk",
            "same",
            "same" if before == after else f"{before} -> {after}",
            before == after,
        ),
        Check(
            "threads whose commentCount != comments listed", 0, len(bad_threads), not bad_threads
        ),
        Check("rooms with active_users after the sockets closed", 0, len(left), not left),
    ]
    if run.args.single_day_check and daily_users is not None:
        checks.append(
            Check(
                "today's activeUsers = distinct users minted",
                expected_users,
                daily_users,
                daily_users == expected_users,
            )
        )
    if rows is not None:
        room_rows = rows["rooms"]
        off = [
            r
            for r in data.rooms
            if room_rows.get(r, {}).get("thread_count") != thread_counts[r]
            or room_rows.get(r, {}).get("comment_count") != room_comments[r]
        ]
        live = {r: v["connections"] for r, v in room_rows.items() if v["connections"]}
        checks += [
            Check("room rows whose thread/comment counts != the walk", 0, len(off), not off),
            Check("room rows with a live count > 0", 0, len(live), not live),
            Check("CONN# rows left in DynamoDB", 0, len(rows["conn_rows"]), not rows["conn_rows"]),
        ]
        info["rooms_off"] = {r: (room_rows.get(r), thread_counts[r], room_comments[r]) for r in off}
        info["live"] = live
        info["conn_rows"] = rows["conn_rows"][:10]
    info["left"] = left
    info["bad_threads"] = bad_threads[:10]
    trouble = log_trouble(run.stack.log())
    info["trouble"] = trouble
    checks.append(Check("stack log errors/warnings", 0, len(trouble), not trouble))
    checks.append(Check("walk failures", 0, len(info["walk_failures"]), not info["walk_failures"]))
    return checks, info


# --- report -------------------------------------------------------------------------------------


def q(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 95) * 1000:.0f}"


def counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k}: {n}" for k, n in sorted(counter.items())) or "0"


def report(
    args: argparse.Namespace, run: Run, seconds: float, checks: list[Check], info: dict[str, Any]
) -> str:
    t = run.tally
    acked = Counter(w.via for w in t.writes if w.outcome.startswith("acked"))
    refused = Counter(
        f"{w.via.split()[0]} write {w.outcome.removeprefix('refused ')}"
        for w in t.writes
        if w.outcome.startswith("refused")
    )
    unanswered = Counter(
        w.outcome.removeprefix("unanswered ")
        for w in t.writes
        if w.outcome.startswith("unanswered")
    )
    limits = (
        "PULSE_RATE_* at their defaults"
        if args.default_limits
        else f"every PULSE_RATE_* limit raised to {HIGH_LIMIT:,} (counted, never reached)"
    )
    closed = sum(n for k, n in t.closes.items() if k.startswith("closed"))
    dropped = sum(n for k, n in t.closes.items() if k.startswith("dropped"))
    in_flight = t.closes["dropped, a write in flight"]
    before_join = sum(n for k, n in t.closes.items() if k.endswith("before join"))
    ws_acked = acked["ws thread"] + acked["ws comment"]
    rest_acked = acked["rest thread"] + acked["rest comment"]
    lines = [
        machine(),
        f"Load: {args.clients} clients over {args.rooms} rooms, sessions started for "
        f"{args.seconds:g} s (all done after {seconds:.1f} s), a pool of {len(run.users)} users; "
        f"up to {args.writes} writes a session, {args.rest:.0%} through REST; "
        f"{args.drop:.0%} of sockets dropped, {args.connect_only:.0%} of sessions leave "
        f"without joining; {limits}. {t.sessions / seconds:.1f} sessions/s, "
        f"{(ws_acked + rest_acked) / seconds:.1f} acknowledged writes/s. The sockets' rows were "
        f"gone {info['settled_s']:.1f} s after the last socket closed.",
        "",
        table(
            [
                "clients x rooms, s",
                "sessions (closed / dropped / of which a write in flight / before join)",
                "mints",
                "writes acked: WS threads + comments / REST threads + comments",
                "mint p50 / p95 ms",
                "connect + join p50 / p95 ms",
                "WS ack p50 / p95 ms",
                "REST write p50 / p95 ms",
                "unanswered (then found in the data)",
                "refused, by code",
                "closed by the server",
            ],
            [
                [
                    f"{args.clients} x {args.rooms}, {args.seconds:g}",
                    f"{t.sessions} ({closed} / {dropped} / {in_flight} / {before_join})",
                    t.mints,
                    f"{acked['ws thread']} + {acked['ws comment']} / "
                    f"{acked['rest thread']} + {acked['rest comment']} "
                    f"({ws_acked + rest_acked})",
                    q(t.mint_s),
                    q(t.join_s),
                    q(t.ws_ack_s),
                    q(t.rest_s),
                    f"{info['unanswered']} ({info['unanswered_committed']})",
                    counts(t.refusals + refused),
                    counts(t.server_closes),
                ]
            ],
        ),
        "",
        table(
            ["check", "expected", "found", "ok"],
            [[c.name, c.expected, c.found, "yes" if c.ok else "**NO**"] for c in checks],
        ),
    ]
    if unanswered:
        lines.append(f"\nUnanswered writes, by why: {counts(unanswered)}")
    if t.rest_retries:
        lines.append(f"REST writes retried once (same Idempotency-Key): {t.rest_retries}")
    if t.cut_at_hard_stop:
        lines.append(f"Workers cut at the hard stop: {t.cut_at_hard_stop}")
    lines.append(f"Sockets ended by us, by how: {counts(t.closes)}")
    lines.append(f"Frames received, by type: {counts(t.frames)}")
    for w in info["lost"][:10]:
        lines.append(f"LOST: {w}")
    for line in info["anomalies"][:20]:
        lines.append(f"ANOMALY: {line}")
    for key in ("walk_failures", "bad_threads", "left", "rooms_off", "live", "conn_rows"):
        if info.get(key):
            lines.append(f"{key}: {info[key]}")
    if info["trouble"]:
        lines.append("\nStack log (first lines):\n" + "\n".join(info["trouble"][:10]))
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.churn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=40, help="concurrent workers (40)")
    parser.add_argument("--rooms", type=int, default=8, help="rooms they pick from (8)")
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="time during which sessions start (60)"
    )
    parser.add_argument(
        "--users", type=int, default=0, help="size of the user pool (0: twice --clients)"
    )
    parser.add_argument(
        "--writes", type=int, default=4, help="at most this many writes a session (4)"
    )
    parser.add_argument(
        "--rest", type=float, default=0.25, help="share of writes through REST (0.25)"
    )
    parser.add_argument(
        "--new-thread", type=float, default=0.3, help="share of writes that open a thread (0.3)"
    )
    parser.add_argument("--drop", type=float, default=0.5, help="share of sockets dropped (0.5)")
    parser.add_argument(
        "--connect-only", type=float, default=0.1, help="share of sessions that never join (0.1)"
    )
    parser.add_argument(
        "--think", type=float, default=0.3, help="pause before each write, 0 to this, s (0.3)"
    )
    parser.add_argument(
        "--wait", type=float, default=30.0, help="wait for a handshake, join or ack, s (30)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=60.0,
        help="wait at most this for active_users to empty once the sockets closed, s (60)",
    )
    parser.add_argument(
        "--default-limits",
        action="store_true",
        help="keep the PULSE_RATE_* defaults (429s then show among the refusals)",
    )
    parser.add_argument(
        "--single-day-check",
        action="store_true",
        help="also check today's activeUsers = distinct users minted (only if the environment "
        "saw no other day)",
    )
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    if args.clients < 1 or args.rooms < 1 or args.writes < 1 or args.seconds <= 0:
        parser.error("--clients, --rooms, --writes must be >= 1 and --seconds > 0")
    settings = {} if args.default_limits else {name: str(HIGH_LIMIT) for name in DEFAULT_RATES}
    # SIGTERM ends the run through the finally blocks, which stop the stack.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    with local_stack(settings) as stack:
        admin = stack.call(
            "POST", "/admin/api/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )["token"]
        created = stack.call("POST", "/admin/api/environments", admin, json={"name": "churn"})
        keys = {k["kind"]: k["key"] for k in created["keys"]}
        http = Http(stack.url)
        run = Run(
            args=args,
            stack=stack,
            http=http,
            pk=keys["publishable"],
            sk=keys["secret"],
            users=[f"user-{i}" for i in range(args.users or 2 * args.clients)],
            rooms=[f"room-{r}" for r in range(args.rooms)],
            deadline=time.monotonic() + args.seconds,
        )
        try:
            run.deadline = time.monotonic() + args.seconds
            seconds = asyncio.run(load(run))
            checks, info = verify(run, admin, created["environment"]["id"])
        finally:
            http.close()
    print(report(args, run, seconds, checks, info))
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
