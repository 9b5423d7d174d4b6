"""S3 adapter for import and export jobs: list a URL's objects, read lines (a byte range, or a gzip object
streamed), write a gzip object. Homing reads and writes with its own role (docs/decisions.md)."""

from __future__ import annotations

import gzip
import io
import itertools
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.exceptions import ClientError

# Errors that retrying cannot mend: the piece or job fails with the message, it is not retried.
PERMANENT = frozenset({"NoSuchKey", "NoSuchBucket", "AccessDenied", "InvalidObjectState", "InvalidRange", "403", "404"})


class FileError(Exception):
    """An object could not be listed, read or written for a reason a retry will not change."""


class JobFiles:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    def list_objects(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """(key, size) of every object under ``prefix`` (subfolders included), in key order."""
        out: list[tuple[str, int]] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                out += [(o["Key"], int(o["Size"])) for o in page.get("Contents", [])]
        except ClientError as error:
            raise _permanent(error, f"s3://{bucket}/{prefix}") from None
        return out

    def lines(
        self, bucket: str, key: str, *, gzip_body: bool = False, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """The object's lines (with their newlines): bytes [start, end), or all of a gzip object."""
        try:
            if gzip_body:
                body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
                yield from gzip.GzipFile(fileobj=body)
                return
            if end is not None and end <= start:
                return
            extra = {"Range": f"bytes={start}-{end - 1}"} if end is not None else {}
            body = self.client.get_object(Bucket=bucket, Key=key, **extra)["Body"]
            yield from body.iter_lines(keepends=True)
        except ClientError as error:
            raise _permanent(error, f"s3://{bucket}/{key}") from None
        except (OSError, EOFError) as error:  # gzip: not a gzip file, or truncated
            raise FileError(f"s3://{bucket}/{key} cannot be read as gzip ({type(error).__name__})") from None

    def line_slice(self, bucket: str, key: str, first: int, count: int) -> Iterator[bytes]:
        """Lines ``first``..``first + count - 1`` (1-based) of a gzip object, streamed from its start."""
        return itertools.islice(self.lines(bucket, key, gzip_body=True), first - 1, first - 1 + count)

    def put_gzip(self, bucket: str, key: str, lines: list[bytes]) -> None:
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb") as out:
            out.writelines(lines)
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue(), ContentType="application/gzip")
        except ClientError as error:
            raise _permanent(error, f"s3://{bucket}/{key}") from None


def _permanent(error: ClientError, where: str) -> Exception:
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in PERMANENT:
        return FileError(f"{where}: {code}")
    return error
