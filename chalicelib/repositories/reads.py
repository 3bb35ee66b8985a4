"""Typed reads for the one consistent BatchGetItem a request makes: each read names the item it
fetches and what that item becomes, and its answer is looked up by the read itself, never by
position."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pynamodb.models import Model

from ..db.dynamo import batch_get

T = TypeVar("T")
ItemKey = tuple[type[Model], str, str]


@dataclass(frozen=True, eq=False)
class Read(Generic[T]):
    """One item to fetch and its conversion from the stored item (None when absent).

    A read whose `key` is None names an item that cannot exist (an id of the wrong form): it costs
    nothing and comes back as `convert(None)`, so the request's credentials are still checked
    before it answers 404, in the same round trip as always."""

    key: ItemKey | None
    convert: Callable[[Any], T]

    @property
    def can_exist(self) -> bool:
        """False for a read of an id no item can have (it answers without a round trip)."""
        return self.key is not None


def absent(convert: Callable[[Any], T]) -> Read[T]:
    """A read of an item that cannot exist: no key, `convert(None)` as its answer."""
    return Read(None, convert)


class Fetched:
    """The answers of one batch, by read: `fetched[read]` is typed as the read is."""

    def __init__(self, answers: dict[int, Any], reads: list[Read[Any]]) -> None:
        self._answers = answers
        self._reads = reads  # keeps the reads (and so their ids) alive as long as the answers

    def __getitem__(self, read: Read[T]) -> T:
        try:
            value: T = self._answers[id(read)]
        except KeyError:
            raise KeyError("this read was not part of the batch") from None
        return value


def fetch(reads: Iterable[Read[Any]]) -> Fetched:
    """One consistent BatchGetItem of every keyed read (none when no read has a key)."""
    wanted = list(reads)
    keyed = [r for r in wanted if r.key is not None]
    items = batch_get([r.key for r in keyed if r.key is not None]) if keyed else []
    found = {id(r): item for r, item in zip(keyed, items, strict=True)}
    return Fetched({id(r): r.convert(found.get(id(r))) for r in wanted}, wanted)
