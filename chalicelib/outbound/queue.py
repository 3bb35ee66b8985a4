"""The webhook delivery queue (SQS): one message per attempt to make, delayed up to SQS's
15 minutes (a longer wait is chained by the consumer, services/webhook_delivery.py)."""

from __future__ import annotations

import threading
from typing import Any

from .. import jsontext

MAX_DELAY_SECONDS = 900


class SqsQueue:
    def __init__(self, queue_url: str, region: str, endpoint: str | None = None) -> None:
        self.queue_url = queue_url
        self.region = region
        self.endpoint = endpoint
        self._client: Any = None
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any], delay_seconds: int = 0) -> None:
        delay = max(0, min(MAX_DELAY_SECONDS, int(delay_seconds)))
        self.client.send_message(
            QueueUrl=self.queue_url, MessageBody=jsontext.dumps(message), DelaySeconds=delay
        )

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from ..aws import session

                self._client = session().create_client(
                    "sqs", region_name=self.region, endpoint_url=self.endpoint
                )
            return self._client


class NoQueue:
    """No queue configured (tests of the Admin API alone): attempts are not made."""

    def send(self, message: dict[str, Any], delay_seconds: int = 0) -> None:
        return None
