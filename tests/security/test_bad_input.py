"""Bad input on every endpoint that reads a body and every WebSocket message type: wrong types,
nulls, huge strings, deep nesting, invalid UTF-8, unknown fields. Each is a 4xx (an `error`
frame on a socket) naming the field where there is one, never a 5xx (`INTERNAL_ERROR`), and
nothing is stored: both tables are the same before and after.

Where the cases come from, so that a new field or endpoint is covered the day it appears:
- REST v1 and `/auth/token`: the request body schemas of the contract (chalicelib/openapi.json);
- the Admin API: `ADMIN_BODIES`, checked against every admin route that takes a body and
  against its contract (chalicelib/admin-openapi.json);
- WebSocket: `protocol.HANDLERS` (every message type and its fields), with `WS_FIELDS` saying
  what each field holds.

Decisions pinned here:
- Unknown fields are a 400 `UNKNOWN_FIELD` naming the field, at the top level and in nested
  objects: every body schema says `additionalProperties: false`. Routes that read no body
  (logout, deletes, reads) ignore one.
- Nesting deeper than 32 levels is `TOO_DEEP` naming the top-level field that goes deeper;
  past the JSON parser's own limit (about 1000) it is `MALFORMED_JSON`, as are bytes that are
  not UTF-8: a body that cannot be parsed has no field to name. A body over 64 KB is 413 before
  it is parsed.
- "Any JSON" fields (a broadcast `event`, presence `data`) are relayed, never validated further:
  a lone surrogate or a long string there is accepted (as JSON text it is still valid JSON).
- `null` is "absent" for optional WebSocket fields; on REST it is refused unless the contract
  allows null (`avatar`).

Single-endpoint cases of this live next to each endpoint's tests (tests/api/test_errors.py,
test_v1_*.py, tests/contract/test_robustness.py, tests/realtime/test_protocol.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.helpers import (
    API,
    PASSWORD,
    Login,
    call,
    each,
    error,
    make_thread,
    names_field,
)
from realtime.conftest import Env, Gateway

from chalicelib.api import admin_environments, admin_operators, v1_inbox, v1_privacy, v1_rooms
from chalicelib.realtime import protocol
from chalicelib.repositories import usage_days

from .conftest import fill, table_items

SPEC = json.loads((Path(__file__).parents[2] / "chalicelib" / "openapi.json").read_text())
MARK = "@@not-utf-8@@"
HUGE = 60_000  # characters: over every field's limit, under the 64 KB body limit
TOO_BIG = 100_000  # characters: over the body limit
DEEP = 40  # levels: past the 32 allowed, well within the parser
DEEPER = 1_000  # levels: past the parser's own limit


# --- fields and their mutations ------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    path: str  # "comment.body": a member of a nested object
    # string | boolean | object (flat, validated, e.g. metadata) | list (of strings) | record
    # (fixed fields) | document (any JSON object, e.g. presence) | any (any JSON value)
    kind: str
    nullable: bool = False

    @property
    def top(self) -> str:
        return self.path.split(".")[0]


@dataclass(frozen=True)
class Mutation:
    label: str
    body: bytes
    field: str | None  # the field the error must name; None: no field to name
    code: str | None = None  # the error code, where it is fixed
    status: int = 400


# (method, path) -> (a valid body, its fields)
Table = dict[tuple[str, str], tuple[dict[str, Any], list[Field]]]


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    *parents, name = path.split(".")
    target = changed
    for parent in parents:
        target = target.setdefault(parent, {})
    target[name] = value
    return changed


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def nest(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


WRONG_TYPES: dict[str, list[Any]] = {
    "string": [12345, True, ["x"], {"x": "y"}],
    "boolean": ["true", 1, 0, [], {}],
    "integer": ["1", 1.5, -1, True, [], {}],
    "object": ["x", 1, [], True],
    "list": ["x", 1, {"x": "y"}, True],
    "record": ["x", 1, ["x"], True],
    "document": ["x", 1, [], True],
    "any": [],
}


def field_mutations(base: dict[str, Any], f: Field, *, socket: bool = False) -> Iterator[Mutation]:
    """`socket`: a WebSocket frame, which API Gateway hands over as text (bytes that are not
    UTF-8 arrive as lone surrogates), and where null means absent (checked separately)."""
    for value in WRONG_TYPES[f.kind]:
        yield Mutation(
            f"{f.path}: {json.dumps(value)}", encode(with_value(base, f.path, value)), f.path
        )
    if not f.nullable and f.kind != "any" and not socket:
        yield Mutation(f"{f.path}: null", encode(with_value(base, f.path, None)), f.path)
    yield Mutation(
        f"{f.path}: nested {DEEP} deep",
        encode(with_value(base, f.path, nest(DEEP))),
        f.top,
        "TOO_DEEP",
    )
    if f.kind == "string":
        yield Mutation(
            f"{f.path}: {HUGE} characters", encode(with_value(base, f.path, "x" * HUGE)), f.path
        )
        yield Mutation(
            f"{f.path}: a lone surrogate", encode(with_value(base, f.path, "ok\ud800")), f.path
        )
        raw = encode(with_value(base, f.path, MARK)).replace(MARK.encode(), b"ok\xff\xfe")
        if socket:
            yield Mutation(f"{f.path}: bytes that are not UTF-8", raw, f.path)
        else:
            yield Mutation(f"{f.path}: bytes that are not UTF-8", raw, None, "MALFORMED_JSON")
    if f.kind == "object":
        inner = f"{f.path}.k"
        yield Mutation(
            f"{inner}: {HUGE} characters", encode(with_value(base, inner, "x" * HUGE)), inner
        )
        yield Mutation(
            f"{inner}: a lone surrogate", encode(with_value(base, inner, "\udfff")), inner
        )
        yield Mutation(f"{inner}: an object", encode(with_value(base, inner, {"a": 1})), inner)
    if f.kind == "document":
        yield Mutation(
            f"{f.path}.k: {HUGE} characters",
            encode(with_value(base, f"{f.path}.k", "x" * HUGE)),
            f.path,
        )
    if f.kind == "record":
        unknown = f"{f.path}.zzUnknown"
        yield Mutation(
            f"{unknown}: unknown", encode(with_value(base, unknown, 1)), unknown, "UNKNOWN_FIELD"
        )


def body_mutations(base: dict[str, Any]) -> Iterator[Mutation]:
    """Mutations of the whole body: an unknown field, too big, nested past the parser."""
    yield Mutation("unknown field", encode({**base, "zzUnknown": 1}), "zzUnknown", "UNKNOWN_FIELD")
    yield Mutation(
        f"{TOO_BIG} characters",
        encode({**base, "zzPadding": "x" * TOO_BIG}),
        None,
        "PAYLOAD_TOO_LARGE",
        413,
    )
    deeper = encode({**base, "zzDeep": MARK}).replace(
        f'"{MARK}"'.encode(), b"[" * DEEPER + b"]" * DEEPER
    )
    yield Mutation(f"nested {DEEPER} deep", deeper, None, "MALFORMED_JSON")


def expect_refused(resp: Any, m: Mutation) -> None:
    assert resp.status_code < 500, (resp.status_code, resp.body)
    err = error(resp, m.status, m.code)
    if m.field is not None:
        names_field(err, m.field)


# --- REST: the contract's request bodies ---------------------------------------------------------


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = SPEC["components"]["schemas"][name]
    return schema


def fields_of(schema: dict[str, Any], prefix: str = "") -> Iterator[Field]:
    for name, prop in resolve(schema).get("properties", {}).items():
        prop = resolve(prop)
        types = prop.get("type")
        types = types if isinstance(types, list) else [types]
        path = prefix + name
        if "properties" in prop:
            yield Field(path, "record")
            yield from fields_of(prop, path + ".")
        elif "string" in types:
            yield Field(path, "string", nullable="null" in types)
        elif "boolean" in types:
            yield Field(path, "boolean")
        elif "integer" in types:
            yield Field(path, "integer", nullable="null" in types)
        elif "object" in types:
            yield Field(path, "object", nullable="null" in types)
        elif "array" in types:
            yield Field(path, "list", nullable="null" in types)
        else:
            assert types == [None], (path, prop)
            yield Field(path, "any")


def contract_bodies() -> Table:
    """(method, path) -> (the contract's example body, its fields)."""
    found = {}
    for path, operations in SPEC["paths"].items():
        for method, op in operations.items():
            if not isinstance(op, dict) or "requestBody" not in op:
                continue
            content = op["requestBody"]["content"]["application/json"]
            example = content.get("example") or next(iter(content["examples"].values()))["value"]
            found[(method.upper(), path)] = (example, list(fields_of(content["schema"])))
    return found


CONTRACT = contract_bodies()


def test_the_contract_has_a_body_schema_for_every_v1_write_route() -> None:
    writes = {
        (s.method, s.path)
        for s in [*v1_rooms.router.specs, *v1_inbox.router.specs, *v1_privacy.router.specs]
        if s.method in ("POST", "PUT", "PATCH") and s.doc is not None and s.doc.body is not None
    }

    assert writes | {("POST", "/auth/token")} == set(CONTRACT)
    assert all(fields for _, fields in CONTRACT.values())


def refuse_all(client: Any, token: str, table: Table, values: dict[str, str]) -> int:
    """Every mutation of every body in `table`, each refused, nothing stored: how many."""
    cases = []
    for (method, template), (base, fields) in sorted(table.items()):
        path = fill(template, values)
        for f in fields:
            cases += [(method, path, m) for m in field_mutations(base, f)]
        cases += [(method, path, m) for m in body_mutations(base)]
    before = table_items()

    def check(case: tuple[str, str, Mutation]) -> None:
        method, path, m = case
        expect_refused(call(client, method, path, token=token, raw=m.body), m)

    each(cases, check)
    assert table_items() == before
    return len(cases)


def test_every_contract_body_refuses_every_bad_input_naming_the_field(
    client: Any, existing: dict[str, str]
) -> None:
    assert refuse_all(client, existing["sk"], CONTRACT, existing) > 150

    # The positive control: each example body itself is taken.
    for (method, template), (example, _) in sorted(CONTRACT.items(), reverse=True):
        path = fill(template, existing)
        resp = call(client, method, path, token=existing["sk"], body=example)
        assert resp.status_code in (200, 201, 202), (method, path, resp.body)


# --- the Admin API --------------------------------------------------------------------------------

ENV = "/admin/api/environments/{envId}"
# (method, path) -> (a valid body, its fields). Routes without fields still parse a body (an
# optional, empty object): only the whole-body mutations apply to them.
ADMIN_BODIES: Table = {
    ("POST", "/admin/api/login"): (
        {"email": "owner@example.com", "password": PASSWORD},
        [Field("email", "string"), Field("password", "string")],
    ),
    ("POST", "/admin/api/environments"): ({"name": "Staging"}, [Field("name", "string")]),
    ("PATCH", ENV): (
        {"name": "Renamed"},
        [
            Field("name", "string"),
            Field("defaultRoomAccess", "string", nullable=True),
            Field("createRoomsOnJoin", "boolean"),
            Field("attachmentMaxBytes", "integer", nullable=True),
            Field("attachmentTypes", "list", nullable=True),
            Field("notificationDelaySeconds", "integer", nullable=True),
            Field("retentionDays", "integer", nullable=True),
        ],
    ),
    ("DELETE", ENV): ({"confirmName": "Existing"}, [Field("confirmName", "string")]),
    ("POST", f"{ENV}/keys"): (
        {"kind": "secret", "name": "Backend"},
        [
            Field("kind", "string"),
            Field("name", "string", nullable=True),
            Field("scopes", "list", nullable=True),
            Field("rooms", "string", nullable=True),
            Field("expiresAt", "string", nullable=True),
            Field("allowedIps", "list", nullable=True),
        ],
    ),
    ("POST", "/admin/api/keys/report-leak"): ({"key": "sk_not_a_key"}, [Field("key", "string")]),
    ("POST", f"{ENV}/leak/dismiss"): ({}, []),
    ("POST", f"{ENV}/keys/{{keyId}}/roll"): ({"expiresIn": "24h"}, [Field("expiresIn", "string")]),
    ("POST", f"{ENV}/suspend"): ({}, []),
    ("POST", f"{ENV}/resume"): ({}, []),
    ("POST", f"{ENV}/keys/rotate"): ({}, []),
    ("POST", f"{ENV}/keys/{{keyId}}/revoke"): ({}, []),
    ("POST", "/admin/api/operators"): (
        {"email": "new@example.com", "password": PASSWORD, "role": "viewer"},
        [Field("email", "string"), Field("password", "string"), Field("role", "string")],
    ),
    ("PATCH", "/admin/api/operators/{operatorId}"): (
        {"role": "admin", "password": "another long password"},
        [Field("role", "string"), Field("password", "string")],
    ),
}
READS_NO_BODY = {("POST", "/admin/api/logout")}
DELETES_WITH_A_BODY = {("DELETE", ENV)}  # disabling names the environment: {"confirmName"}


def test_the_admin_table_covers_every_admin_route_that_takes_a_body() -> None:
    specs = admin_operators.router.specs + admin_environments.router.specs
    writes = {(s.method, s.path) for s in specs if s.method in ("POST", "PATCH")}

    assert writes | DELETES_WITH_A_BODY == set(ADMIN_BODIES) | READS_NO_BODY


def test_the_admin_table_names_the_fields_of_the_admin_contract() -> None:
    spec = json.loads((Path(__file__).parents[2] / "chalicelib" / "admin-openapi.json").read_text())
    for (method, path), (_, fields) in ADMIN_BODIES.items():
        body = spec["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]
        schema = spec["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[-1]]
        types = {name: prop.get("type") for name, prop in schema["properties"].items()}
        kind = {"list": "array"}  # the rest are named as in JSON Schema
        listed = {
            f.path: [kind.get(f.kind, f.kind), "null"] if f.nullable else kind.get(f.kind, f.kind)
            for f in fields
        }
        assert types == listed, (method, path)


def test_every_admin_body_refuses_every_bad_input_naming_the_field(
    client: Any, owner: Login, viewer: Login, existing: dict[str, str]
) -> None:
    values = {**existing, "{operatorId}": viewer.id}
    assert refuse_all(client, owner.token, ADMIN_BODIES, values) > 100
    # Refused logins counted no failure: the owner still logs in.
    assert (
        call(
            client, "POST", f"{API}/login", body=ADMIN_BODIES[("POST", f"{API}/login")][0]
        ).status_code
        == 200
    )


# --- WebSocket messages ------------------------------------------------------------------------

# What each message field holds (every field of every type in protocol.HANDLERS must be here).
WS_FIELDS: dict[str, str] = {
    "data": "document",
    "event": "any",
    "cursor": "string",
    "resolved": "boolean",
    "comments": "boolean",
    "body": "string",
    "metadata": "object",
    "threadId": "string",
    "commentId": "string",
    "sinceSeq": "integer",
    "clientMutationId": "string",
    "emoji": "string",
    "q": "string",
    "attachmentIds": "list",
    "name": "string",
    "mimeType": "string",
    "size": "integer",
    "setting": "string",
}
# A valid message of each type (the fields it needs; mutations add the optional ones).
WS_MESSAGES: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
    "ping": lambda ids: {},
    "join": lambda ids: {},
    "presence.update": lambda ids: {"data": {"cursor": [1, 2]}},
    "broadcast": lambda ids: {"event": {"kind": "wave"}},
    "threads.list": lambda ids: {"resolved": False, "comments": True},
    "comments.list": lambda ids: {"threadId": ids["thread"]},
    "users.search": lambda ids: {"q": "ad"},
    "thread.create": lambda ids: {"body": "Hello", "metadata": {"k": "v"}},
    "comment.create": lambda ids: {"threadId": ids["thread"], "body": "Reply"},
    "thread.resolve": lambda ids: {"threadId": ids["thread"], "resolved": True},
    "comment.update": lambda ids: {
        "threadId": ids["thread"],
        "commentId": ids["comment"],
        "body": "Edit",
    },
    "reaction.add": lambda ids: {
        "threadId": ids["thread"],
        "commentId": ids["comment"],
        "emoji": "👍",
    },
    "reaction.remove": lambda ids: {
        "threadId": ids["thread"],
        "commentId": ids["comment"],
        "emoji": "👍",
    },
    "comment.delete": lambda ids: {"threadId": ids["thread"], "commentId": ids["comment"]},
    "attachment.create": lambda ids: {"name": "a.png", "mimeType": "image/png", "size": 3},
    "thread.markRead": lambda ids: {"threadId": ids["thread"]},
    "thread.subscribe": lambda ids: {"threadId": ids["thread"]},
    "thread.unsubscribe": lambda ids: {"threadId": ids["thread"]},
    "notifications.get": lambda ids: {},
    "inbox.list": lambda ids: {},
    "notifications.set": lambda ids: {"setting": "mentions"},
}


def test_the_message_tables_cover_every_message_type_and_field() -> None:
    assert set(WS_MESSAGES) == set(protocol.HANDLERS)
    assert {f for fields, _ in protocol.HANDLERS.values() for f in fields} == set(WS_FIELDS)


def without_rate_counters(items: list[str]) -> list[str]:
    """Every message moves its connection's rate counter and the usage meter's counters (API
    Gateway bills a refused message too); nothing else may change."""
    stripped = []
    for text in items:
        item = json.loads(text)
        if item["sk"]["S"].startswith(usage_days.SK_PREFIXES):
            continue
        item.pop("rate_window", None)
        item.pop("rate_count", None)
        stripped.append(json.dumps(item, sort_keys=True))
    return sorted(stripped)


def ws_mutations(message_type: str, base: dict[str, Any]) -> Iterator[Mutation]:
    message = {"type": message_type, **base}
    for name in protocol.HANDLERS[message_type][0]:
        yield from field_mutations(message, Field(name, WS_FIELDS[name]), socket=True)
    yield Mutation(
        "unknown field", encode({**message, "zzUnknown": 1}), "zzUnknown", "UNKNOWN_FIELD"
    )
    deeper = encode({**message, "zzDeep": MARK}).replace(
        f'"{MARK}"'.encode(), b"[" * DEEPER + b"]" * DEEPER
    )
    yield Mutation(f"nested {DEEPER} deep", deeper, None, "MALFORMED_JSON")


def test_every_message_type_refuses_every_bad_input_naming_the_field(
    gw: Gateway, env: Env, client: Any
) -> None:
    gw.reconfigure(ws_messages_per_second=1_000_000)  # hundreds of messages in one frozen second
    me = gw.connect(env, "ada", "room-1")
    other = gw.connect(env, "grace", "room-1")
    thread = make_thread(client, env.sk, "room-1", user="ada")
    ids = {"thread": thread["id"], "comment": thread["comments"][0]["id"]}
    gw.fake.clear()
    cases = [(t, m) for t, build in WS_MESSAGES.items() for m in ws_mutations(t, build(ids))]
    before = without_rate_counters(table_items())

    def check(case: tuple[str, Mutation]) -> None:
        _, m = case
        # bodies reach the handler decoded, as API Gateway hands them over
        gw.send_raw(me, m.body.decode("utf-8", "surrogateescape"))
        replies = gw.fake.take(me)
        assert len(replies) == 1, replies
        reply = replies[0]
        assert gw.fake.take(other) == [], "a refused message reached the room"
        assert reply["type"] == "error" and reply["code"] != "INTERNAL_ERROR", reply
        if m.code is not None:
            assert reply["code"] == m.code, reply
        if m.field is not None:
            assert reply.get("field") == m.field and m.field in reply["message"], reply

    each(cases, check)
    assert without_rate_counters(table_items()) == before
    assert len(cases) > 100

    # null: absent where a field is optional (or a JSON value, for `event`), else named
    nulls_taken = []
    for message_type, build in WS_MESSAGES.items():
        for name in protocol.HANDLERS[message_type][0]:
            gw.send_raw(me, json.dumps({"type": message_type, **build(ids), name: None}))
            errors = [f for f in gw.fake.take(me) if f["type"] == "error"]
            assert all(e["code"] != "INTERNAL_ERROR" and e.get("field") == name for e in errors)
            if not errors:
                nulls_taken.append(f"{message_type} {name}")
    gw.fake.clear()
    assert sorted(nulls_taken) == [
        "broadcast event",
        "comment.create attachmentIds",
        "comments.list cursor",
        "inbox.list cursor",
        "thread.create attachmentIds",
        "threads.list cursor",
        "users.search q",  # nothing to search for: no suggestions
    ]

    # The positive control: each valid message gets no error (comment.delete last: it ends the
    # thread).
    for message_type, build in WS_MESSAGES.items():
        gw.send_raw(me, json.dumps({"type": message_type, **build(ids)}))
        errors = [f for f in gw.fake.take(me) if f["type"] == "error"]
        assert errors == [], (message_type, errors)
