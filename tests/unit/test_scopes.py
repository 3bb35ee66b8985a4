"""A restricted key's rooms (chalicelib/scopes.py): the pattern match, and the narrowing of a
minted token's permissions, checked with Hypothesis against what narrowing must mean: in every
room within the pattern the level the permissions gave, in every other room none."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib import scopes
from chalicelib.access import permission_for

# Short ids over a tiny alphabet, so prefixes overlap often.
ROOM = st.text(alphabet="ab:", min_size=1, max_size=4)
LEVEL = st.sampled_from(["none", "read", "comment", "write"])
ENTRY = st.one_of(ROOM, ROOM.map(lambda r: r + "*"), st.just("*"))
PATTERN = st.one_of(ROOM, ROOM.map(lambda r: r + "*"))


def test_room_in() -> None:
    assert scopes.room_in(None, "anything")
    assert scopes.room_in("acme:*", "acme:1") and scopes.room_in("acme:*", "acme:")
    assert not scopes.room_in("acme:*", "acm") and not scopes.room_in("acme:*", "beta:acme:")
    assert scopes.room_in("acme:1", "acme:1") and not scopes.room_in("acme:1", "acme:10")


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(ENTRY, LEVEL, max_size=6), PATTERN, st.lists(ROOM, max_size=8))
def test_narrowed_permissions_give_the_same_level_inside_and_none_outside(
    permissions: dict[str, str], pattern: str, rooms: list[str]
) -> None:
    narrowed = scopes.narrow(permissions, pattern)

    for room in [*rooms, pattern.rstrip("*") or "a"]:
        expected = permission_for(permissions, room) if scopes.room_in(pattern, room) else "none"
        assert permission_for(narrowed, room) == expected, (room, narrowed)
    # Nothing in it reaches past the pattern: every entry is within it.
    prefix = pattern[:-1] if pattern.endswith("*") else None
    for entry in narrowed:
        assert entry.startswith(prefix) if prefix is not None else entry == pattern


def test_no_pattern_leaves_permissions_as_they_are() -> None:
    assert scopes.narrow({"*": "write"}, None) == {"*": "write"}
