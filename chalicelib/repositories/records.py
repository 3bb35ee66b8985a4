"""Stored items to domain records: copy each record field from the item attribute of that name."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

R = TypeVar("R")


def to_record(cls: type[R], item: Any, **overrides: Any) -> R:
    """`cls(**{field: item.field})` for the fields the item has, then `overrides`."""
    attributes = item.get_attributes()
    values = {f.name: getattr(item, f.name) for f in fields(cls) if f.name in attributes}  # type: ignore[arg-type]
    values.update(overrides)
    return cls(**values)
