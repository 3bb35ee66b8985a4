"""Key changes race safely: two rotations (or a rotation and a key creation) that read the same
environment state cannot both commit, and the environment always ends with its active keys
listed exactly in `active_key_ids` - after a rotation, exactly one active pk_/sk_ pair."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.auth import apikeys
from chalicelib.entities import ApiKey
from chalicelib.errors import Conflict
from chalicelib.repositories import audit as audit_repo
from chalicelib.repositories import environments as env_repo
from chalicelib.repositories.environments import EnvState, NewKey
from chalicelib.services import environments as env_service

from .conftest import OWNER, Env

pytestmark = pytest.mark.usefixtures("atomic_moto")

THREADS = 8


# --- helpers --------------------------------------------------------------------------------


def all_keys(services: runtime.Services, env_id: str) -> list[ApiKey]:
    page = services.environments.list_keys(env_id, None, 100, None)
    assert page.next_cursor is None
    return page.data


def active_ids(services: runtime.Services, env_id: str) -> set[str]:
    return {k.id for k in all_keys(services, env_id) if k.status == "active"}


def assert_consistent(services: runtime.Services, env_id: str) -> set[str]:
    """The env's active_key_ids equals the active keys in the listing; returns that set."""
    state = env_repo.get(env_id)
    assert state is not None
    listed = active_ids(services, env_id)
    assert set(state.active_key_ids) == listed
    return listed


def assert_one_active_pair(services: runtime.Services, env_id: str) -> set[str]:
    active = assert_consistent(services, env_id)
    kinds = sorted(k.kind for k in all_keys(services, env_id) if k.id in active)
    assert kinds == ["publishable", "secret"]
    return active


def new_key(services: runtime.Services, env_id: str, kind: apikeys.KeyKind) -> NewKey:
    return env_service.new_key(
        services.settings, env_id, kind, kind, OWNER.email, services.clock.now_iso()
    )


def audit(services: runtime.Services, env_id: str, action: str) -> Any:
    return audit_repo.new_event(
        OWNER,
        action,
        env_id=env_id,
        target_type="environment",
        target_id=env_id,
        now_iso=services.clock.now_iso(),
    )


def audit_actions(services: runtime.Services, env_id: str) -> list[str]:
    return [e.action for e in services.environments.audit(env_id, 100, None).data]


@contextmanager
def commit_together(monkeypatch: pytest.MonkeyPatch, parties: int) -> Iterator[list[EnvState]]:
    """The next `parties` key transactions (rotate / add_key) each wait, state in hand, until
    all have read: every racer then commits against the state it read before any rival
    committed. Yields the states the racers read. Later calls pass straight through."""
    barrier = threading.Barrier(parties, timeout=20)
    seen: list[EnvState] = []
    lock = threading.Lock()

    originals = {name: getattr(env_repo, name) for name in ("rotate", "add_key")}

    def hold(original: Callable[..., bool]) -> Callable[..., bool]:
        def racing(state: EnvState, *args: Any) -> bool:
            with lock:
                is_racer = len(seen) < parties
                if is_racer:
                    seen.append(state)
            if is_racer:
                barrier.wait()
            return original(state, *args)

        return racing

    for name, original in originals.items():
        monkeypatch.setattr(env_repo, name, hold(original))
    try:
        yield seen
    finally:
        for name, original in originals.items():
            monkeypatch.setattr(env_repo, name, original)


@contextmanager
def rival_rotates_first(
    monkeypatch: pytest.MonkeyPatch, services: runtime.Services, env_id: str
) -> Iterator[list[ApiKey]]:
    """Just before the next key transaction commits, a rival rotation of `env_id` commits: the
    request under test has read the environment, and loses the race. Yields the rival's pair."""
    rival: list[ApiKey] = []
    names = ("rotate", "add_key", "revoke")
    originals = {name: getattr(env_repo, name) for name in names}

    def interfere(name: str) -> Callable[..., bool]:
        def wrapper(*args: Any) -> bool:
            if not rival:
                for n in names:  # the rival itself goes straight through
                    monkeypatch.setattr(env_repo, n, originals[n])
                rival.extend(services.environments.rotate(OWNER, env_id)[0])
            return originals[name](*args)

        return wrapper

    for name in names:
        monkeypatch.setattr(env_repo, name, interfere(name))
    try:
        yield rival
    finally:
        for name, original in originals.items():
            monkeypatch.setattr(env_repo, name, original)


def run_all(calls: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run each call on its own thread; ("ok", result) or ("error", exception) per call."""

    def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
        try:
            return "ok", call()
        except Exception as exc:
            return "error", exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(outcome, calls))


def assert_keys_changed(exc: Any) -> None:
    assert isinstance(exc, Conflict), repr(exc)
    assert exc.code == "KEYS_CHANGED"


# --- the repository: conditional transactions -----------------------------------------------


def test_two_repo_rotations_with_the_same_state_commit_exactly_once(
    services: runtime.Services, make_env: Callable[..., Env]
) -> None:
    env = make_env()
    state = env_repo.get(env.id)
    assert state is not None
    first = [new_key(services, env.id, "publishable"), new_key(services, env.id, "secret")]
    second = [new_key(services, env.id, "publishable"), new_key(services, env.id, "secret")]
    now = services.clock.now_iso()

    assert env_repo.rotate(state, first, now, audit(services, env.id, "keys.rotated")) is True
    assert env_repo.rotate(state, second, now, audit(services, env.id, "keys.rotated")) is False

    assert assert_one_active_pair(services, env.id) == {k.key.id for k in first}
    listed = {k.id for k in all_keys(services, env.id)}
    assert listed == {env.pk_id, env.sk_id} | {k.key.id for k in first}  # loser wrote nothing
    assert audit_actions(services, env.id).count("keys.rotated") == 1


@pytest.mark.parametrize("winner", ["add_key", "rotate"])
def test_add_key_and_rotate_with_the_same_state_commit_exactly_once(
    services: runtime.Services, make_env: Callable[..., Env], winner: str
) -> None:
    env = make_env()
    state = env_repo.get(env.id)
    assert state is not None
    added = new_key(services, env.id, "secret")
    pair = [new_key(services, env.id, "publishable"), new_key(services, env.id, "secret")]
    now = services.clock.now_iso()

    def add() -> bool:
        return env_repo.add_key(state, added, audit(services, env.id, "key.created"))

    def rotate() -> bool:
        return env_repo.rotate(state, pair, now, audit(services, env.id, "keys.rotated"))

    first, second = (add, rotate) if winner == "add_key" else (rotate, add)
    assert first() is True
    assert second() is False

    active = assert_consistent(services, env.id)
    if winner == "add_key":
        assert active == {env.pk_id, env.sk_id, added.key.id}
    else:
        assert active == {k.key.id for k in pair}
        assert added.key.id not in {k.id for k in all_keys(services, env.id)}


# --- the service: two racers that read the same state ---------------------------------------


def test_two_service_rotations_that_read_the_same_state(
    services: runtime.Services, make_env: Callable[..., Env], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env()
    rotate = services.environments.rotate

    with commit_together(monkeypatch, 2) as seen:
        outcomes = run_all([lambda: rotate(OWNER, env.id), lambda: rotate(OWNER, env.id)])

    assert len(seen) == 2 and seen[0] == seen[1]
    wins = [result for status, result in outcomes if status == "ok"]
    losses = [result for status, result in outcomes if status == "error"]
    assert len(wins) == 1 and len(losses) == 1
    assert_keys_changed(losses[0])
    (new_pair, revoked) = wins[0]
    assert sorted(revoked) == sorted([env.pk_id, env.sk_id])
    assert assert_one_active_pair(services, env.id) == {k.id for k in new_pair}
    assert audit_actions(services, env.id).count("keys.rotated") == 1


def test_eight_rotations_that_read_the_same_state_leave_exactly_one_pair(
    services: runtime.Services, make_env: Callable[..., Env], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env()
    rotate = services.environments.rotate

    with commit_together(monkeypatch, THREADS):
        outcomes = run_all([lambda: rotate(OWNER, env.id) for _ in range(THREADS)])

    wins = [result for status, result in outcomes if status == "ok"]
    for status, result in outcomes:
        if status == "error":
            assert_keys_changed(result)
    assert len(wins) == 1
    assert assert_one_active_pair(services, env.id) == {k.id for k in wins[0][0]}
    assert len(all_keys(services, env.id)) == 4


def test_eight_free_running_concurrent_rotations(
    services: runtime.Services, make_env: Callable[..., Env]
) -> None:
    env = make_env()
    start = threading.Barrier(THREADS, timeout=20)

    def rotate() -> Any:
        start.wait()  # released together; each then reads and commits on its own schedule
        return services.environments.rotate(OWNER, env.id)

    outcomes = run_all([rotate for _ in range(THREADS)])

    wins = [result for status, result in outcomes if status == "ok"]
    for status, result in outcomes:
        if status == "error":
            assert_keys_changed(result)
    assert len(wins) >= 1
    active = assert_one_active_pair(services, env.id)
    assert active in [{k.id for k in pair} for pair, _ in wins]
    keys = all_keys(services, env.id)
    assert len(keys) == 2 + 2 * len(wins)  # a refused rotation leaves no key behind
    assert all(k.status == "revoked" for k in keys if k.id not in active)
    assert audit_actions(services, env.id).count("keys.rotated") == len(wins)


def test_create_key_racing_a_rotation_on_the_same_state(
    services: runtime.Services, make_env: Callable[..., Env], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env()
    envs = services.environments

    with commit_together(monkeypatch, 2):
        created, rotated = run_all(
            [
                lambda: envs.create_key(OWNER, env.id, "secret", "Racer"),
                lambda: envs.rotate(OWNER, env.id),
            ]
        )

    statuses = sorted([created[0], rotated[0]])
    assert statuses == ["error", "ok"]
    active = assert_consistent(services, env.id)
    if rotated[0] == "ok":
        assert_keys_changed(created[1])
        assert active == {k.id for k in rotated[1][0]}
        assert_one_active_pair(services, env.id)
    else:
        assert_keys_changed(rotated[1])
        assert active == {env.pk_id, env.sk_id, created[1].id}


def test_free_running_key_creations_and_rotations_stay_consistent(
    services: runtime.Services, make_env: Callable[..., Env]
) -> None:
    env = make_env()
    envs = services.environments
    start = threading.Barrier(THREADS, timeout=20)

    def create() -> Any:
        start.wait()
        return envs.create_key(OWNER, env.id, "secret", "Racer")

    def rotate() -> Any:
        start.wait()
        return envs.rotate(OWNER, env.id)

    outcomes = run_all([create, rotate] * (THREADS // 2))

    for status, result in outcomes:
        if status == "error":
            assert_keys_changed(result)
    assert any(status == "ok" for status, _ in outcomes)
    active = assert_consistent(services, env.id)
    kinds = [k.kind for k in all_keys(services, env.id) if k.id in active]
    assert kinds.count("publishable") == 1  # only rotations add pk_, and each revokes the last
    assert len(kinds) >= 2


# --- a lost race over HTTP: 409 KEYS_CHANGED ------------------------------------------------


@pytest.fixture
def session(client: Any, services: runtime.Services) -> dict[str, str]:
    services.operators.create(None, "racer@example.com", "correct horse battery staple", "owner")
    resp = client.http.post(
        "/admin/api/login",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"email": "racer@example.com", "password": "correct horse battery staple"}),
    )
    assert resp.status_code == 200, resp.body
    return {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {resp.json_body['token']}",
    }


@pytest.mark.parametrize(
    ("action", "body"),
    [("rotate", None), ("create-key", {"kind": "secret", "name": "Late"}), ("revoke", None)],
)
def test_a_request_that_loses_the_race_gets_409_and_changes_nothing(
    client: Any,
    services: runtime.Services,
    make_env: Callable[..., Env],
    session: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    action: str,
    body: Any,
) -> None:
    env = make_env()
    path = {
        "rotate": "keys/rotate",
        "create-key": "keys",
        "revoke": f"keys/{env.sk_id}/revoke",
    }[action]

    with rival_rotates_first(monkeypatch, services, env.id) as rival:
        resp = client.http.post(
            f"/admin/api/environments/{env.id}/{path}",
            headers=session,
            body=json.dumps(body) if body is not None else "",
        )

    assert len(rival) == 2  # the rival did commit in between
    assert resp.status_code == 409, resp.body
    assert resp.json_body["error"]["code"] == "KEYS_CHANGED"
    assert resp.json_body["error"]["suggestion"]
    assert assert_one_active_pair(services, env.id) == {k.id for k in rival}
    assert len(all_keys(services, env.id)) == 4  # the loser wrote no key
    assert audit_actions(services, env.id).count("keys.rotated") == 1
