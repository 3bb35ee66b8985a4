"""Attacks on user tokens, by hand-built JWTs, at every place a user token is accepted.

Where tokens are accepted: only the WebSocket `$connect` (`TokenService.verify_connection`, called
from `realtime/handlers.py`). No REST route takes a user JWT: `/auth/token` and `/api/v1` take a
`sk_`, the Admin API an operator session. `test_a_user_token_is_no_credential_on_any_rest_surface`
pins that, so a route that starts accepting user tokens must come here.

Each attack runs through app.py's `ws_connect` with an API Gateway-shaped event: it must answer
401 `INVALID_TOKEN`, write nothing but its failed attempt, and make exactly the reads the table
says (0 when the token is refused by its shape before any read, as docs/architecture.md promises
for size, `alg` and key-pointing headers; otherwise the one BatchGetItem). A token refused after
that read is counted as a failed authentication of its source address (one UpdateItem of that
counter, chalicelib/services/limits.py), unless it is genuine but stale (expired, not yet
valid): never of the pk_, which was good. A hand-forged token
that follows the rules connects (the positive control), so no row of the table passes for a
reason of the forger's.

Attacks already run at `$connect` in tests/realtime/test_connect.py (a plain `alg: none`, a
changed signature or `sub`, another secret, a token or key of another environment, a revoked
minting key, clock-expired) are not repeated; the primitives are unit-tested in
tests/unit/test_tokens_jwt.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from api.helpers import each
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from integration.conftest import READ_OPS, WRITE_OPS, DynamoCalls, is_counter, without_counters
from realtime.conftest import Env, Gateway, mint, new_env, rest

from chalicelib import runtime
from chalicelib.auth import tokens

from .conftest import table_items

ROOM = "room-1"
SOURCE = "203.0.113.9"  # the gateway's requestContext.identity.sourceIp (realtime/conftest.py)
# HS384/HS512 attacks sign with the 32-byte HS256 key on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


# --- forging ------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(part: Any) -> str:
    return b64url(json.dumps(part, separators=(",", ":")).encode())


def hs256(key: bytes, signing_input: str) -> str:
    return b64url(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())


@dataclass
class World:
    """An environment with a live room, another environment, and a forger for both."""

    env: Env
    other: Env
    now: int
    settings: Any
    _rsa: Any = field(default=None, repr=False)

    def key(self, env_id: str | None = None, key_id: str | None = None) -> bytes:
        """The signing key the server derives for (environment, key): only it can compute it."""
        return tokens.signing_key(
            self.settings.signing_secret, env_id or self.env.id, key_id or self.env.sk_id
        )

    def claims(self, **changes: Any) -> dict[str, Any]:
        """What mint() writes; a change to `...` removes the claim."""
        base: dict[str, Any] = {
            "iss": self.settings.token_issuer,
            "aud": self.env.id,
            "sub": "mallory",
            "name": "Mallory",
            "avatar": None,
            "color": "#E5484D",
            "iat": self.now,
            "exp": self.now + 900,
            "jti": "0f8e5b2cd3a94e7f9a1b2c3d4e5f6a7b",
        }
        base.update(changes)
        return {k: v for k, v in base.items() if v is not ...}

    def header(self, **changes: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"alg": "HS256", "typ": "JWT", "kid": self.env.sk_id}
        base.update(changes)
        return {k: v for k, v in base.items() if v is not ...}

    def forge(
        self,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        *,
        key: bytes | None = None,
        signature: str | None = None,
    ) -> str:
        """HS256 over `header.claims` with `key` (default: the real key of env's sk_), unless
        `signature` is given as is."""
        signing_input = f"{segment(header or self.header())}.{segment(claims or self.claims())}"
        if signature is None:
            signature = hs256(key or self.key(), signing_input)
        return f"{signing_input}.{signature}"

    def rsa_key(self) -> Any:
        if self._rsa is None:
            self._rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._rsa

    def valid(self) -> str:
        return self.forge()


def splice(token: str, *, payload: str | None = None, signature: str | None = None) -> str:
    head, body, sig = token.split(".")
    return ".".join(
        (head, body if payload is None else payload, sig if signature is None else signature)
    )


def _rsa_pem_as_hmac_secret(w: World) -> str:
    """The classic confusion: header RS256, HMAC-signed with the (public) verification key."""
    public = w.rsa_key().public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return w.forge(w.header(alg="RS256"), key=pem)


def _real_rs256(w: World) -> str:
    return jwt.encode(w.claims(), w.rsa_key(), "RS256", headers={"kid": w.env.sk_id})


def _real_es256(w: World) -> str:
    private = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(w.claims(), private, "ES256", headers={"kid": w.env.sk_id})


def _embedded_jwk(w: World) -> str:
    """A `jwk` header carrying the attacker's own key, and a signature made with that key."""
    mine = b"attacker-chosen-secret-0123456789"
    jwk = {"kty": "oct", "k": b64url(mine)}
    return w.forge(w.header(jwk=jwk), key=mine)


def _other_env_key_signed_as_its_owner(w: World) -> str:
    """aud: this environment; kid: the other environment's live sk_, with that key's real secret."""
    return w.forge(w.header(kid=w.other.sk_id), key=w.key(w.other.id, w.other.sk_id))


def _other_stage(w: World) -> str:
    """Minted by another deployment (stage): its issuer and its own server signing secret."""
    other_secret = b"prod-signing-secret-0123456789abcdef01234"
    key = tokens.signing_key(other_secret, w.env.id, w.env.sk_id)
    return w.forge(claims=w.claims(iss="pulse:prod"), key=key)


def _sized(w: World, limit: int, *, over: bool) -> str:
    """Correctly signed and padded with a long name: the longest token of at most `limit`
    characters, or the shortest one over it (base64 grows in steps of 4/3)."""
    padding, last = 0, ""
    while True:
        token = w.forge(claims=w.claims(name="x" * padding))
        if len(token) > limit:
            return token if over else last
        last, padding = token, padding + max(1, (limit - len(token)) * 3 // 4 - 3)


# name -> (build the token, DynamoDB reads before the refusal)
Attack = Callable[[World], str]
ATTACKS: dict[str, tuple[Attack, int]] = {
    # alg: exactly HS256, refused before any read otherwise
    "alg NONE, no signature": (lambda w: w.forge(w.header(alg="NONE"), signature=""), 0),
    "alg none, the real signature kept": (
        lambda w: splice(w.forge(w.header(alg="none")), signature=w.valid().split(".")[2]),
        0,
    ),
    "alg missing": (lambda w: w.forge(w.header(alg=...)), 0),
    "alg as a list": (lambda w: w.forge(w.header(alg=["HS256"])), 0),
    "alg HS384 with the right key": (
        lambda w: jwt.encode(w.claims(), w.key(), "HS384", headers={"kid": w.env.sk_id}),
        0,
    ),
    "alg HS512 with the right key": (
        lambda w: jwt.encode(w.claims(), w.key(), "HS512", headers={"kid": w.env.sk_id}),
        0,
    ),
    "alg RS256, HMAC-signed with the right key": (lambda w: w.forge(w.header(alg="RS256")), 0),
    "alg RS256, HMAC-signed with an RSA public key PEM": (_rsa_pem_as_hmac_secret, 0),
    "alg ES256, HMAC-signed with the right key": (lambda w: w.forge(w.header(alg="ES256")), 0),
    "alg RS256, a real RSA signature": (_real_rs256, 0),
    "alg ES256, a real ECDSA signature": (_real_es256, 0),
    # kid
    "kid missing": (lambda w: w.forge(w.header(kid=...)), 0),
    "kid the environment id": (lambda w: w.forge(w.header(kid=w.env.id)), 0),
    "kid an item key (KEY#...)": (lambda w: w.forge(w.header(kid=f"KEY#{w.env.sk_id}")), 0),
    "kid unknown, signed for it": (
        lambda w: w.forge(
            w.header(kid="key_0000000000000000"), key=w.key(key_id="key_0000000000000000")
        ),
        1,
    ),
    "kid of the pk_, signed for it": (
        lambda w: w.forge(w.header(kid=w.env.pk_id), key=w.key(key_id=w.env.pk_id)),
        1,
    ),
    "kid of another environment, signed with that key's secret": (
        _other_env_key_signed_as_its_owner,
        1,
    ),
    # headers that point at keys, or demand extensions
    "jku header": (lambda w: w.forge(w.header(jku="https://attacker.example/jwks.json")), 0),
    "jwk header with the attacker's key": (_embedded_jwk, 0),
    "x5u header": (lambda w: w.forge(w.header(x5u="https://attacker.example/cert.pem")), 0),
    "x5c header": (
        lambda w: w.forge(w.header(x5c=["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"])),
        0,
    ),
    "crit header": (lambda w: w.forge(w.header(crit=["exp"])), 0),
    # tampering
    "payload: exp extended, signature kept": (
        lambda w: splice(w.valid(), payload=segment(w.claims(exp=w.now + 10**8))),
        1,
    ),
    "payload: aud switched to another environment": (
        lambda w: splice(w.valid(), payload=segment(w.claims(aud=w.other.id))),
        0,  # the token's environment is not the pk_'s: refused before any read
    ),
    "signature empty": (lambda w: splice(w.valid(), signature=""), 1),
    "signature truncated": (lambda w: w.valid()[:-3], 1),
    "signature not base64url": (lambda w: w.valid()[:-2] + "!!", 0),
    "signature of another token": (
        lambda w: splice(w.valid(), signature=w.forge(claims=w.claims(sub="ada")).split(".")[2]),
        1,
    ),
    "signature segment missing": (lambda w: w.valid().rsplit(".", 1)[0], 0),
    "extra segment": (lambda w: w.valid() + ".e30", 0),
    "header not JSON": (lambda w: b64url(b"{alg") + "." + w.valid().split(".", 1)[1], 0),
    "payload a JSON array": (lambda w: splice(w.valid(), payload=segment([w.claims()])), 0),
    # time
    "expired an hour ago": (
        lambda w: w.forge(claims=w.claims(iat=w.now - 3600 - 900, exp=w.now - 3600)),
        1,
    ),
    "not yet valid (nbf in 10 minutes)": (lambda w: w.forge(claims=w.claims(nbf=w.now + 600)), 1),
    "issued in the future (iat in 10 minutes)": (
        lambda w: w.forge(claims=w.claims(iat=w.now + 600, exp=w.now + 1500)),
        1,
    ),
    "exp a numeric string": (lambda w: w.forge(claims=w.claims(exp=str(w.now + 900))), 1),
    "exp null": (lambda w: w.forge(claims=w.claims(exp=None)), 1),
    # claims
    **{
        f"claim {claim} missing": (
            (lambda c: lambda w: w.forge(claims=w.claims(**{c: ...})))(claim),
            0 if claim == "aud" else 1,
        )
        for claim in ("iss", "aud", "sub", "iat", "exp", "jti", "name", "color")
    },
    "aud a list holding the environment": (lambda w: w.forge(claims=w.claims(aud=[w.env.id])), 0),
    "iss of another stage, same server secret": (
        lambda w: w.forge(claims=w.claims(iss="pulse:prod")),
        1,
    ),
    "another stage's token (its issuer and signing secret)": (_other_stage, 1),
    "signed with the raw server signing secret": (
        lambda w: w.forge(key=w.settings.signing_secret),
        1,
    ),
    "signed with the key pepper": (lambda w: w.forge(key=w.settings.key_pepper), 1),
    # size
    "oversized, just over 4096 characters, correctly signed": (
        lambda w: _sized(w, tokens.MAX_TOKEN_CHARS, over=True),
        0,
    ),
    "oversized, over 100 KB, correctly signed": (lambda w: _sized(w, 100_000, over=True), 0),
}


# --- the tests ----------------------------------------------------------------------------------


@pytest.fixture
def world(gw: Gateway, env: Env) -> World:
    gw.connect(env, "ada", ROOM)  # a live room with one connection: a refusal must not touch it
    graph = runtime.services()
    return World(
        env=env, other=new_env("Other"), now=int(graph.clock.now()), settings=graph.settings
    )


def connect(gw: Gateway, w: World, token: str) -> dict[str, Any]:
    return gw.connect_raw(gw.new_id(), {"apiKey": w.env.pk, "token": token, "room": ROOM})


def test_a_hand_forged_token_that_follows_the_rules_connects(
    gw: Gateway, world: World, dynamo_calls: DynamoCalls
) -> None:
    """The positive control: the forger is right, so every refusal below is the server's."""
    with dynamo_calls.record() as calls:
        result = connect(gw, world, world.valid())

    assert result == {"statusCode": 200}, result
    assert [c.operation for c in calls] == ["BatchGetItem", "TransactWriteItems"]
    # The size attacks are near the limit: the longest allowed token connects.
    longest = _sized(world, tokens.MAX_TOKEN_CHARS, over=False)
    assert len(_sized(world, tokens.MAX_TOKEN_CHARS, over=True)) - len(longest) <= 4
    assert connect(gw, world, longest) == {"statusCode": 200}


def failure_counts(items: list[str]) -> dict[str, int]:
    """The abuse-limit counter items of a table snapshot: pk -> failed attempts counted (`n`).
    Only failure counters may exist here (a refused connect counts no request)."""
    out = {}
    for item in map(json.loads, items):
        if is_counter(item["pk"]["S"]):
            assert set(item) == {"pk", "sk", "n", "ttl"}, item
            out[item["pk"]["S"]] = int(item["n"]["N"])
    return out


# Genuinely signed tokens outside their validity window: what a client that held its token too
# long sends, not a guess. Refused the same, after the read, but not counted as failed attempts.
STALE = frozenset(
    {
        "expired an hour ago",
        "not yet valid (nbf in 10 minutes)",
        "issued in the future (iat in 10 minutes)",
    }
)


def counts(name: str) -> int:
    """How many failed attempts an attack adds: one if refused after the read, unless stale."""
    return 0 if name in STALE else ATTACKS[name][1]


def test_every_attack_is_refused_at_connect_with_one_401_and_nothing_written(
    gw: Gateway, world: World, dynamo_calls: DynamoCalls
) -> None:
    before = table_items()
    assert failure_counts(before) == {}  # the fixture's good connect counted nothing
    minute = int(runtime.services().clock.now() // 60) * 60
    failures = f"RL#fail-ip:{SOURCE}#{minute}"
    answers: set[str] = set()

    def check(name: str) -> None:
        build, reads = ATTACKS[name]
        token = build(world)
        ahead = table_items()
        with dynamo_calls.record() as calls:
            result = connect(gw, world, token)
        assert result["statusCode"] == 401, result
        assert json.loads(result["body"])["error"]["code"] == "INVALID_TOKEN", result
        # After the read, one write: the source's failed attempt (unless stale), nothing else.
        counted = counts(name)
        assert [c.operation for c in calls] == ["BatchGetItem"] * reads + ["UpdateItem"] * counted
        assert len([c for c in calls if c.operation in READ_OPS]) == reads, calls
        writes = [c for c in calls if c.operation in WRITE_OPS]
        assert [c.params["Key"]["pk"]["S"] for c in writes] == [failures] * counted, writes
        after = table_items()
        assert without_counters(after) == without_counters(before)
        was, now = failure_counts(ahead), failure_counts(after)
        grown = {pk: n - was.get(pk, 0) for pk, n in now.items() if n != was.get(pk)}
        assert grown == ({failures: 1} if counted else {}), grown
        answers.add(json.dumps(result, sort_keys=True))

    each(sorted(ATTACKS), check)
    # No oracle: which check failed is never told, whether before or after the read.
    assert len(answers) == 1, answers
    # In all: the failed attempts after the read, counted against the source only (the pk_ was
    # good: no `fail-key` counter), and nothing else written.
    assert set(ATTACKS) >= STALE and all(ATTACKS[name][1] == 1 for name in STALE)
    counted = sum(counts(name) for name in ATTACKS)
    assert failure_counts(table_items()) == {failures: counted}
    assert without_counters(table_items()) == without_counters(before)


def test_a_user_token_is_no_credential_on_any_rest_surface(
    client: Any, gw: Gateway, world: World
) -> None:
    """User tokens are accepted only at $connect. As a Bearer anywhere else they are an unknown
    credential: the surface's own 401, never a 2xx (a valid token and a few forged ones)."""
    valid = mint(world.env.sk, "ada")
    assert connect(gw, world, valid) == {"statusCode": 200}
    candidates = [valid, world.valid(), ATTACKS["alg NONE, no signature"][0](world)]
    surfaces = [
        ("POST", "/auth/token", {"userId": "ada", "name": "Ada"}, "INVALID_API_KEY"),
        ("GET", "/api/v1/rooms", None, "INVALID_API_KEY"),
        ("POST", "/api/v1/rooms", {"id": "room-9"}, "INVALID_API_KEY"),
        ("GET", "/admin/api/me", None, "INVALID_SESSION"),
        ("GET", "/admin/api/environments", None, "INVALID_SESSION"),
    ]
    before = table_items()

    def check(case: tuple[str, tuple[str, str, Any, str]]) -> None:
        token, (method, path, body, code) = case
        resp = rest(client, method, path, token, body)
        assert resp.status_code == 401, (resp.status_code, resp.body)
        assert resp.json_body["error"]["code"] == code, resp.json_body

    each([(t, s) for t in candidates for s in surfaces], check)
    assert table_items() == before
