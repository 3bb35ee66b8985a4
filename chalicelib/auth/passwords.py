"""Operator passwords: argon2id above OWASP's minimum, imported lazily (only login needs it)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_LENGTH = 12
MAX_LENGTH = 256


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher, Type

    # OWASP minimum is m=19 MiB, t=2, p=1; we use 19 MiB and t=3.
    return PasswordHasher(time_cost=3, memory_cost=19 * 1024, parallelism=1, type=Type.ID)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """Verified against when the email is unknown, so both paths cost the same time."""
    return hash_password("pulse-timing-equalizer-not-a-password")
