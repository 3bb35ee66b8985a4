"""The per-container object graph: settings, clock and services, built on first use (never at
import, so `chalice package` and test collection touch no environment or AWS)."""

from __future__ import annotations

from dataclasses import dataclass

from .clock import Clock
from .config import Settings, get_settings, reset_settings
from .services.collab import CollabService
from .services.environments import EnvironmentService
from .services.operators import OperatorService
from .services.tokens import TokenService


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    environments: EnvironmentService
    operators: OperatorService
    tokens: TokenService
    collab: CollabService


_services: Services | None = None


def build(settings: Settings, clock: Clock | None = None) -> Services:
    from .db import dynamo

    dynamo.bind(settings)
    clock = clock or Clock()
    return Services(
        settings=settings,
        clock=clock,
        environments=EnvironmentService(settings, clock),
        operators=OperatorService(settings, clock),
        tokens=TokenService(settings, clock),
        collab=CollabService(settings, clock),
    )


def services() -> Services:
    global _services
    if _services is None:
        _services = build(get_settings())
    return _services


def install(value: Services | None) -> None:
    """Replace the graph (tests inject a FrozenClock; None rebuilds from the environment)."""
    global _services
    reset_settings()
    _services = value
