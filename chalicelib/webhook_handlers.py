"""The stream and queue pipeline's two Lambda entry points (app.py wires them; the local stack
calls the same functions): the data table's stream records (webhook deliveries, then the inbox
fan-out), and one queued message (a delivery attempt, a notification's check, or the end of a
rolled publishable key: its sockets closed then, or a step of an erase job), and the scheduled
retention run."""

from __future__ import annotations

from typing import Any

from . import jsontext
from .repositories.events import is_event_record
from .runtime import metered, services
from .services.environments import KEY_EXPIRY_JOB
from .services.erasure import ERASE_JOB


def stream(event: dict[str, Any]) -> int:
    """DynamoDB Streams records (the event source's filter already kept event items; the same
    test runs here, so a wider mapping changes nothing). Raising makes Lambda retry the batch,
    which starts no delivery twice."""
    records = [r for r in event.get("Records", []) if is_event_record(r)]
    if not records:
        return 0
    with metered():
        started = services().pipeline.on_stream(records)
        services().inbox.on_stream(records)
    return started


def retention(event: dict[str, Any]) -> dict[str, Any]:
    """The hourly retention run (EventBridge; the local stack calls it on a timer): expired
    resolved threads, and what dead purges left (services/retention.py)."""
    report = services().retention.run()
    return {
        "environments": report.environments,
        "threadsDeleted": report.threads_deleted,
        "roomsPurged": report.rooms_purged,
        "threadsPurged": report.threads_purged,
        "complete": report.complete,
    }


def attempts(event: dict[str, Any]) -> None:
    """SQS messages, each one attempt to make. An exception leaves the message on the queue (it
    comes back after its visibility timeout, and goes to the dead-letter queue after a few)."""
    with metered():
        _attempts(event)


def _attempts(event: dict[str, Any]) -> None:
    for record in event.get("Records", []):
        message = jsontext.loads(record["body"])
        if isinstance(message, dict) and message.get("job") == KEY_EXPIRY_JOB:
            services().environments.on_key_expiry(message)
        elif isinstance(message, dict) and message.get("job") == ERASE_JOB:
            services().erasure.on_step(message)
        elif message.get("kind") == "notification":
            services().inbox.on_notification(message)
        else:
            services().pipeline.on_message(message)
