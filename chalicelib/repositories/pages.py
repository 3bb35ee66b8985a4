"""One page of a Query with an opaque cursor: fetch limit+1 to know if another page exists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pynamodb.models import Model

from .. import cursors
from ..db.dynamo import unavailable_on_throttle
from ..entities import Page

M = TypeVar("M", bound=Model)
T = TypeVar("T")

BASE_KEY = ("pk", "sk")
GSI1_KEY = ("pk", "sk", "gsi1pk", "gsi1sk")


@dataclass(frozen=True)
class QueryPage:
    """The items of one page, and the cursors that continue after any of them."""

    items: list[Any]
    next_cursor: str | None
    cursor: str | None  # the one this page was read from (None: the list's start)
    scope: str
    secret: bytes
    key_attrs: tuple[str, ...]

    def after(self, index: int) -> str:
        """The cursor that continues right after items[index]; index -1: this page again. A
        page read from the start gets a cursor holding no key, which reads from the start: it
        lets a caller send none of a list's items yet still say that there are some."""
        if index < 0:
            return self.cursor or cursors.encode(self.secret, self.scope, {})
        item = self.items[index]
        return cursors.encode(
            self.secret, self.scope, {k: getattr(item, k) for k in self.key_attrs}
        )

    def page(self, convert: Callable[[Any], T]) -> Page[T]:
        return Page([convert(i) for i in self.items], self.next_cursor, self.after)


def query_page(
    query: Callable[..., Any],
    *,
    limit: int,
    cursor: str | None,
    scope: str,
    secret: bytes,
    key_attrs: tuple[str, ...] = BASE_KEY,
    filtered: bool = False,
) -> QueryPage:
    start = None
    if cursor:
        raw = cursors.decode(secret, scope, cursor)
        if raw:  # an empty key: from the start (QueryPage.after(-1))
            start = {name: {"S": str(raw.get(name, ""))} for name in key_attrs}
    with unavailable_on_throttle():
        results = query(
            limit=limit + 1,
            last_evaluated_key=start,
            page_size=100 if filtered else limit + 1,
        )
        items = list(results)
    found = QueryPage(items, None, cursor, scope, secret, key_attrs)
    if len(items) <= limit:
        return found
    return QueryPage(items[:limit], found.after(limit - 1), cursor, scope, secret, key_attrs)
