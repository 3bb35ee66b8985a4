"""`GET /admin/api/openapi.json`: the Admin API's contract, for an operator's session (what
operators automate from). The document is chalicelib/admin-openapi.json (`make openapi`)."""

from __future__ import annotations

import functools
from pathlib import Path

from chalice.app import Response

from ..entities import Actor
from .routing import Router
from .v1_openapi import document_answer

router = Router(prefix="/admin/api", contract="admin", tag="Contract")
SPEC_PATH = Path(__file__).resolve().parents[1] / "admin-openapi.json"
PRIVATE_CACHE = "private, max-age=300"  # it needs a session: no shared cache keeps it
HEADERS: dict[str, str | list[str]] = {
    "Content-Type": "application/json",
    "Cache-Control": PRIVATE_CACHE,
}


@functools.cache
def document() -> str:
    """The JSON text, read once per container on first use and served as is (no re-encoding)."""
    return SPEC_PATH.read_text(encoding="utf-8")


@router.route(
    "/openapi.json", "GET", answer=document_answer(PRIVATE_CACHE), operation_id="getOpenApi"
)
def openapi_document(actor: Actor) -> Response:
    """This API description

    This OpenAPI 3.1 document, as JSON, for any operator.

    Returns: The OpenAPI document.
    """
    return Response(body=document(), status_code=200, headers=dict(HEADERS))
