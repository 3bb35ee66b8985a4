"""DynamoDB faults on demand: a botocore `before-call` hook on the shared DynamoDB client that
answers chosen calls with an error instead of sending them, as DynamoDB does once botocore's own
retries are spent. The failed call never reaches moto, so it changes nothing: exactly what a
throttled or failed DynamoDB request does.

A fault is chosen by call index (the k-th DynamoDB call since `arm()`, 0-based), by operation,
or both; `calls` lists every operation attempted while armed (failed ones included), so a test
can first learn an operation's calls and then fail each in turn. `names()` tells apart the one
UpdateItem every authenticated REST v1 request and token mint makes of its environment's rate
counters (RATE, chalicelib/services/limits.py): counting is best-effort, a request goes on when
it fails.

`before-call` short-circuits botocore's retry loop, so one injected error is final. To exercise
the retries themselves, `transient()` raises a connection error from `before-send` (inside the
retry loop, before moto sees the request) for the first N attempts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from bench.calls import Call, is_meter_call
from chalicelib.db import dynamo

# Error "kinds" a test can ask for: DynamoDB error codes, a cancelled transaction whose items
# were throttled, and the two transport failures botocore raises.
THROTTLE = "ProvisionedThroughputExceededException"
THROTTLING = "ThrottlingException"
LIMIT = "RequestLimitExceeded"
SERVER = "InternalServerError"
TX_THROTTLED = "TransactionCanceledException:ThrottlingError"
TIMEOUT = "ReadTimeout"
UNREACHABLE = "EndpointConnectionError"

KINDS = (THROTTLE, THROTTLING, LIMIT, SERVER, TX_THROTTLED, TIMEOUT, UNREACHABLE)

ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com"

# The rate count of an authenticated request: an UpdateItem of `RL#env:<envId>#<second>`.
RATE = "UpdateItem rate"


@dataclass
class Rule:
    kind: str
    at: int | None = None  # the call index (since arm()) that fails
    operation: str | None = None  # only calls of this operation (counted among themselves)
    times: int | None = None  # fail this many matching calls, then stop (None: every one)
    seen: int = 0  # matching calls so far
    fired: int = 0

    def matches(self, index: int, operation: str) -> bool:
        if self.operation is not None and operation != self.operation:
            return False
        position = self.seen if self.operation is not None else index
        self.seen += 1
        if self.at is not None and position != self.at:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True


@dataclass
class Faults:
    """Installed on the runtime's DynamoDB client by the `faults` fixture."""

    calls: list[str] = field(default_factory=list)  # operations attempted since arm()
    targets: list[str | None] = field(default_factory=list)  # each call's item pk (single-item)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (index, operation, kind)
    rules: list[Rule] = field(default_factory=list)
    armed: bool = False
    transient_left: int = 0
    transient_kind: str = TIMEOUT
    attempts: list[str] = field(default_factory=list)  # before-send: every HTTP attempt
    # The usage meter's calls (services/metering.py) are neither counted nor failed here: its
    # counting never fails a request, which tests/realtime/test_usage_analytics.py checks.
    metered: list[str] = field(default_factory=list)

    # --- choosing faults -------------------------------------------------------------------

    def arm(self) -> Faults:
        """Start counting calls from 0 (and forget earlier rules)."""
        self.calls, self.targets, self.failed, self.rules = [], [], [], []
        self.armed = True
        return self

    def fail_at(self, index: int, kind: str = THROTTLE) -> Faults:
        """The `index`-th DynamoDB call from now (0-based) fails with `kind`."""
        self.arm()
        self.rules.append(Rule(kind, at=index))
        return self

    def fail(
        self,
        operation: str,
        kind: str = THROTTLE,
        *,
        at: int | None = None,
        times: int | None = None,
    ) -> Faults:
        """Calls of `operation` fail: all of them, its `at`-th (0-based), or its first `times`."""
        self.arm()
        self.rules.append(Rule(kind, at=at, operation=operation, times=times))
        return self

    def record(self) -> Faults:
        """Count calls, fail none (to learn an operation's calls)."""
        return self.arm()

    def names(self) -> list[str]:
        """`calls`, with the rate count (an UpdateItem of the environment's counters) as RATE."""
        return [
            RATE if op == "UpdateItem" and (pk or "").startswith("RL#env:") else op
            for op, pk in zip(self.calls, self.targets, strict=True)
        ]

    def off(self) -> None:
        self.rules, self.armed, self.transient_left = [], False, 0

    def transient(self, attempts: int, kind: str = TIMEOUT) -> Faults:
        """The next `attempts` HTTP attempts fail in transport (botocore may retry them)."""
        self.transient_left, self.transient_kind, self.attempts = attempts, kind, []
        return self

    # --- the hooks -------------------------------------------------------------------------

    def before_call(self, model: Any, params: Any, context: Any, **_: Any) -> Any:
        if not self.armed:
            return None
        if is_meter_call(Call(model.name, _body(params))):
            self.metered.append(model.name)
            return None
        index, operation = len(self.calls), model.name
        self.calls.append(operation)
        self.targets.append(_item_pk(params))
        for rule in self.rules:
            if rule.matches(index, operation):
                self.failed.append((index, operation, rule.kind))
                return self._answer(rule.kind, operation, params)
        return None

    def before_send(self, request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        if isinstance(target, bytes):
            target = target.decode()
        self.attempts.append(target.rsplit(".", 1)[-1])  # DynamoDB_20120810.PutItem
        if self.transient_left > 0:
            self.transient_left -= 1
            raise _transport(self.transient_kind)

    @staticmethod
    def _answer(kind: str, operation: str, params: Any) -> tuple[AWSResponse, dict[str, Any]]:
        if kind in (TIMEOUT, UNREACHABLE):
            raise _transport(kind)
        code, _, reason = kind.partition(":")
        status = 500 if code == SERVER else 400
        parsed: dict[str, Any] = {
            "Error": {"Code": code, "Message": f"injected {kind}"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RequestId": "x"},
        }
        if reason:
            body = params.get("body") if isinstance(params, dict) else None
            count = _transact_items(body)
            parsed["CancellationReasons"] = [{"Code": reason, "Message": "injected"}] + [
                {"Code": "None"} for _ in range(max(0, count - 1))
            ]
        return AWSResponse(ENDPOINT, status, {}, None), parsed


def _transport(kind: str) -> Exception:
    if kind == UNREACHABLE:
        return EndpointConnectionError(endpoint_url=ENDPOINT)
    return ReadTimeoutError(endpoint_url=ENDPOINT)


def _body(params: Any) -> dict[str, Any]:
    """The request's parameters, from its serialized body."""
    body = params.get("body") if isinstance(params, dict) else None
    try:
        data = json.loads(body) if isinstance(body, (bytes, str)) and body else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _item_pk(params: Any) -> str | None:
    """The pk of the one item a GetItem/PutItem/UpdateItem/DeleteItem addresses (else None)."""
    body = params.get("body") if isinstance(params, dict) else None
    try:
        data = json.loads(body) if isinstance(body, (bytes, str)) and body else {}
    except ValueError:
        return None
    key = data.get("Key") or data.get("Item") or {}
    pk = key.get("pk", {}) if isinstance(key, dict) else {}
    return pk.get("S") if isinstance(pk, dict) else None


def _transact_items(body: Any) -> int:
    try:
        data = json.loads(body) if isinstance(body, (bytes, str)) else {}
    except ValueError:
        return 1
    return len(data.get("TransactItems", [])) or 1


@contextmanager
def installed() -> Iterator[Faults]:
    """Hook a Faults onto the runtime's DynamoDB client (dynamo.bind must have run)."""
    faults = Faults()
    events = dynamo.connection().client.meta.events
    events.register_first("before-call.dynamodb", faults.before_call)
    events.register_first("before-send.dynamodb", faults.before_send)
    try:
        yield faults
    finally:
        events.unregister("before-call.dynamodb", faults.before_call)
        events.unregister("before-send.dynamodb", faults.before_send)
