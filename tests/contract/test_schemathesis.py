"""Schemathesis against the real local stack (`python -m devstack`, real HTTP): every operation
of the contract (chalicelib/openapi.json, which GET /api/v1/openapi.json serves), with its
examples, boundary cases and generated requests, valid and invalid. No answer may be a 5xx; every
answer must have a status the contract lists for the operation, with a content type, headers and
body its schema allows; invalid requests must be refused (4xx), and a secret key must be needed.

Half of the cases are sent to a room, thread, comment and user that exist, so the 2xx paths are
exercised and not only the 404s; deletes get fresh ones each time. Generation is deterministic and
bounded (FUZZ_EXAMPLES per operation)."""

from __future__ import annotations

import itertools
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from e2e.conftest import Stack, free_ports, stacks
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.e2e

FUZZ_EXAMPLES = int(os.environ.get("PULSE_CONTRACT_EXAMPLES", "20"))  # more for a deeper local run
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
USER_ID = "contract-user"
EMOJI = "👍"  # a reaction path names one
SPEC_PATH = Path(__file__).resolve().parents[2] / "chalicelib" / "openapi.json"


@dataclass
class World:
    """The stack, a secret key of a fresh environment, and things that exist in it."""

    stack: Stack
    sk: str
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> an existing id
    counter: itertools.count[int] = field(default_factory=itertools.count)  # new room ids
    turns: itertools.count[int] = field(default_factory=itertools.count)  # case alternation
    # operation label -> status -> how many answers
    seen: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.sk}"}

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.stack.call("POST", path, self.sk, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def new_room(self) -> str:
        room_id = f"contract:{next(self.counter)}"
        self.post("/api/v1/rooms", {"id": room_id, "metadata": {"kind": "contract"}})
        return room_id

    def new_thread(self, room_id: str) -> dict[str, Any]:
        first = {"userId": USER_ID, "body": "First!"}
        return self.post(f"/api/v1/rooms/{quote(room_id, safe='')}/threads", {"comment": first})

    def new_comment(self, room_id: str, thread_id: str) -> str:
        path = f"/api/v1/rooms/{quote(room_id, safe='')}/threads/{thread_id}/comments"
        return str(self.post(path, {"userId": USER_ID, "body": "A reply"})["id"])

    def fresh(self, parameters: dict[str, Any]) -> dict[str, str]:
        """New items for a delete: the room, or a thread in a new room, or a second comment."""
        room_id = self.new_room()
        if "threadId" not in parameters:
            return {"roomId": room_id}
        thread = self.new_thread(room_id)
        ids = {"roomId": room_id, "threadId": thread["id"]}
        if "commentId" in parameters:
            ids["commentId"] = self.new_comment(room_id, thread["id"])
        if "emoji" in parameters:
            ids["emoji"] = EMOJI
        return ids


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("contract")
    ws_port, management_port = free_ports(2)
    with stacks(tmp) as start:
        stack = start(
            tmp / "data",
            PULSE_EPHEMERAL="1",
            PULSE_WS_PORT=str(ws_port),
            PULSE_WS_MANAGEMENT_PORT=str(management_port),
            # The fuzzer sends as fast as the stack answers, which is now faster than one key's
            # 50 requests a second: an answer's shape is what is tested here (the limits have
            # their own tests), so the REST limits are off (0).
            PULSE_RATE_REST_PER_ENV="0",
            PULSE_RATE_REST_PER_KEY="0",
        )
        admin = stack.login()
        created = stack.create_environment(admin, "Contract")
        (sk,) = [k["key"] for k in created["keys"] if k["kind"] == "secret"]
        world = World(stack=stack, sk=sk)
        minted = stack.call(
            "POST",
            "/auth/token",
            sk,
            json={"userId": USER_ID, "name": "Contract", "avatar": "https://example.com/c.png"},
        )
        assert minted.status_code == 200, minted.text
        room_id = world.new_room()
        thread = world.new_thread(room_id)
        world.ids = {
            "roomId": room_id,
            "threadId": thread["id"],
            "commentId": world.new_comment(room_id, thread["id"]),
            "userId": USER_ID,
            "emoji": EMOJI,
        }
        # An erase job of the user, to read (anonymize: the user and its comments stay).
        job = stack.call("POST", f"/api/v1/users/{USER_ID}/erase", sk, json={"mode": "anonymize"})
        assert job.status_code == 202, job.text
        world.ids["jobId"] = job.json()["id"]
        yield world


# What GET /api/v1/openapi.json serves (test_openapi.py proves it is docs/openapi.yaml). Loaded
# from the file, not the URL: `schemathesis.pytest.from_fixture` fails under pytest 9 (it sets
# the removed `Node._nodeid`), and the server's port is only known once the fixture runs.
schema = schemathesis.openapi.from_path(
    SPEC_PATH,
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                "max-examples": FUZZ_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "with-security-parameters": False,
            },
            # Invalid requests must be refused with one of the contract's refusals (413: the
            # generated body outgrew the 64 KB limit before its schema; 422: its Idempotency-Key
            # came with another request before, which is checked before the body is read).
            "checks": {
                "negative_data_rejection": {"expected-statuses": [400, 401, 404, 413, 415, 422]},
            },
            "phases": {
                # Methods the contract does not list (TRACE, ...) are answered by the server in
                # front of the app (API Gateway; locally, http.server's 501), not by Pulse.
                "coverage": {"unexpected-methods": []},
                "stateful": {"enabled": False},
            },
        }
    ),
)


@schema.parametrize()
def test_the_api_keeps_its_contract(case: Case, world: World) -> None:
    parameters = case.path_parameters or {}
    if parameters and next(world.turns) % 2 == 0:
        existing = world.fresh(parameters) if case.method.upper() == "DELETE" else world.ids
        # Assigned, not edited in place: schemathesis then re-judges the case (positive or not).
        case.path_parameters = {name: existing[name] for name in parameters}
    reacting = case.operation.path.endswith("/reactions") and isinstance(case.body, dict)
    if reacting and next(world.turns) % 2 == 0:
        # A generated string is seldom one emoji: give half the bodies a real one, so that the
        # lookups behind the body's check (the 2xx and the 404s) are reached too.
        case.body = {**case.body, "emoji": EMOJI}
    uploading = case.operation.path.endswith("/attachments") and isinstance(case.body, dict)
    if uploading and next(world.turns) % 2 == 0:
        # Likewise a generated type and size seldom meet the environment's limits.
        case.body = {**case.body, "name": "a.txt", "mimeType": "text/plain", "size": 1}
    if case.headers and "Idempotency-Key" in case.headers and next(world.turns) % 2 == 0:
        # The contract's example key, sent by every idempotent POST, would make all but the
        # first one a 422 (a key reused for another request): half get a key of their own.
        case.headers = {**case.headers, "Idempotency-Key": f"contract-{next(world.counter)}"}
    declared = {parameter.name for parameter in case.operation.query}
    if case.query and not set(case.query) <= declared:
        # The API ignores query parameters it does not know, as most do (cache busters, tracing);
        # unknown *body* fields are refused, and still generated.
        case.query = {name: value for name, value in case.query.items() if name in declared}
    response = case.call_and_validate(
        base_url=world.stack.url, headers=world.auth, checks=CHECKS, timeout=10
    )
    world.seen[case.operation.label][response.status_code] += 1


def test_the_run_reached_both_the_items_and_the_404s(world: World) -> None:
    """Every operation the run above covered answered 2xx at least once, and each one that names
    an item in its path also answered 404: generated ids did not only miss, existing ones did
    not only hit."""
    summary = {label: dict(sorted(counts.items())) for label, counts in sorted(world.seen.items())}
    operations = {op.ok().label for op in schema.get_all_operations()}
    assert set(summary) == operations, "run it after test_the_api_keeps_its_contract, in one run"
    for label, counts in summary.items():
        assert any(200 <= status < 300 for status in counts), (label, summary)
        if "{" in label:
            assert 404 in counts, (label, summary)
