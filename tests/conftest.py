"""Shared fixtures: moto is started before any client exists, tables come from the models."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws

from chalicelib.config import DEFAULT_RATES  # reads nothing at import

# Fixed test configuration, set before anything reads settings or creates a client.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PULSE_STAGE": "test",
        "PULSE_KEY_PEPPER": "test-pepper-0123456789abcdef0123456789abcdef",
        "PULSE_SIGNING_SECRET": "test-signing-0123456789abcdef0123456789abcdef",
        # Attachments go to this bucket, made in moto by the `services` fixture.
        "PULSE_ATTACHMENTS_BUCKET": "pulse-test-attachments",
        # Abuse limits: far out of reach, because a FrozenClock keeps every request of a test in
        # one window. The counters are still written (budget tests count them); the tests of
        # the limits set their own (tests/api/test_rate_limits.py, tests/realtime/test_limits.py).
        **{name: "1000000" for name in DEFAULT_RATES},
        # A connection a post finds gone is removed at once (a stage waits 30 s: a post during
        # `$connect` answers 410 too; tests/realtime/test_fanout.py checks that wait).
        "PULSE_CONNECT_SETTLE_SECONDS": "0",
    }
)
os.environ.pop("PULSE_DYNAMODB_ENDPOINT", None)
os.environ.pop("AWS_PROFILE", None)

from chalicelib import runtime
from chalicelib.clock import FrozenClock
from chalicelib.config import Settings
from devstack.moto_fixes import install_item_rollback, install_partition_query
from infra.tables import create_tables

# Secrets never appear in logs: every log record of the whole run is scanned, and a leak fails
# the run (tests/security/logscan.py).
pytest_plugins = ["security.logscan"]


@pytest.fixture(scope="session", autouse=True)
def shared_botocore_loader() -> Iterator[None]:
    """Every test binds a new PynamoDB connection, hence a new botocore session that would
    parse the service JSON models again (~0.1 s a test). The models never change: share one
    loader, so its cache serves them all."""
    loaders: dict[str | None, botocore.loaders.Loader] = {}
    original = botocore.session.create_loader

    def create_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loaders[search_path_string] = original(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", create_loader)
        yield


@pytest.fixture
def aws() -> Iterator[None]:
    # The dev stack's fixes where moto's cost grows with the table and DynamoDB's does not
    # (devstack/moto_fixes.py; tests/devstack/test_moto_fixes.py holds them to moto's answers):
    # a transaction backs up its own items, not a deep copy of the whole table per item, and a
    # Query reads its partition only. Without them a test that writes 150 comments took ~100 s.
    install_item_rollback()
    install_partition_query()
    with mock_aws():
        yield


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(os.environ)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(time.time())


@pytest.fixture
def services(aws: None, settings: Settings, clock: FrozenClock) -> Iterator[runtime.Services]:
    create_tables(boto3.client("dynamodb"), settings.table_prefix)
    if settings.attachments_bucket:
        boto3.client("s3").create_bucket(Bucket=settings.attachments_bucket)
    graph = runtime.build(settings, clock)
    runtime.install(graph)
    yield graph
    runtime.install(None)


@pytest.fixture
def client(services: runtime.Services) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client
