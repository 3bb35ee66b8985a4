"""Dev-stack persistence (moto keeps nothing on disk): every table dumped to one JSON file after
writes (debounced) and at shutdown, and loaded back into fresh tables at start.

Scan is fine here: this is the developer tool, never a request path."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from chalicelib.db.models import TTL_ATTRIBUTE

log = logging.getLogger("pulse.devstack")

FORMAT = "pulse-dev-dynamodb-snapshot"
VERSION = 1
BATCH_WRITE_MAX = 25  # DynamoDB's BatchWriteItem limit

# DynamoDB operations that never change data; anything else marks the snapshot dirty (marking
# it for a read costs one extra save, missing a write loses data).
READ_OPERATIONS = frozenset(
    {
        "BatchGetItem",
        "DescribeContinuousBackups",
        "DescribeEndpoints",
        "DescribeLimits",
        "DescribeTable",
        "DescribeTimeToLive",
        "GetItem",
        "ListBackups",
        "ListTables",
        "ListTagsOfResource",
        "Query",
        "Scan",
        "TransactGetItems",
    }
)

Item = dict[str, Any]  # DynamoDB JSON: {"pk": {"S": "..."}, ...}


class SnapshotError(RuntimeError):
    """The snapshot file exists but cannot be used; the stack refuses to start over it."""


def dump_tables(client: Any, names: Iterable[str]) -> dict[str, list[Item]]:
    """Every item of each table (consistent scans)."""
    tables: dict[str, list[Item]] = {}
    for name in names:
        items: list[Item] = []
        for page in client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
            items.extend(page.get("Items", []))
        tables[name] = items
    return tables


def write_snapshot(path: Path, tables: dict[str, list[Item]]) -> None:
    """Atomically replace `path` (temp file in the same directory, fsync, os.replace), mode 0600."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "savedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tables": {
            name: [_encode_item(item) for item in items] for name, items in sorted(tables.items())
        },
    }
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(document, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_snapshot(path: Path) -> dict[str, list[Item]] | None:
    """The tables in the snapshot, or None when there is none yet."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc}") from exc
    try:
        document = json.loads(raw)
        if document.get("format") != FORMAT or document.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} v{VERSION} file")
        return {
            str(name): [_decode_item(item) for item in items]
            for name, items in document["tables"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SnapshotError(f"{path} is not a usable snapshot ({exc})") from exc


def restore(
    client: Any, tables: dict[str, list[Item]], existing: Iterable[str], now: float
) -> tuple[int, list[str]]:
    """BatchWriteItem the snapshot into the (empty) tables: (items written, tables skipped).

    Items whose TTL has passed are dropped, as DynamoDB would eventually. Tables in the snapshot
    that do not exist now (another PULSE_TABLE_PREFIX) are skipped and reported."""
    wanted = set(existing)
    written = 0
    skipped = sorted(name for name in tables if name not in wanted)
    for name, items in tables.items():
        if name not in wanted:
            continue
        live = [item for item in items if not _expired(item, now)]
        for chunk in _chunks(live, BATCH_WRITE_MAX):
            request: dict[str, Any] = {name: [{"PutRequest": {"Item": item}} for item in chunk]}
            for attempt in range(8):
                response = client.batch_write_item(RequestItems=request)
                request = response.get("UnprocessedItems") or {}
                if not request:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise SnapshotError(f"DynamoDB kept refusing items while restoring {name}")
        written += len(live)
    return written, skipped


class Snapshotter:
    """Saves after writes, at most once per `delay` seconds (a burst of writes costs one save),
    and once more on close."""

    def __init__(self, save: Callable[[], None], delay: float = 1.0) -> None:
        self._save = save
        self._delay = delay
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pulse-snapshot", daemon=True)

    def mark_dirty(self) -> None:
        self._dirty.set()

    def start(self) -> None:
        self._dirty.clear()  # writes made while setting up (table creation, restore) are saved
        self._thread.start()

    def close(self) -> bool:
        """Stop the saver and save the final state (call before the database goes away).
        Returns whether that save worked."""
        self._stopping.set()
        self._dirty.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.save_now()

    def save_now(self) -> bool:
        try:
            self._save()
        except Exception:  # keep serving; the next write or shutdown tries again
            log.exception("saving the local data snapshot failed")
            return False
        return True

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            if self._stopping.wait(self._delay):
                return  # close() does the final save
            # Cleared before saving: a write landing during the save marks it dirty again.
            self._dirty.clear()
            if not self.save_now():
                self._dirty.set()


class WriteWatcher:
    """WSGI middleware in front of moto: applies one request at a time and reports each DynamoDB
    request that may have written, after moto has applied it.

    moto is not thread-safe (a transaction is applied item by item and rolled back by restoring
    a copy of the table), so concurrent requests from the threaded API server could interleave
    or undo each other. Real DynamoDB applies each request atomically; the lock restores that."""

    def __init__(self, app: Any, on_write: Callable[[], None]) -> None:
        self.app = app
        self.on_write = on_write
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self._lock:
            result = self.app(environ, start_response)
        service, _, operation = str(environ.get("HTTP_X_AMZ_TARGET", "")).partition(".")
        if service.startswith("DynamoDB_") and operation not in READ_OPERATIONS:
            self.on_write()
        return result


def _expired(item: Item, now: float) -> bool:
    ttl = item.get(TTL_ATTRIBUTE, {}).get("N")
    try:
        return ttl is not None and float(ttl) < now
    except ValueError:
        return False


def _chunks(items: list[Item], size: int) -> Iterator[list[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# JSON has no bytes: binary attribute values (B, BS) are stored base64-encoded.


def _encode_item(item: Item) -> Item:
    return {name: _encode_value(value) for name, value in item.items()}


def _decode_item(item: Item) -> Item:
    if not isinstance(item, dict):
        raise TypeError("an item must be an object")
    return {str(name): _decode_value(value) for name, value in item.items()}


def _encode_value(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode("ascii") for b in inner]}
    if kind == "M":
        return {"M": _encode_item(inner)}
    if kind == "L":
        return {"L": [_encode_value(v) for v in inner]}
    return value


def _decode_value(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if kind == "M":
        return {"M": _decode_item(inner)}
    if kind == "L":
        return {"L": [_decode_value(v) for v in inner]}
    return value
