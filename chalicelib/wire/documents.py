"""The OpenAPI documents as answered: what their own operations say they return."""

from __future__ import annotations

from .shapes import Value


def document(cache_control: str) -> Value:
    """An OpenAPI 3.1 document, described loosely (it describes itself)."""
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


PUBLIC_CACHE = "public, max-age=300"
PRIVATE_CACHE = "private, max-age=300"
CUSTOMER = document(PUBLIC_CACHE)
ADMIN = document(PRIVATE_CACHE)
