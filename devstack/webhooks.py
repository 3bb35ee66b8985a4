"""The webhook pipeline of the local stack, on the embedded moto server: what AWS does with the
data table's stream (Lambda polling it) and with the delivery queue (Lambda polling SQS), done by
two threads that call the same handlers as app.py (chalicelib/webhook_handlers.py), and a third
that runs the hourly retention job as EventBridge does.

moto (5.2.5) serves DynamoDB Streams and SQS from the same server as DynamoDB: in server mode it
picks the backend of a request signed for `dynamodb` by its `X-Amz-Target`
(moto_server/werkzeug_app.py sends `DynamoDBStreams_*` to the streams backend). The in-process
`mock_aws` does not: its URL stubber finds no handler and answers DescribeStream with its
fallback 404 "Not yet implemented", which is why a quick trial there failed. Queues: the delivery
queue with a redrive policy to a dead-letter queue after 5 receives."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import MutableMapping
from typing import Any

log = logging.getLogger("pulse.devstack.webhooks")

QUEUE = "pulse-dev-webhooks"
DEAD_LETTERS = "pulse-dev-webhooks-dlq"
ACCOUNT = "123456789012"  # moto's default account, part of its queue URLs
MAX_RECEIVES = 5
# Short polls, never SQS long polling: the embedded server applies one request at a time
# (devstack/snapshot.py's WriteWatcher), so a long poll would hold up every DynamoDB call.
STREAM_POLL_SECONDS = 0.1
QUEUE_POLL_SECONDS = 0.1


def prepare(env: MutableMapping[str, str], endpoint: str) -> None:
    """The app's settings for the local pipeline (set before settings are read): the queue on
    the embedded server, and `http`/loopback endpoints allowed (a listener on this machine)."""
    env["PULSE_SQS_ENDPOINT"] = endpoint
    env["PULSE_WEBHOOK_QUEUE_URL"] = f"{endpoint}/{ACCOUNT}/{QUEUE}"
    env.setdefault("PULSE_WEBHOOK_ALLOW_LOCAL", "1")


class LocalPipeline:
    """Polls the data table's stream and the delivery queue; stop() ends both threads."""

    def __init__(self, endpoint: str, region: str, data_table: str) -> None:
        import boto3
        from botocore.config import Config

        config = Config(retries={"max_attempts": 2})
        common: dict[str, Any] = {"endpoint_url": endpoint, "region_name": region, "config": config}
        self.dynamodb = boto3.client("dynamodb", **common)
        self.streams = boto3.client("dynamodbstreams", **common)
        self.sqs = boto3.client("sqs", **common)
        self.data_table = data_table
        self.queue_url = ""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        dead = self.sqs.create_queue(QueueName=DEAD_LETTERS)["QueueUrl"]
        dead_arn = self.sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": MAX_RECEIVES})
        self.queue_url = self.sqs.create_queue(
            QueueName=QUEUE,
            Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "60"},
        )["QueueUrl"]
        shard_iterators = self._latest_iterators()
        for name, target, args in (
            ("pulse-stream", self._poll_stream, (shard_iterators,)),
            ("pulse-webhooks", self._poll_queue, ()),
            ("pulse-retention", self._every_hour, ()),
        ):
            thread = threading.Thread(target=target, args=args, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def _every_hour(self) -> None:
        """What EventBridge does with app.py's schedule: the retention run, every
        PULSE_RETENTION_INTERVAL_SECONDS (an hour by default), first after one interval."""
        from chalicelib import webhook_handlers

        interval = float(os.environ.get("PULSE_RETENTION_INTERVAL_SECONDS") or 3600)
        while not self._stop.wait(interval):
            try:
                log.info("retention run: %s", webhook_handlers.retention({}))
            except Exception:
                log.exception("retention run failed; the next one tries again")

    def _latest_iterators(self) -> list[str]:
        arn = self.dynamodb.describe_table(TableName=self.data_table)["Table"]["LatestStreamArn"]
        shards = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        return [
            self.streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for shard in shards
        ]

    def _poll_stream(self, iterators: list[str]) -> None:
        from chalicelib import webhook_handlers

        while not self._stop.is_set():
            got_any = False
            for i, iterator in enumerate(iterators):
                try:
                    answer = self.streams.get_records(ShardIterator=iterator, Limit=100)
                except Exception:
                    log.exception("stream read failed")
                    self._stop.wait(1)
                    continue
                records = answer.get("Records", [])
                if records:
                    got_any = True
                    self._hand_over(webhook_handlers.stream, {"Records": records})
                iterators[i] = answer.get("NextShardIterator") or iterator
            if not got_any:
                self._stop.wait(STREAM_POLL_SECONDS)

    def _hand_over(self, handler: Any, event: dict[str, Any]) -> None:
        """As Lambda does: a batch that raised is tried again, until it passes or we stop."""
        while not self._stop.is_set():
            try:
                handler(event)
                return
            except Exception:
                log.exception("stream handler failed; retrying the batch")
                self._stop.wait(1)

    def _poll_queue(self) -> None:
        from chalicelib import webhook_handlers

        while not self._stop.is_set():
            try:
                answer = self.sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                )
            except Exception:
                log.exception("queue read failed")
                self._stop.wait(1)
                continue
            messages = answer.get("Messages", [])
            if not messages:
                self._stop.wait(QUEUE_POLL_SECONDS)
            for message in messages:
                threading.Thread(
                    target=self._attempt,
                    args=(webhook_handlers.attempts, message),
                    name="pulse-webhook-attempt",
                    daemon=True,
                ).start()

    def _attempt(self, handler: Any, message: dict[str, Any]) -> None:
        """One message, on its own thread (as Lambda runs many at once): a slow endpoint must
        not hold up the others. Deleted once handled; left to come back if it raised."""
        started = time.monotonic()
        try:
            handler({"Records": [{"body": message["Body"]}]})
        except Exception:
            log.exception("delivery attempt failed; the message comes back")
            return
        finally:
            log.debug("attempt took %.0f ms", (time.monotonic() - started) * 1000)
        try:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception:
            log.exception("could not delete a handled message")
