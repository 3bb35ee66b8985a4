"""Abuse limits shared by every container: request rates per environment and per key (the REST
API v1 and token minting), WebSocket messages per user, and failed authentications per source
address and per key id.

Counts live in DynamoDB (repositories/ratelimits.py), in fixed windows: 1 second for request
rates, 60 seconds for failures. A container also remembers, until its window ends, each counter
it has seen over its limit: later requests it would refuse anyway are refused without counting
them, and a source over its failure limit with no DynamoDB call at all (an attacker's retries
cost nothing).

- Request rates are counted after the key is authenticated (a forged key cannot spend an
  environment's budget): one UpdateItem adds to the environment's and the key's counters of this
  second and returns both. It adds nothing when the key is already at its limit, so a runaway
  key never spends the budget of the environment's other keys.
- Failed authentications are checked before the key: their counters ride in the key check's
  own BatchGetItem. A source address over its limit gets 429 whatever the key. A key id over
  its limit gets 429 only for wrong keys: key ids are public (in every pk_ and in every token's
  `kid`), so refusing the right key too would let anyone lock a customer out of its own
  environment with forged keys. A key or token that fails after that read adds to the counters
  (one UpdateItem per counter). Keys refused offline (missing, malformed, wrong checksum or
  kind) cost no DynamoDB call and are not counted: counting them would cost a write where
  refusing costs nothing.

- A user's WebSocket messages are counted across all its connections (one UpdateItem of the
  user's counter of the second, conditioned like a key's rate), but only for connections of a
  user who has more than one: a user's only connection is held by the per-connection rate.

Counting never fails a request: if DynamoDB cannot take a count, the request goes on."""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Literal

from .. import codes, meter
from ..clock import Clock
from ..config import Settings
from ..errors import RateLimited, Unavailable
from ..repositories import ratelimits as repo
from ..repositories.reads import Fetched, Read
from .ports import CounterStore

log = logging.getLogger("pulse.limits")

REQUEST_WINDOW_SECONDS = 1
FAILURE_WINDOW_SECONDS = 60
USAGE_DAYS = 30  # an environment's request and key-failure counters are kept this long (+1 day)
KEEP_SECONDS = (USAGE_DAYS + 1) * 86400
MEMORY_MAX = 10_000  # counters remembered as over their limit, per container
Scope = Literal["rest", "mint"]
SCOPE_NAMES = {"rest": "API requests", "mint": "token mints"}


def rate_limited(message: str, retry_after: int) -> RateLimited:
    return RateLimited(message, retry_after=retry_after, code=codes.RATE_LIMITED)


def too_many_failures(message: str, retry_after: int) -> RateLimited:
    return RateLimited(message, retry_after=retry_after, code=codes.TOO_MANY_FAILURES)


def user_rate_limited(limit: int, retry_after: int) -> RateLimited:
    return RateLimited(
        f"This user is over its limit of {limit} messages per second across its connections.",
        retry_after=retry_after,
        code=codes.USER_RATE_LIMITED,
    )


def day_of(epoch_seconds: float) -> str:
    """The UTC day of a time, `YYYY-MM-DD`: the partition of a day's counters."""
    return time.strftime("%Y-%m-%d", time.gmtime(epoch_seconds))


def request_counter(env_id: str, day: str) -> str:
    """The partition of an environment's request counters of one day (one item per second)."""
    return repo.pk(f"env:{env_id}", day)


def key_failure_counter(env_id: str, day: str) -> str:
    """The partition of an environment's keys' failure counters of one day (one item per key
    id and minute)."""
    return repo.pk(f"fail-key:{env_id}", day)


def source_scope(address: str | None) -> str | None:
    """The unit a source address is counted in: the IPv4 address, or the IPv6 /64 (one host
    usually holds a whole /64). None when there is no usable address (then it is not counted)."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class _Counter:
    key: str  # the counter item's pk
    sk: str  # ... and sk
    limit: int
    ends: int  # end of its window (epoch seconds)
    refusal: str  # what a refusal says
    per_key: bool  # counts failures of a key id (else of a source address)


class Limits:
    """The per-container side of the limits: settings, clock, and the counters known over."""

    def __init__(self, settings: Settings, clock: Clock, counters: CounterStore) -> None:
        self.settings = settings
        self.clock = clock
        self.counters = counters
        self._over: dict[str, int] = {}  # counter (+ attribute) -> end of its window

    def gate(self, source_ip: str | None, scope: Scope | None) -> Gate:
        """The limits a request from `source_ip` passes: failed authentications, then `scope`'s
        request rates (None: failures only)."""
        return Gate(self, source_scope(source_ip), scope, address=source_ip)

    # --- memory of counters over their limit -------------------------------------------------

    def _retry_after(self, ends: int) -> int:
        return max(1, math.ceil(ends - self.clock.now()))

    def _known_over(self, name: str) -> int | None:
        ends = self._over.get(name)
        return ends if ends is not None and ends > self.clock.now() else None

    def _remember(self, name: str, ends: int) -> None:
        if len(self._over) >= MEMORY_MAX:
            now = self.clock.now()
            self._over = {k: v for k, v in self._over.items() if v > now}
            if len(self._over) >= MEMORY_MAX:
                self._over.clear()
        self._over[name] = ends

    # --- request rates -----------------------------------------------------------------------

    def _rates(self, scope: Scope) -> tuple[int, int]:
        s = self.settings
        if scope == "rest":
            return s.rate_rest_per_env, s.rate_rest_per_key
        return s.rate_mint_per_env, s.rate_mint_per_key

    def count(self, scope: Scope, env_id: str, key_id: str) -> None:
        """Count one request of an authenticated key; RateLimited past either limit.

        A request its key's limit refuses is not counted at all (the UpdateItem is conditioned
        on the key's counter): a runaway key must not spend the budget of the environment's
        other keys."""
        meter.count(env_id, "restRequests")  # every REST call is one API Gateway bills
        try:
            self._count(scope, env_id, key_id)
        except RateLimited:
            meter.count(env_id, f"limited:{key_id}")
            raise

    def _count(self, scope: Scope, env_id: str, key_id: str) -> None:
        env_limit, key_limit = self._rates(scope)
        if not env_limit and not key_limit:
            return
        now = self.clock.now()
        window = int(now // REQUEST_WINDOW_SECONDS) * REQUEST_WINDOW_SECONDS
        ends = window + REQUEST_WINDOW_SECONDS
        # One item per second in the environment's partition of the day: the same one write
        # per request keeps the counts of the usage per key (services/usage.py) too.
        item = request_counter(env_id, day_of(window))
        sk = f"RL#{window}"
        names = (scope, f"{scope}:{key_id}")
        what = SCOPE_NAMES[scope]
        refusals = (
            f"This environment is over its limit of {env_limit} {what} per second.",
            f"This key is over its limit of {key_limit} {what} per second.",
        )
        for name, refusal in zip(names, refusals, strict=True):
            if self._known_over(f"{item}#{sk}/{name}") is not None:
                raise rate_limited(refusal, self._retry_after(ends))
        expires = ends + KEEP_SECONDS
        try:
            if key_limit:
                counted = self.counters.add_unless_at(
                    item, names, expires, cap=(names[1], key_limit), sk=sk
                )
            else:
                counted = self.counters.add(item, names, expires, sk=sk)
        except Unavailable:
            log.warning("request not counted", extra={"envId": env_id, "scope": scope})
            return
        # None: the key's counter was already at its limit, and nothing was added.
        counts = counted if counted is not None else {names[0]: 0, names[1]: key_limit + 1}
        for name, limit, refusal in zip(names, (env_limit, key_limit), refusals, strict=True):
            if limit and counts[name] > limit:
                self._remember(f"{item}#{sk}/{name}", ends)
                raise rate_limited(refusal, self._retry_after(ends))

    # --- WebSocket messages per user -----------------------------------------------------------

    def count_user_message(self, env_id: str, user_id: str) -> None:
        """Count one message of the user's in this second, across its connections; RateLimited
        (USER_RATE_LIMITED) past the limit. A refused message is not counted."""
        limit = self.settings.user_messages_per_second
        if not limit:
            return
        now = self.clock.now()
        window = int(now // REQUEST_WINDOW_SECONDS) * REQUEST_WINDOW_SECONDS
        ends = window + REQUEST_WINDOW_SECONDS
        item = repo.pk(f"user:{env_id}:{user_id}", window)
        if self._known_over(item) is not None:
            raise user_rate_limited(limit, self._retry_after(ends))
        try:
            counted = self.counters.add_unless_at(
                item, [repo.COUNT], ends + FAILURE_WINDOW_SECONDS, cap=(repo.COUNT, limit)
            )
        except Unavailable:
            log.warning("message not counted", extra={"envId": env_id})
            return
        if counted is None:
            self._remember(item, ends)
            raise user_rate_limited(limit, self._retry_after(ends))

    # --- failed authentications --------------------------------------------------------------

    def failure_counters(self, source: str | None, env_id: str, key_id: str) -> list[_Counter]:
        window = int(self.clock.now() // FAILURE_WINDOW_SECONDS) * FAILURE_WINDOW_SECONDS
        ends = window + FAILURE_WINDOW_SECONDS
        s = self.settings
        counters = []
        if source is not None and s.auth_failures_per_source:
            counters.append(
                _Counter(
                    repo.pk(f"fail-ip:{source}", window),
                    repo.RATE_SK,
                    s.auth_failures_per_source,
                    ends,
                    "Too many failed authentications from this address; wait before retrying.",
                    per_key=False,
                )
            )
        if s.auth_failures_per_key:
            counters.append(
                _Counter(
                    # In the environment's partition of the day: the usage per key counts them.
                    key_failure_counter(env_id, day_of(window)),
                    f"RL#{key_id}#{window}",
                    s.auth_failures_per_key,
                    ends,
                    "Too many failed authentications with this key; wait before retrying.",
                    per_key=True,
                )
            )
        return counters


@dataclass(eq=False)
class Gate:
    """One request's way through the limits, declared where its route is (`scope`): where it
    comes from, the failure counters of the key it presents, and whether its rate was counted
    (a service that re-reads after a concurrent change counts its request once). A caller that
    holds a secret key always holds a Gate: the limits cannot be left out."""

    limits: Limits
    source: str | None
    scope: Scope | None  # None: a WebSocket $connect (failures only; its rate is per socket)
    counted: bool = False
    address: str | None = None  # the source address as sent (a key's allowedIps are matched)
    _counters: list[tuple[_Counter, Read[int]]] = field(default_factory=list)
    _key_over: _Counter | None = None  # the key id's counter, at its limit: wrong keys get 429

    def failure_reads(self, env_id: str, key_id: str) -> list[Read[int]]:
        """The failure counters to read with the key (refused at once if the source is known
        over its limit)."""
        limits = self.limits
        counters = limits.failure_counters(self.source, env_id, key_id)
        self._key_over = None
        for c in counters:
            if not c.per_key and limits._known_over(c.key) is not None:
                raise too_many_failures(c.refusal, limits._retry_after(c.ends))
        self._counters = [(c, limits.counters.counter_read(c.key, c.sk)) for c in counters]
        return [read for _, read in self._counters]

    def check_failures(self, got: Fetched) -> None:
        """After the read, before the key is checked: refuse a source at its failure limit. A key
        id at its limit is only noted: `failed` refuses its wrong keys, its right key passes."""
        for c, read in self._counters:
            if got[read] < c.limit:
                continue
            if c.per_key:
                self._key_over = c
                continue
            self.limits._remember(c.key, c.ends)
            raise too_many_failures(c.refusal, self.limits._retry_after(c.ends))

    def failed(self, *, key: bool) -> None:
        """Count a failed authentication: against the source, and against the key id when the
        key itself failed (a bad token with a good key is the token's fault, not the key's).
        A wrong key whose key id is at its limit is then refused with 429 (not counted again)."""
        for c, _ in self._counters:
            if c.per_key and (not key or c is self._key_over):
                continue
            try:
                expires = c.ends + (KEEP_SECONDS if c.per_key else FAILURE_WINDOW_SECONDS)
                count = self.limits.counters.add(c.key, [repo.FAILURES], expires, sk=c.sk)[
                    repo.FAILURES
                ]
            except Unavailable:
                log.warning("failure not counted")
                continue
            if count >= c.limit and not c.per_key:
                self.limits._remember(c.key, c.ends)
        if key and self._key_over is not None:
            over = self._key_over
            raise too_many_failures(over.refusal, self.limits._retry_after(over.ends))

    def count(self, env_id: str, key_id: str) -> None:
        """Count the request against its scope's rates, once."""
        if self.counted or self.scope is None:
            return
        self.counted = True
        self.limits.count(self.scope, env_id, key_id)
