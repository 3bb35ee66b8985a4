"""Operators with live sessions, for the Admin API's document (it is served to them only)."""

from api.conftest import make_operator, owner, viewer  # noqa: F401 (fixtures)
