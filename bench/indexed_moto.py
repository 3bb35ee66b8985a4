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

from moto.server import main

from devstack.moto_fixes import install_partition_query

from . import fast_moto


def install() -> None:
    fast_moto.install()
    install_partition_query()  # the dev stack's, in devstack/moto_fixes.py


if __name__ == "__main__":
    install()
    main(sys.argv[1:])
