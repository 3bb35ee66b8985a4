"""Fixtures for the Admin API tests: operators of each role with live sessions, log capture."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib import runtime

from .helpers import PASSWORD, Login, login_as

OWNER_EMAIL = "owner@example.com"


@pytest.fixture
def make_operator(services: runtime.Services, client: Any) -> Callable[..., Login]:
    """Create an operator (the bootstrap path, no API) and log it in through the API."""

    counter = itertools.count(1)

    def make(role: str = "admin", email: str | None = None, password: str = PASSWORD) -> Login:
        email = email or f"{role}{next(counter)}@example.com"
        services.operators.create(None, email, password, role)  # type: ignore[arg-type]
        return login_as(client, email, password)

    return make


@pytest.fixture
def owner(make_operator: Callable[..., Login]) -> Login:
    return make_operator("owner", OWNER_EMAIL)


@pytest.fixture
def admin(make_operator: Callable[..., Login], owner: Login) -> Login:
    return make_operator("admin", "admin@example.com")


@pytest.fixture
def viewer(make_operator: Callable[..., Login], owner: Login) -> Login:
    return make_operator("viewer", "viewer@example.com")


@pytest.fixture
def pulse_records() -> Iterator[list[logging.LogRecord]]:
    """Records of the `pulse` loggers (they do not propagate, so caplog alone misses them)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("pulse")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
