"""Admin API keys: list/search, create, rotate, revoke, isolation between environments, and
the rule that a full key appears only in the response that creates it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.clock import FrozenClock, iso

from .helpers import (
    API,
    Login,
    call,
    create_environment,
    each,
    error,
    list_all,
    mint,
    names_field,
    secret_of,
)

ENVS = f"{API}/environments"
UNKNOWN_KEY = "key_0000000000000000"
# "sk_" followed by more than a preview's worth of key characters: a full secret key. (A pk_ is
# public: the key list shows it in full, issue 17.)
FULL_KEY = re.compile(r"sk_[0-9A-Za-z]{8,}")


@pytest.fixture
def env(client: Any, owner: Login) -> dict[str, Any]:
    """A fresh environment: {"environment": ..., "keys": [pk, sk]} with full keys."""
    return create_environment(client, owner.token)


def env_path(env: dict[str, Any]) -> str:
    return f"{ENVS}/{env['environment']['id']}"


def keys_of(client: Any, token: str, env: dict[str, Any], query: str = "") -> Any:
    resp = call(client, "GET", f"{env_path(env)}/keys{query}", token=token)
    assert resp.status_code == 200, resp.body
    return resp.json_body


def create_key(client: Any, token: str, env: dict[str, Any], **body: Any) -> Any:
    return call(client, "POST", f"{env_path(env)}/keys", token=token, body=body)


def rotate(client: Any, token: str, env: dict[str, Any]) -> Any:
    return call(client, "POST", f"{env_path(env)}/keys/rotate", token=token)


def revoke(client: Any, token: str, env: dict[str, Any], key_id: str) -> Any:
    return call(client, "POST", f"{env_path(env)}/keys/{key_id}/revoke", token=token)


# --- list and search ---------------------------------------------------------------------------


def test_list_shows_the_first_key_pair_the_pk_in_full_the_sk_never(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    body = keys_of(client, owner.token, env)

    assert body["nextCursor"] is None
    # A pk_ is public (issue 17): shown in full at any time; a secret key only once.
    expected = [
        key if key["kind"] == "publishable" else {k: v for k, v in key.items() if k != "key"}
        for key in env["keys"]
    ]
    assert sorted(body["data"], key=lambda k: k["id"]) == sorted(expected, key=lambda k: k["id"])
    assert all("key" not in k for k in body["data"] if k["kind"] == "secret")


def test_list_is_newest_first(client: Any, owner: Login, env: dict[str, Any]) -> None:
    first = create_key(client, owner.token, env, kind="secret", name="first").json_body
    second = create_key(client, owner.token, env, kind="secret", name="second").json_body

    ids = [k["id"] for k in keys_of(client, owner.token, env)["data"]]

    assert ids[:2] == [second["id"], first["id"]]


def test_list_searches_names_and_kinds(client: Any, owner: Login, env: dict[str, Any]) -> None:
    create_key(client, owner.token, env, kind="secret", name="Billing backend")

    def check(case: tuple[str, set[str]]) -> None:
        query, expected = case
        assert {k["name"] for k in keys_of(client, owner.token, env, query)["data"]} == expected

    each(
        [
            ("?q=secret", {"Secret key", "Billing backend"}),
            ("?q=PUBLISHABLE", {"Publishable key"}),
            ("?q=billing", {"Billing backend"}),
            ("?q=nothing-like-this", set()),
        ],
        check,
    )


def test_list_search_finds_revoked_keys_by_status(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    pk_id = env["keys"][0]["id"]
    revoke(client, owner.token, env, pk_id)

    found = [k["id"] for k in keys_of(client, owner.token, env, "?q=revoked")["data"]]

    assert found == [pk_id]


def test_list_search_finds_a_key_by_its_id(client: Any, owner: Login, env: dict[str, Any]) -> None:
    sk_id = env["keys"][1]["id"]

    found = [k["id"] for k in keys_of(client, owner.token, env, f"?q={sk_id}")["data"]]

    assert found == [sk_id]


def test_list_search_finds_a_key_by_its_preview(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    sk = env["keys"][1]

    found = [k["id"] for k in keys_of(client, owner.token, env, f"?q={sk['preview']}")["data"]]

    assert found == [sk["id"]]


def test_list_paginates_over_every_key_exactly_once(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    for i in range(3):
        create_key(client, owner.token, env, kind="secret", name=f"k{i}")

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        body = keys_of(
            client, owner.token, env, "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        )
        seen += [k["id"] for k in body["data"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert pages == 3
    assert len(seen) == len(set(seen)) == 5


def test_list_limit_out_of_bounds_is_400_naming_limit(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    def check(limit: str) -> None:
        resp = call(client, "GET", f"{env_path(env)}/keys?limit={limit}", token=owner.token)
        names_field(error(resp, 400), "limit")

    each(["0", "101", "abc"], check)


def test_keys_cursor_of_another_environment_is_400(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    other = create_environment(client, owner.token, "Other")
    cursor = keys_of(client, owner.token, other, "?limit=1")["nextCursor"]
    assert cursor

    resp = call(client, "GET", f"{env_path(env)}/keys?cursor={cursor}", token=owner.token)

    names_field(error(resp, 400, "INVALID_CURSOR"), "cursor")


def test_environments_cursor_is_refused_by_the_keys_list(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    create_environment(client, owner.token, "Second")
    cursor = call(client, "GET", f"{ENVS}?limit=1", token=owner.token).json_body["nextCursor"]
    assert cursor

    resp = call(client, "GET", f"{env_path(env)}/keys?cursor={cursor}", token=owner.token)

    error(resp, 400, "INVALID_CURSOR")


def test_tampered_keys_cursor_is_400(client: Any, owner: Login, env: dict[str, Any]) -> None:
    cursor = keys_of(client, owner.token, env, "?limit=1")["nextCursor"]
    tampered = ("A" if cursor[0] != "A" else "B") + cursor[1:]

    resp = call(client, "GET", f"{env_path(env)}/keys?cursor={tampered}", token=owner.token)

    error(resp, 400, "INVALID_CURSOR")


def test_last_used_at_is_set_by_a_mint(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    clock.advance(120)
    assert mint(client, secret_of(env)).status_code == 200

    keys = {k["kind"]: k for k in keys_of(client, owner.token, env)["data"]}

    assert keys["secret"]["lastUsedAt"] == iso(clock.now())
    assert keys["publishable"]["lastUsedAt"] is None


# --- create --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "prefix"), [("secret", "sk_"), ("publishable", "pk_")])
def test_create_key_returns_201_with_the_full_key_once(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock, kind: str, prefix: str
) -> None:
    resp = create_key(client, owner.token, env, kind=kind, name="CI")

    assert resp.status_code == 201
    key = resp.json_body
    assert key["kind"] == kind
    assert key["name"] == "CI"
    assert key["key"].startswith(prefix)
    assert key["preview"] == f"{prefix}...{key['key'][-4:]}"
    assert key["status"] == "active"
    assert key["environmentId"] == env["environment"]["id"]
    assert key["createdAt"] == iso(clock.now())
    assert key["createdBy"] == owner.email
    assert key["lastUsedAt"] is None
    assert key["revokedAt"] is None


def test_create_key_without_a_name_gets_a_default_name(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    resp = create_key(client, owner.token, env, kind="secret")

    assert resp.status_code == 201
    assert resp.json_body["name"] == "Secret key"


def test_created_secret_key_mints_alongside_the_first_one(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    new = create_key(client, owner.token, env, kind="secret").json_body["key"]

    assert mint(client, new).status_code == 200
    assert mint(client, secret_of(env)).status_code == 200


def test_created_publishable_key_cannot_mint(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    pk = create_key(client, owner.token, env, kind="publishable").json_body["key"]

    err = error(mint(client, pk), 401, "SECRET_KEY_REQUIRED")
    assert "suggestion" in err


def test_create_key_with_an_invalid_kind_is_400_naming_kind(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    def check(kind: Any) -> None:
        names_field(error(create_key(client, owner.token, env, kind=kind), 400), "kind")

    each(["admin", "SECRET", "sk", "", 5, None, ["secret"]], check)
    assert len(keys_of(client, owner.token, env)["data"]) == 2


def test_create_key_without_a_kind_is_400_naming_kind(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    resp = create_key(client, owner.token, env, name="no kind")

    names_field(error(resp, 400, "MISSING_FIELD"), "kind")


def test_create_key_with_an_invalid_name_is_400_naming_name(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    def check(name: Any) -> None:
        resp = create_key(client, owner.token, env, kind="secret", name=name)
        names_field(error(resp, 400), "name")

    each([5, "", "   ", "x" * 101, "bad\x00name", "line\nbreak"], check)
    assert len(keys_of(client, owner.token, env)["data"]) == 2


def test_an_environment_holds_at_most_20_active_keys(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    for i in range(18):
        assert create_key(client, owner.token, env, kind="secret", name=f"k{i}").status_code == 201

    resp = create_key(client, owner.token, env, kind="secret", name="one too many")

    err = error(resp, 409, "TOO_MANY_KEYS")
    assert "suggestion" in err
    assert len(list_all(client, owner.token, f"{env_path(env)}/keys")) == 20


def test_a_revoked_key_frees_its_slot(client: Any, owner: Login, env: dict[str, Any]) -> None:
    for i in range(18):
        create_key(client, owner.token, env, kind="secret", name=f"k{i}")
    revoke(client, owner.token, env, env["keys"][0]["id"])

    assert create_key(client, owner.token, env, kind="secret").status_code == 201


# --- rotate --------------------------------------------------------------------------------------


def test_rotate_returns_201_with_a_new_pair_and_the_revoked_ids(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    resp = rotate(client, owner.token, env)

    assert resp.status_code == 201
    body = resp.json_body
    assert set(body) == {"keys", "revoked"}
    pk, sk = body["keys"]
    assert (pk["kind"], sk["kind"]) == ("publishable", "secret")
    assert pk["key"].startswith("pk_") and sk["key"].startswith("sk_")
    assert {pk["status"], sk["status"]} == {"active"}
    assert sorted(body["revoked"]) == sorted(k["id"] for k in env["keys"])
    assert not {pk["id"], sk["id"]} & {k["id"] for k in env["keys"]}


def test_rotate_makes_old_secret_key_fail_on_next_call(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    old = secret_of(env)
    assert mint(client, old).status_code == 200

    rotate(client, owner.token, env)

    error(mint(client, old), 401, "INVALID_API_KEY")


def test_rotate_gives_a_new_secret_key_that_mints(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    rotated = rotate(client, owner.token, env).json_body

    assert mint(client, secret_of(rotated)).status_code == 200


def test_rotate_revokes_every_active_key_including_extra_ones(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    extra = create_key(client, owner.token, env, kind="secret", name="extra").json_body
    clock.advance(10)

    rotated = rotate(client, owner.token, env).json_body

    assert extra["id"] in rotated["revoked"]
    error(mint(client, extra["key"]), 401, "INVALID_API_KEY")
    keys = {k["id"]: k for k in list_all(client, owner.token, f"{env_path(env)}/keys")}
    active = {i for i, k in keys.items() if k["status"] == "active"}
    assert active == {k["id"] for k in rotated["keys"]}
    for key_id in rotated["revoked"]:
        assert keys[key_id]["status"] == "revoked"
        assert keys[key_id]["revokedAt"] == iso(clock.now())


def test_rotate_does_not_revoke_already_revoked_keys_again(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    pk_id = env["keys"][0]["id"]
    revoke(client, owner.token, env, pk_id)
    revoked_at = iso(clock.now())
    clock.advance(10)

    rotated = rotate(client, owner.token, env).json_body

    assert rotated["revoked"] == [env["keys"][1]["id"]]
    keys = {k["id"]: k for k in list_all(client, owner.token, f"{env_path(env)}/keys")}
    assert keys[pk_id]["revokedAt"] == revoked_at


def test_second_rotation_revokes_the_first_rotations_pair(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    first = rotate(client, owner.token, env).json_body
    second = rotate(client, owner.token, env).json_body

    assert sorted(second["revoked"]) == sorted(k["id"] for k in first["keys"])
    error(mint(client, secret_of(first)), 401, "INVALID_API_KEY")
    assert mint(client, secret_of(second)).status_code == 200


def test_rotate_with_a_body_field_is_400(client: Any, owner: Login, env: dict[str, Any]) -> None:
    resp = call(client, "POST", f"{env_path(env)}/keys/rotate", token=owner.token, body={"x": 1})

    names_field(error(resp, 400, "UNKNOWN_FIELD"), "x")
    assert mint(client, secret_of(env)).status_code == 200


def test_rotate_accepts_an_empty_json_object(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    resp = call(client, "POST", f"{env_path(env)}/keys/rotate", token=owner.token, body={})

    assert resp.status_code == 201


def test_rotation_in_one_environment_leaves_another_alone(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    other = create_environment(client, owner.token, "Other")

    rotate(client, owner.token, env)

    assert mint(client, secret_of(other)).status_code == 200


# --- revoke --------------------------------------------------------------------------------------


def test_revoke_returns_the_key_revoked(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    sk = env["keys"][1]
    clock.advance(5)

    resp = revoke(client, owner.token, env, sk["id"])

    assert resp.status_code == 200
    expected = {k: v for k, v in sk.items() if k != "key"}
    assert resp.json_body == {**expected, "status": "revoked", "revokedAt": iso(clock.now())}


def test_revoked_key_fails_on_the_next_mint(client: Any, owner: Login, env: dict[str, Any]) -> None:
    sk = secret_of(env)
    assert mint(client, sk).status_code == 200

    revoke(client, owner.token, env, env["keys"][1]["id"])

    error(mint(client, sk), 401, "INVALID_API_KEY")


def test_revoked_and_unknown_keys_get_the_identical_401(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    sk = secret_of(env)
    revoke(client, owner.token, env, env["keys"][1]["id"])
    other = create_environment(client, owner.token, "Other")
    call(client, "DELETE", env_path(other), token=owner.token, body={"confirmName": "Other"})

    revoked = mint(client, sk)
    disabled = mint(client, secret_of(other))
    junk = mint(client, "sk_" + "A" * 60)

    assert revoked.body == disabled.body == junk.body
    error(revoked, 401, "INVALID_API_KEY")


def test_revoking_one_key_leaves_the_others_working(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    spare = create_key(client, owner.token, env, kind="secret", name="spare").json_body

    revoke(client, owner.token, env, env["keys"][1]["id"])

    assert mint(client, spare["key"]).status_code == 200


def test_revoked_key_shows_as_revoked_in_the_list(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    pk_id = env["keys"][0]["id"]

    revoked = revoke(client, owner.token, env, pk_id).json_body

    listed = {k["id"]: k for k in keys_of(client, owner.token, env)["data"]}
    assert listed[pk_id] == revoked


def test_revoking_again_is_409_key_already_revoked(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    key_id = env["keys"][1]["id"]
    first = revoke(client, owner.token, env, key_id).json_body
    clock.advance(5)

    resp = revoke(client, owner.token, env, key_id)

    error(resp, 409, "KEY_ALREADY_REVOKED")
    listed = {k["id"]: k for k in keys_of(client, owner.token, env)["data"]}
    assert listed[key_id]["revokedAt"] == first["revokedAt"]


def test_revoking_an_unknown_key_is_404(client: Any, owner: Login, env: dict[str, Any]) -> None:
    def check(key_id: str) -> None:
        error(revoke(client, owner.token, env, key_id), 404, "KEY_NOT_FOUND")

    each([UNKNOWN_KEY, "nope", "key_", "env_0000000000000000"], check)


def test_a_key_of_another_environment_is_404_under_this_one(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    other = create_environment(client, owner.token, "Other")
    other_sk = other["keys"][1]

    resp = revoke(client, owner.token, env, other_sk["id"])

    error(resp, 404, "KEY_NOT_FOUND")
    assert mint(client, other_sk["key"]).status_code == 200
    listed = {k["id"] for k in keys_of(client, owner.token, env)["data"]}
    assert other_sk["id"] not in listed


def test_revoke_with_a_body_field_is_400(client: Any, owner: Login, env: dict[str, Any]) -> None:
    resp = call(
        client,
        "POST",
        f"{env_path(env)}/keys/{env['keys'][1]['id']}/revoke",
        token=owner.token,
        body={"reason": "leaked"},
    )

    names_field(error(resp, 400, "UNKNOWN_FIELD"), "reason")
    assert mint(client, secret_of(env)).status_code == 200


# --- a full key appears once ---------------------------------------------------------------------


def test_no_read_after_creation_contains_a_full_key(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    extra = create_key(client, owner.token, env, kind="secret", name="extra").json_body
    rotated = rotate(client, owner.token, env).json_body
    assert mint(client, secret_of(rotated)).status_code == 200
    full_keys = [k["key"] for k in env["keys"] + rotated["keys"] if k["kind"] == "secret"] + [
        extra["key"]
    ]
    env_id = env["environment"]["id"]

    reads = [
        f"{ENVS}",
        f"{ENVS}?q=production",
        f"{ENVS}/{env_id}",
        f"{ENVS}/{env_id}/keys",
        f"{ENVS}/{env_id}/keys?q=secret",
        f"{ENVS}/{env_id}/keys?limit=1",
        f"{ENVS}/{env_id}/audit",
        f"{API}/audit",
    ]
    for path in reads:
        resp = call(client, "GET", path, token=owner.token)
        assert resp.status_code == 200, (path, resp.body)
        text = resp.body.decode()
        assert FULL_KEY.search(text) is None, (path, text)
        for full in full_keys:
            assert full not in text
            assert full[3:] not in text


def test_revoke_response_does_not_contain_the_full_key(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    resp = revoke(client, owner.token, env, env["keys"][1]["id"])

    assert "key" not in resp.json_body
    assert FULL_KEY.search(resp.body.decode()) is None
