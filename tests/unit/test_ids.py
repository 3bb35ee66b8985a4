"""Prefixed, time-sortable ids and the base62 helpers they share with keys (no AWS)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import ids

MAX_MS = 62**ids.TIME_CHARS - 1


def test_new_id_is_prefix_underscore_and_16_base62_chars() -> None:
    value = ids.new_id("env")

    head, _, raw = value.partition("_")
    assert head == "env"
    assert len(raw) == ids.RAW_ID_CHARS == 16
    assert ids.is_base62(raw)


def test_ids_are_unique() -> None:
    made = [ids.new_id("key") for _ in range(5000)]

    assert len(set(made)) == len(made)


@given(
    earlier=st.integers(min_value=0, max_value=MAX_MS - 1),
    gap=st.integers(min_value=1, max_value=10**9),
)
def test_a_later_millisecond_always_sorts_after_an_earlier_one(earlier: int, gap: int) -> None:
    later = min(earlier + gap, MAX_MS)

    assert ids.new_raw_id(earlier) < ids.new_raw_id(later)


@pytest.mark.parametrize("ms", [0, 61, 62, 3843, 3844, 1_795_000_000_000])
def test_sorting_holds_across_base62_digit_boundaries(ms: int) -> None:
    assert ids.new_raw_id(ms) < ids.new_raw_id(ms + 1)
    assert ids.encode(ms, ids.TIME_CHARS) < ids.encode(ms + 1, ids.TIME_CHARS)


def test_ids_made_in_sequence_sort_in_creation_order() -> None:
    made = [ids.new_id("evt") for _ in range(50)]

    # Within one millisecond the random part decides; across milliseconds time decides.
    times = [m[4 : 4 + ids.TIME_CHARS] for m in made]
    assert times == sorted(times)


def test_encode_is_fixed_width_and_refuses_overflow() -> None:
    assert ids.encode(0, 7) == "0000000"
    assert ids.encode(61, 2) == "0z"
    assert ids.encode(MAX_MS, ids.TIME_CHARS) == "z" * ids.TIME_CHARS
    with pytest.raises(ValueError):
        ids.encode(MAX_MS + 1, ids.TIME_CHARS)


def test_raw_part_returns_the_raw_chars_of_a_matching_id() -> None:
    value = ids.new_id("env")

    assert ids.raw_part(value, "env") == value[4:]
    assert ids.raw_part(f"key_{'a' * 16}", "key") == "a" * 16


@pytest.mark.parametrize(
    ("value", "prefix"),
    [
        ("env_0Q5cZkT8abcdefgh", "key"),  # another prefix
        ("0Q5cZkT8abcdefgh", "env"),  # no prefix
        ("env0Q5cZkT8abcdefgh", "env"),  # no separator
        ("env_0Q5cZkT8abcdefg", "env"),  # 15 chars
        ("env_0Q5cZkT8abcdefghi", "env"),  # 17 chars
        ("env_0Q5cZkT8abcdef-h", "env"),  # not base62
        ("env_0Q5cZkT8abcdef_h", "env"),
        ("env_0Q5cZkT8abcdéfgh", "env"),
        ("env_", "env"),
        ("", "env"),
        ("ENV_0Q5cZkT8abcdefgh", "env"),
        ("env_env_0Q5cZkT8abc", "env"),
    ],
)
def test_raw_part_refuses_anything_else(value: str, prefix: str) -> None:
    assert ids.raw_part(value, prefix) is None


def test_is_base62_accepts_only_the_alphabet() -> None:
    assert ids.is_base62(ids.ALPHABET)
    assert ids.is_base62("")
    for char in "-_+/=. é\x00":
        assert not ids.is_base62(f"abc{char}")


def test_random_base62_has_the_requested_length_and_alphabet() -> None:
    drawn = ids.random_base62(4000)

    assert len(drawn) == 4000
    assert set(drawn) == set(ids.ALPHABET)
