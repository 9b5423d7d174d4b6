"""The audience bucket: resolutions' requests, pages, chunk summaries and manifests as JSON objects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.exceptions import ClientError


class AudienceStore:
    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def _s3(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def put_json(self, key: str, value: Any) -> None:
        body = json.dumps(value, separators=(",", ":")).encode()
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def get_json(self, key: str) -> Any | None:
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return json.loads(response["Body"].read())

    def keys(self, prefix: str) -> Iterator[str]:
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"]

    def folders(self, prefix: str) -> list[str]:
        """The next path segment of every key under ``prefix`` (S3's CommonPrefixes), without the slash."""
        out: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, Delimiter="/"
        ):
            out.extend(p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", []))
        return out

    def delete_prefix(self, prefix: str, limit: int = 10_000) -> int:
        """Delete up to ``limit`` objects under ``prefix`` (1,000 per DeleteObjects call); returns how many."""
        removed = 0
        batch: list[dict[str, str]] = []
        for key in self.keys(prefix):
            batch.append({"Key": key})
            if len(batch) == 1000:
                self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                removed, batch = removed + len(batch), []
                if removed >= limit:
                    return removed
        if batch:
            self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            removed += len(batch)
        return removed
