"""Get/Update/Delete*Channel and GetChannels; and, for the messaging part, an app's enabled channels.

An update is planned from a strongly consistent read, its credentials checked, sealed with KMS and
handed to the channel's SNS platform application (push channels), then written conditionally on the
version read; a lost race re-plans from a fresh read (docs/decisions.md, "Concurrency model").
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from homing.adapters.dynamodb.channels import ChannelRepository
from homing.adapters.dynamodb.common import StaleVersion
from homing.adapters.push import CredentialsRefused, PlatformGone
from homing.domain.channels import (
    Channel,
    ChannelChange,
    PlatformCredentials,
    apply_change,
    encryption_context,
    platform_application_name,
    sns_platform,
    with_sealed,
)
from homing.domain.errors import BadRequest, Conflict, NotFound
from homing.domain.timestamps import iso_now
from homing.observability import logger
from homing.services.apps import AppService
from homing.services.retry import WRITE_ATTEMPTS, back_off


class Sealer(Protocol):
    def seal(self, plaintext: str, context: dict[str, str]) -> str: ...


class Platforms(Protocol):
    def create(self, name: str, platform: str, attributes: dict[str, str]) -> str: ...

    def update(self, arn: str, attributes: dict[str, str]) -> None: ...

    def delete(self, arn: str) -> None: ...


class ChannelService:
    def __init__(
        self,
        apps: AppService,
        repo: ChannelRepository,
        sealer: Sealer,
        platforms: Platforms,
        *,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._apps, self._repo, self._sealer, self._platforms = apps, repo, sealer, platforms
        self._clock, self._rng, self._sleep = clock, rng or random.Random(), sleep

    def get(self, app_id: str, channel_type: str) -> Channel:
        """The channel (NotFound when the app has never configured it, as Pinpoint answers)."""
        self._apps.require(app_id)
        channel = self._repo.get(app_id, channel_type)
        if channel is None:
            raise NotFound("Resource not found")
        return channel

    def all(self, app_id: str) -> list[Channel]:
        """GetChannels: every channel the app has configured, enabled or not."""
        self._apps.require(app_id)
        return self._repo.all(app_id)

    def enabled(self, app_id: str) -> dict[str, Channel]:
        """Every enabled channel of the app by ChannelType, in one read (the messaging part's question)."""
        return {c.channel_type: c for c in self._repo.all(app_id) if c.enabled}

    def update(self, app_id: str, change: ChannelChange, caller: str | None) -> Channel:
        self._apps.require(app_id)
        sealed: dict[str, str] | None = None
        for attempt in range(WRITE_ATTEMPTS):
            existing = self._repo.get(app_id, change.channel_type)
            channel, platform = apply_change(existing, change, app_id=app_id, now=iso_now(self._clock()), caller=caller)
            if sealed is None:  # checked first, sealed once: a re-plan does not encrypt again
                sealed = {
                    name: self._sealer.seal(value, encryption_context(app_id, change.channel_type, name))
                    for name, value in change.credentials.items()
                }
            channel = with_sealed(channel, sealed)
            if channel.is_push:
                channel = self._carry(channel, platform)
            try:
                self._repo.write(channel, existing.version if existing else None)
                return channel
            except StaleVersion:
                back_off(attempt, self._rng, self._sleep)
        raise Conflict(f"The {change.channel_type} channel is being changed by other requests; retry the request")

    def _carry(self, channel: Channel, platform: PlatformCredentials | None) -> Channel:
        """Create or update the SNS platform application of a push channel with the credentials sent."""
        if platform is None and channel.platform_application_arn:
            return channel
        if platform is None:  # stored credentials but no application (cannot happen through the API)
            raise BadRequest("The channel's credentials must be sent again")
        try:
            if channel.platform_application_arn:
                try:
                    self._platforms.update(channel.platform_application_arn, platform.attributes)
                    return channel
                except PlatformGone:
                    pass
            name = platform_application_name(channel.application_id, channel.channel_type)
            arn = self._platforms.create(name, sns_platform(channel.channel_type), platform.attributes)
        except CredentialsRefused as exc:
            logger.info(
                "push credentials refused by SNS",
                extra={"application_id": channel.application_id, "channel": channel.channel_type, "code": exc.code},
            )
            raise BadRequest(
                f"{' / '.join(platform.fields)}: the credentials were refused by the push service ({exc.code})"
            ) from None
        return replace(channel, platform_application_arn=arn)

    def delete(self, app_id: str, channel_type: str) -> Channel:
        """Delete the channel and its SNS platform application; answers the channel as it was.

        The application goes first, then the item conditionally on the version read: an update that
        raced in (and re-created the same-named application) fails the condition, and the re-plan
        deletes its application too, so no channel is left pointing at a deleted application.
        """
        for attempt in range(WRITE_ATTEMPTS):
            channel = self.get(app_id, channel_type)
            if channel.platform_application_arn:
                self._platforms.delete(channel.platform_application_arn)
            try:
                self._repo.delete(channel)
            except StaleVersion:
                back_off(attempt, self._rng, self._sleep)
                continue
            return channel
        raise Conflict(f"The {channel_type} channel is being changed by other requests; retry the request")
