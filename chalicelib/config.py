"""Settings: the only reader of os.environ, read lazily on first use and cached per container."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

MAX_TOKEN_TTL_SECONDS = 3600
DEFAULT_TOKEN_TTL_SECONDS = 900
MIN_SECRET_CHARS = 32

# The SSM Parameter Store names of the secrets, under PULSE_SECRETS_SSM_PREFIX (e.g. /pulse/prod/).
# `python -m infra secrets` creates them; the stage's IAM policy may read exactly these three.
PEPPER_PARAMETER = "key-pepper"
SIGNING_PARAMETER = "signing-secret"
PREVIOUS_SIGNING_PARAMETER = "signing-secret-previous"  # optional: only during a rotation
SECRET_PARAMETERS = (PEPPER_PARAMETER, SIGNING_PARAMETER, PREVIOUS_SIGNING_PARAMETER)

# Abuse limits and their defaults: the environment variable -> the limit (0: no limit).
DEFAULT_RATES: dict[str, int] = {
    "PULSE_RATE_REST_PER_ENV": 100,  # REST API v1 requests per second, per environment
    "PULSE_RATE_REST_PER_KEY": 50,  # ... per secret key: one runaway backend gets half
    "PULSE_RATE_MINT_PER_ENV": 50,  # POST /auth/token per second, per environment
    "PULSE_RATE_MINT_PER_KEY": 20,  # ... per secret key
    "PULSE_RATE_AUTH_FAILURES_PER_SOURCE": 20,  # failed key/token checks per minute, per address
    "PULSE_RATE_AUTH_FAILURES_PER_KEY": 100,  # ... per key id (environment + key id of the key)
    # One user must not take a room: live WebSocket connections of one user (one token's `sub`)
    # per room and per environment, and its messages per second across all its connections.
    # Far above what a person with several tabs and widgets uses (docs/operations.md, "Limits").
    "PULSE_RATE_USER_CONNECTIONS_PER_ROOM": 10,
    "PULSE_RATE_USER_CONNECTIONS_PER_ENV": 30,
    "PULSE_RATE_USER_MESSAGES_PER_SECOND": 50,
    # Operator logins from devices that never logged in (services/login_throttle.py): failed
    # logins per source address across all emails before backoff, and attempts per account an
    # hour. A device that logged in before is throttled on its own, not by these.
    "PULSE_RATE_LOGIN_FAILURES_PER_SOURCE": 10,
    "PULSE_RATE_LOGIN_ATTEMPTS_PER_ACCOUNT": 30,
}

DEFAULT_EVENTS_TTL_SECONDS = 24 * 3600
# A failed webhook attempt is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h.
DEFAULT_WEBHOOK_RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)

# (parameter names, region) -> {name: decrypted value} for the names that exist.
ParameterReader = Callable[[Sequence[str], str], dict[str, str]]


class ConfigError(RuntimeError):
    """The deployment is misconfigured (never shown to clients; logged with a request id)."""


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str
    dynamodb_endpoint: str | None
    token_issuer: str
    token_ttl_seconds: int
    session_ttl_seconds: int
    # WebSocket: the Management API scheme (https on AWS; http for the local gateway), the
    # per-room connection cap and the per-connection message rate (messages per second).
    ws_management_scheme: str
    room_connection_cap: int
    ws_messages_per_second: int
    # Secrets: kept out of repr so a logged Settings never leaks them.
    key_pepper: bytes = field(repr=False)
    signing_secret: bytes = field(repr=False)
    # The signing secret before the last rotation: tokens it signed still verify until it is
    # removed (tokens live at most an hour). New tokens are always signed with signing_secret.
    previous_signing_secret: bytes | None = field(default=None, repr=False)
    # Abuse limits (docs/operations.md, "Limits"), shared by every container through counters
    # in the control table. Requests per second per environment and per key, for the REST API
    # v1 and for token minting; failed key/token checks per minute per source address and per
    # key id. 0 turns a limit off.
    rate_rest_per_env: int = DEFAULT_RATES["PULSE_RATE_REST_PER_ENV"]
    rate_rest_per_key: int = DEFAULT_RATES["PULSE_RATE_REST_PER_KEY"]
    rate_mint_per_env: int = DEFAULT_RATES["PULSE_RATE_MINT_PER_ENV"]
    rate_mint_per_key: int = DEFAULT_RATES["PULSE_RATE_MINT_PER_KEY"]
    auth_failures_per_source: int = DEFAULT_RATES["PULSE_RATE_AUTH_FAILURES_PER_SOURCE"]
    auth_failures_per_key: int = DEFAULT_RATES["PULSE_RATE_AUTH_FAILURES_PER_KEY"]
    # Per user (services/user_limits.py): live connections per room and per environment, and
    # messages per second across the user's connections. 0 turns a limit off.
    user_connections_per_room: int = DEFAULT_RATES["PULSE_RATE_USER_CONNECTIONS_PER_ROOM"]
    user_connections_per_env: int = DEFAULT_RATES["PULSE_RATE_USER_CONNECTIONS_PER_ENV"]
    user_messages_per_second: int = DEFAULT_RATES["PULSE_RATE_USER_MESSAGES_PER_SECOND"]
    # Operator logins from unrecognised devices: failures per source address before backoff,
    # and attempts per account per hour (services/login_throttle.py). 0 turns one off.
    login_failures_per_source: int = DEFAULT_RATES["PULSE_RATE_LOGIN_FAILURES_PER_SOURCE"]
    login_attempts_per_account: int = DEFAULT_RATES["PULSE_RATE_LOGIN_ATTEMPTS_PER_ACCOUNT"]

    # Room events (the webhooks' source) are kept at least this long (DynamoDB TTL).
    events_ttl_seconds: int = DEFAULT_EVENTS_TTL_SECONDS
    # Webhooks (docs/webhooks.md): the SQS queue of delivery attempts (its URL; None: deliveries
    # are recorded but not queued), SQS's endpoint locally, the wait before each retry, one
    # attempt's timeout, and how long an endpoint may fail before it is disabled.
    webhook_queue_url: str | None = None
    webhook_queue_name: str | None = None  # deployed stages name it; its URL is asked once
    sqs_endpoint: str | None = None
    webhook_retry_delays: tuple[int, ...] = DEFAULT_WEBHOOK_RETRY_DELAYS
    webhook_timeout_seconds: float = 10.0
    webhook_disable_after_seconds: int = 5 * 86400
    # Only the local stack sets this: `http` URLs and loopback addresses are then allowed (a
    # listener on the developer's machine). Every deployed stage takes https to public hosts.
    webhook_allow_local: bool = False
    # Attachments (docs/attachments.md): the S3 bucket of the files (None: attachments are off,
    # their create answers 503), and S3's endpoint locally (the dev stack's stand-in).
    attachments_bucket: str | None = None
    s3_endpoint: str | None = None
    # Tests only (PULSE_KEY_GRACE_SECONDS): every roll with a grace (`1h` ... `7d`) lasts this
    # many seconds instead, so an end-to-end test sees an old key stop. Never set on a stage.
    key_grace_seconds: int | None = None
    # GET /users/{userId}/export answers its document inline up to this many bytes of JSON
    # (under the REST page budget: Lambda answers at most 6 MB), else a presigned download.
    export_inline_bytes: int = 1024 * 1024
    # The usage meter (services/metering.py): the function's memory, for its GB-seconds (Lambda
    # sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE; locally 512), and unit prices that replace the
    # region's published ones in the cost estimate (PULSE_PRICES, JSON: {"restRequest": ...}).
    lambda_memory_mb: int = 512
    price_overrides: str | None = None
    # A post answered 410 removes a connection only once it is this old: API Gateway answers 410
    # until `$connect` returns, after the rows are written (services/channel.py). Tests set 0.
    connect_settle_seconds: int = 30

    @property
    def control_table(self) -> str:
        return f"{self.table_prefix}control"

    @property
    def data_table(self) -> str:
        return f"{self.table_prefix}data"

    @property
    def signing_secrets(self) -> tuple[bytes, ...]:
        """The secrets a token may be signed with, current first."""
        if self.previous_signing_secret is None:
            return (self.signing_secret,)
        return (self.signing_secret, self.previous_signing_secret)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], read_parameters: ParameterReader | None = None
    ) -> Settings:
        """`read_parameters` replaces the SSM call (tests); by default SSM is asked only when
        PULSE_SECRETS_SSM_PREFIX is set."""
        stage = env.get("PULSE_STAGE", "dev")
        ttl = _int(env, "PULSE_TOKEN_TTL_SECONDS", DEFAULT_TOKEN_TTL_SECONDS)
        if not 60 <= ttl <= MAX_TOKEN_TTL_SECONDS:
            raise ConfigError(f"PULSE_TOKEN_TTL_SECONDS must be 60..{MAX_TOKEN_TTL_SECONDS}")
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        pepper, signing, previous = _secrets(env, region, read_parameters or _read_ssm)
        return cls(
            stage=stage,
            region=region,
            table_prefix=env.get("PULSE_TABLE_PREFIX", f"pulse-{stage}-"),
            dynamodb_endpoint=env.get("PULSE_DYNAMODB_ENDPOINT") or None,
            token_issuer=env.get("PULSE_TOKEN_ISSUER", f"pulse:{stage}"),
            token_ttl_seconds=ttl,
            session_ttl_seconds=_int(env, "PULSE_SESSION_TTL_SECONDS", 12 * 3600),
            ws_management_scheme=env.get("PULSE_WS_MANAGEMENT_SCHEME", "https"),
            room_connection_cap=_int(env, "PULSE_ROOM_CONNECTION_CAP", 100),
            ws_messages_per_second=_int(env, "PULSE_WS_MESSAGES_PER_SECOND", 20),
            key_pepper=pepper,
            signing_secret=signing,
            previous_signing_secret=previous,
            events_ttl_seconds=_int(env, "PULSE_EVENTS_TTL_SECONDS", DEFAULT_EVENTS_TTL_SECONDS),
            webhook_queue_url=env.get("PULSE_WEBHOOK_QUEUE_URL") or None,
            webhook_queue_name=env.get("PULSE_WEBHOOK_QUEUE_NAME") or None,
            sqs_endpoint=env.get("PULSE_SQS_ENDPOINT") or None,
            webhook_retry_delays=_delays(env, "PULSE_WEBHOOK_RETRY_DELAYS"),
            webhook_timeout_seconds=_float(env, "PULSE_WEBHOOK_TIMEOUT_SECONDS", 10.0),
            webhook_disable_after_seconds=_int(
                env, "PULSE_WEBHOOK_DISABLE_AFTER_SECONDS", 5 * 86400
            ),
            webhook_allow_local=env.get("PULSE_WEBHOOK_ALLOW_LOCAL") == "1",
            attachments_bucket=env.get("PULSE_ATTACHMENTS_BUCKET") or None,
            s3_endpoint=env.get("PULSE_S3_ENDPOINT") or None,
            key_grace_seconds=_int(env, "PULSE_KEY_GRACE_SECONDS", 0) or None,
            export_inline_bytes=min(
                _int(env, "PULSE_EXPORT_INLINE_BYTES", 1024 * 1024), 1024 * 1024
            ),
            lambda_memory_mb=_int(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 512),
            price_overrides=env.get("PULSE_PRICES") or None,
            connect_settle_seconds=_int(env, "PULSE_CONNECT_SETTLE_SECONDS", 30),
            **_rates(env),
        )


RATE_FIELDS = {
    "PULSE_RATE_REST_PER_ENV": "rate_rest_per_env",
    "PULSE_RATE_REST_PER_KEY": "rate_rest_per_key",
    "PULSE_RATE_MINT_PER_ENV": "rate_mint_per_env",
    "PULSE_RATE_MINT_PER_KEY": "rate_mint_per_key",
    "PULSE_RATE_AUTH_FAILURES_PER_SOURCE": "auth_failures_per_source",
    "PULSE_RATE_AUTH_FAILURES_PER_KEY": "auth_failures_per_key",
    "PULSE_RATE_USER_CONNECTIONS_PER_ROOM": "user_connections_per_room",
    "PULSE_RATE_USER_CONNECTIONS_PER_ENV": "user_connections_per_env",
    "PULSE_RATE_USER_MESSAGES_PER_SECOND": "user_messages_per_second",
    "PULSE_RATE_LOGIN_FAILURES_PER_SOURCE": "login_failures_per_source",
    "PULSE_RATE_LOGIN_ATTEMPTS_PER_ACCOUNT": "login_attempts_per_account",
}


def _rates(env: Mapping[str, str]) -> dict[str, int]:
    rates = {}
    for name, attribute in RATE_FIELDS.items():
        value = _int(env, name, DEFAULT_RATES[name])
        if value < 0:
            raise ConfigError(f"{name} must be >= 0 (0: no limit)")
        rates[attribute] = value
    return rates


def _delays(env: Mapping[str, str], name: str) -> tuple[int, ...]:
    """Comma-separated seconds (tests and the local stack shorten the schedule)."""
    raw = env.get(name)
    if not raw:
        return DEFAULT_WEBHOOK_RETRY_DELAYS
    try:
        delays = tuple(int(part) for part in raw.split(","))
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated seconds") from exc
    if any(d < 0 for d in delays):
        raise ConfigError(f"{name} must be >= 0 each")
    return delays


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number") from exc
    if not 0 < value <= 60:
        raise ConfigError(f"{name} must be in (0, 60]")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer") from exc


def _secrets(
    env: Mapping[str, str], region: str, read_parameters: ParameterReader
) -> tuple[bytes, bytes, bytes | None]:
    """The key-hash pepper, the token signing secret and the previous signing secret (or None).

    Locally and in tests: PULSE_KEY_PEPPER / PULSE_SIGNING_SECRET (/ PULSE_SIGNING_SECRET_PREVIOUS)
    or the JSON file at PULSE_SECRETS_FILE (the local stack's). On AWS, where none of those is
    set: SecureString parameters under PULSE_SECRETS_SSM_PREFIX, in one GetParameters call. The
    local sources win: `make dev` and `chalice local` run with the dev stage's variables, SSM
    prefix included, and must not reach for AWS."""
    local = (
        "PULSE_KEY_PEPPER",
        "PULSE_SIGNING_SECRET",
        "PULSE_SIGNING_SECRET_PREVIOUS",
        "PULSE_SECRETS_FILE",
    )
    prefix = env.get("PULSE_SECRETS_SSM_PREFIX")
    if prefix and not any(env.get(name) for name in local):
        return _ssm_secrets(prefix, region, read_parameters)
    pepper = env.get("PULSE_KEY_PEPPER")
    signing = env.get("PULSE_SIGNING_SECRET")
    previous = env.get("PULSE_SIGNING_SECRET_PREVIOUS")
    path = env.get("PULSE_SECRETS_FILE")
    if (not pepper or not signing) and path:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read PULSE_SECRETS_FILE {path}") from exc
        pepper = pepper or data.get("keyPepper")
        signing = signing or data.get("signingSecret")
        previous = previous or data.get("previousSigningSecret")
    if not _long_enough(pepper) or not _long_enough(signing):
        raise ConfigError(
            "PULSE_KEY_PEPPER and PULSE_SIGNING_SECRET (>= 32 chars each) must be configured, "
            "or PULSE_SECRETS_SSM_PREFIX"
        )
    if previous and not _long_enough(previous):
        raise ConfigError("PULSE_SIGNING_SECRET_PREVIOUS must be >= 32 chars when set")
    assert pepper and signing
    return pepper.encode(), signing.encode(), previous.encode() if previous else None


def _ssm_secrets(
    prefix: str, region: str, read_parameters: ParameterReader
) -> tuple[bytes, bytes, bytes | None]:
    if not (prefix.startswith("/") and prefix.endswith("/")):
        raise ConfigError(f"PULSE_SECRETS_SSM_PREFIX must start and end with '/', got {prefix!r}")
    names = [prefix + name for name in SECRET_PARAMETERS]
    try:
        found = read_parameters(names, region)
    except ConfigError:
        raise
    except Exception as exc:  # botocore's errors, without importing botocore here
        raise ConfigError(
            f"cannot read the SSM parameters {prefix}{{{','.join(SECRET_PARAMETERS)}}} in "
            f"{region}: {type(exc).__name__}: {exc}"
        ) from exc
    pepper, signing, previous = (found.get(name) for name in names)
    missing = [n for n, v in zip(names[:2], (pepper, signing), strict=True) if not v]
    if missing:
        raise ConfigError(
            f"SSM parameter(s) {', '.join(missing)} missing in {region}: "
            "create them with `python -m infra secrets --stage <stage>`"
        )
    if not _long_enough(pepper) or not _long_enough(signing) or not _long_enough(previous, True):
        raise ConfigError(f"the SSM parameters under {prefix} must be >= 32 chars each")
    assert pepper and signing
    return pepper.encode(), signing.encode(), previous.encode() if previous else None


def _long_enough(value: str | None, optional: bool = False) -> bool:
    if not value:
        return optional
    return len(value) >= MIN_SECRET_CHARS


def _read_ssm(names: Sequence[str], region: str) -> dict[str, str]:
    """One GetParameters call, decrypting SecureStrings, through the container's one botocore
    session (chalicelib/aws.py), imported on first use."""
    from .aws import session

    client: Any = session().create_client("ssm", region_name=region)
    response = client.get_parameters(Names=list(names), WithDecryption=True)
    return {p["Name"]: p["Value"] for p in response.get("Parameters", [])}


# The webhook pipeline's event sources, given to app.py by the deploy tooling when it runs
# chalice (infra/deploy.py): the data table's stream and the delivery queue. Chalice wants them
# when it reads the app, so they are environment variables of the `chalice deploy/package`
# process, never of a function; without them (tests, chalice local) app.py declares neither.
STREAM_ARN_VARIABLE = "PULSE_EVENTS_STREAM_ARN"
QUEUE_ARN_VARIABLE = "PULSE_WEBHOOK_QUEUE_ARN"


def event_sources(env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    found = os.environ if env is None else env
    stream, queue = found.get(STREAM_ARN_VARIABLE), found.get(QUEUE_ARN_VARIABLE)
    return (stream, queue) if stream and queue else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env(os.environ)


def reset_settings() -> None:
    """Forget cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
