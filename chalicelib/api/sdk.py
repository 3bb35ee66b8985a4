"""`GET /sdk/<file>` (and `HEAD`): the browser SDK's built files, public. Built from sdk/browser/
(its build.mjs) into chalicelib/static/sdk/ and committed, so they deploy with the Lambda package
and deploying needs no Node. Any site may load them, hence `Access-Control-Allow-Origin: *` (no
credentials, no secrets). FILES is the one table of what is served; any other name is a 404."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from chalice.app import Response

from .. import codes
from ..errors import NotFound
from .routing import Router

router = Router(prefix="/sdk")
STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "sdk"
SCRIPT = "text/javascript; charset=utf-8"
TYPES = "application/typescript; charset=utf-8"
# name -> Content-Type. pulse.js is a classic script (the widget); pulse-client.js and
# pulse-react.js are ES modules (`import ... from ".../sdk/pulse-client.js"`), each with its
# TypeScript declarations beside it. A name is served once its file is built (see below).
FILES: dict[str, str] = {
    "pulse.js": SCRIPT,
    "pulse-client.js": SCRIPT,
    "pulse-client.d.ts": TYPES,
    "pulse-react.js": SCRIPT,
    "pulse-react.d.ts": TYPES,
}
CACHE_CONTROL = "public, max-age=300"


@functools.cache
def text(name: str) -> str:
    """A file's text, read once per container on first use."""
    try:
        return (STATIC_DIR / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        # Not built (yet): the browser SDK's entries are built once their sources exist.
        raise NotFound(
            f"/sdk/{name} is not built on this server.", code=codes.ASSET_NOT_FOUND
        ) from None


def script() -> str:
    """The widget's script (pulse.js)."""
    return text("pulse.js")


def _serve(name: str) -> Callable[[], Response]:
    def view() -> Response:
        headers: dict[str, str | list[str]] = {
            "Content-Type": FILES[name],
            "Cache-Control": CACHE_CONTROL,
            "Access-Control-Allow-Origin": "*",
        }
        return Response(body=text(name), status_code=200, headers=headers)

    view.__name__ = "sdk_" + "".join(c if c.isalnum() else "_" for c in name)
    return view


for _name in FILES:
    router.route("/" + _name, "GET", auth="none", head=True)(_serve(_name))
