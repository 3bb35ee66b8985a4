"""Room access decisions (chalicelib/access.py and the protocol's per-message levels) against a
small reference written another way: random rooms, tokens of both kinds with groups, and every
message type."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib import access
from chalicelib.access import RoomAccess, TokenAccess
from chalicelib.realtime import protocol

ORDER = ["none", "read", "comment", "write"]
# What the issue says each message needs, written out here (not read from the code).
EXPECTED_NEEDS = {
    "ping": "read",
    "join": "read",
    "presence.update": "read",
    "threads.list": "read",
    "comments.list": "read",
    "users.search": "read",
    # a user's own unread state and notifications: anyone who can read the room
    "thread.markRead": "read",
    "thread.subscribe": "read",
    "thread.unsubscribe": "read",
    "notifications.get": "read",
    "inbox.list": "read",
    "notifications.set": "read",
    "thread.create": "comment",
    "comment.create": "comment",
    "comment.update": "comment",
    "comment.delete": "comment",
    "thread.resolve": "comment",
    "reaction.add": "comment",
    "reaction.remove": "comment",
    "broadcast": "write",
    "attachment.create": "comment",
}


def reference_level(
    user: str,
    groups: list[str],
    permissions: dict[str, str] | None,
    room_id: str,
    room: dict[str, Any],
) -> str:
    """The rules as the issue words them, by brute force."""
    if permissions is not None:
        candidates = []
        for pattern, level in permissions.items():
            if pattern == room_id:
                candidates.append((2, len(pattern), level))
            elif pattern.endswith("*") and room_id.startswith(pattern[:-1]):
                candidates.append((1, len(pattern), level))
        if not candidates:
            return "none"
        return sorted(candidates)[-1][2]
    grants = [room["default"]]
    if user in room["users"]:
        grants.append(room["users"][user])
    grants += [room["groups"][g] for g in groups if g in room["groups"]]
    return max(grants, key=ORDER.index)


def reference_allows(level: str, message_type: str) -> bool:
    return ORDER.index(level) >= ORDER.index(EXPECTED_NEEDS[message_type])


names = st.sampled_from(["ada", "bob", "cy", "dee"])
group_names = st.sampled_from(["acme", "acme-eng", "ops", "guests"])
levels = st.sampled_from(ORDER)
room_ids = st.sampled_from(["acme:doc-1", "acme:doc-2", "acme:", "beta:x", "acme", "a", "z:1"])
patterns = st.one_of(
    room_ids,
    st.sampled_from(["*", "acme:*", "acme:doc-*", "acme*", "beta:*", "a*", "z:1*"]),
)
rooms = st.fixed_dictionaries(
    {
        "default": levels,
        "users": st.dictionaries(names, levels, max_size=4),
        "groups": st.dictionaries(group_names, levels, max_size=4),
    }
)
tokens = st.fixed_dictionaries(
    {
        "user": names,
        "groups": st.lists(group_names, max_size=4, unique=True),
        "permissions": st.one_of(st.none(), st.dictionaries(patterns, levels, max_size=8)),
    }
)


@settings(max_examples=2000, deadline=None)
@given(
    room_id=room_ids,
    room=rooms,
    token=tokens,
    message_type=st.sampled_from(sorted(EXPECTED_NEEDS)),
)
def test_every_decision_matches_the_reference(
    room_id: str, room: dict[str, Any], token: dict[str, Any], message_type: str
) -> None:
    decided = access.level_for(
        TokenAccess(token["user"], tuple(token["groups"]), token["permissions"]),
        room_id,
        RoomAccess(room["default"], room["users"], room["groups"]),
    )
    expected = reference_level(token["user"], token["groups"], token["permissions"], room_id, room)
    assert decided == expected
    allowed = access.at_least(decided, protocol.needed(message_type))
    assert allowed == reference_allows(expected, message_type)


def test_every_message_type_has_the_level_the_issue_gives() -> None:
    assert dict(protocol.NEEDS) == EXPECTED_NEEDS


def test_an_access_token_ignores_what_the_room_grants() -> None:
    token = TokenAccess("ada", ("acme",), {"other:*": "write"})
    room = RoomAccess("write", {"ada": "write"}, {"acme": "write"})
    assert access.level_for(token, "acme:doc", room) == "none"


def test_an_exact_id_beats_a_longer_prefix() -> None:
    token = TokenAccess("ada", (), {"acme:doc-1": "read", "acme:doc-*": "write"})
    assert access.level_for(token, "acme:doc-1", RoomAccess()) == "read"
    assert access.level_for(token, "acme:doc-10", RoomAccess()) == "write"


def test_a_longer_prefix_beats_a_shorter_one_even_when_lower() -> None:
    token = TokenAccess("ada", (), {"acme:*": "write", "acme:secret:*": "none"})
    assert access.level_for(token, "acme:secret:plan", RoomAccess()) == "none"
    assert access.level_for(token, "acme:plan", RoomAccess()) == "write"


def test_an_identity_token_gets_the_highest_grant() -> None:
    room = RoomAccess("read", {"ada": "comment"}, {"ops": "write"})
    assert access.level_for(TokenAccess("ada"), "r", room) == "comment"
    assert access.level_for(TokenAccess("ada", ("ops",)), "r", room) == "write"
    assert access.level_for(TokenAccess("bob"), "r", room) == "read"
