"""The attachments bucket of a stage, in the tables stack beside the tables (docs/attachments.md):
private (every public access blocked, the bucket owns every object), encrypted (SSE-S3),
TLS only, CORS for browsers' uploads and downloads, and the lifecycle rule that deletes an
upload no comment claimed: objects tagged `pulse-state=pending` (the presigned POST's policy
requires the tag; a comment's claim re-tags its files `attached`) expire after a day."""

from __future__ import annotations

from typing import Any

BUCKET_SUFFIX = "attachments"  # the bucket is `${TablePrefix}attachments`
TAG_KEY = "pulse-state"  # chalicelib/outbound/files.py sets it
PENDING = "pending"
UNCLAIMED_DAYS = 1  # S3 counts whole days, rounded up to the next midnight UTC


def bucket_name(table_prefix: str) -> str:
    return f"{table_prefix}{BUCKET_SUFFIX}"


def resources() -> tuple[dict[str, Any], dict[str, Any]]:
    """(Resources, Outputs) to merge into the tables template."""
    bucket_arn = {"Fn::GetAtt": ["AttachmentsBucket", "Arn"]}
    resources = {
        "AttachmentsBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": {"Fn::Sub": "${TablePrefix}" + BUCKET_SUFFIX},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "unclaimed-uploads",
                            "Status": "Enabled",
                            "TagFilters": [{"Key": TAG_KEY, "Value": PENDING}],
                            "ExpirationInDays": UNCLAIMED_DAYS,
                        },
                        {
                            "Id": "abandoned-multipart-uploads",
                            "Status": "Enabled",
                            "Prefix": "",
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        },
                    ]
                },
                # Browsers POST uploads (the presigned policy is the guard) and GET files (the
                # signature is); no other method, no credentials.
                "CorsConfiguration": {
                    "CorsRules": [
                        {
                            "AllowedMethods": ["GET", "POST"],
                            "AllowedOrigins": ["*"],
                            "AllowedHeaders": ["*"],
                            "MaxAge": 3600,
                        }
                    ]
                },
            },
        },
        "AttachmentsBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "AttachmentsBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [bucket_arn, {"Fn::Sub": "${AttachmentsBucket.Arn}/*"}],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }
    outputs = {
        "AttachmentsBucketName": {"Value": {"Ref": "AttachmentsBucket"}},
        "AttachmentsBucketArn": {"Value": bucket_arn},
    }
    return resources, outputs
