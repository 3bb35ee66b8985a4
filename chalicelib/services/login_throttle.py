"""Operator login throttling that someone without the password cannot turn into a lockout, while
guessing stays slow per account and per source address (docs/architecture.md, "Operators").

- A recognised device (it presents a device cookie issued to this email at a successful login;
  auth/devices.py) is throttled on its own: FREE_DEVICE_FAILURES failures, then a lock of 1, 2,
  4 ... seconds up to 15 minutes. Nothing else applies to it, so no flood from any address, the
  operator's own included, locks the operator out of a browser it has logged in from. A device
  in its lock is treated as unrecognised.
- Any other attempt (a new browser, a script without the cookie, a guesser) is throttled per
  source address across all emails (PULSE_RATE_LOGIN_FAILURES_PER_SOURCE failures free, then the
  same backoff; forgotten an hour after the last) and per account across all addresses
  (PULSE_RATE_LOGIN_ATTEMPTS_PER_ACCOUNT attempts an hour). A success does not reset its
  address's count: an attacker with an account of its own could reset it between guesses.
- Each attempt reserves the one password check of its device or its address, and counts its
  account's hourly attempt, in one conditional write: a burst of concurrent guesses gets one
  check, not one each. A refused attempt checks no password (no oracle, no argon2 to burn)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from .. import codes
from ..auth import devices
from ..clock import Clock
from ..config import Settings
from ..errors import RateLimited
from ..repositories.login_throttles import HourCount, Release, Throttle
from ..repositories.reads import Fetched, Read
from .limits import source_scope
from .ports import LoginThrottleStore

log = logging.getLogger("pulse.login")

FREE_DEVICE_FAILURES = 5
MAX_LOCK_SECONDS = 15 * 60
CHECK_SECONDS = 10  # a password check that crashed half way frees its scope after this
DEVICE_MEMORY_SECONDS = 24 * 3600  # a device's failures are forgotten a day after the last
SOURCE_MEMORY_SECONDS = 3600  # an address's, an hour after the last
HOUR_SECONDS = 3600
UNKNOWN_SOURCE = "unknown"  # no usable sourceIp: such attempts share one count


def lock_seconds(failures: int, free: int) -> int:
    """0 for the first `free` - 1 failures, then 1, 2, 4, ... seconds up to 15 minutes."""
    if failures < free:
        return 0
    return int(min(MAX_LOCK_SECONDS, 2 ** (failures - free)))


def too_many_attempts(retry_after: int, message: str | None = None) -> RateLimited:
    return RateLimited(
        message or "Too many login attempts for this account; wait before trying again.",
        retry_after=retry_after,
        code=codes.TOO_MANY_ATTEMPTS,
    )


def too_many_failures(retry_after: int) -> RateLimited:
    return RateLimited(
        "Too many failed logins from this address; wait before trying again.",
        retry_after=retry_after,
        code=codes.TOO_MANY_FAILURES,
    )


def busy() -> RateLimited:
    return too_many_attempts(1, "Another login attempt is being checked; retry in a second.")


@dataclass
class Attempt:
    """One login attempt's way through the throttles: read, admitted, reserved, then either
    failed or released in the session transaction."""

    settings: Settings
    store: LoginThrottleStore
    now: float
    email: str
    source: str
    device_id: str | None  # of a valid device cookie for this email
    device: Throttle | None = None  # set when the device is recognised and not locked
    address: Throttle | None = None
    hour: HourCount | None = None
    _device_read: Read[Throttle] | None = None
    _address_read: Read[Throttle] | None = None
    _hour_read: Read[HourCount] | None = None

    def reads(self) -> list[Read[Any]]:
        """What the login's first BatchGetItem reads besides the email claim."""
        s = self.settings
        if self.device_id is not None:
            self._device_read = self.store.device_read(self.email, self.device_id, self.now)
        if s.login_failures_per_source:
            self._address_read = self.store.source_read(self.source, self.now)
        if s.login_attempts_per_account:
            window = int(self.now // HOUR_SECONDS) * HOUR_SECONDS
            self._hour_read = self.store.hour_read(self.email, window, window + HOUR_SECONDS)
        wanted = (self._device_read, self._address_read, self._hour_read)
        return [r for r in wanted if r is not None]

    def admit(self, got: Fetched) -> None:
        """Decide from the read which throttles apply; RateLimited when one refuses."""
        device = got[self._device_read] if self._device_read is not None else None
        if device is not None and device.locked_until <= self.now:
            self.device = device  # recognised: nothing else applies
            return
        address = got[self._address_read] if self._address_read is not None else None
        hour = got[self._hour_read] if self._hour_read is not None else None
        if address is not None:
            if address.locked_until > self.now:
                raise too_many_failures(self._until(address.locked_until))
            self.address = address
        if hour is not None:
            if hour.attempts >= self.settings.login_attempts_per_account:
                raise self._capped(hour)
            self.hour = hour

    def reserve(self) -> None:
        """Take the password check of the device or the address, and count the account's
        attempt, in one conditional write; RateLimited if that is refused."""
        throttles = [t for t in (self.device, self.address) if t is not None]
        if not throttles and self.hour is None:
            return
        outcome = self.store.reserve(
            throttles,
            self.hour,
            self.settings.login_attempts_per_account,
            now=self.now,
            until=self.now + CHECK_SECONDS,
        )
        if outcome == "capped":
            assert self.hour is not None
            raise self._capped(self.hour)
        if outcome == "busy":
            raise busy()

    def failed(self) -> None:
        """Count a wrong password against the device, or the address, and set its lock."""
        if self.device is not None:
            t, free, memory = self.device, FREE_DEVICE_FAILURES, DEVICE_MEMORY_SECONDS
        elif self.address is not None:
            t, memory = self.address, SOURCE_MEMORY_SECONDS
            free = self.settings.login_failures_per_source
        else:
            return
        self.store.record_failure(
            t,
            locked_until=self.now + lock_seconds(t.failures + 1, free),
            forget_at=self.now + memory,
        )

    def abandon(self) -> None:
        """The check died half way (DynamoDB failing): free its scope now rather than in
        CHECK_SECONDS. Best-effort: if this fails too, the reservation simply runs out."""
        t = self.device or self.address
        if t is None:
            return
        try:
            self.store.end_check(t)
        except Exception:
            log.warning("login check not released", extra={"scope": t.pk.split("#")[0]})

    def release(self) -> Release | None:
        """What the session transaction does to the throttle that admitted the login: a
        device's failures are forgotten; an address's only end their check (a success from an
        address does not clear its guesses)."""
        if self.device is not None:
            return Release(self.device, forget=True, keep_until=0)
        if self.address is not None:
            keep = max(self.address.forget_at, self.now + CHECK_SECONDS + 60)
            return Release(self.address, forget=False, keep_until=keep)
        return None

    def cookie(self, pepper: bytes) -> str:
        """The device cookie the successful login sets (the same device id if recognised)."""
        return devices.issue(pepper, self.email, self.device_id)

    def _until(self, at: float) -> int:
        return max(1, math.ceil(at - self.now))

    def _capped(self, hour: HourCount) -> RateLimited:
        return too_many_attempts(
            self._until(hour.ends),
            "Too many login attempts for this account from unrecognised devices; wait, or log "
            "in from a browser that has logged in before.",
        )


class LoginThrottle:
    def __init__(self, settings: Settings, clock: Clock, store: LoginThrottleStore) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store

    def attempt(self, email: str, source_ip: str | None, device_cookie: str | None) -> Attempt:
        """Start an attempt: the device cookie is checked here, with no I/O."""
        device_id = devices.device_of(self.settings.key_pepper, email, device_cookie)
        return Attempt(
            settings=self.settings,
            store=self.store,
            now=self.clock.now(),
            email=email,
            source=source_scope(source_ip) or UNKNOWN_SOURCE,
            device_id=device_id,
        )
