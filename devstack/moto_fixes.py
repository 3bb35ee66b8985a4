"""Where moto's DynamoDB differs from DynamoDB in ways the dev stack (and the benches) would feel:
whole-table copies per transaction item, and transactions that ignore their ClientRequestToken.

- `install_item_rollback()`: moto (5.2.5, `DynamoDBBackend.transact_write_items`) backs a
  transaction up by deep-copying the whole table once per item, about 0.15 s per copy of a
  3,300-item table here, so writes slow down as the dev stack's data grows. DynamoDB does nothing
  of the kind. Instead, the items the transaction names are backed up and restored if it fails;
  what a transaction does and answers is moto's own code, unchanged. Safe only where requests are
  applied one at a time (the dev stack's WriteWatcher; each bench server's single client call).
  A cancelled transaction also leaves no stream records (moto writes one per item it applied
  before the failing one, and per restore), as DynamoDB streams only what committed.
- `IdempotentTransactions`: DynamoDB treats a TransactWriteItems repeated with the same
  ClientRequestToken within 10 minutes as the same request: it succeeds again without writing
  twice (a different request with that token is refused). botocore sends a token with every
  transaction and keeps it when it retries one whose answer timed out, so on a slow dev stack
  moto would otherwise apply a transaction twice (a thread "refused" that exists, a comment
  stored twice).
- `install_fast_item_answers()`: moto (5.2.5) writes every answer through its shape-driven
  response serializer, which walks the botocore model for each attribute of each item: about a
  third of the dev stack's CPU under load. DynamoDB's item operations answer plain JSON whose
  members moto's result already holds; they are encoded directly (bytes as base64, as the
  serializer does). Other operations and every error keep moto's serializer.
- `install_partition_query()`: moto answers a base-table Query by listing and sorting every item
  of the table, so each Query slows down as the table grows; DynamoDB reads only the partition.
  Here a base-table Query sees only its partition's items (moto keeps them apart); what it does
  with them (key conditions, order, filters, limits, paging) is moto's own code. GSI queries
  keep moto's full listing.
- `install_untracked_models()`: moto (5.2.5, `BaseModel.__new__`) appends every model instance
  it ever creates to a class-level list, for its dashboard: every item and attribute value of
  every answer (query results are copies), never released - about 3.4 KB of resident memory
  per delivered push in the dev stack. DynamoDB's models are no longer tracked; the data itself
  lives in the tables as before."""

from __future__ import annotations

import base64
import calendar
import copy
import hashlib
import io
import json
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

TOKEN_SECONDS = 600  # DynamoDB's idempotency window for ClientRequestToken
MISMATCH = "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"

_deepcopy = copy.deepcopy


def install_item_rollback() -> None:
    """Patch moto's DynamoDB backend (process-wide, idempotent)."""
    import moto.dynamodb.models as models

    if getattr(models.DynamoDBBackend.transact_write_items, "_item_rollback", False):
        return
    original = models.DynamoDBBackend.transact_write_items

    class NoTableCopy:
        """Stands in for the `copy` module inside moto.dynamodb.models: a Table is not copied
        (the wrapper below keeps an item-level backup instead); everything else is."""

        def deepcopy(self, x: Any, memo: Any = None) -> Any:
            if isinstance(x, models.Table):  # type: ignore[attr-defined]
                return x
            return _deepcopy(x, memo)

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[str, dict[str, Any], Any]] = []
        for entry in transact_items:
            try:
                op_type, op = next(iter(entry.items()))
                table = self.tables[op["TableName"]]
                key = _key(table, op_type, op)
                current = self.get_item(op["TableName"], key)
            except Exception:  # moto itself refuses the malformed entry  # noqa: S112
                continue
            saved.append((op["TableName"], key, _deepcopy(current)))
        # DynamoDB streams nothing of a cancelled transaction; moto records each item as it is
        # applied (and each restore below): forget those records (webhooks must not see them).
        streams = {
            name: len(table.stream_shard.items)
            for name, table in self.tables.items()
            if table.stream_shard is not None
        }
        try:
            original(self, transact_items)
        except Exception:
            for table_name, key, item in reversed(saved):
                if item is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, item.to_json()["Attributes"])
            for name, length in streams.items():
                del self.tables[name].stream_shard.items[length:]
            raise

    transact_write_items._item_rollback = True  # type: ignore[attr-defined]
    models.copy = NoTableCopy()  # type: ignore[attr-defined,assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _key(table: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


class IdempotentTransactions:
    """WSGI middleware in front of moto: a TransactWriteItems whose ClientRequestToken succeeded
    in the last 10 minutes gets that success again, unapplied; with other parameters, DynamoDB's
    IdempotentParameterMismatchException. Must sit behind something that applies one request at
    a time (devstack/snapshot.py's WriteWatcher), so a retry never overtakes its original."""

    def __init__(self, app: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.clock = clock
        # token -> (digest of the request, when it succeeded, status, headers, body)
        self._done: dict[str, tuple[str, float, str, list[tuple[str, str]], bytes]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).endswith(".TransactWriteItems"):
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            request = json.loads(raw)
            token = request.pop("ClientRequestToken", None)
        except (ValueError, AttributeError):
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        if not isinstance(token, str):
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        now = self.clock()
        self._done = {t: v for t, v in self._done.items() if now - v[1] < TOKEN_SECONDS}
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        if token in self._done:
            seen, _, status, headers, body = self._done[token]
            if seen != digest:
                status = "400 Bad Request"
                headers = [("Content-Type", "application/x-amz-json-1.0")]
                message = "The ClientRequestToken was used for a different request."
                body = json.dumps({"__type": MISMATCH, "message": message}).encode()
            start_response(status, headers)
            return [body]

        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        body = b"".join(self.app(environ, capture))
        if str(captured.get("status", "")).startswith("200"):
            self._done[token] = (digest, now, captured["status"], captured["headers"], body)
        return [body]


# The item operations whose answers are plain JSON of the result's own members.
ITEM_OPERATIONS = frozenset(
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


def install_fast_item_answers() -> None:
    """Patch moto's ActionResult (process-wide, idempotent): see the module docstring."""
    from moto.core.responses import ActionResult

    if getattr(ActionResult.execute_result, "_fast_items", False):
        return
    original = ActionResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        result = self.result
        if (
            type(result) is dict
            and context.operation_model.name in ITEM_OPERATIONS
            and context.service_model.service_name == "dynamodb"
        ):
            members = context.operation_model.output_shape.members  # moto adds a few others
            answer = {k: v for k, v in result.items() if k in members}
            body = json.dumps(_plain(answer), separators=(",", ":"))
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    execute_result._fast_items = True  # type: ignore[attr-defined]
    execute_result.moto = original  # type: ignore[attr-defined]  # what tests compare with
    ActionResult.execute_result = execute_result  # type: ignore[method-assign]


def _plain(value: Any) -> Any:
    """The JSON moto's serializer writes for an item operation's result: members that are None
    left out, bytes as base64, datetimes as epoch seconds (milliseconds kept)."""
    if type(value) is dict:
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if type(value) is list:
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        seconds = calendar.timegm(value.utctimetuple())
        return seconds + (value.microsecond // 1000) / 1000.0 if value.microsecond else seconds
    return value


_partition = threading.local()


def install_partition_query() -> None:
    """Patch moto's Table.query (process-wide, idempotent): see the module docstring."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_partition_only", False):
        return
    original_query = Table.query
    original_all_items = Table.all_items

    def all_items(self: Any) -> Any:
        override = getattr(_partition, "items", None)
        if override is not None and override[0] is self:
            return list(override[1])
        return original_all_items(self)

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None or not self.range_key_attr:
            return original_query(self, hash_key, *args, **kwargs)
        _partition.items = (self, self.items.get(hash_key, {}).values())
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _partition.items = None

    query._partition_only = True  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


class _Untracked(list):  # type: ignore[type-arg]
    """moto's per-class instance list that keeps nothing."""

    def append(self, item: Any) -> None:
        pass


def install_untracked_models() -> None:
    """Stop moto tracking DynamoDB model instances (process-wide, idempotent)."""
    import moto.dynamodb.models  # noqa: F401  (registers the DynamoDB model classes)
    from moto.core.model_instances import model_data

    for model in model_data["dynamodb"].values():
        model.instances_tracked = _Untracked()  # type: ignore[attr-defined]
