"""SNS adapter: the mobile push platform applications that carry an app's push channels."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError


class CredentialsRefused(Exception):
    """SNS refused the platform credentials (InvalidParameter): the caller's input, not a fault."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PlatformGone(Exception):
    """The platform application no longer exists (deleted outside Homing): create it again."""


class PlatformApplications:
    """CreatePlatformApplication / SetPlatformApplicationAttributes / DeletePlatformApplication."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def _sns(self) -> Any:
        if self._client is None:
            self._client = boto3.client("sns")
        return self._client

    def create(self, name: str, platform: str, attributes: dict[str, str]) -> str:
        """The ARN of the (new, or same-named existing) platform application."""
        try:
            arn: str = self._sns().create_platform_application(Name=name, Platform=platform, Attributes=attributes)[
                "PlatformApplicationArn"
            ]
        except ClientError as exc:
            raise _refused(exc) from None
        return arn

    def update(self, arn: str, attributes: dict[str, str]) -> None:
        try:
            self._sns().set_platform_application_attributes(PlatformApplicationArn=arn, Attributes=attributes)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NotFound":
                raise PlatformGone() from None
            raise _refused(exc) from None

    def delete(self, arn: str) -> None:
        """Idempotent: deleting an application that is already gone succeeds (as SNS answers)."""
        self._sns().delete_platform_application(PlatformApplicationArn=arn)


def _refused(exc: ClientError) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    if code in ("InvalidParameter", "InvalidParameterValue", "InvalidParameterException"):
        return CredentialsRefused(code)
    return exc
