"""Shared fixtures: moto is started before any client exists, tables come from the models."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

# Fixed test configuration, set before anything reads settings or creates a client.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PULSE_STAGE": "test",
        "PULSE_KEY_PEPPER": "test-pepper-0123456789abcdef0123456789abcdef",
        "PULSE_SIGNING_SECRET": "test-signing-0123456789abcdef0123456789abcdef",
    }
)
os.environ.pop("PULSE_DYNAMODB_ENDPOINT", None)
os.environ.pop("AWS_PROFILE", None)

from chalicelib import runtime
from chalicelib.clock import FrozenClock
from chalicelib.config import Settings
from infra.tables import create_tables


@pytest.fixture
def aws() -> Iterator[None]:
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
