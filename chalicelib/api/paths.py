"""Request paths: what a path parameter means (percent-decoded once; `~` + base64url is an escaped
id, for ids a URL cannot carry as they are), and which paths match no route (a trailing slash,
an empty segment) although API Gateway and chalice local route them."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from .. import codes
from ..errors import InvalidInput, NotFound
from ..validation import PATH_ESCAPE, is_dot_segment

# A route whose page redirects its trailing-slash twin instead (api/admin_panel.py: `/admin/`).
SLASH_REDIRECTS = frozenset({"/admin"})
ESCAPE_HINT = (
    f"Send an id a URL cannot carry (`.`, `..`, or one starting with `{PATH_ESCAPE}`) as "
    f"`{PATH_ESCAPE}` + its UTF-8 in unpadded base64url: `..` is `{PATH_ESCAPE}Li4`."
)


def escape(value: str) -> str:
    """The escaped form of an id: `~` + unpadded base64url of its UTF-8."""
    raw = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")
    return PATH_ESCAPE + raw.rstrip("=")


def parameter(name: str, raw: str) -> str:
    """The id a path parameter names. API Gateway REST APIs and chalice local hand parameters
    over still percent-encoded (`doc%3A1`): decoded exactly once here. A dot segment that
    reached us raw (curl --path-as-is; a browser would have resolved it) is refused, since a
    proxy on the way may resolve it as well: such ids travel escaped."""
    value = unquote(raw)
    if value.startswith(PATH_ESCAPE):
        return _unescape(name, value[len(PATH_ESCAPE) :])
    if is_dot_segment(value):
        raise InvalidInput(name, f"is a dot segment. {ESCAPE_HINT}")
    return value


def _unescape(name: str, encoded: str) -> str:
    try:
        if not encoded or "=" in encoded:
            raise ValueError("empty or padded")
        padded = encoded + "=" * (-len(encoded) % 4)
        value = base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            name, f"starts with `{PATH_ESCAPE}` but is no escaped id. {ESCAPE_HINT}"
        ) from None
    if not value or escape(value) != PATH_ESCAPE + encoded:  # one spelling per id
        raise InvalidInput(name, f"is no escaped id in its one spelling. {ESCAPE_HINT}")
    return value


def check_shape(path: str, resource: str | None) -> None:
    """Routes match exactly: a trailing slash or an empty segment is no route (API Gateway and
    chalice local strip a trailing slash, and chalice local matches `//` as an empty parameter:
    `DELETE .../environments/{envId}/` must not reach the environment's DELETE)."""
    if path in ("", "/"):
        return
    trailing = path.endswith("/") and resource not in SLASH_REDIRECTS
    if trailing or "//" in path.rstrip("/"):
        raise NotFound(
            "No route matches this path.",
            code=codes.NOT_FOUND,
            suggestion="Paths take no trailing slash and no empty segment.",
        )
