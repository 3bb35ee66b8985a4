"""Counting AWS API calls at botocore: the one recorder behind bench/round_trips.py and the
suite's budget tests (tests/integration/conftest.py's `dynamo_calls` fixture).

It wraps `BaseClient._make_api_call`, through which every botocore client's calls pass (PynamoDB's
model calls and the shared client's own `batch_get_item` alike), so no call slips past it."""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

from chalicelib.repositories import usage_days

MakeApiCall = Callable[[Any, str, dict[str, Any]], Any]


@dataclass(frozen=True)
class Call:
    operation: str
    params: dict[str, Any]


# The usage meter's items (chalicelib/repositories/usage_days.py) and attributes.
METER_ATTRIBUTES = frozenset({usage_days.LIVE, "seenDay"})


def is_meter_call(call: Call) -> bool:
    """A call of the usage meter (services/metering.py): budgets list an operation's own calls,
    and tests/realtime/test_usage_analytics.py holds the meter's."""
    sk = (call.params.get("Key") or {}).get("sk", {}).get("S", "")
    names = set((call.params.get("ExpressionAttributeNames") or {}).values())
    return sk.startswith(usage_days.SK_PREFIXES) or bool(names & METER_ATTRIBUTES)


@dataclass
class DynamoCalls:
    """Every DynamoDB API call made while `record()` is open, from any botocore client; the calls
    to other services (the Management API's pushes) are counted in `others` by operation, and
    the usage meter's in `metered` (an invocation's own calls are in `calls`)."""

    calls: list[Call] = field(default_factory=list)
    others: list[tuple[str, str]] = field(default_factory=list)  # (service, operation)
    metered: list[Call] = field(default_factory=list)
    active: bool = False

    @contextmanager
    def record(self) -> Iterator[list[Call]]:
        self.calls = []
        self.others = []
        self.metered = []
        self.active = True
        try:
            yield self.calls
        finally:
            self.active = False

    def wrap(self, original: MakeApiCall) -> MakeApiCall:
        """`original` (BaseClient._make_api_call), recording into this recorder."""

        def recording(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            if self.active:
                service = client.meta.service_model.service_name
                if service == "dynamodb":
                    call = Call(operation_name, copy.deepcopy(api_params))
                    (self.metered if is_meter_call(call) else self.calls).append(call)
                else:
                    self.others.append((service, operation_name))
            return original(client, operation_name, api_params)

        return recording


@contextmanager
def installed() -> Iterator[DynamoCalls]:
    """A recorder wrapped around every botocore client's calls until the block ends."""
    recorder = DynamoCalls()
    original = BaseClient._make_api_call
    BaseClient._make_api_call = recorder.wrap(original)  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def count_requests(api: Any) -> Counter[str]:
    """Count the Management API requests the production sender makes (it signs and sends them
    itself, past botocore's client hooks): `post` (one per recipient, post_many included) and
    `close` (DELETE)."""
    sent: Counter[str] = Counter()
    lock = threading.Lock()
    real_post, real_close = api.post, api.close

    def post(c: Any, data: bytes) -> str:
        with lock:
            sent["post"] += 1
        return str(real_post(c, data))

    def close(c: Any) -> None:
        with lock:
            sent["close"] += 1
        real_close(c)

    api.post, api.close = post, close  # post_many calls self.post: counted per recipient
    return sent
