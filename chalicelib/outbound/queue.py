"""The webhook delivery queue (SQS): one message per attempt to make, delayed up to SQS's
15 minutes (a longer wait is chained by the consumer, services/webhook_delivery.py)."""

from __future__ import annotations

import threading
from typing import Any

from .. import jsontext

MAX_DELAY_SECONDS = 900


class SqsQueue:
    """`queue_url`, or `queue_name` whose URL is asked once (GetQueueUrl) on first use."""

    def __init__(
        self,
        region: str,
        *,
        queue_url: str | None = None,
        queue_name: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        assert queue_url or queue_name
        self._url = queue_url
        self.queue_name = queue_name
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
    def queue_url(self) -> str:
        if self._url is None:
            self._url = str(self.client.get_queue_url(QueueName=self.queue_name)["QueueUrl"])
        return self._url

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
