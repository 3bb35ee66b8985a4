"""API key format: generation, parsing, checksum, preview and digest (pure functions, no AWS)."""

from __future__ import annotations

import hashlib
import hmac
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import ids
from chalicelib.auth import apikeys
from chalicelib.auth.apikeys import ParsedKey

ENV_ID = "env_0Q5cZkT8abcdefgh"
KEY_ID = "key_0Q5cZkU1ijklmnop"
PEPPER = b"unit-pepper-0123456789abcdef0123456789"

# Layout of a key: 3 prefix chars, 16 env chars, 16 key-id chars, 22 secret chars, 6 checksum.
SECRET_SLICE = slice(3 + 2 * ids.RAW_ID_CHARS, 3 + 2 * ids.RAW_ID_CHARS + apikeys.SECRET_CHARS)


def secret_part(key: str) -> str:
    return key[SECRET_SLICE]


@pytest.fixture(params=["publishable", "secret"])
def kind(request: pytest.FixtureRequest) -> apikeys.KeyKind:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def key(kind: apikeys.KeyKind) -> str:
    return apikeys.generate(kind, ENV_ID, KEY_ID)


# --- generate / parse ---------------------------------------------------------------------


def test_generate_then_parse_round_trips(kind: apikeys.KeyKind) -> None:
    key = apikeys.generate(kind, ENV_ID, KEY_ID)

    assert apikeys.parse(key) == ParsedKey(kind=kind, env_id=ENV_ID, key_id=KEY_ID)


def test_generated_key_has_the_documented_shape(kind: apikeys.KeyKind) -> None:
    key = apikeys.generate(kind, ENV_ID, KEY_ID)
    prefix = "pk_" if kind == "publishable" else "sk_"

    assert len(key) == apikeys.KEY_LENGTH == 63
    assert key.startswith(prefix)
    assert key[3:35] == ENV_ID[4:] + KEY_ID[4:]
    assert ids.is_base62(key[3:])


def test_kind_comes_from_the_prefix() -> None:
    pk = apikeys.generate("publishable", ENV_ID, KEY_ID)
    sk = apikeys.generate("secret", ENV_ID, KEY_ID)

    assert apikeys.parse(pk).kind == "publishable"  # type: ignore[union-attr]
    assert apikeys.parse(sk).kind == "secret"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pk_", "publishable"),
        ("sk_", "secret"),
        ("sk_garbage", "secret"),
        ("pk_" + "x" * 100, "publishable"),
        ("sk", None),
        ("sk-abc", None),
        ("SK_abc", None),
        ("rk_abc", "restricted"),
        ("xk_abc", None),
        ("", None),
        ("_sk_abc", None),
    ],
)
def test_kind_of_prefix_reads_only_the_claimed_prefix(text: str, expected: str | None) -> None:
    assert apikeys.kind_of_prefix(text) == expected


@pytest.mark.parametrize(
    ("env_id", "key_id"),
    [
        ("env_short", KEY_ID),
        (ENV_ID, "key_short"),
        (KEY_ID, ENV_ID),  # prefixes swapped
        ("op_0Q5cZkT8abcdefgh", KEY_ID),
        (ENV_ID, "key_0Q5cZkU1ijklmno!"),
    ],
)
def test_generate_refuses_anything_but_env_and_key_ids(env_id: str, key_id: str) -> None:
    with pytest.raises(ValueError):
        apikeys.generate("secret", env_id, key_id)


# --- the checksum refuses typos with no I/O -------------------------------------------------


def single_char_edits(key: str) -> list[str]:
    """Every substitution (by any printable ASCII char), deletion and insertion of one char."""
    alphabet = [chr(c) for c in range(32, 127)]
    edits: list[str] = []
    for i, original in enumerate(key):
        edits += [key[:i] + c + key[i + 1 :] for c in alphabet if c != original]
        edits.append(key[:i] + key[i + 1 :])
    for i in range(len(key) + 1):
        edits += [key[:i] + c + key[i:] for c in alphabet]
    return edits


def test_every_single_character_edit_of_a_valid_key_is_refused(key: str) -> None:
    edits = single_char_edits(key)
    # 63 positions x 94 substitutions, 63 deletions and 64 x 95 insertions.
    assert len(edits) == 63 * 94 + 63 + 64 * 95

    accepted = [edit for edit in set(edits) - {key} if apikeys.parse(edit) is not None]

    assert accepted == []
    assert apikeys.parse(key) is not None


@given(
    kind=st.sampled_from(["publishable", "secret"]),
    env_raw=st.text(ids.ALPHABET, min_size=16, max_size=16),
    key_raw=st.text(ids.ALPHABET, min_size=16, max_size=16),
    position=st.integers(min_value=0, max_value=apikeys.KEY_LENGTH - 1),
    replacement=st.sampled_from(ids.ALPHABET + "_-.=+/ "),
)
def test_a_random_one_char_typo_in_any_key_is_refused(
    kind: apikeys.KeyKind, env_raw: str, key_raw: str, position: int, replacement: str
) -> None:
    key = apikeys.generate(kind, f"env_{env_raw}", f"key_{key_raw}")
    typo = key[:position] + replacement + key[position + 1 :]

    assert apikeys.parse(typo) is None or typo == key


def test_swapping_the_pk_sk_prefix_invalidates_the_checksum() -> None:
    sk = apikeys.generate("secret", ENV_ID, KEY_ID)
    pk = apikeys.generate("publishable", ENV_ID, KEY_ID)

    assert apikeys.parse("pk" + sk[2:]) is None
    assert apikeys.parse("sk" + pk[2:]) is None


@given(junk=st.text(min_size=0, max_size=80))
def test_arbitrary_text_is_refused(junk: str) -> None:
    assert apikeys.parse(junk) is None


@given(body=st.text(ids.ALPHABET, min_size=60, max_size=60), prefix=st.sampled_from(["pk", "sk"]))
def test_well_shaped_keys_with_a_made_up_checksum_are_refused(body: str, prefix: str) -> None:
    # A 32-bit checksum: a random body passes with probability 2**-32.
    assert apikeys.parse(f"{prefix}_{body}") is None


# --- randomness ----------------------------------------------------------------------------


def test_the_secret_part_carries_at_least_128_bits() -> None:
    key = apikeys.generate("secret", ENV_ID, KEY_ID)

    assert apikeys.SECRET_CHARS == 22
    assert len(secret_part(key)) == 22
    assert ids.is_base62(secret_part(key))
    assert apikeys.SECRET_CHARS * math.log2(62) >= 128


def test_two_keys_never_share_their_secret_and_use_the_whole_alphabet() -> None:
    keys = [apikeys.generate("secret", ENV_ID, KEY_ID) for _ in range(2000)]
    secrets_ = [secret_part(k) for k in keys]

    assert len(set(keys)) == len(keys)
    assert len(set(secrets_)) == len(secrets_)
    # 44,000 draws from 62 symbols: a generator stuck on a subset (hex, lowercase) would show.
    assert set("".join(secrets_)) == set(ids.ALPHABET)


# --- preview and digest ---------------------------------------------------------------------


def test_preview_is_the_prefix_and_the_last_four_chars(key: str) -> None:
    preview = apikeys.preview(key)

    assert re.fullmatch(r"(pk|sk)_\.\.\.[0-9A-Za-z]{4}", preview)
    assert preview == f"{key[:3]}...{key[-4:]}"
    # The four chars shown are checksum chars, never part of the secret.
    assert SECRET_SLICE.stop <= apikeys.KEY_LENGTH - 4


def test_digest_is_an_hmac_sha256_under_the_pepper(key: str) -> None:
    expected = hmac.new(PEPPER, key.encode(), hashlib.sha256).hexdigest()

    assert apikeys.digest(PEPPER, key) == expected
    assert re.fullmatch(r"[0-9a-f]{64}", apikeys.digest(PEPPER, key))


def test_a_different_pepper_gives_a_different_digest(key: str) -> None:
    other_pepper = b"another-pepper-0123456789abcdef012345"

    assert apikeys.digest(PEPPER, key) != apikeys.digest(other_pepper, key)
    assert apikeys.digest(PEPPER, key) != hashlib.sha256(key.encode()).hexdigest()


def test_matches_only_the_same_key_under_the_same_pepper(key: str) -> None:
    stored = apikeys.digest(PEPPER, key)
    other = apikeys.generate("secret", ENV_ID, KEY_ID)

    assert apikeys.matches(PEPPER, key, stored)
    assert not apikeys.matches(PEPPER, other, stored)
    assert not apikeys.matches(b"another-pepper-0123456789abcdef012345", key, stored)
