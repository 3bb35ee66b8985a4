"""User token primitives (chalicelib/auth/tokens.py): mint, peek and verify, and every forgery
and malformation they must refuse with InvalidToken. No AWS: the minting key's status is the
caller's check (see tests/api/test_auth_token.py and tests/integration/)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from chalicelib import ids
from chalicelib.auth import tokens
from chalicelib.auth.tokens import InvalidToken, TokenRef

SECRET = b"unit-signing-secret-0123456789abcdef0123"
ISSUER = "pulse:unit"
ENV = "env_0Q5cZkT8abcdefgh"
KEY = "key_0Q5cZkU1ijklmnop"
OTHER_KEY = "key_0Q5cZkU1qrstuvwx"  # another key of ENV
OTHER_ENV = "env_0Q5cZkT8XXXXXXXX"
OTHER_ENV_KEY = "key_0Q5cZkU1YYYYYYYY"  # a key of OTHER_ENV
TTL = 900


# --- helpers --------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def now() -> int:
    # PyJWT checks exp/iat against the wall clock as well as verify()'s `now`: mint at real time.
    return int(time.time())


def claims(at: int | None = None, **changes: Any) -> dict[str, Any]:
    """The claims mint() would write; `changes` overrides (a value of ... removes the claim)."""
    at = now() if at is None else at
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": ENV,
        "sub": "user-1",
        "name": "Ada",
        "avatar": None,
        "color": "#E5484D",
        "iat": at,
        "exp": at + TTL,
        "jti": "0f8e5b2cd3a94e7f9a1b2c3d4e5f6a7b",
    }
    base.update(changes)
    return {k: val for k, val in base.items() if val is not ...}


def forge(
    payload: dict[str, Any] | None = None,
    *,
    header: dict[str, Any] | None = None,
    key: bytes | None = None,
    digest: Callable[..., Any] | None = hashlib.sha256,
) -> str:
    """A hand-built JWT: header/payload as given, HMAC-signed with `key` (default: KEY's derived
    secret). `digest=None` leaves the signature empty (alg "none")."""
    head = {"alg": "HS256", "typ": "JWT", "kid": KEY}
    head.update(header or {})
    head = {k: val for k, val in head.items() if val is not ...}
    body = claims() if payload is None else payload
    signing_input = f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(body).encode())}"
    if digest is None:
        return signing_input + "."
    secret = tokens.signing_key(SECRET, ENV, KEY) if key is None else key
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def accept(token: Any, *, at: float | None = None) -> tokens.UserClaims:
    """What a caller does: peek to learn which key to check, then verify."""
    ref = tokens.peek(token)
    return tokens.verify(
        token, server_secret=SECRET, issuer=ISSUER, ref=ref, now=now() if at is None else at
    )


def assert_refused(token: Any, *, at: float | None = None) -> None:
    with pytest.raises(InvalidToken):
        accept(token, at=at)


def mint(**overrides: Any) -> tuple[str, int]:
    args: dict[str, Any] = {
        "server_secret": SECRET,
        "issuer": ISSUER,
        "env_id": ENV,
        "key_id": KEY,
        "user_id": "user-1",
        "name": "Ada",
        "avatar": "https://example.com/ada.png",
        "color": "#E5484D",
        "now": now(),
        "ttl_seconds": TTL,
    }
    args.update(overrides)
    return tokens.mint(**args)


def resign(token: str, mutate: Callable[[dict[str, Any], dict[str, Any]], None]) -> str:
    """Decode a real token, let `mutate(header, payload)` edit it, sign again with KEY's secret."""
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    mutate(header, payload)
    return forge(payload, header=header)


# --- round trip -----------------------------------------------------------------------------


def test_mint_then_peek_and_verify_round_trips() -> None:
    issued = now()
    token, expires_at = mint(now=issued)

    ref = tokens.peek(token)
    verified = tokens.verify(token, server_secret=SECRET, issuer=ISSUER, ref=ref, now=issued)

    assert ref == TokenRef(env_id=ENV, key_id=KEY)
    assert expires_at == issued + TTL
    assert verified == tokens.UserClaims(
        env_id=ENV,
        key_id=KEY,
        user_id="user-1",
        name="Ada",
        avatar="https://example.com/ada.png",
        color="#E5484D",
        issued_at=issued,
        expires_at=issued + TTL,
        token_id=verified.token_id,
    )


def test_minted_token_has_the_documented_header_and_claims() -> None:
    issued = now()
    token, _ = mint(now=issued, avatar=None)

    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})

    assert header["alg"] == "HS256"
    assert header["kid"] == KEY
    assert set(payload) == {"iss", "aud", "sub", "name", "avatar", "color", "iat", "exp", "jti"}
    assert payload["iss"] == ISSUER
    assert payload["aud"] == ENV
    assert payload["sub"] == "user-1"
    assert payload["avatar"] is None
    assert payload["exp"] - payload["iat"] == TTL


def test_every_token_gets_a_fresh_jti() -> None:
    jtis = {accept(mint()[0]).token_id for _ in range(50)}

    assert len(jtis) == 50


def test_the_hand_forging_helper_makes_acceptable_tokens() -> None:
    # Every refusal below changes one thing in a token built this way.
    assert accept(forge()).user_id == "user-1"


def test_signing_key_is_per_environment_key_and_server_secret() -> None:
    base = tokens.signing_key(SECRET, ENV, KEY)

    assert len(base) == 32
    assert base != tokens.signing_key(SECRET, ENV, OTHER_KEY)
    assert base != tokens.signing_key(SECRET, OTHER_ENV, KEY)
    assert base != tokens.signing_key(b"another-server-secret-0123456789abcdef", ENV, KEY)
    assert SECRET not in base


def test_the_token_reveals_no_signing_material() -> None:
    token, _ = mint()
    decoded = base64.urlsafe_b64decode(token.split(".")[1] + "==").decode()

    assert SECRET.decode() not in decoded
    assert b64url(tokens.signing_key(SECRET, ENV, KEY)) not in token


# --- algorithm refusals ---------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(alg: str) -> None:
    assert_refused(forge(header={"alg": alg}, digest=None))
    assert_refused(forge(header={"alg": alg}))  # with a (valid HS256) signature attached


def test_hs512_with_the_right_secret_is_refused() -> None:
    token = forge(header={"alg": "HS512"}, digest=hashlib.sha512)

    assert_refused(token)
    with pytest.raises(InvalidToken):  # verify() alone refuses it too (one algorithm only)
        tokens.verify(token, server_secret=SECRET, issuer=ISSUER, ref=TokenRef(ENV, KEY), now=now())


@pytest.mark.parametrize("alg", ["HS384", "RS256", "ES256", "PS256", "EdDSA", "hs256", ""])
def test_other_alg_headers_with_an_hmac_signature_are_refused(alg: str) -> None:
    assert_refused(forge(header={"alg": alg}))


def test_a_real_rs256_token_is_refused() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), private, "RS256", headers={"kid": KEY})

    assert_refused(token)
    with pytest.raises(InvalidToken):
        tokens.verify(token, server_secret=SECRET, issuer=ISSUER, ref=TokenRef(ENV, KEY), now=now())


def test_a_real_es256_token_is_refused() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(claims(), private, "ES256", headers={"kid": KEY})

    assert_refused(token)


def test_missing_alg_is_refused() -> None:
    assert_refused(forge(header={"alg": ...}))


# --- signature and key refusals -------------------------------------------------------------


def test_hs256_signed_with_another_server_secret_is_refused() -> None:
    other = tokens.signing_key(b"attacker-guess-0123456789abcdef0123456", ENV, KEY)

    assert_refused(forge(key=other))


def test_hs256_signed_with_the_raw_server_secret_is_refused() -> None:
    assert_refused(forge(key=SECRET))


def test_token_signed_with_another_keys_secret_is_refused() -> None:
    # Signed with OTHER_KEY's derived secret but claiming KEY.
    assert_refused(forge(key=tokens.signing_key(SECRET, ENV, OTHER_KEY)))


def test_kid_swapped_to_another_key_is_refused() -> None:
    token, _ = mint(key_id=KEY)
    head, payload, signature = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    header["kid"] = OTHER_KEY
    swapped = f"{b64url(json.dumps(header).encode())}.{payload}.{signature}"

    assert tokens.peek(swapped) == TokenRef(ENV, OTHER_KEY)
    assert_refused(swapped)


def test_kid_and_secret_of_another_environment_are_refused() -> None:
    # A token that OTHER_ENV's key signed validly, relabelled as ENV's audience.
    foreign = tokens.signing_key(SECRET, OTHER_ENV, OTHER_ENV_KEY)
    token = forge(claims(aud=ENV), header={"kid": OTHER_ENV_KEY}, key=foreign)

    assert_refused(token)


def test_aud_of_another_environment_is_refused_even_with_the_right_signature() -> None:
    # Signed with ENV/KEY's real secret, but the audience names another environment: the
    # caller would look the kid up in OTHER_ENV; verify() must not accept it for ENV either.
    token = forge(claims(aud=OTHER_ENV))

    assert tokens.peek(token) == TokenRef(OTHER_ENV, KEY)
    assert_refused(token)
    with pytest.raises(InvalidToken):
        tokens.verify(token, server_secret=SECRET, issuer=ISSUER, ref=TokenRef(ENV, KEY), now=now())


def test_verify_binds_to_the_ref_it_is_given() -> None:
    token, _ = mint()

    for ref in (TokenRef(ENV, OTHER_KEY), TokenRef(OTHER_ENV, KEY)):
        with pytest.raises(InvalidToken):
            tokens.verify(token, server_secret=SECRET, issuer=ISSUER, ref=ref, now=now())


def test_missing_kid_is_refused() -> None:
    assert_refused(forge(header={"kid": ...}))


@pytest.mark.parametrize(
    "kid",
    [
        "",
        "key_short",
        "key_0Q5cZkU1ijklmnopq",
        "key_0Q5cZkU1ijklmn-p",
        "key_0Q5cZkU1ijklmn/p",
        "../key_0Q5cZkU1ijklmnop",
        "0Q5cZkU1ijklmnop",
        ENV,  # an environment id
        "op_0Q5cZkU1ijklmnop",
        "KEY#key_0Q5cZkU1ijklmnop",
        123,
        None,
        [KEY],
        {"id": KEY},
    ],
)
def test_malformed_kid_is_refused(kid: Any) -> None:
    assert_refused(forge(header={"kid": kid}))


@pytest.mark.parametrize("aud", [..., "", "env_short", KEY, [ENV], 5, None])
def test_missing_or_malformed_aud_is_refused(aud: Any) -> None:
    assert_refused(forge(claims(aud=aud)))


@pytest.mark.parametrize("name", ["jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit"])
def test_key_pointing_and_critical_headers_are_refused(name: str) -> None:
    values: dict[str, Any] = {
        "jku": "https://attacker.example/jwks.json",
        "jwk": {"kty": "oct", "k": b64url(b"attacker")},
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIB"],
        "x5t": "abc",
        "x5t#S256": "abc",
        "crit": ["exp"],
    }
    token = forge(header={name: values[name]})

    with pytest.raises(InvalidToken):
        tokens.peek(token)


def test_tampered_payload_is_refused() -> None:
    token, _ = mint()
    head, _, signature = token.split(".")
    payload = jwt.decode(token, options={"verify_signature": False})
    payload["sub"] = "admin"
    tampered = f"{head}.{b64url(json.dumps(payload).encode())}.{signature}"

    assert tokens.peek(tampered) == TokenRef(ENV, KEY)  # looks fine until verified
    assert_refused(tampered)


def test_tampered_signature_is_refused() -> None:
    token, _ = mint()
    head, payload, signature = token.split(".")
    # Change the first char (the last one may only hold padding bits).
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert_refused(f"{head}.{payload}.{flipped}")
    assert_refused(f"{head}.{payload}.")
    assert_refused(f"{head}.{payload}")


# --- time refusals --------------------------------------------------------------------------


def test_expired_token_is_refused() -> None:
    token, _ = mint(now=now() - TTL - 60)

    assert_refused(token)


def test_expiry_is_checked_against_the_injected_clock_too() -> None:
    issued = now()
    token, expires_at = mint(now=issued, ttl_seconds=60)

    assert accept(token, at=expires_at - 1).user_id == "user-1"
    assert_refused(token, at=expires_at + tokens.LEEWAY_SECONDS)
    assert_refused(token, at=expires_at + 3600)


def test_iat_in_the_future_is_refused() -> None:
    token, _ = mint(now=now() + 120)

    assert_refused(token)


def test_iat_after_the_injected_clock_is_refused() -> None:
    issued = now()
    token, _ = mint(now=issued)

    assert accept(token, at=issued - tokens.LEEWAY_SECONDS).user_id == "user-1"
    assert_refused(token, at=issued - tokens.LEEWAY_SECONDS - 60)


def test_nbf_in_the_future_is_refused() -> None:
    assert_refused(forge(claims(nbf=now() + 300)))


@pytest.mark.parametrize("replaced", ["exp", "iat"])
def test_nbf_cannot_stand_in_for_exp_or_iat(replaced: str) -> None:
    at = now()
    assert_refused(forge(claims(nbf=at - 10, **{replaced: ...})))


def test_a_past_nbf_does_not_extend_an_expired_token() -> None:
    at = now() - 3 * TTL
    assert_refused(forge(claims(at=at, nbf=now() - 10)))


# --- claim refusals -------------------------------------------------------------------------


@pytest.mark.parametrize("claim", tokens.REQUIRED_CLAIMS)
def test_each_required_claim_is_required(claim: str) -> None:
    assert set(tokens.REQUIRED_CLAIMS) == {"iss", "aud", "sub", "iat", "exp", "jti"}
    assert_refused(forge(claims(**{claim: ...})))


@pytest.mark.parametrize("claim", ["name", "color"])
def test_profile_claims_are_required(claim: str) -> None:
    assert_refused(forge(claims(**{claim: ...})))


@pytest.mark.parametrize("issuer", ["pulse:prod", "pulse:uni", "pulse:unit ", "", ["pulse:unit"]])
def test_wrong_issuer_is_refused(issuer: Any) -> None:
    assert_refused(forge(claims(iss=issuer)))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("sub", 42),
        ("sub", ["user-1"]),
        ("jti", 7),
        ("name", 1),
        ("color", None),
        ("avatar", 5),
        ("avatar", {"url": "https://x"}),
        ("exp", "9999999999"),  # numeric strings: PyJWT coerces them, verify() must not crash
        ("iat", "1796600000"),  # a numeric string (a fixed one: test ids must not change)
        ("exp", None),
        ("iat", [1]),
        ("exp", float("inf")),
        ("exp", float("nan")),
        ("iat", float("-inf")),
        ("nbf", float("inf")),
    ],
)
def test_claims_of_the_wrong_type_are_refused(claim: str, value: Any) -> None:
    assert_refused(forge(claims(**{claim: value})))


def test_the_token_generation_round_trips_and_is_absent_at_zero() -> None:
    first, _ = mint()
    assert "gen" not in jwt.decode(first, options={"verify_signature": False})
    assert accept(first).generation == 0
    later, _ = mint(generation=3)
    assert jwt.decode(later, options={"verify_signature": False})["gen"] == 3
    assert accept(later).generation == 3


@pytest.mark.parametrize("value", [-1, 1.0, "1", True, None, [1]])
def test_a_generation_that_is_not_a_natural_number_is_refused(value: Any) -> None:
    assert_refused(forge(claims(gen=value)))


# --- malformed input ------------------------------------------------------------------------


def test_oversized_token_is_refused_before_parsing() -> None:
    token = forge(claims(name="x" * 4000))

    assert len(token) > tokens.MAX_TOKEN_CHARS
    with pytest.raises(InvalidToken):
        tokens.peek(token)


def test_a_token_of_exactly_the_maximum_size_is_accepted() -> None:
    # Unpadded base64 skips some lengths: vary the header too until the total hits the limit.
    sizes = [(pad, typ) for typ in ("JWT", "JWTx", "JWTxx") for pad in range(2000, 4000)]
    for pad, typ in sizes:
        token = forge(claims(name="x" * pad), header={"typ": typ})
        if len(token) == tokens.MAX_TOKEN_CHARS:
            break
    else:
        pytest.fail("no padding gave a token of exactly MAX_TOKEN_CHARS")

    assert accept(token).name == "x" * pad
    longer = forge(claims(name="x" * (pad + 1)), header={"typ": typ})
    assert len(longer) > tokens.MAX_TOKEN_CHARS
    assert_refused(longer)


@pytest.mark.parametrize("value", [None, 123, b"a.b.c", ["a.b.c"], {"token": "x"}, ""])
def test_non_string_or_empty_token_is_refused(value: Any) -> None:
    with pytest.raises(InvalidToken):
        tokens.peek(value)


@pytest.mark.parametrize(
    "junk",
    [
        "not-a-jwt",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "....",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        f"{b64url(b'[1,2]')}.{b64url(b'{}')}.sig",  # header is not an object
        f"{b64url(json.dumps({'alg': 'HS256', 'kid': KEY}).encode())}.{b64url(b'[1]')}.sig",
        f"{b64url(b'{not json')}.{b64url(b'{}')}.sig",
        "é.é.é",
    ],
)
def test_junk_is_refused(junk: str) -> None:
    assert_refused(junk)


def test_peek_refuses_risky_tokens_before_any_signature_work() -> None:
    # peek() is what runs before the database read: it must already refuse these.
    for token in (
        forge(header={"alg": "none"}, digest=None),
        forge(header={"alg": "RS256"}),
        forge(header={"kid": ...}),
        forge(header={"jku": "https://attacker.example/jwks.json"}),
        forge(claims(aud=...)),
        "x" * (tokens.MAX_TOKEN_CHARS + 1),
    ):
        with pytest.raises(InvalidToken):
            tokens.peek(token)


def test_resigned_but_otherwise_intact_token_still_verifies() -> None:
    # Guards the helper used above: re-signing with KEY's secret alone changes nothing.
    token, _ = mint()

    assert accept(resign(token, lambda header, payload: None)).user_id == "user-1"


def test_the_new_id_helpers_produce_kids_peek_accepts() -> None:
    env, key = ids.new_id("env"), ids.new_id("key")
    token, _ = mint(env_id=env, key_id=key)

    assert tokens.peek(token) == TokenRef(env, key)
