"""Binding models to tables and the calls PynamoDB lacks: one shared client, cross-table
consistent BatchGetItem, transactions, and DynamoDB errors mapped to domain errors."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from .. import aws, meter
from ..config import Settings
from ..errors import Unavailable
from .models import TABLES, ControlTable, DataTable, all_models

M = TypeVar("M", bound=Model)

RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)

# Reasons DynamoDB gives for cancelling a transaction's item that mean "retry later".
THROTTLED_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})

_connection: Connection | None = None


class SharedSessionConnection(Connection):
    """A PynamoDB connection whose client comes from the container's one botocore session
    (PynamoDB would otherwise create a session of its own per thread)."""

    @property
    def session(self) -> botocore.session.Session:
        return aws.session()

    @property
    def client(self) -> Any:
        """The botocore client, asking every call for the capacity it consumed (the usage meter
        counts it: chalicelib/meter.py)."""
        client: Any = super().client
        if not getattr(client, "_pulse_metered", False):
            client.meta.events.register("provide-client-params.dynamodb", _ask_capacity)
            client.meta.events.register("after-call.dynamodb", _count_capacity)
            client._pulse_metered = True
        return client

    def _make_api_call(self, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        """Every PynamoDB call passes here: DynamoDB being unavailable (throttled, failing, timed
        out or unreachable once botocore's own retries are spent) becomes Unavailable (503 +
        Retry-After) whichever read or write hit it, lazily iterated queries included. A refused
        transaction keeps the keys of the items it sent, in the order sent: DynamoDB's
        cancellation reasons come in that order (see TransactionCancelled)."""
        try:
            return super()._make_api_call(operation_name, operation_kwargs)
        except ClientError as exc:
            if is_unavailable(exc):
                raise Unavailable("The database is busy; retry shortly.") from exc
            if operation_name == "TransactWriteItems":
                exc.sent_keys = _sent_keys(operation_kwargs)  # type: ignore[attr-defined]
            raise
        except BotoCoreError as exc:  # timeouts, connection errors
            raise Unavailable("The database could not be reached; retry shortly.") from exc


# The calls that can report the capacity they consumed, and which of them only read.
CAPACITY_CALLS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
READ_CALLS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})


def _ask_capacity(params: dict[str, Any], model: Any, **_: Any) -> None:
    if model.name in CAPACITY_CALLS:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")


def _count_capacity(parsed: dict[str, Any], model: Any, **_: Any) -> None:
    consumed = parsed.get("ConsumedCapacity") if isinstance(parsed, dict) else None
    if not consumed:
        return
    reads = writes = 0.0
    for entry in consumed if isinstance(consumed, list) else [consumed]:
        total = float(entry.get("CapacityUnits") or 0)
        read = entry.get("ReadCapacityUnits")
        write = entry.get("WriteCapacityUnits")
        if read is None and write is None:  # only the total: the call's kind says which
            read, write = (total, 0) if model.name in READ_CALLS else (0, total)
        reads += float(read or 0)
        writes += float(write or 0)
    meter.consumed(reads, writes)


def _sent_keys(request: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The (pk, sk) of each item of a TransactWriteItems request, in the request's order."""
    keys = []
    for entry in request.get("TransactItems", ()):
        (operation,) = entry.values()  # {"Put": {...}} or {"Update": ...}, one each
        item = operation.get("Key") or operation.get("Item") or {}
        keys.append((item.get("pk", {}).get("S", ""), item.get("sk", {}).get("S", "")))
    return tuple(keys)


def bind(settings: Settings) -> None:
    """Point every model at the configured tables through one shared botocore client.

    Idempotent; call again after settings change (tests, local stack)."""
    global _connection
    _connection = SharedSessionConnection(
        region=settings.region,
        host=settings.dynamodb_endpoint,
        connect_timeout_seconds=2,
        read_timeout_seconds=5,
        max_retry_attempts=2,
        max_pool_connections=32,
    )
    names = {ControlTable: settings.control_table, DataTable: settings.data_table}
    for table, name in names.items():
        table.Meta.table_name = name
        table.Meta.region = settings.region
        table.Meta.host = settings.dynamodb_endpoint
        table._connection = None
        table_connection = table._get_connection()  # built from the model schema: no DescribeTable
        _connection.add_meta_table(table_connection.connection.get_meta_table(name))
        table_connection.connection = _connection  # share one client and its HTTP pool
    for model in all_models():
        base = next(t for t in TABLES if issubclass(model, t))
        model._connection = base._connection


def connection() -> Connection:
    if _connection is None:
        raise RuntimeError("chalicelib.db.dynamo.bind() has not been called")
    return _connection


# Not frozen: contextlib assigns __traceback__ on exceptions leaving a @contextmanager, which a
# frozen dataclass refuses (that turned every cancelled transaction into a 500).
@dataclass(eq=False)
class TransactionCancelled(Exception):
    """A transaction was refused: DynamoDB's reason code for each item it refused, by the item's
    (pk, sk). Reasons are matched to the items of the request as sent (PynamoDB groups items by
    kind, so the order they were written in says nothing)."""

    refusals: dict[tuple[str, str], str]

    @property
    def conflict(self) -> bool:
        return any(r in ("ConditionalCheckFailed", "TransactionConflict") for r in self.reasons)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(self.refusals.values())

    def reason(self, pk: str, sk: str) -> str | None:
        """The reason given for the item with this key (None: it was not refused)."""
        return self.refusals.get((pk, sk))


@contextmanager
def transaction(token: str | None = None) -> Iterator[TransactWrite]:
    """All-or-nothing writes across both tables. Raises TransactionCancelled or Unavailable."""
    with unavailable_on_throttle():
        try:
            with TransactWrite(connection=connection(), client_request_token=token) as tx:
                yield tx
        except TransactWriteError as exc:
            reasons = [r.code if r else None for r in exc.cancellation_reasons]
            if exc.cause_response_code == "TransactionCanceledException" and any(reasons):
                if THROTTLED_REASONS & set(reasons):
                    raise Unavailable("The database is busy; retry shortly.") from exc
                keys = getattr(exc.cause, "sent_keys", ())
                refusals = {
                    key: reason
                    for key, reason in zip(keys, reasons, strict=True)
                    if reason not in (None, "None")
                }
                raise TransactionCancelled(refusals) from exc
            raise


def batch_get(keys: Sequence[tuple[type[Model], str, str]]) -> list[Any]:
    """One consistent BatchGetItem over any tables; results in the order of `keys` (None = absent).

    Consistent reads see every committed write: key revocation is checked here, never via a GSI."""
    request: dict[str, dict[str, Any]] = {}
    for model, pk, sk in keys:
        table = request.setdefault(model.Meta.table_name, {"Keys": [], "ConsistentRead": True})
        key = {"pk": {"S": pk}, "sk": {"S": sk}}
        if key not in table["Keys"]:
            table["Keys"].append(key)
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    with unavailable_on_throttle():
        for attempt in range(4):
            client: Any = connection().client
            response = client.batch_get_item(RequestItems=request)
            for table_name, items in response.get("Responses", {}).items():
                for item in items:
                    found[(table_name, item["pk"]["S"], item["sk"]["S"])] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.02 * 2**attempt)
        else:
            raise Unavailable("The database is busy; retry shortly.")
    results: list[Any] = []
    for model, pk, sk in keys:
        raw = found.get((model.Meta.table_name, pk, sk))
        results.append(model.from_raw_data(raw) if raw is not None else None)
    return results


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, PynamoDBException):
        return exc.cause_response_code
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code"))
    return None


def is_condition_failure(exc: BaseException) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


def is_unavailable(exc: BaseException) -> bool:
    """A throttle or transient server error, or a transaction with an item cancelled for
    throughput (a retry re-evaluates any condition that failed alongside)."""
    if error_code(exc) in RETRYABLE_CODES:
        return True
    reasons = getattr(exc, "cancellation_reasons", None) or ()  # pynamodb's, on both types
    return any(r is not None and r.code in THROTTLED_REASONS for r in reasons)


@contextmanager
def unavailable_on_throttle() -> Iterator[None]:
    """Throttling and transient DynamoDB failures become Unavailable (503 + Retry-After).
    PynamoDB's calls get this from SharedSessionConnection already; the shared client's own
    calls (batch_get) need it."""
    try:
        yield
    except (PynamoDBException, ClientError) as exc:
        if is_unavailable(exc):
            raise Unavailable("The database is busy; retry shortly.") from exc
        raise
    except BotoCoreError as exc:  # timeouts, connection errors
        raise Unavailable("The database could not be reached; retry shortly.") from exc
