"""The Admin Panel (`GET /admin`): a static page plus whitelisted assets, served by this app.

Everything it shows comes from the Admin API (/admin/api/...), called by the page itself. The
files live in chalicelib/static/admin/ (Lambda ships chalicelib/); there is no build step. The
page is served with a strict Content-Security-Policy (no inline script or style, same-origin
connections and images only) and is never frameable."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from chalice.app import Response

from .. import codes
from ..errors import NotFound
from .routing import Router

router = Router(prefix="")
STATIC = Path(__file__).resolve().parents[1] / "static" / "admin"


def _csp(img_src: str) -> str:
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {img_src}; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


# End users' avatar URLs point at hosts of their choosing: loading one tells its host when and
# from where an operator looks. The panel shows initials instead, and its images are its own.
CONTENT_SECURITY_POLICY = _csp("'self' data:")
# `/admin?avatars=on`: the page as an operator who opted in to avatars (the panel's "Show
# avatars", remembered per operator in that browser) loads it; any https: image is allowed then.
AVATARS_CONTENT_SECURITY_POLICY = _csp("'self' data: https:")
AVATARS_QUERY = ("avatars", "on")
PANEL_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# The only files served under /admin/assets/, with their types. Anything else is a 404.
ASSETS: dict[str, str] = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
# index.html references each asset as `admin/assets/<name>?v=<content hash>`: a request with the
# current hash may be cached for good; any other (an old page, a hand-typed URL) only briefly.
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"


@functools.cache
def asset(name: str) -> tuple[str, str]:
    """(text, version) of a whitelisted asset, read once per container."""
    text = (STATIC / name).read_text(encoding="utf-8")
    return text, hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.cache
def index_html() -> str:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    for name in ASSETS:
        html = html.replace(f'"admin/assets/{name}"', f'"admin/assets/{name}?v={asset(name)[1]}"')
    return html


def _response(
    body: str, content_type: str, cache: str, csp: str = CONTENT_SECURITY_POLICY
) -> Response:
    headers: dict[str, str | list[str]] = {
        **PANEL_HEADERS,
        "Content-Security-Policy": csp,
        "Content-Type": content_type,
        "Cache-Control": cache,
    }
    return Response(body=body, status_code=200, headers=headers)


@router.route("/admin", "GET", auth="none", head=True)
def panel() -> Response:
    context = router.request.context or {}
    if str(context.get("path") or "").endswith("/"):
        # `/admin/` would resolve the page's relative asset URLs one level too deep. A relative
        # Location keeps any API Gateway stage prefix (`/dev/admin/` -> `/dev/admin`).
        headers: dict[str, str | list[str]] = {"Location": "../admin", "Cache-Control": "no-store"}
        return Response(body="", status_code=308, headers=headers)
    query: Any = router.request.query_params or {}
    name, value = AVATARS_QUERY
    csp = AVATARS_CONTENT_SECURITY_POLICY if query.get(name) == value else CONTENT_SECURITY_POLICY
    # `no-cache`: revalidated each time, so a deploy's new asset hashes are seen at once.
    return _response(index_html(), "text/html; charset=utf-8", "no-cache", csp)


@router.route("/admin/assets/{name}", "GET", auth="none", head=True)
def panel_asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound("No such Admin Panel asset.", code=codes.ASSET_NOT_FOUND)
    text, version = asset(name)
    query: Any = router.request.query_params or {}
    cache = IMMUTABLE if query.get("v") == version else SHORT
    return _response(text, ASSETS[name], cache)
