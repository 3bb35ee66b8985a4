"""Tenant isolation, as a property (issue 3): no id, cursor or key of one environment ever reads
or changes anything of another, and a foreign id answers exactly as an id that exists nowhere
(404, never 403, so existence does not leak).

Every test builds two environments through the public API (moto): A (the caller) and B (the
victim), each with rooms, threads, comments, users (minted through POST /auth/token), list
cursors (`nextCursor` of each list with limit=1) and a key pair. Both hold a room and a user with
the *same* ids (`shared:doc`, `shared-user`): A naming them must get A's own data, never B's.

The requests are generated over every route of `chalicelib.api.v1_rooms.router.specs`,
`v1_inbox.router.specs` and `v1_privacy.router.specs` (and of `admin_data.router.specs` for the
operator's data browser), so a new route is covered the day it is registered. Path parameters, the
`cursor` query parameter and body ids (`id`, `userId`) are drawn from: B's ids of the matching
kind, any id of B (its room ids as thread ids, its env id as a room id...), A's own ids, random
well-formed ids, and B's and A's cursors; each path segment is sent in one of several URL encodings
(quoted, raw, every byte %XX, lower-case hex, double-quoted; the server decodes exactly once).
Credentials: A's sk_ mostly, else B's pk_ or a key forged from parts of A's and B's keys with a
valid checksum (format-valid, so it reaches the database check).

Properties checked on every request:
- no response (success or error) carries anything of B that the request did not itself send or
  that A had not itself stored earlier (B's room/thread/comment/user ids, comment bodies, user
  names, metadata values, env and key ids, keys, cursors);
- with A's key: never 401, never 403, never a 5xx; a request naming an id A does not hold is a
  404 `*_NOT_FOUND`; creating a room whose id only B holds is a 201 (a 409 would reveal B's room);
  a cursor of another list (B's lists included) is a 400 `INVALID_CURSOR`, which reveals nothing:
  cursors are HMAC-bound to their environment and list, so the answer is the same as for junk;
- the answer to a request naming B's ids equals, status and error, the answer to the same request
  with every B id replaced by a fresh id of the same shape ("exists nowhere");
- any other credential: 401 (`SECRET_KEY_REQUIRED` for a pk_, else `INVALID_API_KEY`).
And after all requests: every item of B (both tables, Scan is fine in a test) and B's analytics
and browser view are byte-for-byte what they were, and everything A's successful writes changed
lies in A's own partition (every item outside `ENV#<A>`/`ENV#<A>#...` is unchanged).

The tests: `test_a_credentials_never_reach_b` (the property over /api/v1, EXAMPLES_PER_ROUTE
generated requests per route), `test_operator_browser_never_mixes_environments` (the same over the
admin data browser, both directions, where no delete may succeed), and
`test_every_route_answers_b_ids_like_missing_ids`, the deterministic companion: every route with
every mix of A's and B's ids, every wrong cursor, every forged key, and token mints for B's user
ids. The Hypothesis runs are derandomized and bounded; the module takes about 12 s.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, unquote

import boto3
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from chalicelib import ids, runtime
from chalicelib.api import admin_data, v1_inbox, v1_privacy, v1_rooms
from chalicelib.api.routing import RouteSpec
from chalicelib.auth import apikeys
from chalicelib.entities import Actor
from chalicelib.validation import is_room_id, path_segment_problem

from .conftest import is_counter, is_usage

OWNER = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
PASSWORD = "correct horse battery staple"
JSON_CT = {"Content-Type": "application/json"}
SHARED_ROOM = "shared:doc"  # both environments hold a room with this id...
SHARED_USER = "shared-user"  # ...and a user with this one
ROOM_CHARS = string.ascii_letters + string.digits + "-_.:"
BASE62 = ids.ALPHABET
NOT_FOUND_CODES = {
    "ROOM_NOT_FOUND",
    "THREAD_NOT_FOUND",
    "COMMENT_NOT_FOUND",
    "USER_NOT_FOUND",
    "CONNECTION_NOT_FOUND",
    "JOB_NOT_FOUND",
}
SUCCESS = {200, 201, 202, 204}

EXAMPLES_PER_ROUTE = 25
SETTINGS = settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# A path parameter's kind, from its name; unknown names draw from every pool.
KIND_OF_PARAM = {
    "roomId": "room",
    "threadId": "thread",
    "commentId": "comment",
    "userId": "user",
    "jobId": "job",
}
EMOJI = "👍"


# --- the two environments -------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    value: str
    list_key: tuple[str, ...]  # the list it pages: ("rooms",), ("threads", room), ...


@dataclass
class Tenant:
    tag: str
    env_id: str
    sk: str
    pk: str
    sk_id: str
    pk_id: str
    rooms: list[str] = field(default_factory=list)
    threads: list[tuple[str, str]] = field(default_factory=list)  # (room, thread)
    comments: list[tuple[str, str, str]] = field(default_factory=list)  # (room, thread, comment)
    users: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)  # erase jobs (queued: nothing runs them here)
    cursors: list[Cursor] = field(default_factory=list)
    contents: set[str] = field(default_factory=set)  # bodies, names, metadata values

    def ids_of(self, kind: str) -> list[str]:
        return {
            "room": self.rooms,
            "thread": [t for _, t in self.threads],
            "comment": [c for _, _, c in self.comments],
            "user": self.users,
            "job": self.jobs,
        }[kind]

    def chains(self) -> list[dict[str, str]]:
        """Coherent path values (a comment, its thread, its room; a user): requests start from
        one of these, so that B's id often sits below parents A really holds."""
        return [
            {
                "roomId": r,
                "threadId": t,
                "commentId": c,
                "userId": self.users[0],
                "jobId": self.jobs[0],
            }
            for r, t, c in self.comments
        ]

    def all_ids(self) -> list[str]:
        keys = [self.env_id, self.sk_id, self.pk_id]
        return [
            *self.rooms,
            *self.ids_of("thread"),
            *self.ids_of("comment"),
            *self.users,
            *self.jobs,
            *keys,
        ]

    def markers(self) -> tuple[set[str], set[str]]:
        """What of this environment must never show up elsewhere: (exact, substring) markers.
        Client-chosen ids (rooms, users) are short and may be part of other text, so they count
        only as whole JSON strings; the rest hold random parts and count anywhere in a body."""
        exact = {r for r in self.rooms if r != SHARED_ROOM} | {
            u for u in self.users if u != SHARED_USER
        }
        anywhere = (
            set(self.ids_of("thread"))
            | set(self.ids_of("comment"))
            | self.contents
            | {self.env_id, self.sk_id, self.pk_id, self.sk, self.pk}
            | {c.value for c in self.cursors}
        )
        return exact, anywhere


@dataclass
class World:
    a: Tenant
    b: Tenant
    operator: str  # an owner's session token
    forged: dict[str, tuple[str, str]]  # name -> (credential, expected 401 code)


def request(client: Any, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    headers = dict(JSON_CT)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = b"" if body is None else json.dumps(body).encode()
    return client.http.request(method, path, headers=headers, body=data)


def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, (resp.status_code, resp.body)
    return resp.json_body if status != 204 else None


def enc(value: str) -> str:
    return quote(value, safe="")


def build_tenant(client: Any, services: runtime.Services, tag: str) -> Tenant:
    """Rooms (one with the shared id), threads with replies, users, one cursor of each list."""
    env, (pk, sk) = services.environments.create(OWNER, f"{tag} environment")
    assert pk.key is not None and sk.key is not None
    t = Tenant(tag, env.id, sk.key, pk.key, sk.id, pk.id)
    t.contents.add(f"{tag} environment")

    def secret(what: str) -> str:
        value = f"{tag}-{what}-{secrets.token_hex(6)}"
        t.contents.add(value)
        return value

    for user in (f"{tag}-user-1", f"{tag}-user-2", SHARED_USER):
        name = secret("name")
        ok(request(client, "POST", "/auth/token", t.sk, {"userId": user, "name": name}))
        t.users.append(user)

    v1 = "/api/v1"
    for room in (f"{tag}-room-1", f"{tag}:doc.2", SHARED_ROOM):
        body = {"id": room, "metadata": {"owner": secret("room-meta"), "n": 1}}
        ok(request(client, "POST", f"{v1}/rooms", t.sk, body), 201)
        t.rooms.append(room)

    room1 = t.rooms[0]
    for room, author in ((room1, t.users[0]), (room1, t.users[1]), (SHARED_ROOM, SHARED_USER)):
        body = {
            "comment": {"userId": author, "body": secret("first comment")},
            "metadata": {"topic": secret("thread-meta")},
        }
        thread = ok(request(client, "POST", f"{v1}/rooms/{enc(room)}/threads", t.sk, body), 201)
        t.threads.append((room, thread["id"]))
        t.comments.append((room, thread["id"], thread["comments"][0]["id"]))
    for room, thread in (t.threads[0], t.threads[0], t.threads[2]):
        body = {"userId": t.users[1], "body": secret("reply")}
        path = f"{v1}/rooms/{enc(room)}/threads/{thread}/comments"
        t.comments.append((room, thread, ok(request(client, "POST", path, t.sk, body), 201)["id"]))

    room, thread = t.threads[0]
    for path, key in (
        ("/rooms", ("rooms",)),
        ("/users", ("users",)),
        (f"/rooms/{enc(room)}/threads", ("threads", room)),
        (f"/rooms/{enc(room)}/threads/{thread}/comments", ("comments", room, thread)),
        (f"/rooms/{enc(room)}/events", ("events", room)),
    ):
        cursor = ok(request(client, "GET", f"{v1}{path}?limit=1", t.sk))["nextCursor"]
        assert cursor, path
        t.cursors.append(Cursor(cursor, key))
    body = {"mode": "anonymize"}
    job = ok(request(client, "POST", f"{v1}/users/{t.users[0]}/erase", t.sk, body), 202)
    t.jobs.append(job["id"])
    return t


def forge(prefix: str, env_raw: str, key_raw: str, secret_part: str) -> str:
    """A key of the right format with a valid checksum, so it passes the offline checks."""
    head = f"{prefix}_{env_raw}{key_raw}{secret_part}"
    return head + ids.encode(zlib.crc32(head.encode()), apikeys.CHECKSUM_CHARS)


def key_parts(key: str) -> tuple[str, str, str]:
    body, raw = key[3:], ids.RAW_ID_CHARS
    return body[:raw], body[raw : 2 * raw], body[2 * raw : 2 * raw + apikeys.SECRET_CHARS]


def forged_credentials(a: Tenant, b: Tenant) -> dict[str, tuple[str, str]]:
    a_env, a_key, a_secret = key_parts(a.sk)
    b_env, b_key, _ = key_parts(b.sk)
    _, b_pk_key, b_pk_secret = key_parts(b.pk)
    invalid = "INVALID_API_KEY"
    forged = {
        "B's pk_": (b.pk, "SECRET_KEY_REQUIRED"),
        "A's sk_ naming B's key id": (forge("sk", a_env, b_key, a_secret), invalid),
        "A's secret under B's env and key ids": (forge("sk", b_env, b_key, a_secret), invalid),
        "A's key id under B's env id": (forge("sk", b_env, a_key, a_secret), invalid),
        "B's pk_ re-prefixed sk_": (forge("sk", b_env, b_pk_key, b_pk_secret), invalid),
        "B's pk_ body, stale checksum": ("sk_" + b.pk[3:], invalid),
        "A's sk_ with B's env id, stale checksum": (a.sk[:3] + b_env + a.sk[19:], invalid),
    }
    for credential, _ in forged.values():
        assert len(credential) == apikeys.KEY_LENGTH
    return forged


def build_world(client: Any, services: runtime.Services) -> World:
    a = build_tenant(client, services, "ant")
    b = build_tenant(client, services, "bee")
    services.operators.create(None, OWNER.email, PASSWORD, "owner")
    login = request(
        client, "POST", "/admin/api/login", body={"email": OWNER.email, "password": PASSWORD}
    )
    return World(a, b, ok(login)["token"], forged_credentials(a, b))


# --- snapshots --------------------------------------------------------------------------------


def scan_all() -> dict[tuple[str, str, str], str]:
    """Every item of every table, canonical JSON by (table, pk, sk)."""
    dynamodb = boto3.client("dynamodb")
    items: dict[tuple[str, str, str], str] = {}
    for table in dynamodb.list_tables()["TableNames"]:
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = dynamodb.scan(**kwargs)
            for item in page["Items"]:
                key = (table, item["pk"]["S"], item["sk"]["S"])
                items[key] = json.dumps(item, sort_keys=True)
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items


def in_partition(pk: str, env_id: str) -> bool:
    """The environment's items, its request-rate counters (`RL#env:<envId>#<second>`) included:
    another tenant's requests must not spend its budget either."""
    return (
        pk == f"ENV#{env_id}"
        or pk.startswith(f"ENV#{env_id}#")
        or pk.startswith(f"RL#env:{env_id}#")
    )


def admin_view(client: Any, world: World, env: Tenant) -> dict[str, bytes]:
    """The environment as the operator's browser shows it: analytics, every list, raw bytes."""
    base = f"/admin/api/environments/{env.env_id}"
    paths = [f"{base}/analytics", f"{base}/rooms?limit=100", f"{base}/users?limit=100"]
    for room in env.rooms:
        paths.append(f"{base}/rooms/{enc(room)}/threads?limit=100")
    for room, thread in env.threads:
        paths.append(f"{base}/rooms/{enc(room)}/threads/{thread}/comments?limit=100")
    view = {}
    for path in paths:
        resp = request(client, "GET", path, world.operator)
        assert resp.status_code == 200, (path, resp.body)
        view[path] = resp.body
    return view


@dataclass(frozen=True)
class Before:
    items: dict[tuple[str, str, str], str]
    views: dict[str, dict[str, bytes]]  # env id -> its admin view


def take_snapshot(client: Any, world: World) -> Before:
    views = {t.env_id: admin_view(client, world, t) for t in (world.a, world.b)}
    return Before(scan_all(), views)


def diff(before: dict[Any, str], after: dict[Any, str]) -> list[str]:
    lines = [f"removed {k}" for k in before.keys() - after.keys()]
    lines += [f"added {k}: {after[k]}" for k in after.keys() - before.keys()]
    lines += [
        f"changed {k}: {before[k]} -> {after[k]}"
        for k in before.keys() & after.keys()
        if before[k] != after[k]
    ]
    return sorted(lines)


def assert_untouched(client: Any, world: World, before: Before, *, writer: Tenant | None) -> None:
    """B byte for byte as before; every change lies in the writer's partition (None: no change
    anywhere). The scan runs before the admin reads, which are then compared too."""
    after = scan_all()
    b = world.b

    def of_b(items: dict[tuple[str, str, str], str]) -> dict[tuple[str, str, str], str]:
        return {k: v for k, v in items.items() if in_partition(k[1], b.env_id)}

    assert len(of_b(before.items)) > 20, "B's data should be in the snapshot"
    assert not diff(of_b(before.items), of_b(after)), diff(of_b(before.items), of_b(after))

    def outside(items: dict[tuple[str, str, str], str]) -> dict[tuple[str, str, str], str]:
        # The abuse-limit counters (chalicelib/services/limits.py) move with every request:
        # the requester's rates, and refused attempts per source address and key id. B's rates
        # are B's items, held unchanged above.
        # The usage meter's counters (services/metering.py) of the requester's environment move
        # with every request too; B's are B's items, held unchanged above.
        items = {k: v for k, v in items.items() if not is_counter(k[1]) and not is_usage(k[2])}
        if writer is None:
            return items
        return {k: v for k, v in items.items() if not in_partition(k[1], writer.env_id)}

    changed = diff(outside(before.items), outside(after))
    assert not changed, changed
    assert admin_view(client, world, b) == before.views[b.env_id]
    if writer is None:
        assert admin_view(client, world, world.a) == before.views[world.a.env_id]


# --- requests ---------------------------------------------------------------------------------


def _lower_hex(value: str) -> str:
    out, i, quoted = [], 0, quote(value, safe="")
    while i < len(quoted):
        if quoted[i] == "%":
            out.append(quoted[i : i + 3].lower())
            i += 3
        else:
            out.append(quoted[i])
            i += 1
    return "".join(out)


ENCODINGS: dict[str, Callable[[str], str]] = {
    "quoted": enc,
    "raw": lambda v: v if all(c in ROOM_CHARS for c in v) else enc(v),
    "every byte": lambda v: "".join(f"%{b:02X}" for b in v.encode()),
    "lower-case hex": _lower_hex,
    "double-quoted": lambda v: enc(enc(v)),  # the server decodes once: it sees quote(v)
}


@dataclass(frozen=True)
class Slot:
    """A drawn value and how it travels (path segment encoding; ignored elsewhere)."""

    value: str
    encoding: str = "quoted"

    @property
    def sent(self) -> str:
        return ENCODINGS[self.encoding](self.value)

    @property
    def server(self) -> str:
        """What the handler sees: the segment decoded exactly once."""
        return unquote(self.sent)


@dataclass(frozen=True)
class BodySpec:
    slots: dict[str, str]  # body slot -> kind of id it takes
    build: Callable[[dict[str, str], dict[str, Any]], dict[str, Any]]


def _metadata(extra: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": extra["metadata"]} if extra["with_metadata"] else {}


V1 = "/api/v1"
R = f"{V1}/rooms/{{roomId}}"
T = f"{R}/threads/{{threadId}}"
# The body of every write route, valid by construction; ids in it are drawn like path ids.
NO_BODY = BodySpec({}, lambda s, x: {})
BODIES: dict[tuple[str, str], BodySpec] = {
    ("POST", f"{V1}/rooms"): BodySpec({"id": "room"}, lambda s, x: {"id": s["id"], **_metadata(x)}),
    ("PATCH", R): BodySpec({}, lambda s, x: {"metadata": x["metadata"]}),
    ("POST", f"{R}/broadcast"): BodySpec({"ref": "any"}, lambda s, x: {"event": {"ref": s["ref"]}}),
    ("POST", f"{R}/threads"): BodySpec(
        {"userId": "user"},
        lambda s, x: {"comment": {"userId": s["userId"], "body": x["text"]}, **_metadata(x)},
    ),
    ("PATCH", T): BodySpec({}, lambda s, x: {"resolved": x["resolved"], **_metadata(x)}),
    ("POST", f"{T}/comments"): BodySpec(
        {"userId": "user"}, lambda s, x: {"userId": s["userId"], "body": x["text"]}
    ),
    ("PATCH", f"{T}/comments/{{commentId}}"): BodySpec({}, lambda s, x: {"body": x["text"]}),
    ("POST", f"{T}/comments/{{commentId}}/reactions"): BodySpec(
        {"userId": "user"}, lambda s, x: {"userId": s["userId"], "emoji": "👍"}
    ),
    ("POST", f"{V1}/users/{{userId}}/revoke-tokens"): NO_BODY,  # an action: no body
    ("POST", f"{V1}/users/{{userId}}/erase"): BodySpec({}, lambda s, x: {"mode": "anonymize"}),
    ("POST", f"{V1}/users/{{userId}}/threads/{{threadId}}/read"): NO_BODY,
    ("POST", f"{T}/subscribe"): BodySpec({"userId": "user"}, lambda s, x: {"userId": s["userId"]}),
    ("POST", f"{T}/unsubscribe"): BodySpec(
        {"userId": "user"}, lambda s, x: {"userId": s["userId"]}
    ),
    ("PUT", f"{R}/users/{{userId}}/notification-settings"): BodySpec(
        {}, lambda s, x: {"setting": "mentions"}
    ),
    ("POST", f"{R}/attachments"): BodySpec(
        {}, lambda s, x: {"name": "a.txt", "mimeType": "text/plain", "size": 1}
    ),
    ("PATCH", "/admin/api/environments/{envId}/rooms/{roomId}"): BodySpec(
        {}, lambda s, x: {"defaultAccess": "read", "usersAccess": {"ada": "comment"}}
    ),
}


def body_spec(spec: RouteSpec) -> BodySpec | None:
    """None for reads and deletes; a route missing here fails test_every_write_route_has_a_body."""
    if spec.method in ("GET", "DELETE"):
        return None
    return BODIES.get((spec.method, spec.path), NO_BODY)


def param_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


@dataclass(frozen=True)
class Req:
    spec: RouteSpec
    credential: str  # "A" (A's sk_), "operator", or a name in World.forged
    params: tuple[tuple[str, Slot], ...] = ()
    query: tuple[tuple[str, Slot], ...] = ()  # limit, resolved, cursor
    body_slots: tuple[tuple[str, Slot], ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()  # the rest of the body (texts, metadata, flags)

    def describe(self) -> str:
        return f"{self.spec.method} {self.url} as {self.credential!r}, body {self.body}"

    @property
    def url(self) -> str:
        path = self.spec.path
        for name, slot in self.params:
            path = path.replace("{" + name + "}", slot.sent)
        query = "&".join(f"{name}={slot.sent}" for name, slot in self.query)
        return f"{path}?{query}" if query else path

    @property
    def server_params(self) -> dict[str, str]:
        return {name: slot.server for name, slot in self.params}

    @property
    def cursor(self) -> str | None:
        return dict(self.query)["cursor"].value if "cursor" in dict(self.query) else None

    @property
    def body(self) -> dict[str, Any] | None:
        spec = body_spec(self.spec)
        if spec is None:
            return None
        return spec.build({k: s.value for k, s in self.body_slots}, dict(self.extra))

    def values(self) -> list[str]:
        """Every drawn value (path, query, body ids)."""
        return [s.value for _, s in (*self.params, *self.query, *self.body_slots)]

    def sent_strings(self) -> set[str]:
        """Everything this request carries: a response may echo it without leaking anything."""
        found = {s.server for _, s in self.params} | {s.sent for _, s in self.params}
        found |= {unquote(s.sent) for _, s in self.query}
        found |= set(json_strings(self.body))
        return found

    def list_key(self) -> tuple[str, ...] | None:
        """Which list a GET pages (the scope its cursor is bound to); None when not a list."""
        if self.spec.method != "GET":
            return None
        p, q = self.server_params, {k: s.server for k, s in self.query}
        tail = self.spec.path.rsplit("/", 1)[-1]
        if tail in ("rooms", "users"):
            return (tail,)
        if tail == "threads":
            return ("threads", p["roomId"], *([q["resolved"]] if "resolved" in q else []))
        if tail == "comments":
            return ("comments", p["roomId"], p["threadId"])
        if tail == "events":
            return ("events", p["roomId"])
        if tail in ("active_users", "connections"):  # the room's sockets, paged by size (no
            return ("active_users", p["roomId"])  # sockets here: no cursor of A's own)
        if tail == "inbox":  # a user's (nothing unread here: no cursor of A's own)
            return ("inbox", p["userId"])
        return None

    def with_values(self, swap: Callable[[str], str]) -> Req:
        def each(slots: tuple[tuple[str, Slot], ...]) -> tuple[tuple[str, Slot], ...]:
            return tuple((k, replace(s, value=swap(s.value))) for k, s in slots)

        return replace(
            self,
            params=each(self.params),
            query=each(self.query),
            body_slots=each(self.body_slots),
        )


def json_strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from json_strings(v)


def body_valid(req: Req) -> bool:
    """Whether the body passes validation (which runs before any lookup). Bodies are built valid;
    only the drawn ids can make them invalid."""
    for name, slot in req.body_slots:
        if name == "id" and not is_room_id(slot.value):
            return False
        if name == "userId" and (
            not 0 < len(slot.value) <= v1_rooms.USER_ID_MAX
            or path_segment_problem(slot.value) is not None  # the rule of new user ids
        ):
            return False
    return True


# --- strategies -------------------------------------------------------------------------------

USER_CHARS = ROOM_CHARS + " @+/?#%é✓"  # user ids are free text; these need encoding in a path


def random_id(kind: str) -> st.SearchStrategy[str]:
    def prefixed(prefix: str) -> st.SearchStrategy[str]:
        return st.text(BASE62, min_size=16, max_size=16).map(lambda raw: f"{prefix}_{raw}")

    return {
        "room": st.text(ROOM_CHARS, min_size=1, max_size=40),
        "thread": prefixed("th"),
        "comment": prefixed("cm"),
        "job": prefixed("job"),
        "user": st.text(USER_CHARS, min_size=1, max_size=40),
        "any": st.one_of(prefixed("th"), prefixed("cm"), prefixed("env"), prefixed("key")),
    }[kind]


def id_values(victim: Tenant, own: Tenant, kind: str, *, own_ids: bool = True) -> Any:
    """B's ids of the kind (most often), any id or cursor of B, A's own ids, random ids.
    `own_ids=False`: nothing A holds, not even the ids both hold."""
    mine = set() if own_ids else set(own.all_ids())
    theirs = [v for v in victim.all_ids() + [c.value for c in victim.cursors] if v not in mine]
    pools = [st.sampled_from(theirs), random_id(kind)]
    if kind in ("room", "thread", "comment", "user", "job"):
        pools += [st.sampled_from([v for v in victim.ids_of(kind) if v not in mine])] * 3
        if own_ids:
            pools += [st.sampled_from(own.ids_of(kind))] * 2
    return st.one_of(pools)


def fake_cursor() -> st.SearchStrategy[str]:
    b64 = string.ascii_letters + string.digits + "-_"
    return st.tuples(st.text(b64, min_size=1, max_size=80), st.text(b64, max_size=22)).map(
        lambda parts: ".".join(parts)
    )


def cursor_values(victim: Tenant, own: Tenant) -> Any:
    theirs = [c.value for c in victim.cursors]
    tampered = [c[:-1] + ("A" if c[-1] != "A" else "B") for c in theirs]
    return st.one_of(
        st.sampled_from(theirs),
        st.sampled_from(theirs),
        st.sampled_from([c.value for c in own.cursors]),
        st.sampled_from(tampered),
        fake_cursor(),
    )


EXTRAS = st.fixed_dictionaries(
    {
        "text": st.text(string.printable.strip() + "é✓ ", min_size=1, max_size=40).filter(
            str.strip
        ),
        "metadata": st.dictionaries(
            st.text(string.ascii_letters, min_size=1, max_size=8),
            st.one_of(
                st.text(string.ascii_letters + " ", max_size=20),
                st.integers(-1000, 1000),
                st.booleans(),
            ),
            max_size=3,
        ),
        "with_metadata": st.booleans(),
        "resolved": st.booleans(),
    }
)


@st.composite
def requests(
    draw: Any,
    specs: list[RouteSpec],
    pairs: list[tuple[Tenant, Tenant]],
    credentials: list[str],
    *,
    no_own_target: bool = False,
) -> tuple[Req, Tenant, Tenant]:
    """One request over one of `specs`, acting on `own` with ids drawn mostly from `victim`.
    `no_own_target`: a DELETE's or PATCH's last id never comes from `own` (so no delete or
    change can succeed)."""
    spec = draw(st.sampled_from(specs))
    victim, own = draw(st.sampled_from(pairs))
    credential = draw(st.sampled_from(credentials))
    params = []
    names = param_names(spec.path)
    base = draw(st.sampled_from(own.chains()))
    for i, name in enumerate(names):
        if name == "envId":
            params.append((name, Slot(own.env_id)))
            continue
        if name == "emoji":  # not an id: the same in every environment
            params.append((name, Slot(EMOJI, draw(st.sampled_from(["quoted", "every byte"])))))
            continue
        own_ids = not (no_own_target and spec.method in ("DELETE", "PATCH") and i == len(names) - 1)
        values = id_values(victim, own, KIND_OF_PARAM.get(name, "any"), own_ids=own_ids)
        if own_ids and name in base:  # keep A's coherent value in about half the slots
            values = st.one_of(st.just(base[name]), values)
        value = draw(values)
        params.append((name, Slot(value, draw(st.sampled_from(sorted(ENCODINGS))))))
    query: list[tuple[str, Slot]] = []
    if spec.path.endswith("/reactions/{emoji}"):
        # a user id of either environment (a malformed one is the query's own 400)
        query.append(("userId", Slot(draw(st.sampled_from([*own.users, *victim.users])))))
    if spec.method == "GET":
        limit = draw(st.sampled_from([None, "1", "2", "100"]))
        if limit:
            query.append(("limit", Slot(limit)))
        if spec.path.endswith("/threads"):
            resolved = draw(st.sampled_from([None, "true", "false"]))
            if resolved:
                query.append(("resolved", Slot(resolved)))
        cursor = draw(st.one_of(st.none(), cursor_values(victim, own)))
        if cursor is not None:
            query.append(("cursor", Slot(cursor, draw(st.sampled_from(["quoted", "every byte"])))))
    body_slots: list[tuple[str, Slot]] = []
    extra: dict[str, Any] = {}
    bspec = body_spec(spec)
    if bspec is not None:
        for slot, kind in bspec.slots.items():
            body_slots.append((slot, Slot(draw(id_values(victim, own, kind)))))
        extra = draw(EXTRAS)
    req = Req(
        spec, credential, tuple(params), tuple(query), tuple(body_slots), tuple(extra.items())
    )
    return req, victim, own


# --- the oracle -------------------------------------------------------------------------------


@dataclass
class Known:
    """What an environment may hold: its own ids, plus whatever its successful writes stored
    (a room A created with one of B's room ids is A's room; echoing that id leaks nothing)."""

    ids: dict[str, set[str]]
    planted: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, t: Tenant) -> Known:
        return cls({k: set(t.ids_of(k)) for k in ("room", "thread", "comment", "user", "job")})

    def holds(self, kind: str, value: str) -> bool:
        return value in self.ids[kind]


def error_of(resp: Any) -> dict[str, Any]:
    body = resp.json_body if resp.body else None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return dict(body["error"])
    return {}


def twin_value(value: str, cursors: set[str]) -> str:
    """A fresh value of the same shape and validity, that no environment holds."""
    for prefix in ("th", "cm", "env", "key"):
        if ids.raw_part(value, prefix):
            return ids.new_id(prefix)
    if value in cursors:
        b64 = string.ascii_letters + string.digits + "-_"
        body, tag = value.split(".")
        return ".".join("".join(secrets.choice(b64) for _ in part) for part in (body, tag))
    return "".join(secrets.choice(BASE62) for _ in value)


@dataclass
class Checker:
    client: Any
    world: World
    known: dict[str, Known] = field(default_factory=dict)
    hits: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)
    twins: int = 0

    def __post_init__(self) -> None:
        self.known = {t.env_id: Known.of(t) for t in (self.world.a, self.world.b)}

    def send(self, req: Req, own: Tenant) -> Any:
        if req.credential == "A":
            token = own.sk
        elif req.credential == "operator":
            token = self.world.operator
        else:
            token = self.world.forged[req.credential][0]
        return request(self.client, req.spec.method, req.url, token, req.body)

    def check(self, req: Req, victim: Tenant, own: Tenant) -> Any:
        resp = self.send(req, own)
        counts = self.hits.setdefault((req.spec.method, req.spec.path), {})
        counts[resp.status_code] = counts.get(resp.status_code, 0) + 1
        context = (req.spec.method, req.url, req.credential, req.body, resp.status_code, resp.body)
        self.assert_no_leak(req, resp, victim, own, context)
        err = error_of(resp)
        if req.credential in self.world.forged:
            self.check_forged(req, resp.status_code, err, context)
            return resp
        assert resp.status_code < 500, context
        assert resp.status_code not in (401, 403), context
        self.check_status(req, own, resp.status_code, err, context)
        known = self.known[own.env_id]
        if req.spec.method in ("POST", "PATCH") and resp.status_code in SUCCESS:
            known.planted |= set(json_strings(req.body))
            if req.spec.path == f"{V1}/rooms":
                known.ids["room"].add(dict(req.body_slots)["id"].value)
        self.check_twin(req, victim, own, resp, err, context)
        return resp

    def assert_no_leak(
        self, req: Req, resp: Any, victim: Tenant, own: Tenant, context: Any
    ) -> None:
        exact, anywhere = victim.markers()
        exempt = req.sent_strings() | self.known[own.env_id].planted
        text = resp.body.decode() if isinstance(resp.body, bytes) else str(resp.body or "")
        text += "\n" + "\n".join(f"{k}: {v}" for k, v in resp.headers.items())
        strings = set(json_strings(resp.json_body)) if resp.body else set()
        leaked = {m for m in exact - exempt if m in strings}
        leaked |= {m for m in anywhere - exempt if m in text}
        assert not leaked, (f"{victim.tag}'s data leaked: {sorted(leaked)}", context)

    def check_forged(self, req: Req, status: int, err: dict[str, Any], context: Any) -> None:
        expected = self.world.forged[req.credential][1]
        if expected == "SECRET_KEY_REQUIRED" or body_valid(req):
            assert (status, err.get("code")) == (401, expected), context
        else:  # the body is refused before the key is looked up; that tells nothing either
            assert status in (400, 401), context

    def check_status(
        self, req: Req, own: Tenant, status: int, err: dict[str, Any], context: Any
    ) -> None:
        known = self.known[own.env_id]
        code = err.get("code")
        foreign = [
            name
            for name, value in req.server_params.items()
            if name in KIND_OF_PARAM and not known.holds(KIND_OF_PARAM[name], value)
        ]
        list_key = req.list_key()
        cursor = req.cursor
        if not body_valid(req):
            assert status == 400, context
        elif foreign:
            # Whatever B holds under that id: exactly the answer for an id nobody holds.
            assert status == 404 and code in NOT_FOUND_CODES, (foreign, context)
        elif (
            list_key is not None
            and cursor is not None
            and Cursor(cursor, list_key) not in own.cursors
        ):
            # Cursors are HMAC-bound to the environment and the list: B's, or another list's,
            # is refused like junk (the parent may be gone: then its 404 comes first).
            assert (status == 400 and code == "INVALID_CURSOR") or (
                status == 404 and code in NOT_FOUND_CODES
            ), context
        elif req.spec.method == "POST" and req.spec.path == f"{V1}/rooms":
            room = dict(req.body_slots)["id"].value
            # A 409 for an id only B holds would reveal B's room: it must be a fresh 201.
            allowed = {201, 409} if known.holds("room", room) else {201}
            assert status in allowed, context
        else:
            assert status in SUCCESS or (status == 404 and code in NOT_FOUND_CODES), context

    def check_twin(
        self, req: Req, victim: Tenant, own: Tenant, resp: Any, err: dict[str, Any], context: Any
    ) -> None:
        """Replace every value of B by a fresh one of the same shape: same status and error."""
        cursors = {c.value for c in victim.cursors}
        theirs = (set(victim.all_ids()) | cursors) - {SHARED_ROOM, SHARED_USER}
        values = req.values()
        if not theirs & set(values) or set(values) & self.known[own.env_id].planted:
            return
        if req.spec.method != "GET" and resp.status_code in SUCCESS:
            return  # the write changed what a twin would meet
        twin_of = {v: twin_value(v, cursors) for v in values if v in theirs}
        twin = req.with_values(lambda v: twin_of.get(v, v))
        answer = self.send(twin, own)
        self.twins += 1

        def shape(status: int, e: dict[str, Any]) -> tuple[Any, ...]:
            if status in SUCCESS:
                return (status,)
            return status, e.get("code"), e.get("message"), e.get("field")

        assert shape(answer.status_code, error_of(answer)) == shape(resp.status_code, err), (
            "B's id answered differently from an id nobody holds",
            context,
            (twin.url, twin.body, answer.status_code, answer.body),
        )

    def unreached(self, specs: Iterable[RouteSpec]) -> list[str]:
        return [f"{s.method} {s.path}" for s in specs if (s.method, s.path) not in self.hits]


def run_property(
    checker: Checker,
    specs: list[RouteSpec],
    pairs: list[tuple[Tenant, Tenant]],
    credentials: list[str],
    **options: Any,
) -> None:
    """The property, route by route: every route gets EXAMPLES_PER_ROUTE generated requests
    (one Hypothesis run each), however many routes there are. Deletes go last, deepest first,
    so that A's rooms and threads are still there while the other routes are tried under them."""
    for spec in sorted(specs, key=lambda s: (s.method == "DELETE", -s.path.count("/"))):

        @SETTINGS
        @given(drawn=requests([spec], pairs, credentials, **options))
        def run(drawn: tuple[Req, Tenant, Tenant]) -> None:
            req, victim, own = drawn
            note(f"{req.describe()} (in {own.tag}'s environment; ids mostly {victim.tag}'s)")
            checker.check(req, victim, own)

        run()


V1_SPECS = [*v1_rooms.router.specs, *v1_inbox.router.specs, *v1_privacy.router.specs]
ADMIN_SPECS = list(admin_data.router.specs)


# --- the tests --------------------------------------------------------------------------------


def test_every_write_route_has_a_body() -> None:
    """A new POST/PATCH route must get a valid body in BODIES, or every request the property
    makes to it would stop at body validation (400) and never reach a lookup."""
    missing = [
        f"{s.method} {s.path}"
        for s in V1_SPECS
        if s.method not in ("GET", "DELETE") and (s.method, s.path) not in BODIES
    ]
    assert not missing, f"add these routes to BODIES: {missing}"
    assert {s.auth for s in V1_SPECS} == {"secret_key"}
    assert all(s.path.startswith("/admin/api/environments/{envId}/") for s in ADMIN_SPECS)


def test_a_credentials_never_reach_b(client: Any, services: runtime.Services) -> None:
    """The property over every /api/v1 route: A's key naming B's ids, cursors and keys (and
    forged keys made of both) never reads or changes anything of B."""
    world = build_world(client, services)
    before = take_snapshot(client, world)
    checker = Checker(client, world)
    credentials = ["A"] * (4 * len(world.forged)) + sorted(world.forged)  # 80% A's own sk_

    run_property(checker, V1_SPECS, [(world.b, world.a)], credentials)
    assert not checker.unreached(V1_SPECS), checker.unreached(V1_SPECS)
    assert checker.twins > 20, checker.twins
    assert_untouched(client, world, before, writer=world.a)


LISTS = ("rooms", "users", "threads", "comments", "active_users", "connections")
SWEEP_EXTRA = (
    ("text", "hello"),
    ("metadata", {"k": "v"}),
    ("with_metadata", True),
    ("resolved", True),
)


def chain(t: Tenant, thread: int = 0) -> dict[str, str]:
    """A coherent set of path values of `t`: its thread's room, the thread, its first comment."""
    room, thread_id, comment = next(c for c in t.comments if c[1] == t.threads[thread][1])
    return {
        "envId": t.env_id,
        "roomId": room,
        "threadId": thread_id,
        "commentId": comment,
        "userId": t.users[0],
        "jobId": t.jobs[0],
        "emoji": EMOJI,  # not an id: the same in every environment
        "connectionId": f"conn-{t.env_id}",  # no sockets here: each tenant's own missing one
    }


def sweep(
    checker: Checker, specs: list[RouteSpec], credentials: list[str], victim: Tenant, own: Tenant
) -> None:
    """Every route with every mix of `own`'s and `victim`'s ids (at least one `victim`'s), the
    victim's ids under the room id both hold, every cursor of another list, and each credential
    (the first is the legitimate one)."""
    legit, *forged = credentials

    def make(spec: RouteSpec, values: dict[str, str], credential: str = legit, **kw: Any) -> Req:
        params = tuple((n, Slot(values[n])) for n in param_names(spec.path))
        if spec.path.endswith("/reactions/{emoji}") and "query" not in kw:
            kw["query"] = (("userId", Slot(own.users[0])),)
        bspec = body_spec(spec)
        slots = bspec.slots.items() if bspec else {}.items()
        body = tuple((s, Slot(own.users[0] if k == "user" else own.rooms[0])) for s, k in slots)
        extra = SWEEP_EXTRA if bspec else ()
        return Req(spec, credential, params, body_slots=body, extra=extra, **kw)

    mine, theirs = chain(own), chain(victim)
    theirs["envId"] = own.env_id  # the operator browses `own`
    in_shared = {**chain(victim, 2), "envId": own.env_id}  # in the victim's `shared:doc`
    assert in_shared["roomId"] == SHARED_ROOM
    for spec in specs:
        names = [n for n in param_names(spec.path) if n != "envId"]
        for mask in range(1, 2 ** len(names)):
            values = {**mine, **{n: theirs[n] for i, n in enumerate(names) if mask >> i & 1}}
            checker.check(make(spec, values), victim, own)
        if "threadId" in names:
            checker.check(make(spec, in_shared), victim, own)
        for credential in forged:
            checker.check(make(spec, mine, credential), victim, own)
            if names:
                checker.check(make(spec, theirs, credential), victim, own)
        if spec.method == "GET" and spec.path.rsplit("/", 1)[-1] in LISTS:
            for cursor in [*victim.cursors, *own.cursors]:
                req = make(spec, mine, query=(("cursor", Slot(cursor.value)),))
                if Cursor(cursor.value, req.list_key() or ()) not in own.cursors:
                    resp = checker.check(req, victim, own)
                    assert error_of(resp).get("code") == "INVALID_CURSOR", resp.body


def test_every_route_answers_b_ids_like_missing_ids(
    client: Any, services: runtime.Services
) -> None:
    """The exhaustive companion of the properties: every route (REST with A's key, and the
    operator's browser both ways), every mix of A's and B's ids, B's thread under the room id
    both hold, every cursor of the wrong list, every forged key; each compared with the answer
    for fresh ids. Nothing may change anywhere; then creating a room with each of B's room ids
    is a fresh 201 in A (409 only for the id A holds too)."""
    world = build_world(client, services)
    a, b = world.a, world.b
    before = take_snapshot(client, world)
    checker = Checker(client, world)

    sweep(checker, V1_SPECS, ["A", *world.forged], b, a)
    sweep(checker, ADMIN_SPECS, ["operator"], b, a)
    sweep(checker, ADMIN_SPECS, ["operator"], a, b)
    # The same user id in both: A sees its own user (its name, not B's).
    user = ok(request(client, "GET", f"{V1}/users/{SHARED_USER}", a.sk))
    assert user["name"] in a.contents and user["name"] not in b.contents
    assert_untouched(client, world, before, writer=None)

    create = next(s for s in V1_SPECS if (s.method, s.path) == ("POST", f"{V1}/rooms"))
    for room in b.rooms:
        req = Req(create, "A", body_slots=(("id", Slot(room)),), extra=SWEEP_EXTRA)
        status = checker.check(req, b, a).status_code
        assert status == (409 if room == SHARED_ROOM else 201), room
    # Minting a token for one of B's user ids makes (or refreshes) A's user of that id, with A
    # as the audience; the forged keys mint nothing.
    for user in b.users:
        body = {"userId": user, "name": "Minted by A"}
        for credential, code in world.forged.values():
            resp = request(client, "POST", "/auth/token", credential, body)
            assert (resp.status_code, error_of(resp).get("code")) == (401, code), resp.body
        token = ok(request(client, "POST", "/auth/token", a.sk, body))["token"]
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert (claims["aud"], claims["sub"], claims["name"]) == (a.env_id, user, "Minted by A")
        assert ok(request(client, "GET", f"{V1}/users/{enc(user)}", a.sk))["name"] == "Minted by A"
    assert_untouched(client, world, before, writer=a)


def test_operator_browser_never_mixes_environments(client: Any, services: runtime.Services) -> None:
    """The admin data browser, both ways: under /admin/api/environments/{X}/..., the other
    environment's room, thread and comment ids (and cursors) are 404s (400 for a cursor), like
    ids nobody holds; a delete or change never succeeds, so afterwards nothing anywhere has
    changed."""
    world = build_world(client, services)
    before = take_snapshot(client, world)
    checker = Checker(client, world)
    pairs = [(world.b, world.a), (world.a, world.b)]

    run_property(checker, ADMIN_SPECS, pairs, ["operator"], no_own_target=True)
    assert not checker.unreached(ADMIN_SPECS), checker.unreached(ADMIN_SPECS)
    assert_untouched(client, world, before, writer=None)
