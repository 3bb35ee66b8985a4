"""The attachments bucket (S3): presigned uploads and downloads, signed in process (no network
call), and the few object calls the app makes: claim (tag), release, delete. The client is
built on first use, so requests that touch no file never load S3's service model."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

# Objects carry this tag from their upload (the presigned POST requires it) until a comment
# claims them; the bucket's lifecycle rule expires objects still `pending` after a day.
TAG_KEY = "pulse-state"
PENDING = "pending"
ATTACHED = "attached"


def tagging_xml(value: str) -> str:
    return (
        f"<Tagging><TagSet><Tag><Key>{TAG_KEY}</Key><Value>{value}</Value></Tag></TagSet></Tagging>"
    )


class S3Files:
    def __init__(self, bucket: str, region: str, endpoint: str | None = None) -> None:
        self.bucket = bucket
        self.region = region
        self.endpoint = endpoint
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from botocore.config import Config

                from ..aws import session

                # Path-style only against a stand-in (its host is not a bucket's DNS name).
                style = "path" if self.endpoint else "virtual"
                self._client = session().create_client(
                    "s3",
                    region_name=self.region,
                    endpoint_url=self.endpoint,
                    config=Config(
                        signature_version="s3v4",
                        s3={"addressing_style": style},
                        retries={"max_attempts": 2},
                    ),
                )
            return self._client

    def upload(self, key: str, mime_type: str, size: int, expires_in: int) -> dict[str, Any]:
        """A presigned POST whose policy allows exactly this key, type, size and tag."""
        tag = tagging_xml(PENDING)
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": mime_type, "tagging": tag},
            Conditions=[
                {"Content-Type": mime_type},
                ["content-length-range", size, size],
                {"tagging": tag},
            ],
            ExpiresIn=expires_in,
        )
        return {"url": post["url"], "fields": dict(post["fields"])}

    def download_url(self, key: str, expires_in: int) -> str:
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
            )
        )

    def exists(self, key: str) -> bool:
        """Whether the object was uploaded (HeadObject; a 404 is False)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """An object the app writes itself (an export), tagged `pending`: the lifecycle rule
        removes it after a day."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            Tagging=f"{TAG_KEY}={PENDING}",
        )

    def mark_attached(self, key: str) -> None:
        """Take the object out of the lifecycle rule (its tag becomes `attached`)."""
        self.client.put_object_tagging(
            Bucket=self.bucket,
            Key=key,
            Tagging={"TagSet": [{"Key": TAG_KEY, "Value": ATTACHED}]},
        )

    def delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 keys
            chunk = keys[start : start + 1000]
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
            )

    def delete_prefix(self, prefix: str) -> None:
        self.delete(list(self._keys(prefix)))

    def _keys(self, prefix: str) -> Iterable[str]:
        token: str | None = None
        while True:
            args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                args["ContinuationToken"] = token
            page = self.client.list_objects_v2(**args)
            for obj in page.get("Contents", []):
                yield obj["Key"]
            token = page.get("NextContinuationToken")
            if not token:
                return
