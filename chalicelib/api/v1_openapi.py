"""`GET /api/v1/openapi.json`: the API contract, public. Lambda ships only app.py and chalicelib/,
so the document is chalicelib/openapi.json, generated from the routes (`make openapi`)."""

from __future__ import annotations

import functools
from pathlib import Path

from chalice.app import Response

from ..wire.shapes import Value
from .routing import Router

router = Router(prefix="/api/v1", contract="customer", tag="Contract")
SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi.json"
PUBLIC_CACHE = "public, max-age=300"
HEADERS: dict[str, str | list[str]] = {
    "Content-Type": "application/json",
    "Cache-Control": PUBLIC_CACHE,
}


def document_answer(cache_control: str) -> Value:
    """An OpenAPI 3.1 document, as its own operation describes it: loosely."""
    shape = Value(
        {
            "type": "object",
            "required": ["openapi", "info", "paths"],
            "properties": {
                "openapi": {"type": "string", "pattern": "^3\\.1\\."},
                "info": {"type": "object"},
                "paths": {"type": "object"},
            },
        }
    )
    shape.headers = {"Cache-Control": f"`{cache_control}`"}
    return shape


@functools.cache
def document() -> str:
    """The JSON text, read once per container on first use and served as is (no re-encoding)."""
    return SPEC_PATH.read_text(encoding="utf-8")


@router.route(
    "/openapi.json",
    "GET",
    auth="none",
    head=True,
    answer=document_answer(PUBLIC_CACHE),
    operation_id="getOpenApi",
)
def openapi_document() -> Response:
    """This API description

    This OpenAPI 3.1 document, as JSON. Public (no key needed), cacheable.

    Returns: The OpenAPI document.
    """
    return Response(body=document(), status_code=200, headers=dict(HEADERS))
