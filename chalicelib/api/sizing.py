"""Compatibility: the size limits moved to wire/sizing.py (both adapters use them)."""

from ..wire.sizing import (
    CURSOR_PLACEHOLDER,
    FRAME_MAX_BYTES,
    PAGE_BUDGET_BYTES,
    RESPONSE_MAX_BYTES,
    ItemTooLarge,
    chunks,
    fit,
    fitting,
    size,
)

__all__ = [
    "CURSOR_PLACEHOLDER",
    "FRAME_MAX_BYTES",
    "PAGE_BUDGET_BYTES",
    "RESPONSE_MAX_BYTES",
    "ItemTooLarge",
    "chunks",
    "fit",
    "fitting",
    "size",
]
