"""The dev stack's persistence: what a snapshot keeps, how it is written, and when it is saved."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.snapshot import (
    SnapshotError,
    Snapshotter,
    WriteWatcher,
    dump_tables,
    read_snapshot,
    restore,
    write_snapshot,
)
from infra.tables import create_tables

PREFIX = "pulse-snap-"
CONTROL = PREFIX + "control"
DATA = PREFIX + "data"


@pytest.fixture
def dynamodb(aws: None) -> Any:
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_tables(client, PREFIX)
    return client


def item(pk: str, sk: str, **extra: Any) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **extra}


def all_items(client: Any, name: str) -> list[dict[str, Any]]:
    items = dump_tables(client, [name])[name]
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def recreate(client: Any) -> None:
    for name in (CONTROL, DATA):
        client.delete_table(TableName=name)
    create_tables(client, PREFIX)


def test_a_saved_snapshot_restores_every_item_and_attribute_type(
    dynamodb: Any, tmp_path: Path
) -> None:
    rich = item(
        "ENV#e1",
        "KEY#k1",
        name={"S": "n"},
        n={"N": "42"},
        ids={"SS": ["a", "b"]},
        raw={"B": b"\x00\xffbytes"},
        raws={"BS": [b"\x01", b"\x02"]},
        nested={"M": {"x": {"L": [{"S": "y"}, {"B": b"\x03"}, {"NULL": True}]}}},
        flag={"BOOL": False},
    )
    dynamodb.put_item(TableName=CONTROL, Item=rich)
    dynamodb.put_item(TableName=DATA, Item=item("ENV#e1", "USER#u1", gsi1pk={"S": "x"}))
    before = {name: all_items(dynamodb, name) for name in (CONTROL, DATA)}
    path = tmp_path / "dynamodb.json"

    write_snapshot(path, dump_tables(dynamodb, [CONTROL, DATA]))
    recreate(dynamodb)
    assert all_items(dynamodb, CONTROL) == []
    written, skipped = restore(dynamodb, read_snapshot(path) or {}, [CONTROL, DATA], time.time())

    assert (written, skipped) == (2, [])
    assert {name: all_items(dynamodb, name) for name in (CONTROL, DATA)} == before


def test_restore_writes_more_than_one_batch(dynamodb: Any, tmp_path: Path) -> None:
    items = [item("ENV#e1", f"USER#{n:03}") for n in range(60)]  # BatchWriteItem takes 25
    written, _ = restore(dynamodb, {DATA: items}, [CONTROL, DATA], time.time())
    assert written == 60
    assert len(all_items(dynamodb, DATA)) == 60


def test_restore_drops_items_whose_ttl_has_passed(dynamodb: Any) -> None:
    now = time.time()
    items = [
        item("OP#o1", "SESSION#old", ttl={"N": str(int(now) - 10)}),
        item("OP#o1", "SESSION#new", ttl={"N": str(int(now) + 3600)}),
        item("OP#o1", "OP"),
    ]
    written, _ = restore(dynamodb, {CONTROL: items}, [CONTROL, DATA], now)
    assert written == 2
    assert [i["sk"]["S"] for i in all_items(dynamodb, CONTROL)] == ["OP", "SESSION#new"]


def test_restore_skips_and_reports_tables_of_another_prefix(dynamodb: Any) -> None:
    snapshot = {"pulse-other-control": [item("OP#o1", "OP")], CONTROL: [item("OP#o2", "OP")]}
    written, skipped = restore(dynamodb, snapshot, [CONTROL, DATA], time.time())
    assert (written, skipped) == (1, ["pulse-other-control"])


def test_no_snapshot_yet_reads_as_none(tmp_path: Path) -> None:
    assert read_snapshot(tmp_path / "missing.json") is None


@pytest.mark.parametrize(
    "content",
    ["{not json", json.dumps({"format": "something-else", "version": 1, "tables": {}}), "[]"],
)
def test_an_unusable_snapshot_is_refused_not_overwritten(tmp_path: Path, content: str) -> None:
    path = tmp_path / "dynamodb.json"
    path.write_text(content)
    with pytest.raises(SnapshotError):
        read_snapshot(path)
    assert path.read_text() == content


def test_write_snapshot_replaces_the_file_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "dynamodb.json"
    write_snapshot(path, {CONTROL: [item("a", "b")]})
    write_snapshot(path, {CONTROL: [item("c", "d")]})

    assert read_snapshot(path) == {CONTROL: [item("c", "d")]}
    assert os.listdir(path.parent) == ["dynamodb.json"]  # no temp file left behind
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_failed_write_keeps_the_previous_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "dynamodb.json"
    write_snapshot(path, {CONTROL: [item("a", "b")]})
    with pytest.raises(TypeError):
        write_snapshot(path, {CONTROL: [item("c", "d", bad={"S": object()})]})
    assert read_snapshot(path) == {CONTROL: [item("a", "b")]}
    assert os.listdir(tmp_path) == ["dynamodb.json"]


class Saves:
    """A save function that records calls and can be awaited (bounded) from the test."""

    def __init__(self) -> None:
        self.count = 0
        self.called = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.called.set()


def test_snapshotter_saves_after_a_write() -> None:
    saves = Saves()
    snapshotter = Snapshotter(saves, delay=0)
    snapshotter.start()
    try:
        snapshotter.mark_dirty()
        assert saves.called.wait(timeout=10), "no save after a write"
    finally:
        snapshotter.close()


def test_snapshotter_without_writes_saves_only_on_close() -> None:
    saves = Saves()
    snapshotter = Snapshotter(saves, delay=0)
    snapshotter.mark_dirty()  # set-up writes (table creation, restore) do not count
    snapshotter.start()
    snapshotter.close()
    assert saves.count == 1


def test_snapshotter_close_saves_pending_writes_at_once() -> None:
    saves = Saves()
    snapshotter = Snapshotter(saves, delay=3600)  # the debounce would never fire in this test
    snapshotter.start()
    snapshotter.mark_dirty()
    assert snapshotter.close() is True
    assert saves.count == 1


def test_a_failing_save_is_logged_and_does_not_stop_the_stack() -> None:
    def broken() -> None:
        raise OSError("disk full")

    snapshotter = Snapshotter(broken, delay=0)
    snapshotter.start()
    snapshotter.mark_dirty()
    assert snapshotter.close() is False  # reported, not raised: the stack still shuts down


def call_watcher(target: str | None) -> int:
    writes = []
    watcher = WriteWatcher(lambda env, start: [b"ok"], lambda: writes.append(1))
    environ = {"HTTP_X_AMZ_TARGET": target} if target is not None else {}
    assert watcher(environ, None) == [b"ok"]
    return len(writes)


@pytest.mark.parametrize(
    "operation",
    ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "CreateTable"],
)
def test_watcher_reports_dynamodb_writes(operation: str) -> None:
    assert call_watcher(f"DynamoDB_20120810.{operation}") == 1


@pytest.mark.parametrize("operation", ["GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable"])
def test_watcher_ignores_dynamodb_reads(operation: str) -> None:
    assert call_watcher(f"DynamoDB_20120810.{operation}") == 0


@pytest.mark.parametrize("target", [None, "DynamoDBStreams_20120810.GetRecords", "AWSIE.PutItem"])
def test_watcher_ignores_other_services(target: str | None) -> None:
    assert call_watcher(target) == 0
