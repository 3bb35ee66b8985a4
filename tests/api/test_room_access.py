"""What rooms grant, over the REST API and the Admin API: `defaultAccess`, `usersAccess` and
`groupsAccess` on POST/PATCH/GET /api/v1/rooms and the admin room routes; the environment's
`defaultRoomAccess` and `createRoomsOnJoin` (audited); the rooms that name a user or groups
(`?userId=`, `?groupIds=`), paged, at a flat cost, and never across environments."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import runtime

from .helpers import API, Login, Tenant, call, error, names_field, new_tenant, ok, v1

ENVS = f"{API}/environments"


@pytest.fixture
def tenant(services: runtime.Services) -> Tenant:
    return new_tenant(services, "Acme")


@pytest.fixture
def other(services: runtime.Services) -> Tenant:
    return new_tenant(services, "Globex")


def grants(room: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, str]]:
    return room["defaultAccess"], room["usersAccess"], room["groupsAccess"]


# --- rooms ---------------------------------------------------------------------------------------


def test_a_room_is_created_with_what_it_grants_and_answers_it(client: Any, tenant: Tenant) -> None:
    body = {
        "id": "acme:plan",
        "defaultAccess": "none",
        "usersAccess": {"ada": "write"},
        "groupsAccess": {"eng": "comment", "acme": "read"},
    }
    created = ok(v1(client, "POST", "/rooms", tenant.sk, body), 201)

    expected = ("none", {"ada": "write"}, {"acme": "read", "eng": "comment"})
    assert grants(created) == expected
    assert grants(ok(v1(client, "GET", "/rooms/acme:plan", tenant.sk))) == expected
    listed = ok(v1(client, "GET", "/rooms", tenant.sk))["data"]
    assert [grants(r) for r in listed] == [expected]


def test_a_room_without_default_access_gets_the_environments(
    client: Any, tenant: Tenant, owner: Login
) -> None:
    assert grants(ok(v1(client, "POST", "/rooms", tenant.sk, {"id": "a"}), 201))[0] == "write"
    patch = {"defaultRoomAccess": "read"}
    ok(call(client, "PATCH", f"{ENVS}/{tenant.id}", token=owner.token, body=patch))

    assert grants(ok(v1(client, "POST", "/rooms", tenant.sk, {"id": "b"}), 201))[0] == "read"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"defaultAccess": "admin"}, "defaultAccess"),
        ({"defaultAccess": None}, None),  # null: absent
        ({"usersAccess": {"ada": "owner"}}, "usersAccess.ada"),
        ({"usersAccess": {"ada": None}}, "usersAccess.ada"),  # no removals in a create
        ({"usersAccess": ["ada"]}, "usersAccess"),
        ({"groupsAccess": {"": "read"}}, "groupsAccess."),
        ({"groupsAccess": {"g" * 129: "read"}}, "groupsAccess." + "g" * 129),
        ({"groupsAccess": {f"g{n}": "read" for n in range(101)}}, "groupsAccess"),
        (
            {
                "usersAccess": {f"u{n}": "read" for n in range(50)},
                "groupsAccess": {f"g{n}": "read" for n in range(49)},
            },
            "usersAccess",
        ),
    ],
)
def test_a_bad_grant_in_a_create_is_a_400_naming_it_and_nothing_is_made(
    client: Any, tenant: Tenant, body: dict[str, Any], field: str | None
) -> None:
    resp = v1(client, "POST", "/rooms", tenant.sk, {"id": "r", **body})
    if field is None:
        assert grants(ok(resp, 201))[0] == "write"
        return
    names_field(error(resp, 400, "INVALID_INPUT"), field)
    error(v1(client, "GET", "/rooms/r", tenant.sk), 404, "ROOM_NOT_FOUND")


def test_ninety_eight_entries_fit_one_create(client: Any, tenant: Tenant) -> None:
    body = {
        "id": "big",
        "usersAccess": {f"u{n}": "read" for n in range(49)},
        "groupsAccess": {f"g{n}": "comment" for n in range(49)},
    }
    room = ok(v1(client, "POST", "/rooms", tenant.sk, body), 201)
    assert len(room["usersAccess"]) + len(room["groupsAccess"]) == 98


def test_a_patch_sets_and_removes_entries_and_keeps_the_others(client: Any, tenant: Tenant) -> None:
    body = {
        "id": "r",
        "usersAccess": {"ada": "read", "bob": "write"},
        "groupsAccess": {"g": "read"},
    }
    ok(v1(client, "POST", "/rooms", tenant.sk, body), 201)

    patch = {"defaultAccess": "none", "usersAccess": {"ada": "comment", "bob": None, "cy": "read"}}
    room = ok(v1(client, "PATCH", "/rooms/r", tenant.sk, patch))

    assert grants(room) == ("none", {"ada": "comment", "cy": "read"}, {"g": "read"})
    assert ok(v1(client, "GET", "/rooms/r", tenant.sk)) == room
    # removing an entry that is not there is no error
    room = ok(v1(client, "PATCH", "/rooms/r", tenant.sk, {"groupsAccess": {"x": None}}))
    assert room["groupsAccess"] == {"g": "read"}


def test_a_patch_of_metadata_keeps_the_grants(client: Any, tenant: Tenant) -> None:
    ok(v1(client, "POST", "/rooms", tenant.sk, {"id": "r", "usersAccess": {"a": "read"}}), 201)
    room = ok(v1(client, "PATCH", "/rooms/r", tenant.sk, {"metadata": {"t": 1}}))
    assert room["metadata"] == {"t": 1} and room["usersAccess"] == {"a": "read"}


def test_a_patch_past_a_hundred_entries_is_a_400_and_changes_nothing(
    client: Any, tenant: Tenant
) -> None:
    ok(v1(client, "POST", "/rooms", tenant.sk, {"id": "r"}), 201)
    for start in (0, 50):
        users = {f"u{n}": "read" for n in range(start, start + 50)}
        ok(v1(client, "PATCH", "/rooms/r", tenant.sk, {"usersAccess": users}))

    resp = v1(client, "PATCH", "/rooms/r", tenant.sk, {"usersAccess": {"one-more": "read"}})

    err = error(resp, 400, "INVALID_INPUT")
    names_field(err, "usersAccess")
    assert "101" in err["message"]
    assert len(ok(v1(client, "GET", "/rooms/r", tenant.sk))["usersAccess"]) == 100


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"defaultAccess": "all"}, "INVALID_INPUT", "defaultAccess"),
        ({"usersAccess": {"ada": "read+"}}, "INVALID_INPUT", "usersAccess.ada"),
        ({"groupsAccess": "eng"}, "INVALID_INPUT", "groupsAccess"),
        ({}, "NOTHING_TO_UPDATE", "body"),
    ],
)
def test_a_bad_patch_is_a_400_naming_the_field(
    client: Any, tenant: Tenant, body: dict[str, Any], code: str, field: str
) -> None:
    ok(v1(client, "POST", "/rooms", tenant.sk, {"id": "r"}), 201)
    names_field(error(v1(client, "PATCH", "/rooms/r", tenant.sk, body), 400, code), field)
    assert grants(ok(v1(client, "GET", "/rooms/r", tenant.sk))) == ("write", {}, {})


def test_a_patch_of_a_missing_room_is_404(client: Any, tenant: Tenant) -> None:
    resp = v1(client, "PATCH", "/rooms/nope", tenant.sk, {"defaultAccess": "read"})
    error(resp, 404, "ROOM_NOT_FOUND")


# --- the environment's settings -----------------------------------------------------------------


def test_environment_settings_default_to_the_old_behaviour(
    client: Any, tenant: Tenant, viewer: Login
) -> None:
    env = ok(call(client, "GET", f"{ENVS}/{tenant.id}", token=viewer.token))
    assert (env["defaultRoomAccess"], env["createRoomsOnJoin"]) == ("write", True)


def test_an_admin_changes_the_settings_and_the_audit_log_says_so(
    client: Any, tenant: Tenant, admin: Login
) -> None:
    body = {"defaultRoomAccess": "none", "createRoomsOnJoin": False}
    env = ok(call(client, "PATCH", f"{ENVS}/{tenant.id}", token=admin.token, body=body))

    assert (env["defaultRoomAccess"], env["createRoomsOnJoin"], env["name"]) == (
        "none",
        False,
        "Acme",
    )
    again = ok(call(client, "GET", f"{ENVS}/{tenant.id}", token=admin.token))
    assert again == env
    events = ok(call(client, "GET", f"{ENVS}/{tenant.id}/audit", token=admin.token))["data"]
    assert events[0]["action"] == "environment.updated"
    assert events[0]["details"] == {
        "defaultRoomAccess": {"from": "write", "to": "none"},
        "createRoomsOnJoin": {"from": True, "to": False},
    }
    assert events[0]["actor"]["email"] == admin.email


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"defaultRoomAccess": "admin"}, "defaultRoomAccess"),
        ({"createRoomsOnJoin": "yes"}, "createRoomsOnJoin"),
        ({"name": None}, "name"),
    ],
)
def test_bad_settings_are_a_400_naming_the_field(
    client: Any, tenant: Tenant, admin: Login, body: dict[str, Any], field: str
) -> None:
    resp = call(client, "PATCH", f"{ENVS}/{tenant.id}", token=admin.token, body=body)
    assert resp.status_code == 400
    names_field(resp.json_body["error"], field)


def test_a_viewer_cannot_change_the_settings(client: Any, tenant: Tenant, viewer: Login) -> None:
    body = {"defaultRoomAccess": "none"}
    resp = call(client, "PATCH", f"{ENVS}/{tenant.id}", token=viewer.token, body=body)
    error(resp, 403, "ROLE_REQUIRED")


# --- the admin room routes ------------------------------------------------------------------------


def test_the_admin_reads_and_changes_a_rooms_grants_audited(
    client: Any, tenant: Tenant, admin: Login, viewer: Login
) -> None:
    ok(v1(client, "POST", "/rooms", tenant.sk, {"id": "r", "usersAccess": {"ada": "read"}}), 201)
    path = f"{ENVS}/{tenant.id}/rooms/r"

    room = ok(call(client, "GET", path, token=viewer.token))
    assert grants(room) == ("write", {"ada": "read"}, {})
    error(call(client, "PATCH", path, token=viewer.token, body={"defaultAccess": "none"}), 403)

    patch = {"defaultAccess": "none", "usersAccess": {"ada": None}, "groupsAccess": {"g": "write"}}
    room = ok(call(client, "PATCH", path, token=admin.token, body=patch))

    assert grants(room) == ("none", {}, {"g": "write"})
    assert grants(ok(v1(client, "GET", "/rooms/r", tenant.sk))) == ("none", {}, {"g": "write"})
    event = ok(call(client, "GET", f"{ENVS}/{tenant.id}/audit", token=admin.token))["data"][0]
    assert (event["action"], event["target"]) == ("room.updated", {"type": "room", "id": "r"})
    assert event["details"] == patch
    rooms = ok(call(client, "GET", f"{ENVS}/{tenant.id}/rooms", token=admin.token))["data"]
    assert [grants(r) for r in rooms] == [("none", {}, {"g": "write"})]


def test_the_admin_room_routes_stay_in_their_environment(
    client: Any, tenant: Tenant, other: Tenant, admin: Login
) -> None:
    ok(v1(client, "POST", "/rooms", other.sk, {"id": "r"}), 201)
    path = f"{ENVS}/{tenant.id}/rooms/r"

    error(call(client, "GET", path, token=admin.token), 404, "ROOM_NOT_FOUND")
    error(
        call(client, "PATCH", path, token=admin.token, body={"defaultAccess": "none"}),
        404,
        "ROOM_NOT_FOUND",
    )
    assert grants(ok(v1(client, "GET", "/rooms/r", other.sk)))[0] == "write"


# --- rooms that name a user or groups ---------------------------------------------------------


def make(client: Any, tenant: Tenant, room: str, **grants: Any) -> None:
    ok(v1(client, "POST", "/rooms", tenant.sk, {"id": room, **grants}), 201)


def ids(client: Any, tenant: Tenant, query: str) -> list[str]:
    return [r["id"] for r in ok(v1(client, "GET", f"/rooms?{query}", tenant.sk))["data"]]


def test_rooms_naming_a_user_or_groups_are_listed_in_id_order(client: Any, tenant: Tenant) -> None:
    make(client, tenant, "c", usersAccess={"ada": "read"})
    make(client, tenant, "a", groupsAccess={"eng": "write"})
    make(client, tenant, "b", usersAccess={"bob": "read"}, groupsAccess={"ops": "read"})
    make(client, tenant, "d")

    assert ids(client, tenant, "userId=ada") == ["c"]
    assert ids(client, tenant, "groupIds=eng,ops") == ["a", "b"]
    assert ids(client, tenant, "userId=ada&groupIds=eng") == ["a", "c"]
    assert ids(client, tenant, "userId=nobody") == []
    assert ids(client, tenant, "userId=") == ["a", "b", "c", "d"]  # empty: every room


def test_a_changed_or_deleted_room_leaves_the_lists(client: Any, tenant: Tenant) -> None:
    make(client, tenant, "a", usersAccess={"ada": "read"})
    make(client, tenant, "b", usersAccess={"ada": "read"})

    ok(v1(client, "PATCH", "/rooms/a", tenant.sk, {"usersAccess": {"ada": None}}))
    assert v1(client, "DELETE", "/rooms/b", tenant.sk).status_code == 204

    assert ids(client, tenant, "userId=ada") == []
    make(client, tenant, "b")  # the same id again, naming nobody
    assert ids(client, tenant, "userId=ada") == []


def test_the_lists_page_with_cursors(client: Any, tenant: Tenant) -> None:
    for n in range(5):
        make(client, tenant, f"r{n}", groupsAccess={"g1" if n % 2 else "g2": "read"})

    seen: list[str] = []
    cursor = ""
    while True:
        page = ok(v1(client, "GET", f"/rooms?groupIds=g1,g2&limit=2{cursor}", tenant.sk))
        seen += [r["id"] for r in page["data"]]
        if page["nextCursor"] is None:
            break
        cursor = f"&cursor={page['nextCursor']}"
    assert seen == [f"r{n}" for n in range(5)]
    # a cursor of another list is refused
    other_list = ok(v1(client, "GET", "/rooms?groupIds=g1&limit=1", tenant.sk))["nextCursor"]
    resp = v1(client, "GET", f"/rooms?groupIds=g2&cursor={other_list}", tenant.sk)
    error(resp, 400, "INVALID_CURSOR")


def test_the_lists_never_cross_environments(client: Any, tenant: Tenant, other: Tenant) -> None:
    make(client, other, "theirs", usersAccess={"ada": "write"}, groupsAccess={"eng": "write"})
    make(client, tenant, "ours", usersAccess={"ada": "read"})

    assert ids(client, tenant, "userId=ada&groupIds=eng") == ["ours"]
    assert ids(client, other, "userId=ada") == ["theirs"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("groupIds=" + ",".join(f"g{n}" for n in range(51)), "groupIds"),
        ("userId=" + "u" * 129, "userId"),
    ],
)
def test_bad_list_filters_are_a_400(client: Any, tenant: Tenant, query: str, field: str) -> None:
    names_field(error(v1(client, "GET", f"/rooms?{query}", tenant.sk), 400, "INVALID_INPUT"), field)
