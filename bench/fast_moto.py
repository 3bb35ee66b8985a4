"""moto's server with item-level rollback of TransactWriteItems: `python -m bench.fast_moto`.

moto backs a transaction up by deep-copying the whole table once per item of the transaction
(moto 5.2.5, `DynamoDBBackend.transact_write_items`): about 0.15 s per copy of a 3,300-item table
on this machine, so a 4-item transaction costs 0.6 s there and the cost grows with the table.
DynamoDB itself does nothing of the kind. `devstack/moto_fixes.py` (which the dev stack uses too)
backs up only the items the transaction names. Used by bench/fanout.py, whose rooms hold up to
3,000 connection rows."""

from __future__ import annotations

import sys

from moto.server import main

from devstack.moto_fixes import install_item_rollback as install

__all__ = ["install"]

if __name__ == "__main__":
    install()
    main(sys.argv[1:])
