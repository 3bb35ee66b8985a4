"""Admin API environments: create with a first key pair, list/search/paginate, get, rename,
disable, and the environment's audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.clock import FrozenClock, iso

from .helpers import (
    API,
    Login,
    audit_actions,
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
ENV_FIELDS = {
    "id",
    "name",
    "status",
    "createdAt",
    "createdBy",
    "updatedAt",
    "disabledAt",
    "suspendedAt",
    "defaultRoomAccess",
    "createRoomsOnJoin",
    "attachmentMaxBytes",
    "attachmentTypes",
    "notificationDelaySeconds",
    "retentionDays",
    "keyEnds",
}
KEY_FIELDS = {
    "id",
    "environmentId",
    "kind",
    "name",
    "preview",
    "status",
    "createdAt",
    "createdBy",
    "lastUsedAt",
    "revokedAt",
    "expiresAt",
    "allowedIps",
}
UNKNOWN_ENV = "env_0000000000000000"
MALFORMED_ENV_IDS = ["nope", "env_", "env_123", "env_!!!!!!!!!!!!!!!!", "key_0000000000000000"]


def page(client: Any, token: str, query: str = "") -> Any:
    resp = call(client, "GET", f"{ENVS}{query}", token=token)
    assert resp.status_code == 200, resp.body
    return resp.json_body


# --- create ------------------------------------------------------------------------------------


def test_create_returns_201_with_the_environment(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    resp = call(client, "POST", ENVS, token=owner.token, body={"name": "Production"})

    assert resp.status_code == 201
    assert set(resp.json_body) == {"environment", "keys"}
    env = resp.json_body["environment"]
    assert set(env) == ENV_FIELDS
    assert env["id"].startswith("env_")
    assert env["name"] == "Production"
    assert env["status"] == "active"
    assert env["createdAt"] == env["updatedAt"] == iso(clock.now())
    assert env["createdBy"] == owner.email
    assert env["disabledAt"] is None
    assert env["defaultRoomAccess"] == "write"
    assert env["createRoomsOnJoin"] is True


def test_create_returns_a_publishable_and_a_secret_key_with_their_full_value(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    created = create_environment(client, owner.token)

    pk, sk = created["keys"]
    assert (pk["kind"], sk["kind"]) == ("publishable", "secret")
    for key, prefix in ((pk, "pk_"), (sk, "sk_")):
        assert set(key) == KEY_FIELDS | {"key"}
        assert key["key"].startswith(prefix)
        assert len(key["key"]) > 40
        assert key["preview"] == f"{prefix}...{key['key'][-4:]}"
        assert key["id"].startswith("key_")
        assert key["environmentId"] == created["environment"]["id"]
        assert key["status"] == "active"
        assert key["createdAt"] == iso(clock.now())
        assert key["createdBy"] == owner.email
        assert key["lastUsedAt"] is None
        assert key["revokedAt"] is None
    assert pk["key"] != sk["key"]


def test_created_secret_key_mints_a_token(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token)

    resp = mint(client, secret_of(created))

    assert resp.status_code == 200
    assert set(resp.json_body) == {"token", "expiresAt"}


def test_create_trims_the_name(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token, "  Staging  ")

    assert created["environment"]["name"] == "Staging"


def test_create_allows_unicode_names(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token, "Produktion 🚀 東京")

    assert created["environment"]["name"] == "Produktion 🚀 東京"


def test_create_allows_a_name_of_100_characters(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token, "x" * 100)

    assert created["environment"]["name"] == "x" * 100


def test_two_environments_get_different_ids_and_keys(client: Any, owner: Login) -> None:
    a = create_environment(client, owner.token, "Same name")
    b = create_environment(client, owner.token, "Same name")

    assert a["environment"]["id"] != b["environment"]["id"]
    assert secret_of(a) != secret_of(b)


def test_created_environment_is_listed(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token)

    body = page(client, owner.token)

    assert body["data"] == [created["environment"]]
    assert body["nextCursor"] is None


# --- list, search, pagination --------------------------------------------------------------------


def test_list_is_empty_before_any_environment(client: Any, owner: Login) -> None:
    assert page(client, owner.token) == {"data": [], "nextCursor": None}


def test_list_is_newest_first(client: Any, owner: Login) -> None:
    ids = [create_environment(client, owner.token, f"E{i}")["environment"]["id"] for i in range(3)]

    listed = [e["id"] for e in page(client, owner.token)["data"]]

    assert listed == list(reversed(ids))


def test_list_defaults_to_20_items(client: Any, owner: Login) -> None:
    for i in range(21):
        create_environment(client, owner.token, f"E{i}")

    body = page(client, owner.token)

    assert len(body["data"]) == 20
    assert body["nextCursor"] is not None


def test_list_searches_names_case_insensitively(client: Any, owner: Login) -> None:
    prod = create_environment(client, owner.token, "Production")["environment"]["id"]
    create_environment(client, owner.token, "Staging")
    eu = create_environment(client, owner.token, "prod-eu")["environment"]["id"]

    found = {e["id"] for e in page(client, owner.token, "?q=PROD")["data"]}

    assert found == {prod, eu}


def test_list_search_finds_an_environment_by_its_id(client: Any, owner: Login) -> None:
    target = create_environment(client, owner.token, "One")["environment"]["id"]
    create_environment(client, owner.token, "Two")

    found = [e["id"] for e in page(client, owner.token, f"?q={target}")["data"]]

    assert found == [target]


def test_list_search_with_no_match_is_empty(client: Any, owner: Login) -> None:
    create_environment(client, owner.token, "Production")

    assert page(client, owner.token, "?q=zzz") == {"data": [], "nextCursor": None}


def test_list_search_longer_than_200_characters_is_400(client: Any, owner: Login) -> None:
    resp = call(client, "GET", f"{ENVS}?q={'a' * 201}", token=owner.token)

    names_field(error(resp, 400), "q")


def test_list_limit_out_of_bounds_is_400_naming_limit(client: Any, owner: Login) -> None:
    def check(limit: str) -> None:
        resp = call(client, "GET", f"{ENVS}?limit={limit}", token=owner.token)
        names_field(error(resp, 400, "INVALID_INPUT"), "limit")

    each(["0", "101", "abc", "-1", "1.5", "1e2", "%205"], check)


def test_list_limit_accepts_its_bounds(client: Any, owner: Login) -> None:
    create_environment(client, owner.token, "A")
    create_environment(client, owner.token, "B")

    assert len(page(client, owner.token, "?limit=1")["data"]) == 1
    assert len(page(client, owner.token, "?limit=100")["data"]) == 2


def test_pagination_covers_every_environment_exactly_once(client: Any, owner: Login) -> None:
    ids = {create_environment(client, owner.token, f"E{i}")["environment"]["id"] for i in range(5)}

    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        body = page(client, owner.token, "?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        seen += [e["id"] for e in body["data"]]
        sizes.append(len(body["data"]))
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert sizes == [2, 2, 1]
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == ids


def test_a_full_last_page_has_no_next_cursor(client: Any, owner: Login) -> None:
    for i in range(4):
        create_environment(client, owner.token, f"E{i}")

    first = page(client, owner.token, "?limit=2")
    second = page(client, owner.token, f"?limit=2&cursor={first['nextCursor']}")

    assert len(second["data"]) == 2
    assert second["nextCursor"] is None


def test_pagination_of_a_search_stays_within_the_search(client: Any, owner: Login) -> None:
    wanted = set()
    for i in range(4):
        wanted.add(create_environment(client, owner.token, f"match {i}")["environment"]["id"])
        create_environment(client, owner.token, f"other {i}")

    first = page(client, owner.token, "?q=match&limit=3")
    second = page(client, owner.token, f"?q=match&limit=3&cursor={first['nextCursor']}")

    found = [e["id"] for e in first["data"] + second["data"]]
    assert sorted(found) == sorted(wanted)
    assert second["nextCursor"] is None


def two_pages_cursor(client: Any, owner: Login, query: str = "") -> str:
    create_environment(client, owner.token, "A")
    create_environment(client, owner.token, "B")
    cursor = page(client, owner.token, f"?limit=1{query}")["nextCursor"]
    assert cursor
    return str(cursor)


def flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


TAMPERINGS: dict[str, Callable[[str], str]] = {
    "body": lambda c: flip(c, 0),
    "tag": lambda c: flip(c, len(c) - 1),
    "appended": lambda c: c + "x",
    "no-tag": lambda c: c.split(".")[0],
    "too-long": lambda c: "x" * 2000,
    "junk": lambda c: "not-a-cursor",
    "forged": lambda c: "eyJwayI6IkVOViMxIn0.AAAAAAAAAAAAAAAAAAAAAA",
    "non-ascii": lambda c: "%C3%BC" + c,
}


def test_tampered_cursor_is_400_invalid_cursor(client: Any, owner: Login) -> None:
    cursor = two_pages_cursor(client, owner)

    def check(how: str) -> None:
        url = f"{ENVS}?limit=1&cursor={TAMPERINGS[how](cursor)}"
        names_field(
            error(call(client, "GET", url, token=owner.token), 400, "INVALID_CURSOR"), "cursor"
        )

    each(TAMPERINGS, check)


def test_cursor_of_a_search_is_refused_by_another_search(client: Any, owner: Login) -> None:
    cursor = two_pages_cursor(client, owner)

    resp = call(client, "GET", f"{ENVS}?q=a&limit=1&cursor={cursor}", token=owner.token)

    error(resp, 400, "INVALID_CURSOR")


def test_keys_cursor_is_refused_by_the_environments_list(client: Any, owner: Login) -> None:
    env_id = create_environment(client, owner.token)["environment"]["id"]
    keys = call(client, "GET", f"{ENVS}/{env_id}/keys?limit=1", token=owner.token).json_body
    assert keys["nextCursor"]

    resp = call(client, "GET", f"{ENVS}?cursor={keys['nextCursor']}", token=owner.token)

    error(resp, 400, "INVALID_CURSOR")


def test_environments_cursor_is_refused_by_the_audit_list(client: Any, owner: Login) -> None:
    cursor = two_pages_cursor(client, owner)
    env_id = page(client, owner.token)["data"][0]["id"]

    resp = call(client, "GET", f"{ENVS}/{env_id}/audit?cursor={cursor}", token=owner.token)

    error(resp, 400, "INVALID_CURSOR")


# --- get -----------------------------------------------------------------------------------------


def test_get_returns_the_environment(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token)
    env_id = created["environment"]["id"]

    resp = call(client, "GET", f"{ENVS}/{env_id}", token=owner.token)

    assert resp.status_code == 200
    assert resp.json_body == created["environment"]


def test_get_unknown_environment_is_404(client: Any, owner: Login) -> None:
    resp = call(client, "GET", f"{ENVS}/{UNKNOWN_ENV}", token=owner.token)

    error(resp, 404, "ENVIRONMENT_NOT_FOUND")


def test_get_malformed_environment_id_is_404(client: Any, owner: Login) -> None:
    def check(env_id: str) -> None:
        resp = call(client, "GET", f"{ENVS}/{env_id}", token=owner.token)
        error(resp, 404, "ENVIRONMENT_NOT_FOUND")

    each(MALFORMED_ENV_IDS, check)


ENV_ROUTES: list[tuple[str, str, Any]] = [
    ("PATCH", "", {"name": "x"}),
    ("DELETE", "", {"confirmName": "x"}),
    ("POST", "/suspend", None),
    ("POST", "/resume", None),
    ("GET", "/keys", None),
    ("POST", "/keys", {"kind": "secret"}),
    ("POST", "/keys/rotate", None),
    ("POST", "/keys/key_0000000000000000/revoke", None),
    ("POST", "/keys/key_0000000000000000/roll", {"expiresIn": "1h"}),
    ("GET", "/keys/usage", None),
    ("GET", "/audit", None),
]


def test_every_environment_route_is_404_for_an_unknown_environment(
    client: Any, owner: Login
) -> None:
    def check(case: tuple[str, tuple[str, str, Any]]) -> None:
        env_id, (method, suffix, body) = case
        resp = call(client, method, f"{ENVS}/{env_id}{suffix}", token=owner.token, body=body)
        error(resp, 404, "ENVIRONMENT_NOT_FOUND")

    each([(e, r) for e in (UNKNOWN_ENV, "nope") for r in ENV_ROUTES], check)


# --- rename --------------------------------------------------------------------------------------


def rename(client: Any, token: str, env_id: str, name: Any) -> Any:
    return call(client, "PATCH", f"{ENVS}/{env_id}", token=token, body={"name": name})


def test_rename_returns_the_renamed_environment(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    env = create_environment(client, owner.token, "Old")["environment"]
    clock.advance(60)

    resp = rename(client, owner.token, env["id"], "New")

    assert resp.status_code == 200
    assert resp.json_body == {**env, "name": "New", "updatedAt": iso(clock.now())}


def test_rename_is_visible_in_get_list_and_search(client: Any, owner: Login) -> None:
    env_id = create_environment(client, owner.token, "Old")["environment"]["id"]

    rename(client, owner.token, env_id, "Brand New")

    assert (
        call(client, "GET", f"{ENVS}/{env_id}", token=owner.token).json_body["name"] == "Brand New"
    )
    assert [e["id"] for e in page(client, owner.token, "?q=brand")["data"]] == [env_id]
    assert page(client, owner.token, "?q=old")["data"] == []


def test_rename_keeps_the_keys_working(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token, "Old")

    rename(client, owner.token, created["environment"]["id"], "New")

    assert mint(client, secret_of(created)).status_code == 200


def test_a_patch_naming_nothing_is_400(client: Any, owner: Login) -> None:
    env_id = create_environment(client, owner.token)["environment"]["id"]

    resp = call(client, "PATCH", f"{ENVS}/{env_id}", token=owner.token, body={})

    err = error(resp, 400, "NOTHING_TO_UPDATE")
    assert all(f in err["message"] for f in ("name", "defaultRoomAccess", "createRoomsOnJoin"))


# --- disable -------------------------------------------------------------------------------------


def disable(client: Any, token: str, env_id: str, confirm_name: str | None = None) -> Any:
    """DELETE the environment, naming it (its current name unless `confirm_name` is given)."""
    if confirm_name is None:
        confirm_name = call(client, "GET", f"{ENVS}/{env_id}", token=token).json_body["name"]
    body = {"confirmName": confirm_name}
    return call(client, "DELETE", f"{ENVS}/{env_id}", token=token, body=body)


def test_disable_needs_the_environment_named_in_confirmname(client: Any, owner: Login) -> None:
    """A request that reaches the DELETE by accident (a mistyped id, a `..` a browser resolved)
    disables nothing: it must name the environment, as the panel's confirmation does."""
    created = create_environment(client, owner.token, "Production EU")
    env_id = created["environment"]["id"]
    path = f"{ENVS}/{env_id}"

    def check(case: tuple[Any, str, str]) -> None:
        body, code, field = case
        names_field(
            error(call(client, "DELETE", path, token=owner.token, body=body), 400, code), field
        )

    each(
        [
            (None, "MISSING_FIELD", "confirmName"),
            ({}, "MISSING_FIELD", "confirmName"),
            ({"confirmName": None}, "MISSING_FIELD", "confirmName"),
            ({"confirmName": 5}, "INVALID_INPUT", "confirmName"),
            ({"confirmName": "Production"}, "CONFIRM_NAME_MISMATCH", "confirmName"),
            ({"confirmName": "production eu"}, "CONFIRM_NAME_MISMATCH", "confirmName"),
            ({"confirmName": env_id}, "CONFIRM_NAME_MISMATCH", "confirmName"),
            ({"confirmName": "Production EU", "force": True}, "UNKNOWN_FIELD", "force"),
        ],
        check,
    )
    assert call(client, "GET", path, token=owner.token).json_body["status"] == "active"
    assert mint(client, secret_of(created)).status_code == 200
    assert "environment.disabled" not in audit_actions(client, owner.token, f"{path}/audit")

    assert disable(client, owner.token, env_id, "Production EU").status_code == 204


def test_disable_is_204_with_no_body(client: Any, owner: Login) -> None:
    env_id = create_environment(client, owner.token)["environment"]["id"]

    resp = disable(client, owner.token, env_id)

    assert resp.status_code == 204
    assert resp.body == b""


def test_disabled_environment_shows_status_disabled(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    env_id = create_environment(client, owner.token)["environment"]["id"]
    clock.advance(30)

    disable(client, owner.token, env_id)

    env = call(client, "GET", f"{ENVS}/{env_id}", token=owner.token).json_body
    assert env["status"] == "disabled"
    assert env["disabledAt"] == env["updatedAt"] == iso(clock.now())
    assert page(client, owner.token)["data"] == [env]


def test_disable_makes_every_key_fail_on_the_next_mint(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token)
    sk = secret_of(created)
    assert mint(client, sk).status_code == 200

    disable(client, owner.token, created["environment"]["id"])

    error(mint(client, sk), 401, "INVALID_API_KEY")


def test_disable_revokes_every_active_key(client: Any, owner: Login, clock: FrozenClock) -> None:
    env_id = create_environment(client, owner.token)["environment"]["id"]
    extra = call(
        client, "POST", f"{ENVS}/{env_id}/keys", token=owner.token, body={"kind": "secret"}
    )

    disable(client, owner.token, env_id)

    keys = list_all(client, owner.token, f"{ENVS}/{env_id}/keys")
    assert len(keys) == 3
    assert extra.json_body["id"] in {k["id"] for k in keys}
    assert {k["status"] for k in keys} == {"revoked"}
    assert {k["revokedAt"] for k in keys} == {iso(clock.now())}
    error(mint(client, extra.json_body["key"]), 401, "INVALID_API_KEY")


def test_disable_leaves_other_environments_working(client: Any, owner: Login) -> None:
    a = create_environment(client, owner.token, "A")
    b = create_environment(client, owner.token, "B")

    disable(client, owner.token, a["environment"]["id"])

    assert mint(client, secret_of(b)).status_code == 200


def test_changes_to_a_disabled_environment_are_409(client: Any, owner: Login) -> None:
    env_id = create_environment(client, owner.token)["environment"]["id"]
    disable(client, owner.token, env_id)
    before = call(client, "GET", f"{ENVS}/{env_id}", token=owner.token).json_body
    keys_before = list_all(client, owner.token, f"{ENVS}/{env_id}/keys")

    def check(case: tuple[str, str, Any]) -> None:
        method, suffix, body = case
        resp = call(client, method, f"{ENVS}/{env_id}{suffix}", token=owner.token, body=body)
        error(resp, 409, "ENVIRONMENT_DISABLED")
        assert call(client, "GET", f"{ENVS}/{env_id}", token=owner.token).json_body == before
        assert list_all(client, owner.token, f"{ENVS}/{env_id}/keys") == keys_before

    each(
        [
            ("POST", "/keys", {"kind": "secret"}),
            ("POST", "/keys/rotate", None),
            ("PATCH", "", {"name": "Renamed"}),
            ("DELETE", "", {"confirmName": before["name"]}),
            ("POST", "/suspend", None),
            ("POST", "/resume", None),
        ],
        check,
    )


def test_revoking_a_key_of_a_disabled_environment_is_409(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token)
    env_id = created["environment"]["id"]
    disable(client, owner.token, env_id)
    keys_before = list_all(client, owner.token, f"{ENVS}/{env_id}/keys")
    key_id = created["keys"][0]["id"]

    resp = call(client, "POST", f"{ENVS}/{env_id}/keys/{key_id}/revoke", token=owner.token)

    # Disabling revoked every key, so either answer is true; both are a 409 that changes nothing.
    assert error(resp, 409)["code"] in ("KEY_ALREADY_REVOKED", "ENVIRONMENT_DISABLED")
    assert list_all(client, owner.token, f"{ENVS}/{env_id}/keys") == keys_before


def test_disabled_environment_can_still_be_read(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token)
    env_id = created["environment"]["id"]
    disable(client, owner.token, env_id)

    for suffix in ("", "/keys", "/audit"):
        assert call(client, "GET", f"{ENVS}/{env_id}{suffix}", token=owner.token).status_code == 200


# --- audit ---------------------------------------------------------------------------------------


def test_environment_audit_lists_every_change_newest_first(
    client: Any, owner: Login, admin: Login, clock: FrozenClock
) -> None:
    created = create_environment(client, owner.token, "Old")
    env_id = created["environment"]["id"]
    base = f"{ENVS}/{env_id}"
    clock.advance(1)
    rename(client, admin.token, env_id, "New")
    clock.advance(1)
    key = call(client, "POST", f"{base}/keys", token=admin.token, body={"kind": "publishable"})
    clock.advance(1)
    call(client, "POST", f"{base}/keys/{key.json_body['id']}/revoke", token=owner.token)
    clock.advance(1)
    call(client, "POST", f"{base}/keys/rotate", token=admin.token)
    clock.advance(1)
    disable(client, owner.token, env_id)

    events = list_all(client, owner.token, f"{base}/audit")

    assert [e["action"] for e in events] == [
        "environment.disabled",
        "keys.rotated",
        "key.revoked",
        "key.created",
        "environment.renamed",
        "environment.created",
    ]
    assert [e["actor"]["email"] for e in events] == [
        owner.email,
        admin.email,
        owner.email,
        admin.email,
        admin.email,
        owner.email,
    ]
    assert [e["createdAt"] for e in events] == sorted(
        (e["createdAt"] for e in events), reverse=True
    )
    assert {e["environmentId"] for e in events} == {env_id}


def test_audit_event_has_actor_target_and_details(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    env_id = create_environment(client, owner.token, "Old")["environment"]["id"]
    rename(client, owner.token, env_id, "New")

    event = call(client, "GET", f"{ENVS}/{env_id}/audit", token=owner.token).json_body["data"][0]

    assert set(event) == {
        "id",
        "environmentId",
        "action",
        "actor",
        "target",
        "details",
        "createdAt",
    }
    assert event["actor"] == {"id": owner.id, "email": owner.email}
    assert event["target"] == {"type": "environment", "id": env_id}
    assert event["details"] == {"from": "Old", "to": "New"}
    assert event["createdAt"] == iso(clock.now())


def test_rotation_audit_names_the_created_and_revoked_keys(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token)
    env_id = created["environment"]["id"]
    rotated = call(client, "POST", f"{ENVS}/{env_id}/keys/rotate", token=owner.token).json_body

    event = call(client, "GET", f"{ENVS}/{env_id}/audit", token=owner.token).json_body["data"][0]

    assert event["action"] == "keys.rotated"
    assert sorted(event["details"]["revoked"]) == sorted(k["id"] for k in created["keys"])
    assert sorted(event["details"]["created"]) == sorted(k["id"] for k in rotated["keys"])


def test_audit_is_kept_per_environment(client: Any, owner: Login) -> None:
    a = create_environment(client, owner.token, "A")["environment"]["id"]
    b = create_environment(client, owner.token, "B")["environment"]["id"]
    rename(client, owner.token, a, "A2")

    assert audit_actions(client, owner.token, f"{ENVS}/{b}/audit") == ["environment.created"]


def test_audit_paginates(client: Any, owner: Login) -> None:
    env_id = create_environment(client, owner.token, "N0")["environment"]["id"]
    for i in range(1, 5):
        rename(client, owner.token, env_id, f"N{i}")

    first = call(client, "GET", f"{ENVS}/{env_id}/audit?limit=3", token=owner.token).json_body
    rest = call(
        client,
        "GET",
        f"{ENVS}/{env_id}/audit?limit=3&cursor={first['nextCursor']}",
        token=owner.token,
    ).json_body

    ids = [e["id"] for e in first["data"] + rest["data"]]
    assert len(ids) == len(set(ids)) == 5
    assert rest["nextCursor"] is None


def test_audit_cursor_of_another_environment_is_refused(client: Any, owner: Login) -> None:
    a = create_environment(client, owner.token, "A")["environment"]["id"]
    b = create_environment(client, owner.token, "B")["environment"]["id"]
    rename(client, owner.token, a, "A2")
    cursor = call(client, "GET", f"{ENVS}/{a}/audit?limit=1", token=owner.token).json_body[
        "nextCursor"
    ]

    resp = call(client, "GET", f"{ENVS}/{b}/audit?cursor={cursor}", token=owner.token)

    error(resp, 400, "INVALID_CURSOR")


def test_audit_limit_out_of_bounds_is_400(client: Any, owner: Login) -> None:
    env_id = create_environment(client, owner.token)["environment"]["id"]

    def check(limit: str) -> None:
        resp = call(client, "GET", f"{ENVS}/{env_id}/audit?limit={limit}", token=owner.token)
        names_field(error(resp, 400), "limit")

    each(["0", "101", "abc"], check)


def test_audit_never_contains_a_full_key(client: Any, owner: Login) -> None:
    created = create_environment(client, owner.token)
    env_id = created["environment"]["id"]
    rotated = call(client, "POST", f"{ENVS}/{env_id}/keys/rotate", token=owner.token).json_body

    text = call(client, "GET", f"{ENVS}/{env_id}/audit", token=owner.token).body.decode()

    for key in created["keys"] + rotated["keys"]:
        assert key["key"] not in text
