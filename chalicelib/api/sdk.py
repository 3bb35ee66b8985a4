"""`GET /sdk/...` (and `HEAD`): the browser SDK's files, public: the `<pulse-widget>` script, the
headless client and the React bindings as ES modules, and their TypeScript declarations. Built
from sdk/browser/ and committed in chalicelib/static/sdk/, so they deploy with the Lambda package.
Any site may load them, hence `Access-Control-Allow-Origin: *` (no credentials, no secrets)."""

from __future__ import annotations

import functools
from pathlib import Path

from chalice.app import Response

from .routing import Router

router = Router(prefix="/sdk")
SDK_DIR = Path(__file__).resolve().parents[1] / "static" / "sdk"
JAVASCRIPT = "text/javascript; charset=utf-8"
TYPESCRIPT = "application/typescript; charset=utf-8"
# The one table of served files: name -> content type.
FILES = {
    "pulse.js": JAVASCRIPT,
    "pulse-client.js": JAVASCRIPT,
    "pulse-client.d.ts": TYPESCRIPT,
    "pulse-react.js": JAVASCRIPT,
    "pulse-react.d.ts": TYPESCRIPT,
}


@functools.cache
def text(name: str) -> str:
    """A file's text, read once per container on first use."""
    return (SDK_DIR / name).read_text(encoding="utf-8")


def _serve(name: str) -> Response:
    headers: dict[str, str | list[str]] = {
        "Content-Type": FILES[name],
        "Cache-Control": "public, max-age=300",
        "Access-Control-Allow-Origin": "*",
    }
    return Response(body=text(name), status_code=200, headers=headers)


def _route(name: str) -> None:
    # One exact path per file (no {name} parameter: nothing else under /sdk is ever read).
    def view() -> Response:
        return _serve(name)

    view.__name__ = "sdk_" + name.replace("-", "_").replace(".", "_")
    router.route(f"/{name}", "GET", auth="none", head=True)(view)


for _name in FILES:
    _route(_name)
