"""Operators with live sessions, for the Admin API's document (it is served to them only)."""

import pytest
from api.conftest import make_operator, owner, viewer  # noqa: F401 (fixtures)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Schemathesis (4.32) names each operation's item `test[GET /path]`, but pytest 9 builds an
    item's id from its function's original name: its 33 items shared one id, and pytest-xdist,
    which keys results by id, ran only one of them. Each item gets the id its name says."""
    for item in items:
        original = getattr(item, "originalname", item.name)
        if item.name != original and item.nodeid.endswith(f"::{original}"):
            params = item.name[len(original) + 1 : -1]
            item._id = item.parent.id.child(original).with_params(params)  # type: ignore[attr-defined,union-attr]
