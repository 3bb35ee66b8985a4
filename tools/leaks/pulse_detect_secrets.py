"""A detect-secrets plugin (Yelp's detect-secrets >= 1.0) that finds Pulse secret keys.

    detect-secrets scan --plugin tools/leaks/pulse_detect_secrets.py

It reports `sk_` (secret) and `rk_` (restricted) keys whose CRC32 checksum is right: a
string of the same shape with a typo, or made up, is not reported. Publishable keys (`pk_`)
are public by design (they sit in frontend code) and are not reported. Standalone: it imports
nothing of Pulse, so it can be copied into any repository. docs/keys.md has the format.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Generator

from detect_secrets.plugins.base import RegexBasedDetector

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_CHARS = 6
# prefix_ + environment id (16) + key id (16) + secret (22) + checksum (6), all base62
KEY = re.compile(r"(?<![0-9A-Za-z])(?:sk|rk)_[0-9A-Za-z]{60}(?![0-9A-Za-z])")


def checksum(text: str) -> str:
    """The 6 base62 characters of the CRC32 of `text`, most significant first."""
    number, chars = zlib.crc32(text.encode()), []
    for _ in range(CHECKSUM_CHARS):
        number, rem = divmod(number, 62)
        chars.append(ALPHABET[rem])
    return "".join(reversed(chars))


def is_pulse_key(candidate: str) -> bool:
    """Whether the last 6 characters are the checksum of the rest."""
    head, tail = candidate[:-CHECKSUM_CHARS], candidate[-CHECKSUM_CHARS:]
    return checksum(head) == tail


class PulseKeyDetector(RegexBasedDetector):
    """Scans for Pulse secret and restricted API keys (sk_..., rk_...), checksum verified."""

    secret_type = "Pulse API Key"
    denylist = [KEY]

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        for match in super().analyze_string(string):
            if is_pulse_key(match):
                yield match
