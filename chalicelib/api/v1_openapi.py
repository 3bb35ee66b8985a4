"""`GET /api/v1/openapi.json`: the API contract, public. Lambda ships only app.py and chalicelib/,
so the document is chalicelib/openapi.json, generated from docs/openapi.yaml (`make openapi`)."""

from __future__ import annotations

import functools
from pathlib import Path

from chalice.app import Response

from .routing import Router

router = Router(prefix="/api/v1")
SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi.json"
HEADERS: dict[str, str | list[str]] = {
    "Content-Type": "application/json",
    "Cache-Control": "public, max-age=300",
}


@functools.cache
def document() -> str:
    """The JSON text, read once per container on first use and served as is (no re-encoding)."""
    return SPEC_PATH.read_text(encoding="utf-8")


@router.route("/openapi.json", "GET", auth="none", head=True)
def openapi_document() -> Response:
    return Response(body=document(), status_code=200, headers=dict(HEADERS))
