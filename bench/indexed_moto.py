"""moto's server as bench/fast_moto.py makes it, and a base-table Query that reads only its
partition: `python -m bench.indexed_moto -H 127.0.0.1 -p PORT`. Used by bench/flat_cost.py.

moto 5.2.5 answers a Query on a table by listing and sorting every item of the table
(`Table.query` over `Table.all_items()`), so each Query slows down as the table grows, which
DynamoDB does not: it reads the partition's items in key order. Here a base-table Query (no
index) sees only the items of its partition, which moto already keeps apart
(`Table.items[hash_key]`); what the Query does with them (key conditions, sorting, filters,
limits, paging) is moto's own code, unchanged. GSI queries keep moto's full listing."""

from __future__ import annotations

import sys
import threading
from typing import Any

from moto.dynamodb.models.table import Table
from moto.server import main

from . import fast_moto

_local = threading.local()  # the server runs a thread per request


def install() -> None:
    fast_moto.install()
    original_query = Table.query
    original_all_items = Table.all_items

    def all_items(self: Any) -> list[Any]:
        override = getattr(_local, "partition", None)
        if override is not None and override[0] is self:
            return list(override[1])
        return original_all_items(self)

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None or not self.range_key_attr:
            return original_query(self, hash_key, *args, **kwargs)
        _local.partition = (self, self.items.get(hash_key, {}).values())
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _local.partition = None

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    main(sys.argv[1:])
