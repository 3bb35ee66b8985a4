"""`GET /sdk/pulse.js` (and `HEAD`): the `<pulse-widget>` SDK, public. A dependency-free script
shipped as is (no build step) from chalicelib/static/sdk/, so it deploys with the Lambda package.
Any site may load it, hence `Access-Control-Allow-Origin: *` (no credentials, no secrets)."""

from __future__ import annotations

import functools
from pathlib import Path

from chalice.app import Response

from .routing import Router

router = Router(prefix="/sdk")
SCRIPT_PATH = Path(__file__).resolve().parents[1] / "static" / "sdk" / "pulse.js"
HEADERS: dict[str, str | list[str]] = {
    "Content-Type": "text/javascript; charset=utf-8",
    "Cache-Control": "public, max-age=300",
    "Access-Control-Allow-Origin": "*",
}


@functools.cache
def script() -> str:
    """The script's text, read once per container on first use."""
    return SCRIPT_PATH.read_text(encoding="utf-8")


@router.route("/pulse.js", "GET", auth="none", head=True)
def pulse_js() -> Response:
    return Response(body=script(), status_code=200, headers=dict(HEADERS))
