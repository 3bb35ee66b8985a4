"""Opaque pagination cursors: round trip, and refusal of tampered, foreign or junk cursors."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import cursors
from chalicelib.errors import InvalidInput

SECRET = b"unit-cursor-secret-0123456789abcdef"
SCOPE = "keys:env_0Q5cZkT8abcdefgh:"
KEY = {"pk": "ENV#env_0Q5cZkT8abcdefgh", "sk": "KEY#key_0Q5cZkU1ijklmnop"}


def assert_refused(cursor: str, *, scope: str = SCOPE, secret: bytes = SECRET) -> None:
    with pytest.raises(InvalidInput) as caught:
        cursors.decode(secret, scope, cursor)
    assert caught.value.code == "INVALID_CURSOR"
    assert caught.value.field == "cursor"


def test_encode_then_decode_round_trips() -> None:
    cursor = cursors.encode(SECRET, SCOPE, KEY)

    assert cursors.decode(SECRET, SCOPE, cursor) == KEY


@given(
    key=st.dictionaries(
        st.text(min_size=1, max_size=10), st.text(max_size=40), min_size=1, max_size=4
    )
)
def test_any_small_key_round_trips(key: dict[str, str]) -> None:
    cursor = cursors.encode(SECRET, SCOPE, key)

    assert cursor.isascii()
    assert cursors.decode(SECRET, SCOPE, cursor) == key


def test_cursor_is_opaque_url_safe_text() -> None:
    cursor = cursors.encode(SECRET, SCOPE, KEY)

    assert all(c.isalnum() or c in "-_." for c in cursor)


def test_a_cursor_from_another_list_is_refused() -> None:
    cursor = cursors.encode(SECRET, SCOPE, KEY)

    assert_refused(cursor, scope="keys:env_0Q5cZkT8abcdefgX:")
    assert_refused(cursor, scope="environments:")


def test_a_cursor_signed_with_another_secret_is_refused() -> None:
    cursor = cursors.encode(b"another-secret-0123456789abcdef0123", SCOPE, KEY)

    assert_refused(cursor)


def test_a_cursor_with_an_edited_key_is_refused() -> None:
    cursor = cursors.encode(SECRET, SCOPE, KEY)
    _, tag = cursor.split(".")
    forged_key = {**KEY, "sk": "KEY#key_0000000000000000"}
    forged_body = base64.urlsafe_b64encode(
        json.dumps(forged_key, separators=(",", ":"), sort_keys=True).encode()
    )

    assert_refused(forged_body.decode().rstrip("=") + "." + tag)


def test_every_single_character_change_is_refused() -> None:
    cursor = cursors.encode(SECRET, SCOPE, KEY)
    changed = 0
    for i, original in enumerate(cursor):
        for replacement in "Aa0_-.":
            if replacement == original:
                continue
            tampered = cursor[:i] + replacement + cursor[i + 1 :]
            try:
                decoded = cursors.decode(SECRET, SCOPE, tampered)
            except InvalidInput as exc:
                assert exc.code == "INVALID_CURSOR"
                changed += 1
                continue
            # A changed base64 char may only alter padding bits: then the key is unchanged.
            assert decoded == KEY
    assert changed > len(cursor) * 4


@pytest.mark.parametrize(
    "junk",
    [
        "",
        ".",
        "abc",
        "a.b.c",
        "....",
        "!!!.abc",
        "e30.",
        "e30.AAAAAAAAAAAAAAAAAAAAAA",
        "e30.é",  # non-ASCII tag
        "é.abc",
        "e30.\x00",
        "e30.abc\n",
        "W10.abc",  # a JSON list body
        "A" * (cursors.MAX_CURSOR_CHARS + 1),
        "e30." + "A" * cursors.MAX_CURSOR_CHARS,
    ],
)
def test_junk_and_oversized_cursors_are_refused(junk: str) -> None:
    assert_refused(junk)


@given(junk=st.text(max_size=200))
def test_arbitrary_text_is_refused_with_invalid_cursor(junk: str) -> None:
    assert_refused(junk)


def test_a_signed_cursor_that_is_not_an_object_is_refused() -> None:
    # Only the server can sign, but decode() still insists on the shape it hands out.
    payload = b"[1,2]"
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    tag = cursors._tag(SECRET, SCOPE, payload)

    assert_refused(f"{body}.{tag}")
