"""moto's server with item-level rollback of TransactWriteItems: `python -m bench.fast_moto`.

moto backs a transaction up by deep-copying the whole table once per item of the transaction
(moto 5.2.5, `DynamoDBBackend.transact_write_items`): about 0.15 s per copy of a 3,300-item table
on this machine, so a 4-item transaction costs 0.6 s there and the cost grows with the table.
DynamoDB itself does nothing of the kind. Here the backup is of the items the transaction
names, restored if it fails; what a transaction does and answers is moto's own code, unchanged.
Used by bench/fanout.py, whose rooms hold up to 3,000 connection rows."""

from __future__ import annotations

import copy
import sys
from typing import Any

import moto.dynamodb.models as models
from moto.server import main

_deepcopy = copy.deepcopy


class _NoTableCopy:
    """Stands in for the `copy` module inside moto.dynamodb.models: a Table is not copied (the
    wrapper below keeps an item-level backup instead); everything else is."""

    def deepcopy(self, x: Any, memo: Any = None) -> Any:
        if isinstance(x, models.Table):  # type: ignore[attr-defined]
            return x
        return _deepcopy(x, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _key(table: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def install() -> None:
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[str, dict[str, Any], Any]] = []
        for entry in transact_items:
            try:
                op_type, op = next(iter(entry.items()))
                table = self.tables[op["TableName"]]
                key = _key(table, op_type, op)
                current = self.get_item(op["TableName"], key)
            except Exception:  # moto itself refuses the malformed entry
                continue
            saved.append((op["TableName"], key, _deepcopy(current)))
        try:
            original(self, transact_items)
        except Exception:
            for table_name, key, item in reversed(saved):
                if item is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, item.to_json()["Attributes"])
            raise

    models.copy = _NoTableCopy()  # type: ignore[attr-defined,assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    main(sys.argv[1:])
