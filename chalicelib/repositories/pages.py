"""One page of a Query with an opaque cursor: fetch limit+1 to know if another page exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pynamodb.models import Model

from .. import cursors
from ..db.dynamo import unavailable_on_throttle

M = TypeVar("M", bound=Model)

BASE_KEY = ("pk", "sk")
GSI1_KEY = ("pk", "sk", "gsi1pk", "gsi1sk")


def query_page(
    query: Callable[..., Any],
    *,
    limit: int,
    cursor: str | None,
    scope: str,
    secret: bytes,
    key_attrs: tuple[str, ...] = BASE_KEY,
    filtered: bool = False,
) -> tuple[list[Any], str | None]:
    start = None
    if cursor:
        raw = cursors.decode(secret, scope, cursor)
        start = {name: {"S": str(raw.get(name, ""))} for name in key_attrs}
    with unavailable_on_throttle():
        results = query(
            limit=limit + 1,
            last_evaluated_key=start,
            page_size=100 if filtered else limit + 1,
        )
        items = list(results)
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    last = items[-1]
    next_cursor = cursors.encode(secret, scope, {k: getattr(last, k) for k in key_attrs})
    return items, next_cursor
