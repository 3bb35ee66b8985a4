"""The analytics counters stay exact: after concurrent writes racing deletes, and after a long
random sequence of creates and deletes, the environment's counters (STATS) and every room's and
thread's counts equal a recount of what is stored (a Scan here, which the service never does).

The races run the service on real threads against moto made atomic per request (atomic_moto):
each DynamoDB call is all-or-nothing, as in DynamoDB, while calls of different threads
interleave freely: a read, another thread's commit, then this thread's conditional write."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from callers import operator, secret_key
from races import race

from chalicelib import runtime
from chalicelib.errors import Conflict, NotFound
from chalicelib.repositories import rooms as rooms_repo

from .conftest import Env

# --- the recount --------------------------------------------------------------------------------


@dataclass
class Recount:
    """What is stored for one environment, counted item by item."""

    rooms: int = 0
    threads: int = 0  # visible: of an existing room, of its current generation
    comments: int = 0  # of visible threads
    # (stored count, items found) for each room and thread, where they differ
    room_mismatches: dict[str, tuple[tuple[int, int], tuple[int, int]]] = field(
        default_factory=dict
    )
    thread_mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)
    leftovers: int = 0  # threads and comments a purge should have removed
    stats: tuple[int, int, int] = (0, 0, 0)  # the STATS item: rooms, threads, comments

    @property
    def counted(self) -> tuple[int, int, int]:
        return self.rooms, self.threads, self.comments


def scan(table: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def number(item: dict[str, Any], name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


def recount(services: runtime.Services, env_id: str) -> Recount:
    items = scan(services.settings.data_table)
    env = f"ENV#{env_id}"
    rooms = {
        i["sk"]["S"][5:]: i
        for i in items
        if i["pk"]["S"] == env and i["sk"]["S"].startswith("ROOM#")
    }
    threads = [
        i
        for i in items
        if i["pk"]["S"].startswith(f"{env}#ROOM#") and i["sk"]["S"].startswith("THREAD#")
    ]
    comments: dict[str, int] = {}
    for i in items:
        if i["pk"]["S"].startswith(f"{env}#THREAD#") and i["sk"]["S"].startswith("COMMENT#"):
            thread_id = i["pk"]["S"].split("#THREAD#")[1]
            comments[thread_id] = comments.get(thread_id, 0) + 1

    result = Recount(rooms=len(rooms))
    per_room = {room_id: [0, 0] for room_id in rooms}
    visible: set[str] = set()
    for t in threads:
        room = rooms.get(t["room_id"]["S"])
        thread_id = t["id"]["S"]
        if room is None or room["gen"]["S"] != t["room_gen"]["S"]:
            result.leftovers += 1
            continue
        visible.add(thread_id)
        found = comments.get(thread_id, 0)
        per_room[t["room_id"]["S"]][0] += 1
        per_room[t["room_id"]["S"]][1] += found
        result.threads += 1
        result.comments += found
        if number(t, "comment_count") != found:
            result.thread_mismatches[thread_id] = (number(t, "comment_count"), found)
    result.leftovers += sum(n for thread_id, n in comments.items() if thread_id not in visible)
    for room_id, room in rooms.items():
        stored = (number(room, "thread_count"), number(room, "comment_count"))
        if stored != tuple(per_room[room_id]):
            result.room_mismatches[room_id] = (stored, (per_room[room_id][0], per_room[room_id][1]))
    (stats,) = [i for i in items if i["pk"]["S"] == env and i["sk"]["S"] == "STATS"] or [{}]
    result.stats = (number(stats, "rooms"), number(stats, "threads"), number(stats, "comments"))
    return result


def assert_exact(services: runtime.Services, env_id: str) -> Recount:
    """The counters the API reports equal the recount, and every stored count is right."""
    found = recount(services, env_id)
    a = services.metering.analytics(operator(env_id), 30)
    assert (a.rooms, a.threads, a.comments) == found.stats == found.counted
    assert found.room_mismatches == {}
    assert found.thread_mismatches == {}
    assert found.leftovers == 0
    return found


# --- races --------------------------------------------------------------------------------------


def until_done(action: Callable[[], None]) -> Callable[[], str]:
    """Retry an action the service refused with CONCURRENT_CHANGE (a client would)."""

    def run() -> str:
        for _ in range(20):
            try:
                action()
                return "done"
            except Conflict:
                continue
        return "gave up"

    return run


def outcome(result: Any) -> str:
    if isinstance(result, NotFound | Conflict):
        return result.code
    if isinstance(result, Exception):
        raise result
    return result if isinstance(result, str) else "created"


@pytest.fixture
def env(make_env: Callable[..., Env]) -> Env:
    return make_env("Racy")


@pytest.mark.parametrize("round_", range(5))
def test_comments_racing_a_thread_delete_leave_exact_counters(
    round_: int, atomic_moto: None, services: runtime.Services, env: Env
) -> None:
    collab, key = services.collab, secret_key(env.sk)
    collab.create_room(key, "room", None)
    doomed = collab.create_thread(key, "room", "u", "doomed", None)
    kept = collab.create_thread(key, "room", "u", "kept", None)

    def comment(thread_id: str) -> Callable[[], Any]:
        return lambda: collab.create_comment(key, "room", thread_id, "u", "racing")

    workers = [comment(doomed.id) for _ in range(8)] + [comment(kept.id) for _ in range(3)]
    workers.insert(2 * round_, until_done(lambda: collab.delete_thread(key, "room", doomed.id)))
    results = race(workers)

    outcomes = [outcome(r) for r in results]
    assert outcomes.count("done") == 1, outcomes  # the delete went through
    assert set(outcomes) <= {"created", "done", "THREAD_NOT_FOUND", "CONCURRENT_CHANGE"}
    found = assert_exact(services, env.id)
    kept_created = sum(
        1 for r in results if getattr(r, "thread_id", None) == kept.id and outcome(r) == "created"
    )
    assert found.counted == (1, 1, 1 + kept_created)
    assert collab.get_thread(key, "room", kept.id).comment_count == 1 + kept_created
    with pytest.raises(NotFound):
        collab.get_thread(key, "room", doomed.id)


@pytest.mark.parametrize("round_", range(4))
def test_threads_and_comments_racing_a_room_delete_leave_exact_counters(
    round_: int, atomic_moto: None, services: runtime.Services, env: Env
) -> None:
    collab, key = services.collab, secret_key(env.sk)
    collab.create_room(key, "doomed", None)
    collab.create_room(key, "kept", None)
    existing = [collab.create_thread(key, "doomed", "u", "t", None) for _ in range(2)]
    bystander = collab.create_thread(key, "kept", "u", "t", None)

    workers: list[Callable[[], Any]] = []
    for n in range(4):
        target = existing[n % 2].id
        workers.append(lambda t=target: collab.create_comment(key, "doomed", t, "u", "c"))  # type: ignore[misc]
        workers.append(lambda: collab.create_thread(key, "doomed", "u", "new", None))
    workers.append(lambda: collab.create_comment(key, "kept", bystander.id, "u", "c"))
    workers.insert(2 * round_ + 1, until_done(lambda: collab.delete_room(key, "doomed")))
    results = race(workers)

    outcomes = [outcome(r) for r in results]
    assert outcomes.count("done") == 1, outcomes
    allowed = {"created", "done", "ROOM_NOT_FOUND", "THREAD_NOT_FOUND", "CONCURRENT_CHANGE"}
    assert set(outcomes) <= allowed, outcomes
    found = assert_exact(services, env.id)
    assert found.counted == (1, 1, 2)  # only the kept room's thread, its comment and the new one
    with pytest.raises(NotFound):
        collab.get_room(key, "doomed")


def test_deleting_comments_at_once_down_to_none_deletes_the_thread_once(
    atomic_moto: None, services: runtime.Services, env: Env
) -> None:
    collab, key = services.collab, secret_key(env.sk)
    collab.create_room(key, "room", None)
    thread = collab.create_thread(key, "room", "u", "c0", None)
    ids = [thread.comments.data[0].id] if thread.comments else []
    ids += [collab.create_comment(key, "room", thread.id, "u", f"c{n}").id for n in range(1, 5)]

    def delete(comment_id: str) -> Callable[[], str]:
        return until_done(lambda: collab.delete_comment(key, "room", thread.id, comment_id))

    outcomes = [outcome(r) for r in race([delete(c) for c in ids])]

    assert set(outcomes) <= {"done", "THREAD_NOT_FOUND"}, outcomes
    assert outcomes.count("done") >= 1
    assert assert_exact(services, env.id).counted == (1, 0, 0)


# --- the same interleavings, forced ---------------------------------------------------------
# Each test runs another write between a service's read and its conditional write (by wrapping
# the repository function the service calls), so the race happens every time, on one thread.


def before_first(
    monkeypatch: pytest.MonkeyPatch, name: str, meanwhile: Callable[[], Any]
) -> list[bool]:
    """Run `meanwhile` just before the first call of rooms_repo.<name>; return the list of
    each call's result (False: a condition failed and the transaction was cancelled)."""
    original = getattr(rooms_repo, name)
    results: list[bool] = []
    started: list[bool] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not started:
            started.append(True)
            meanwhile()  # may call rooms_repo.<name> itself: that call is not recorded
            results.clear()
        result = original(*args, **kwargs)
        results.append(bool(result))
        return result

    monkeypatch.setattr(rooms_repo, name, wrapped)
    return results


def test_a_comment_written_while_its_thread_is_deleted_is_subtracted_too(
    monkeypatch: pytest.MonkeyPatch, services: runtime.Services, env: Env
) -> None:
    collab, key = services.collab, secret_key(env.sk)
    collab.create_room(key, "room", None)
    thread = collab.create_thread(key, "room", "u", "first", None)
    meanwhile = lambda: collab.create_comment(key, "room", thread.id, "u", "late")  # noqa: E731
    attempts = before_first(monkeypatch, "delete_thread", meanwhile)

    collab.delete_thread(key, "room", thread.id)

    assert attempts == [False, True]  # refused on the stale count, then done on a re-read
    assert assert_exact(services, env.id).counted == (1, 0, 0)


def test_threads_and_comments_written_while_their_room_is_deleted_are_subtracted_too(
    monkeypatch: pytest.MonkeyPatch, services: runtime.Services, env: Env
) -> None:
    collab, key = services.collab, secret_key(env.sk)
    collab.create_room(key, "room", None)
    thread = collab.create_thread(key, "room", "u", "first", None)

    def meanwhile() -> None:
        collab.create_comment(key, "room", thread.id, "u", "late")
        collab.create_thread(key, "room", "u", "late", None)

    attempts = before_first(monkeypatch, "delete_room", meanwhile)

    collab.delete_room(key, "room")

    assert attempts == [False, True]
    assert assert_exact(services, env.id).counted == (0, 0, 0)


def test_a_reply_written_while_the_last_comment_is_deleted_keeps_the_thread(
    monkeypatch: pytest.MonkeyPatch, services: runtime.Services, env: Env
) -> None:
    collab, key = services.collab, secret_key(env.sk)
    collab.create_room(key, "room", None)
    thread = collab.create_thread(key, "room", "u", "first", None)
    assert thread.comments is not None
    meanwhile = lambda: collab.create_comment(key, "room", thread.id, "u", "reply")  # noqa: E731
    attempts = before_first(monkeypatch, "delete_thread", meanwhile)

    collab.delete_comment(key, "room", thread.id, thread.comments.data[0].id)

    assert attempts == [False]  # the thread delete is refused; the re-read deletes one comment
    left = collab.get_thread(key, "room", thread.id)
    assert left.comments is not None
    assert [c.body for c in left.comments.data] == ["reply"]
    assert left.comment_count == 1
    assert assert_exact(services, env.id).counted == (1, 1, 1)


def test_two_comments_deleted_at_once_take_the_thread_along(
    monkeypatch: pytest.MonkeyPatch, services: runtime.Services, env: Env
) -> None:
    collab, key = services.collab, secret_key(env.sk)
    collab.create_room(key, "room", None)
    thread = collab.create_thread(key, "room", "u", "first", None)
    assert thread.comments is not None
    first = thread.comments.data[0].id
    second = collab.create_comment(key, "room", thread.id, "u", "second").id
    meanwhile = lambda: collab.delete_comment(key, "room", thread.id, second)  # noqa: E731
    attempts = before_first(monkeypatch, "delete_comment", meanwhile)

    collab.delete_comment(key, "room", thread.id, first)

    assert attempts == [False]  # refused on the stale count; the re-read finds the last comment
    with pytest.raises(NotFound):
        collab.get_thread(key, "room", thread.id)
    assert assert_exact(services, env.id).counted == (1, 0, 0)


def test_a_comment_on_a_thread_deleted_meanwhile_is_refused_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, services: runtime.Services, env: Env
) -> None:
    collab, key = services.collab, secret_key(env.sk)
    collab.create_room(key, "room", None)
    thread = collab.create_thread(key, "room", "u", "first", None)
    meanwhile = lambda: collab.delete_thread(key, "room", thread.id)  # noqa: E731
    attempts = before_first(monkeypatch, "create_comment", meanwhile)

    with pytest.raises(NotFound) as refused:
        collab.create_comment(key, "room", thread.id, "u", "too late")

    assert refused.value.code == "THREAD_NOT_FOUND"
    assert attempts == [False]
    assert assert_exact(services, env.id).counted == (1, 0, 0)


def test_a_thread_in_a_room_deleted_meanwhile_is_refused_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, services: runtime.Services, env: Env
) -> None:
    collab, key = services.collab, secret_key(env.sk)
    collab.create_room(key, "room", None)
    meanwhile = lambda: collab.delete_room(key, "room")  # noqa: E731
    attempts = before_first(monkeypatch, "create_thread", meanwhile)

    with pytest.raises(NotFound) as refused:
        collab.create_thread(key, "room", "u", "too late", None)

    assert refused.value.code == "ROOM_NOT_FOUND"
    assert attempts == [False]
    assert assert_exact(services, env.id).counted == (0, 0, 0)


def test_a_thread_in_a_room_deleted_and_created_again_meanwhile_is_refused(
    monkeypatch: pytest.MonkeyPatch, services: runtime.Services, env: Env
) -> None:
    collab, key = services.collab, secret_key(env.sk)
    collab.create_room(key, "room", None)

    def meanwhile() -> None:
        collab.delete_room(key, "room")
        collab.create_room(key, "room", None)

    before_first(monkeypatch, "create_thread", meanwhile)

    with pytest.raises(NotFound):
        collab.create_thread(key, "room", "u", "for the old room", None)

    assert collab.list_threads(key, "room", None, 10, None).data == []
    assert assert_exact(services, env.id).counted == (1, 0, 0)


def test_leftovers_of_a_purge_that_never_ran_stay_invisible_and_uncounted(
    monkeypatch: pytest.MonkeyPatch, services: runtime.Services, env: Env
) -> None:
    """The purge after a delete is best-effort: if it dies, the old threads and comments stay
    stored but are never shown, counted or writable, even when the room is created again."""
    collab, key = services.collab, secret_key(env.sk)
    collab.create_room(key, "room", None)
    old = collab.create_thread(key, "room", "u", "old", None)
    assert old.comments is not None
    gone = collab.create_thread(key, "room", "u", "gone", None)
    monkeypatch.setattr(rooms_repo, "purge_comments", lambda env_id, thread_id: None)
    monkeypatch.setattr(rooms_repo, "purge_room", lambda env_id, room_id, gen: None)
    collab.delete_thread(key, "room", gone.id)
    collab.delete_room(key, "room")

    collab.create_room(key, "room", None)

    assert collab.list_threads(key, "room", None, 100, None).data == []
    for read in (
        lambda: collab.get_thread(key, "room", old.id),
        lambda: collab.list_comments(key, "room", old.id, 10, None),
        lambda: collab.create_comment(key, "room", old.id, "u", "revive"),
        lambda: collab.update_thread(key, "room", old.id, resolved=True, metadata=None),
        lambda: collab.delete_comment(key, "room", old.id, old.comments.data[0].id),
        lambda: collab.get_thread(key, "room", gone.id),
    ):
        with pytest.raises(NotFound) as refused:
            read()
        assert refused.value.code == "THREAD_NOT_FOUND"
    found = recount(services, env.id)
    assert found.leftovers == 3  # the old thread and its comment, the deleted thread's comment
    assert found.counted == found.stats == (1, 0, 0)
    assert found.room_mismatches == {}
    assert found.thread_mismatches == {}


# --- a long random sequence ---------------------------------------------------------------------


@dataclass
class Model:
    """What the environment should hold: room -> thread id -> comment ids."""

    rooms: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    @property
    def counts(self) -> tuple[int, int, int]:
        threads = [t for room in self.rooms.values() for t in room.values()]
        return len(self.rooms), len(threads), sum(len(t) for t in threads)


def test_a_random_sequence_of_creates_and_deletes_keeps_counters_exact(
    services: runtime.Services, make_env: Callable[..., Env]
) -> None:
    env, bystander = make_env("Random"), make_env("Bystander")
    collab, key = services.collab, secret_key(env.sk)
    other_key = secret_key(bystander.sk)
    collab.create_room(other_key, "r0", None)
    collab.create_thread(other_key, "r0", "u", "untouched", None)

    rng = random.Random(20261125)
    model = Model()
    room_ids = [f"r{n}" for n in range(5)]  # few ids, so rooms are deleted and created again
    done: dict[str, int] = {}

    def pick_thread() -> tuple[str, str] | None:
        pairs = [(r, t) for r, threads in model.rooms.items() for t in threads]
        return rng.choice(pairs) if pairs else None

    for step in range(200):
        op = rng.choices(
            ["room+", "room-", "thread+", "thread-", "comment+", "comment-", "patch"],
            weights=[2, 1, 4, 1, 8, 4, 1],
        )[0]
        if op == "room+":
            room_id = rng.choice(room_ids)
            if room_id in model.rooms:
                with pytest.raises(Conflict):
                    collab.create_room(key, room_id, None)
            else:
                collab.create_room(key, room_id, {"step": step})
                model.rooms[room_id] = {}
        elif op == "room-":
            room_id = rng.choice(room_ids)
            if room_id in model.rooms:
                collab.delete_room(key, room_id)
                del model.rooms[room_id]
            else:
                with pytest.raises(NotFound):
                    collab.delete_room(key, room_id)
        elif op == "thread+":
            room_id = rng.choice(room_ids)
            if room_id in model.rooms:
                t = collab.create_thread(key, room_id, "u", f"s{step}", None)
                assert t.comments is not None
                model.rooms[room_id][t.id] = [t.comments.data[0].id]
            else:
                with pytest.raises(NotFound):
                    collab.create_thread(key, room_id, "u", f"s{step}", None)
        elif op == "thread-" and (pair := pick_thread()):
            collab.delete_thread(key, *pair)
            del model.rooms[pair[0]][pair[1]]
        elif op == "comment+" and (pair := pick_thread()):
            c = collab.create_comment(key, *pair, "u", f"s{step}")
            model.rooms[pair[0]][pair[1]].append(c.id)
        elif op == "comment-" and (pair := pick_thread()):
            comments = model.rooms[pair[0]][pair[1]]
            comment_id = rng.choice(comments)
            collab.delete_comment(key, *pair, comment_id)
            comments.remove(comment_id)
            if not comments:  # the last comment takes its thread along
                del model.rooms[pair[0]][pair[1]]
                with pytest.raises(NotFound):
                    collab.get_thread(key, *pair)
        elif op == "patch" and (pair := pick_thread()):
            collab.update_thread(key, *pair, resolved=True, metadata={"step": step})
        else:
            op = "skipped"
        done[op] = done.get(op, 0) + 1
        if step % 50 == 49:
            assert assert_exact(services, env.id).counted == model.counts, step

    assert assert_exact(services, env.id).counted == model.counts
    assert min(done.get(op, 0) for op in ("room-", "thread-", "comment-")) >= 5, done
    for room_id, threads in model.rooms.items():
        listed = collab.list_threads(key, room_id, None, 100, None).data
        assert sorted(t.id for t in listed) == sorted(threads)
        for t in listed:
            assert t.comment_count == len(threads[t.id])
    assert assert_exact(services, bystander.id).counted == (1, 1, 1)


# --- a mint's key touch racing another mint's ---------------------------------------------------


def seen_write(env: Env, user_id: str, now: float) -> Any:
    """What TokenService plans for a new user's first mint with a key last used over a minute
    ago: the user, its counters, and the key's lastUsedAt, in one transaction."""
    from chalicelib.clock import iso
    from chalicelib.entities import User
    from chalicelib.repositories import users as users_repo

    user = User(
        id=user_id,
        name=user_id,
        avatar=None,
        color="#000000",
        first_seen_at=iso(now),
        last_seen_at=iso(now),
    )
    touch = users_repo.KeyTouch(env.id, env.sk_id, now_iso=iso(now), cutoff_iso=iso(now - 60))
    return users_repo.SeenWrite(
        env_id=env.id,
        user=user,
        is_new=True,
        first_today=True,
        profile_due=True,
        today=iso(now)[:10],
        touch=touch,
    )


def test_a_new_user_whose_key_touch_lost_the_race_is_still_counted(
    services: runtime.Services, make_env: Callable[..., Env], clock: Any
) -> None:
    from chalicelib.repositories import users as users_repo

    env = make_env()
    now = clock.now()
    # Both planned before either ran, as two concurrent mints with one key: the second one's
    # key touch is refused (the first just set lastUsedAt), its user's writes are not.
    first, second = seen_write(env, "alice", now), seen_write(env, "bob", now)
    users_repo.record_seen(first)
    users_repo.record_seen(second)

    access = operator(env.id)
    stats = services.metering.analytics(access, 30)
    listed = services.collab.list_users(access, 100, None)
    assert sorted(u.id for u in listed.data) == ["alice", "bob"]
    assert stats.users == 2
    assert stats.daily[-1].active_users == 0  # minted, never connected
