"""Field validators shared by the REST and WebSocket adapters; each error names its field."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from . import access, codes, ids, scopes
from .errors import InvalidInput

E = TypeVar("E", bound=str)


_LINE_CHARS = str.maketrans("", "", "\n\r\t")
MAX_JSON_DEPTH = 32


def _depth(value: Any, level: int) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()], default=level + 1)
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value], default=level + 1)
    return level


def within_depth(obj: Mapping[str, Any]) -> None:
    """A JSON object (a request body, a WebSocket frame) nested at most MAX_JSON_DEPTH levels,
    itself included; the error names the top-level field that goes deeper."""
    for name, value in obj.items():
        if _depth(value, 1) > MAX_JSON_DEPTH:
            raise InvalidInput(
                name, f"nests deeper than {MAX_JSON_DEPTH} levels", code=codes.TOO_DEEP
            )


def only_fields(obj: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise InvalidInput(unknown[0], "unknown field", code=codes.UNKNOWN_FIELD)


def has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def text(
    obj: Mapping[str, Any],
    field: str,
    *,
    max_len: int,
    min_len: int = 1,
    required: bool = True,
    strip: bool = False,
    allow_newlines: bool = False,
) -> str | None:
    """A string field of min_len..max_len characters without control characters."""
    value = obj.get(field)
    if value is None:
        if required:
            raise InvalidInput(field, "is required", code=codes.MISSING_FIELD)
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    if strip:
        value = value.strip()
    if not min_len <= len(value) <= max_len:
        raise InvalidInput(field, f"must be {min_len}-{max_len} characters")
    # Multi-line text keeps line breaks (\n, Windows \r\n) and tabs; nothing else invisible.
    checked = value.translate(_LINE_CHARS) if allow_newlines else value
    if has_control_chars(checked):
        raise InvalidInput(field, "must not contain control characters")
    return value


def required_text(obj: Mapping[str, Any], field: str, *, max_len: int, strip: bool = False) -> str:
    value = text(obj, field, max_len=max_len, strip=strip)
    assert value is not None
    return value


def choice(obj: Mapping[str, Any], field: str, options: tuple[E, ...]) -> E:
    value = obj.get(field)
    if value is None:
        raise InvalidInput(field, "is required", code=codes.MISSING_FIELD)
    for option in options:
        if value == option:
            return option
    raise InvalidInput(field, "must be one of " + ", ".join(options))


def http_url(obj: Mapping[str, Any], field: str, *, max_len: int = 2048) -> str | None:
    value = text(obj, field, max_len=max_len, required=False)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise InvalidInput(field, "must be an http(s) URL") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise InvalidInput(field, "must be an http(s) URL")
    return value


def email(obj: Mapping[str, Any], field: str = "email") -> str:
    value = required_text(obj, field, max_len=254, strip=True).lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or " " in value:
        raise InvalidInput(field, "must be an email address")
    return value


def operator_email(obj: Mapping[str, Any], field: str = "email") -> str:
    """An email as `email` takes it, to be set as an operator's: ASCII only. A letter of another
    script (a Cyrillic U+0430 for the a of admin@), a full-width form or an invisible character
    would let one address pass for another operator's in the panel and the audit log. Work
    mailboxes are ASCII; an internationalized domain is accepted in its ASCII (`xn--`) form,
    which cannot pass for another. Login keeps `email`: older accounts can still log in."""
    value = email(obj, field)
    if not value.isascii():
        raise InvalidInput(
            field,
            "must be ASCII: letters of other scripts, full-width forms and invisible characters "
            "can make an address look like another operator's (write an internationalized "
            "domain in its xn-- form)",
            code=codes.EMAIL_NOT_ASCII,
        )
    return value


ROOM_ID_MAX = 128
_ROOM_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:")
METADATA_MAX_KEYS = 20
METADATA_KEY_MAX = 64
METADATA_STRING_MAX = 256
BODY_MAX = 10_000
MAX_SAFE_INTEGER = 2**53 - 1


# --- ids that become URL path segments ------------------------------------------------------
# Every id a client names (room, user) ends up as one segment of a URL path: `/rooms/{roomId}`.
# URL parsers resolve dot segments (WHATWG: `.`, `..`, and any of them spelled with `%2e`) and
# browsers read `\` as `/`, and percent-encoding does not help: encodeURIComponent("..") is
# "..". So a new id may not be one of those, contain a separator, or start with PATH_ESCAPE
# (a segment starting with it is read as an escaped id: api/paths.py). Ids stored before this
# rule stay addressable through that escape.
PATH_ESCAPE = "~"
_DOT = re.compile(r"(?:\.|%2e){1,2}", re.IGNORECASE)
_SEPARATORS = ("/", "\\")


def is_dot_segment(value: str) -> bool:
    """`.` or `..` in any spelling a URL parser resolves (`%2e`, `.%2E`, `%2e%2e`, ...)."""
    return _DOT.fullmatch(value) is not None


def path_segment_problem(value: str) -> str | None:
    """Why `value` cannot be an id placed as one URL path segment, or None if it can."""
    if is_dot_segment(value):
        return "must not be a dot segment (`.`, `..` or one spelled with %2e)"
    if any(sep in value for sep in _SEPARATORS):
        return "must not contain `/` or `\\`"
    if value.startswith(PATH_ESCAPE):
        return f"must not start with `{PATH_ESCAPE}`"
    return None


def new_id(value: str, field: str) -> str:
    """A client-chosen id for something new: one that stays one URL path segment."""
    problem = path_segment_problem(value)
    if problem is not None:
        raise InvalidInput(field, problem)
    return value


def is_room_id(value: object) -> bool:
    """The shape of a room id (stored ones included: a lookup, not a creation)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= ROOM_ID_MAX
        and all(c in _ROOM_ID_CHARS for c in value)
    )


def room_id(value: object, field: str = "id") -> str:
    """A new room's id (POST /api/v1/rooms, a `$connect` that may create the room)."""
    if value is None:
        raise InvalidInput(field, "is required", code=codes.MISSING_FIELD)
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    if not is_room_id(value):
        raise InvalidInput(field, f"must be 1-{ROOM_ID_MAX} characters of letters, digits and -_.:")
    return new_id(value, field)


def user_id(obj: Mapping[str, Any], field: str, *, max_len: int) -> str:
    """A user id a client names (a mint's `userId`, a comment's author): text that stays one
    URL path segment (`/api/v1/users/{userId}`)."""
    return new_id(required_text(obj, field, max_len=max_len), field)


def metadata(
    obj: Mapping[str, Any], field: str = "metadata", *, required: bool = False
) -> dict[str, str | int | float | bool] | None:
    """A flat object of at most 20 keys whose values are strings (<= 256), numbers or booleans."""
    if field not in obj:
        if required:
            raise InvalidInput(field, "is required", code=codes.MISSING_FIELD)
        return None
    value = obj[field]
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be an object")
    if len(value) > METADATA_MAX_KEYS:
        raise InvalidInput(field, f"must have at most {METADATA_MAX_KEYS} keys")
    for key, item in value.items():
        name = f"{field}.{key}"
        if not 0 < len(key) <= METADATA_KEY_MAX or has_control_chars(key):
            raise InvalidInput(name, f"keys must be 1-{METADATA_KEY_MAX} printable characters")
        if isinstance(item, str):
            if len(item) > METADATA_STRING_MAX:
                raise InvalidInput(name, f"must be at most {METADATA_STRING_MAX} characters")
            if any(unicodedata.category(ch) == "Cs" for ch in item):
                raise InvalidInput(name, "must be valid Unicode text")
        elif isinstance(item, bool):
            pass
        elif isinstance(item, int | float):
            if item != item or item in (float("inf"), float("-inf")):
                raise InvalidInput(name, "must be a finite number")
            if abs(item) > MAX_SAFE_INTEGER:  # beyond it, JavaScript clients lose precision
                raise InvalidInput(
                    name, f"must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}"
                )
        else:
            raise InvalidInput(name, "must be a string, number or boolean")
    return dict(value)


def comment_body(obj: Mapping[str, Any], field: str = "body") -> str:
    value = text(obj, field, max_len=BODY_MAX, allow_newlines=True)
    assert value is not None
    if not value.strip():
        raise InvalidInput(field, "must not be blank")
    return value


EMOJI_MAX_CHARS = 32  # the longest emoji sequences (family, flag tags) are under 16


def one_emoji(value: Any, field: str = "emoji") -> str:
    """Exactly one emoji (a single grapheme of Unicode's emoji, sequences included: 👍🏽, 👨‍👩‍👧,
    🇫🇷, 1️⃣), as the `emoji` package's data has them. Imported here, on the paths that take one:
    its table costs ~30 ms to load, which no other cold start pays."""
    if not isinstance(value, str) or not 0 < len(value) <= EMOJI_MAX_CHARS:
        raise InvalidInput(field, "must be one emoji")
    import emoji

    if not emoji.is_emoji(value):
        raise InvalidInput(field, f"must be one emoji; {value[:40]!r} is not one")
    return value


def whole_number(obj: Mapping[str, Any], field: str) -> int | None:
    """An integer of 0 or more (a JSON number without a fraction), or None when absent."""
    value = obj.get(field)
    if value is None and field not in obj:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise InvalidInput(field, "must be a whole number (0 or more)")
    return value


def boolean(obj: Mapping[str, Any], field: str) -> bool | None:
    value = obj.get(field)
    if value is None and field not in obj:
        return None
    if not isinstance(value, bool):
        raise InvalidInput(field, "must be true or false")
    return value


def any_value(obj: Mapping[str, Any], field: str) -> Any:
    """A required field of any JSON value (`null` included), relayed as is."""
    if field not in obj:
        raise InvalidInput(field, "is required (any JSON value)", code=codes.MISSING_FIELD)
    return obj[field]


def nested(obj: Mapping[str, Any], field: str, allowed: Iterable[str]) -> dict[str, Any]:
    """A required sub-object, re-keyed `field.name` so that its errors name the full path."""
    value = obj.get(field)
    if value is None:
        raise InvalidInput(field, "is required", code=codes.MISSING_FIELD)
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be an object")
    flat = {f"{field}.{k}": v for k, v in value.items()}
    only_fields(flat, [f"{field}.{name}" for name in allowed])
    return flat


# --- room access (chalicelib/access.py) -------------------------------------------------------
GROUP_IDS_MAX = 50  # per token
GROUP_ID_MAX = 128
PERMISSIONS_MAX = 50  # entries per token
ACCESS_ENTRIES_MAX = 100  # entries per map of a room (usersAccess, groupsAccess)
ACCESS_KEY_MAX = 128  # a user or group id in a room's maps
_LEVELS_TEXT = ", ".join(access.LEVELS)


def level(obj: Mapping[str, Any], field: str, *, required: bool = False) -> access.Level | None:
    """One of the access levels; absent (or `null` when not required) is None."""
    value = obj.get(field)
    if value is None:
        if required:
            raise InvalidInput(
                field, f"is required (one of {_LEVELS_TEXT})", code=codes.MISSING_FIELD
            )
        return None
    return _level(value, field)


def _level(value: object, field: str) -> access.Level:
    if isinstance(value, str):
        for option in access.LEVELS:
            if value == option:
                return option
    raise InvalidInput(field, f"must be one of {_LEVELS_TEXT}")


def _short_id(value: object, field: str, max_len: int) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= max_len or has_control_chars(value):
        raise InvalidInput(field, f"must be 1-{max_len} printable characters")
    return value


def group_ids(obj: Mapping[str, Any], field: str) -> tuple[str, ...] | None:
    """Optional list of up to 50 distinct group ids of 1-128 printable characters."""
    value = obj.get(field)
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidInput(field, "must be a list of strings")
    if len(value) > GROUP_IDS_MAX:
        raise InvalidInput(field, f"must have at most {GROUP_IDS_MAX} entries")
    found = [_short_id(g, f"{field}[{n}]", GROUP_ID_MAX) for n, g in enumerate(value)]
    return tuple(dict.fromkeys(found))


def permissions(obj: Mapping[str, Any], field: str) -> dict[str, access.Level] | None:
    """Optional object: room id, or room-id prefix ending with `*`, -> level; up to 50."""
    value = obj.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be an object of room id (or prefix ending with *) -> level")
    if len(value) > PERMISSIONS_MAX:
        raise InvalidInput(field, f"must have at most {PERMISSIONS_MAX} entries")
    out: dict[str, access.Level] = {}
    for pattern, item in value.items():
        name = f"{field}.{pattern[: ROOM_ID_MAX + 1]}"
        stem = pattern[:-1] if pattern.endswith(access.PREFIX_WILDCARD) else pattern
        valid = access.is_pattern(pattern) and (
            is_room_id(stem) or (stem == "" and pattern == access.PREFIX_WILDCARD)
        )
        if not valid or len(pattern) > ROOM_ID_MAX:
            raise InvalidInput(
                name,
                f"keys must be a room id, or a prefix of one ending with `*` (`acme:*`): at most "
                f"{ROOM_ID_MAX} characters of letters, digits and -_.:",
            )
        out[pattern] = _level(item, name)
    return out


def key_scopes(obj: Mapping[str, Any], field: str) -> tuple[str, ...] | None:
    """Optional list of a restricted key's scopes (scopes.SCOPES): non-empty, no repeats."""
    value = obj.get(field)
    if value is None:
        return None
    named = ", ".join(scopes.SCOPES)
    if not isinstance(value, list) or not value:
        raise InvalidInput(field, f"must be a non-empty list of scopes: {named}")
    for item in value:
        if item not in scopes.SCOPES:
            shown = str(item)[:40] if isinstance(item, str) else type(item).__name__
            raise InvalidInput(field, f"has an unknown scope `{shown}`; scopes are: {named}")
    if len(set(value)) != len(value):
        raise InvalidInput(field, "names a scope twice")
    return tuple(sorted(value))


def rooms_pattern(obj: Mapping[str, Any], field: str) -> str | None:
    """Optional rooms pattern of a restricted key: a room id, or a prefix of one ending with
    `*` (`acme:*`). `*` alone is every room: send nothing instead."""
    value = obj.get(field)
    if value is None:
        return None
    stem = (
        value[:-1] if isinstance(value, str) and value.endswith(access.PREFIX_WILDCARD) else value
    )
    if not isinstance(value, str) or not access.is_pattern(value) or not is_room_id(stem):
        raise InvalidInput(
            field,
            f"must be a room id, or a prefix of one ending with `*` (`acme:*`): at most "
            f"{ROOM_ID_MAX} characters of letters, digits and -_.:",
        )
    return value


def access_map(
    obj: Mapping[str, Any], field: str, *, removals: bool
) -> dict[str, access.Level | None] | None:
    """Optional object of user or group id -> level (`removals`: `null` removes the entry)."""
    value = obj.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be an object of id -> level")
    if len(value) > ACCESS_ENTRIES_MAX:
        raise InvalidInput(field, f"must have at most {ACCESS_ENTRIES_MAX} entries")
    out: dict[str, access.Level | None] = {}
    for key, item in value.items():
        name = f"{field}.{str(key)[: ACCESS_KEY_MAX + 1]}"
        _short_id(key, name, ACCESS_KEY_MAX)
        if item is None and removals:
            out[key] = None
        else:
            out[key] = _level(item, name)
    return out


def string_list(
    obj: Mapping[str, Any], field: str, options: Sequence[str], *, max_items: int
) -> list[str] | None:
    """An optional non-empty list of distinct strings, each one of `options` (None: absent)."""
    value = obj.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= max_items:
        raise InvalidInput(field, f"must be a list of 1-{max_items} of: " + ", ".join(options))
    for item in value:
        if not isinstance(item, str) or item not in options:
            shown = repr(item)[:64] if isinstance(item, str) else type(item).__name__
            raise InvalidInput(field, f"{shown} is not one of: " + ", ".join(options))
    if len(set(value)) != len(value):
        raise InvalidInput(field, "must not repeat an item")
    return list(value)


def timestamp(obj: Mapping[str, Any], field: str) -> str:
    """A required UTC time, `YYYY-MM-DDTHH:MM:SS(.mmm)Z`; answered with milliseconds."""
    value = text(obj, field, max_len=40)
    assert value is not None
    for pattern in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            parsed = datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
        return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"
    raise InvalidInput(field, "must be a UTC time such as 2026-11-25T04:48:22Z")


def instant(obj: Mapping[str, Any], field: str) -> str | None:
    """An optional ISO 8601 date-time with its offset (`Z`, `+02:00`), answered in UTC with
    milliseconds; None when absent. A time without an offset is refused: it names no instant."""
    value = text(obj, field, max_len=40, required=False)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput(
            field, "must be an ISO 8601 date-time with its offset, such as 2026-11-25T04:48:22Z"
        )
    parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"


ALLOWED_IPS_MAX = 20


def cidrs(
    obj: Mapping[str, Any], field: str, *, max_items: int = ALLOWED_IPS_MAX
) -> tuple[str, ...] | None:
    """An optional list of 1-`max_items` distinct IPv4/IPv6 networks (`203.0.113.0/24`,
    `2001:db8::/32`; a bare address is its own /32 or /128), in their normal form."""
    value = obj.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= max_items:
        raise InvalidInput(field, f"must be a list of 1-{max_items} IPv4 or IPv6 CIDRs")
    out: list[str] = []
    for item in value:
        try:
            if not isinstance(item, str) or len(item) > 64:
                raise ValueError
            network = ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            shown = repr(item)[:64] if isinstance(item, str) else type(item).__name__
            raise InvalidInput(field, f"{shown} is not an IPv4 or IPv6 CIDR") from None
        out.append(str(network))
    if len(set(out)) != len(out):
        raise InvalidInput(field, "must not repeat a network")
    return tuple(out)


def address_in(address: str | None, networks: Sequence[str]) -> bool:
    """Whether `address` (API Gateway's sourceIp) lies in one of `networks`; an IPv4-mapped
    IPv6 address counts as its IPv4 address. No usable address is in none."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(n) for n in networks)


# --- attachments (services/attachments.py) ----------------------------------------------------
ATTACHMENTS_MAX = 10  # per comment
ATTACHMENT_NAME_MAX = 255


def attachment_ids(obj: Mapping[str, Any], field: str = "attachmentIds") -> tuple[str, ...]:
    """An optional list of up to 10 distinct attachment ids (`att_` + 16 base62)."""
    value = obj.get(field)
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > ATTACHMENTS_MAX:
        raise InvalidInput(field, f"must be a list of at most {ATTACHMENTS_MAX} attachment ids")
    for item in value:
        if not isinstance(item, str) or not ids.raw_part(item, "att"):
            raise InvalidInput(field, "must hold attachment ids (att_ + 16 base62 characters)")
    if len(set(value)) != len(value):
        raise InvalidInput(field, "must not repeat an id")
    return tuple(value)


def mime_type(obj: Mapping[str, Any], field: str = "mimeType") -> str:
    """A required MIME type, `type/subtype` (whether it is allowed is the environment's)."""
    value = text(obj, field, max_len=255)
    assert value is not None
    head, sep, tail = value.partition("/")
    if not sep or not head or not tail or " " in value:
        raise InvalidInput(field, "must be a MIME type such as image/png")
    return value


def byte_size(obj: Mapping[str, Any], field: str = "size") -> int:
    """A required size in bytes, 1 or more."""
    value = whole_number(obj, field)
    if value is None:
        raise InvalidInput(
            field, "is required (the file's size in bytes)", code=codes.MISSING_FIELD
        )
    if value < 1:
        raise InvalidInput(field, "must be at least 1 byte")
    return value


ATTACHMENT_TYPES_MAX = 100


def max_bytes(obj: Mapping[str, Any], field: str, cap: int) -> int | None:
    """An optional limit in bytes, 1..cap (`null`: absent)."""
    if obj.get(field) is None:
        return None
    value = whole_number(obj, field)
    if value is not None and not 1 <= value <= cap:
        raise InvalidInput(field, f"must be 1-{cap} bytes")
    return value


def seconds(obj: Mapping[str, Any], field: str, cap: int) -> int | None:
    """An optional number of seconds, 0..cap (`null`: absent)."""
    if obj.get(field) is None:
        return None
    value = whole_number(obj, field)
    if value is not None and not 0 <= value <= cap:
        raise InvalidInput(field, f"must be 0-{cap} seconds")
    return value


RETENTION_DAYS_MAX = 3650


def retention_days(obj: Mapping[str, Any], field: str) -> int | None:
    """An optional number of days, 0..3650 (0: no retention; `null`: absent)."""
    if obj.get(field) is None:
        return None
    value = whole_number(obj, field)
    if value is not None and not 0 <= value <= RETENTION_DAYS_MAX:
        raise InvalidInput(field, f"must be 0-{RETENTION_DAYS_MAX} days (0: keep for ever)")
    return value


def mime_types(obj: Mapping[str, Any], field: str) -> tuple[str, ...] | None:
    """An optional list of 1-100 distinct MIME types."""
    value = obj.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= ATTACHMENT_TYPES_MAX:
        raise InvalidInput(field, f"must be a list of 1-{ATTACHMENT_TYPES_MAX} MIME types")
    found = tuple(mime_type({field: item}, field) for item in value)
    if len(set(found)) != len(found):
        raise InvalidInput(field, "must not repeat a type")
    return found
