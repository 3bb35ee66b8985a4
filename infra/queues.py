"""The webhook delivery queues of a stage, in the tables stack beside the tables (their names
follow the stage's prefix, as the tables' do): the queue of attempts and its dead-letter queue."""

from __future__ import annotations

from typing import Any

QUEUE_SUFFIX = "webhooks"
DEAD_LETTER_SUFFIX = "webhooks-dlq"
MAX_RECEIVES = 5  # a message whose handler raised this often goes to the dead-letter queue
# Longer than the attempts function's timeout (a message in flight is not handed out twice).
VISIBILITY_SECONDS = 120
RETENTION_SECONDS = 4 * 86400  # past the longest chained wait (10 h) with room to spare
DEAD_LETTER_RETENTION_SECONDS = 14 * 86400


def resources() -> tuple[dict[str, Any], dict[str, Any]]:
    """(Resources, Outputs) to merge into the tables template."""
    resources = {
        "WebhookDeadLetters": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": {"Fn::Sub": "${TablePrefix}" + DEAD_LETTER_SUFFIX},
                "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        },
        "WebhookQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": {"Fn::Sub": "${TablePrefix}" + QUEUE_SUFFIX},
                "VisibilityTimeout": VISIBILITY_SECONDS,
                "MessageRetentionPeriod": RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["WebhookDeadLetters", "Arn"]},
                    "maxReceiveCount": MAX_RECEIVES,
                },
            },
        },
    }
    outputs = {
        "WebhookQueueUrl": {"Value": {"Ref": "WebhookQueue"}},
        "WebhookQueueArn": {"Value": {"Fn::GetAtt": ["WebhookQueue", "Arn"]}},
        "WebhookDeadLettersArn": {"Value": {"Fn::GetAtt": ["WebhookDeadLetters", "Arn"]}},
    }
    return resources, outputs
