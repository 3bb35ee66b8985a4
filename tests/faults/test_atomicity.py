"""All or nothing under DynamoDB faults: a key rotation, a room delete and a comment with its
counters either happen whole or not at all, and a retry completes them.

Each operation is first run once to learn its DynamoDB calls, then run again on fresh things
with each call failing in turn (k = 0..n-1). Both tables are snapshotted around the request:
a failure at or before the commit must leave them exactly as they were (503), a failure after it
must leave the whole change (the request succeeds), and retrying a failed request must end in
the whole change, once.

A REST v1 request also counts itself against its environment's rate limits: one UpdateItem
(RATE) right after its read, before the commit. Counting is best-effort (services/limits.py):
with that call failing the request still succeeds, whole, and is just not counted. The counters
are checked apart from the data, exactly: +1 for each request whose count went through."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import runtime

from .conftest import Diff, Snapshot, World, counters_grown, diff, number, snapshot
from .injector import RATE, THROTTLE, TIMEOUT, TX_THROTTLED, Faults

V1 = "/api/v1"
COMMIT = "TransactWriteItems"
# Calls before the commit that may fail without failing the request.
BEST_EFFORT = frozenset({RATE})


def learn(faults: Faults, run: Any) -> list[str]:
    """The DynamoDB calls of one fault-free run of `run()` (which must succeed)."""
    faults.record()
    run()
    calls = faults.names()
    faults.off()
    assert calls.count(COMMIT) == 1, calls  # one transaction: the commit point
    return calls


def kinds_at(calls: list[str]) -> list[tuple[int, str]]:
    """Each call index with a throttle and a timeout, and the commit also cancelled-throttled."""
    cases = [(k, kind) for k in range(len(calls)) for kind in (THROTTLE, TIMEOUT)]
    return [*cases, (calls.index(COMMIT), TX_THROTTLED)]


def fail_and_compare(
    w: World, faults: Faults, calls: list[str], k: int, kind: str, request: tuple[Any, ...]
) -> tuple[Any, Snapshot, Snapshot]:
    """The request again with its k-th call (of `calls`, learned) failing, between snapshots."""
    before = snapshot()
    faults.fail_at(k, kind)
    method, path, body, token = request
    resp = w.request(method, path, body, token=token)
    fired, made = list(faults.failed), faults.names()
    faults.off()
    assert len(fired) == 1 and fired[0][0] == k, fired
    assert made[: k + 1] == calls[: k + 1], (k, made)
    if calls[k] in BEST_EFFORT:  # the request went on as if nothing had failed
        assert made == calls, (k, made)
    elif k < calls.index(COMMIT):  # nothing after a failure before the commit
        assert made == calls[: k + 1], (k, made)
    return resp, before, snapshot()


def counts_of(w: World, calls: list[str], k: int) -> dict[str, dict[str, int]]:
    """What a request whose k-th call failed added to the rate counters: one count if its rate
    count ran and was not the call that failed (the failed call never reached DynamoDB)."""
    return w.rest_counts(1 if RATE in calls and k > calls.index(RATE) else 0)


def expect(resp: Any, calls: list[str], k: int, ok: int) -> bool:
    """True if the change must be whole: the request failed after the commit, or in a
    best-effort call before it (the rate count); then it succeeds."""
    commit = calls.index(COMMIT)
    if k > commit or calls[k] in BEST_EFFORT:
        assert resp.status_code == ok, (k, calls[k], resp.status_code, resp.body)
        return True
    assert resp.status_code == 503, (k, calls[k], resp.status_code, resp.body)
    assert resp.headers["Retry-After"] == "1"
    return False


# --- a comment and its counters ------------------------------------------------------------------


def new_event(d: Diff, e: str, room: str, kind: str) -> set[tuple[str, str, str]]:
    """The one event item the change wrote (the webhooks' source), of type `kind`, and the
    room's log head it moved on by exactly one, to the event's seq: their keys."""
    pk = f"ENV#{e}#EVENTS#{room}"
    events = {k: v for k, v in d.added.items() if k[:2] == ("data", pk) and k[2].startswith("SEQ#")}
    assert [v["type"]["S"] for v in events.values()] == [kind], events
    (event,) = events.values()
    head = ("data", pk, "HEAD")
    if head in d.added:
        assert number(d.added[head], "seq") == number(event, "seq") == 1
    else:
        old, new = d.changed[head]
        assert number(new, "seq") == number(old, "seq") + 1 == number(event, "seq")
    return set(events) | {head}


def assert_one_whole_comment(d: Diff, w: World, room: str, thread: str, today: str) -> None:
    e = w.env_id
    assert d.removed == {}
    event = new_event(d, e, room, "comment.created")  # written with it, once
    (added,) = set(d.added) - event
    assert added[:2] == ("data", f"ENV#{e}#THREAD#{thread}") and added[2].startswith("COMMENT#")
    counted = {
        ("data", f"ENV#{e}#ROOM#{room}", f"THREAD#{thread}"): "comment_count",
        ("data", f"ENV#{e}", f"ROOM#{room}"): "comment_count",
        ("data", f"ENV#{e}", "STATS"): "comments",
        ("data", f"ENV#{e}", f"DAY#{today}"): "comments",
    }
    assert set(d.changed) - event == set(counted)
    for key, attribute in counted.items():
        old, new = d.changed[key]
        assert number(new, attribute) == number(old, attribute) + 1, (key, old, new)


COMMENT_CALLS = [
    "BatchGetItem",  # check-and-read
    RATE,  # the request counted against the environment's rate limits (best-effort)
    COMMIT,  # the comment and its counters
    "Query",  # the fan-out's read of the room's connections
]


def test_comment_calls_are_what_this_test_expects(world: World, faults: Faults) -> None:
    room, thread = world.room(), None
    thread = world.thread(room)
    path = f"{V1}/rooms/{room}/threads/{thread}/comments"
    calls = learn(
        faults, lambda: world.request("POST", path, {"userId": "u", "body": "b"}, token=world.sk)
    )
    assert calls == COMMENT_CALLS


@pytest.mark.parametrize(("k", "kind"), kinds_at(COMMENT_CALLS))
def test_a_comment_and_its_counters_are_written_whole_or_not_at_all(
    k: int, kind: str, world: World, faults: Faults
) -> None:
    room = world.room()
    thread = world.thread(room, comments=2)
    path = f"{V1}/rooms/{room}/threads/{thread}/comments"
    body = {"userId": "bob", "body": "hello"}
    calls = learn(faults, lambda: world.request("POST", path, body, token=world.sk))
    assert calls == COMMENT_CALLS
    today = runtime.services().clock.now_iso()[:10]

    resp, before, after = fail_and_compare(
        world, faults, calls, k, kind, ("POST", path, body, world.sk)
    )

    assert counters_grown(before, after) == counts_of(world, calls, k)  # and no other counter
    if expect(resp, calls, k, 201):
        assert_one_whole_comment(diff(before, after).without_counters(), world, room, thread, today)
        return
    assert diff(before, after).without_counters().empty
    # The client retries: the comment is written once, with its counters.
    retry = world.request("POST", path, body, token=world.sk)
    assert retry.status_code == 201, retry.body
    end = snapshot()
    assert counters_grown(after, end) == world.rest_counts(1)
    assert_one_whole_comment(diff(before, end).without_counters(), world, room, thread, today)


# --- a key rotation ------------------------------------------------------------------------------


def assert_one_whole_rotation(d: Diff, env_id: str, old_key_ids: set[str]) -> None:
    assert d.removed == {}
    assert {k[0] for k in d.touched()} == {"control"}
    assert {k[1] for k in d.touched()} == {f"ENV#{env_id}"}
    added_kinds = sorted(k[2].split("#")[0] for k in d.added)
    assert added_kinds == ["AUDIT", "KEY", "KEY"]
    new_ids = {k[2].split("#")[1] for k in d.added if k[2].startswith("KEY#")}
    assert set(d.changed) == {("control", f"ENV#{env_id}", "ENV")} | {
        ("control", f"ENV#{env_id}", f"KEY#{i}") for i in old_key_ids
    }
    env_old, env_new = d.changed[("control", f"ENV#{env_id}", "ENV")]
    assert set(env_new["active_key_ids"]["SS"]) == new_ids
    assert number(env_new, "key_version") == number(env_old, "key_version") + 1
    for key_id in old_key_ids:
        old, new = d.changed[("control", f"ENV#{env_id}", f"KEY#{key_id}")]
        assert (old["status"]["S"], new["status"]["S"]) == ("active", "revoked")


def active_key_ids(env_id: str) -> set[str]:
    item = snapshot()[("control", f"ENV#{env_id}", "ENV")]
    return set(item["active_key_ids"]["SS"])


def rotate_calls(world: World, faults: Faults) -> list[str]:
    env_id, _, _ = world.environment()
    path = f"/admin/api/environments/{env_id}/keys/rotate"
    return learn(faults, lambda: world.request("POST", path, token=world.owner_token))


def test_rotation_calls_are_what_this_test_expects(world: World, faults: Faults) -> None:
    # the session, the environment, the one transaction, the kick's read of live connections
    assert rotate_calls(world, faults) == ["BatchGetItem", "BatchGetItem", COMMIT, "Query"]


@pytest.mark.parametrize(("k", "kind"), kinds_at(["BatchGetItem", "BatchGetItem", COMMIT, "Query"]))
def test_a_rotation_happens_whole_or_not_at_all(
    k: int, kind: str, world: World, faults: Faults
) -> None:
    calls = rotate_calls(world, faults)
    env_id, _, _ = world.environment()
    old = active_key_ids(env_id)
    request = ("POST", f"/admin/api/environments/{env_id}/keys/rotate", None, world.owner_token)

    resp, before, after = fail_and_compare(world, faults, calls, k, kind, request)

    if expect(resp, calls, k, 201):
        assert_one_whole_rotation(diff(before, after), env_id, old)
        assert active_key_ids(env_id) == {key["id"] for key in resp.json_body["keys"]}
        return
    assert diff(before, after).empty
    retry = world.request(*request[:3], token=world.owner_token)
    assert retry.status_code == 201, retry.body
    assert_one_whole_rotation(diff(before, snapshot()), env_id, old)


# --- a room delete -------------------------------------------------------------------------------


def room_with_children(w: World) -> str:
    """A room with two threads holding three comments in all."""
    room = w.room()
    w.thread(room, comments=2)
    w.thread(room, comments=1)
    return room


def belongs_to(key: tuple[str, str, str], e: str, room: str, threads: set[str]) -> bool:
    _, pk, sk = key
    return (
        (pk, sk) == (f"ENV#{e}", f"ROOM#{room}")
        or (pk == f"ENV#{e}#ROOM#{room}" and sk.startswith("THREAD#"))
        or any(pk == f"ENV#{e}#THREAD#{t}" for t in threads)
    )


def room_parts(snap: Snapshot, e: str, room: str) -> tuple[set[tuple[str, str, str]], set[str]]:
    threads = {
        k[2].split("#")[1] for k in snap if k[1] == f"ENV#{e}#ROOM#{room}" and k[2][:7] == "THREAD#"
    }
    return {k for k in snap if belongs_to(k, e, room, threads)}, threads


def assert_room_gone(d: Diff, before: Snapshot, w: World, room: str, *, purged: bool) -> None:
    """The room and its counts went together; with `purged`, every thread and comment too (and
    no purge item is left); without, whatever remains is only what the purge had yet to do."""
    e = w.env_id
    parts, _ = room_parts(before, e, room)
    assert len(parts) == 1 + 2 + 3
    stats = ("data", f"ENV#{e}", "STATS")
    log = new_event(d, e, room, "room.deleted")  # written with it, once
    assert set(d.changed) - log == {stats}
    old, new = d.changed[stats]
    assert [number(new, n) - number(old, n) for n in ("rooms", "threads", "comments")] == [
        -1,
        -2,
        -3,
    ]
    purge_item = ("data", f"ENV#{e}", f"PURGE#{room}")
    assert ("data", f"ENV#{e}", f"ROOM#{room}") in d.removed
    added = set(d.added) - log
    if purged:
        assert set(d.removed) == parts and added == set()
    else:
        assert set(d.removed) <= parts
        assert added <= {purge_item}
        if set(d.removed) != parts:
            assert purge_item in added  # something is left: the purge item remembers it
    # Whatever is left never shows: the room is gone for every reader.
    resp = w.request("GET", f"{V1}/rooms/{room}/threads", token=w.sk)
    assert resp.status_code == 404 and resp.json_body["error"]["code"] == "ROOM_NOT_FOUND"
    listed = w.request("GET", f"{V1}/rooms?limit=100", token=w.sk).json_body["data"]
    assert room not in [r["id"] for r in listed]


def delete_calls(world: World, faults: Faults) -> list[str]:
    room = room_with_children(world)
    return learn(faults, lambda: world.request("DELETE", f"{V1}/rooms/{room}", token=world.sk))


DELETE_CALLS = [
    "BatchGetItem",  # check-and-read: the room and its purge item
    RATE,  # the request counted against the environment's rate limits (best-effort)
    COMMIT,  # the room, its counts, its gen noted in the purge item
    "Query",  # room.deleted's fan-out
    "Query",  # the purge: the room's threads
    "Query",  # a thread's comment keys
    "BatchWriteItem",  # ... deleted
    "Query",
    "BatchWriteItem",
    "BatchWriteItem",  # the threads, and the purge item last
]


def test_room_delete_calls_are_what_this_test_expects(world: World, faults: Faults) -> None:
    assert delete_calls(world, faults) == DELETE_CALLS


@pytest.mark.parametrize(("k", "kind"), kinds_at(DELETE_CALLS))
def test_a_room_delete_happens_whole_or_not_at_all_and_a_retry_finishes_its_purge(
    k: int, kind: str, world: World, faults: Faults
) -> None:
    room = room_with_children(world)
    request = ("DELETE", f"{V1}/rooms/{room}", None, world.sk)

    resp, before, after = fail_and_compare(world, faults, DELETE_CALLS, k, kind, request)

    assert counters_grown(before, after) == counts_of(
        world, DELETE_CALLS, k
    )  # and no other counter
    if not expect(resp, DELETE_CALLS, k, 204):
        assert diff(before, after).without_counters().empty
    else:
        purged = k < DELETE_CALLS.index("Query") + 1  # the fan-out failing stops nothing else
        assert_room_gone(diff(before, after).without_counters(), before, world, room, purged=purged)
    # A retry (or a later DELETE) finishes the job: the whole room, once.
    ahead = snapshot()
    retry = world.request("DELETE", f"{V1}/rooms/{room}", token=world.sk)
    end = snapshot()
    assert counters_grown(ahead, end) == world.rest_counts(1)
    if resp.status_code == 204 and k <= DELETE_CALLS.index(COMMIT) + 1:
        assert retry.status_code == 404  # nothing was left to do
    else:
        assert retry.status_code == 204, retry.body
    assert_room_gone(diff(before, end).without_counters(), before, world, room, purged=True)
    again = world.request("DELETE", f"{V1}/rooms/{room}", token=world.sk)
    assert again.status_code == 404


def test_a_room_created_again_before_the_retry_gets_the_old_purge_finished_too(
    world: World, faults: Faults
) -> None:
    room = room_with_children(world)
    faults.fail("BatchWriteItem", THROTTLE)  # the purge deletes nothing
    assert world.request("DELETE", f"{V1}/rooms/{room}", token=world.sk).status_code == 204
    faults.off()
    before_new = snapshot()
    leftovers, _ = room_parts(before_new, world.env_id, room)
    assert len(leftovers) == 2 + 3  # the old threads and comments, invisible

    resp = world.request("POST", f"{V1}/rooms", {"id": room}, token=world.sk)
    assert resp.status_code == 201
    threads = world.request("GET", f"{V1}/rooms/{room}/threads", token=world.sk)
    assert threads.json_body["data"] == []  # the old generation does not show through
    assert world.request("DELETE", f"{V1}/rooms/{room}", token=world.sk).status_code == 204

    after = snapshot()
    assert room_parts(after, world.env_id, room)[0] == set()
    assert ("data", f"ENV#{world.env_id}", f"PURGE#{room}") not in after
