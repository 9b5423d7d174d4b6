"""Apps (Pinpoint projects) and their settings; tags (homing.services.tags) live on the app item too.

Writes to the app item are optimistic: each reads the item's version, plans the change and stores it
only if the version is unchanged; on a conflict it re-reads, re-plans and tries again (bounded, with
jitter), so concurrent TagResource/UpdateApplicationSettings calls merge as sequential ones would.
DeleteApp replaces the app by a tombstone at once and leaves the rest to the asynchronous clean-up
(homing.services.cleanup).
"""

from __future__ import annotations

import dataclasses
import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from homing.adapters.dynamodb.apps import AppRepository
from homing.adapters.dynamodb.common import StaleVersion
from homing.domain.apps import App, ApplicationSettings, validate_settings
from homing.domain.errors import BadRequest, Conflict, NotFound
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.tags import check_tags
from homing.domain.timestamps import iso_now
from homing.services.retry import WRITE_ATTEMPTS, back_off

# A tombstone outlives the events stream's retention (at most 7 days as configured), so an event of a
# deleted app that is still on the stream is recognised and dropped rather than counted afresh.
TOMBSTONE_TTL = timedelta(days=8)


class CleanupScheduler(Protocol):
    def schedule(self, app_id: str) -> None:
        """Start the asynchronous clean-up of a deleted app (homing.services.cleanup)."""


class AppService:
    def __init__(
        self,
        apps: AppRepository,
        *,
        arn_prefix: str,
        clock: Callable[[], datetime],
        cleanup: CleanupScheduler,
        quotas: Quotas = QUOTAS,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._apps, self._cleanup = apps, cleanup
        self._arn_prefix, self._clock, self._quotas = arn_prefix, clock, quotas
        self._sleep, self._rng = sleep, rng or random.Random()

    def _with_arn(self, app: App) -> App:
        return dataclasses.replace(app, arn=f"{self._arn_prefix}:apps/{app.id}")

    def require(self, app_id: str) -> App:
        app = self._apps.get(app_id)
        if app is None:
            raise NotFound(f"Application {app_id} not found")
        return self._with_arn(app)

    def create(self, name: str | None, tags: dict[str, str] | None) -> App:
        if name is None or not name.strip():
            raise BadRequest("Name is required")
        check_tags(tags or {}, "tags", self._quotas)
        if self._apps.count() >= self._quotas.apps_per_account:
            raise BadRequest(f"Exceeded the maximum of {self._quotas.apps_per_account} applications")
        app = App(id=uuid.uuid4().hex, arn="", name=name, creation_date=iso_now(self._clock()), tags=dict(tags or {}))
        self._apps.create(app)
        return self._with_arn(app)

    def page(self, page_size: int, token: str | None) -> tuple[list[App], str | None]:
        apps, next_token = self._apps.list(page_size, token)
        return [self._with_arn(a) for a in apps], next_token

    def _write(self, app_id: str, store: Callable[[App], App]) -> App:
        """Read the app, let ``store`` plan and write the change; on a version conflict start over.

        ``store`` raises StaleVersion when the app changed since it was read; nothing is written then.
        """
        for attempt in range(WRITE_ATTEMPTS):
            app = self.require(app_id)
            try:
                return store(app)
            except StaleVersion:
                back_off(attempt, self._rng, self._sleep)
        raise Conflict(f"Application {app_id} is being changed by other requests; retry the request")

    def change(self, app_id: str, plan: Callable[[App], App]) -> App:
        """Store ``plan(app)`` in place of the app, re-planned from a fresh read on a version conflict.

        The write loop of every family kept on the app item (settings, tags): ``plan`` must be pure.
        """

        def store(app: App) -> App:
            updated = plan(app)
            self._apps.put(updated)
            return updated

        return self._write(app_id, store)

    def delete(self, app_id: str) -> App:
        """Tombstone the app (NotFound for every operation from now on), then schedule its clean-up.

        The clean-up removes everything the app owned (endpoints, users, catalogue, analytics,
        funnel timelines, event stream) asynchronously, in bounded chunks; see services/cleanup.py.
        """
        now = self._clock()

        def store(app: App) -> App:
            self._apps.tombstone(app, iso_now(now), now + TOMBSTONE_TTL)
            return app

        app = self._write(app_id, store)
        try:
            self._cleanup.schedule(app_id)
        except Exception:
            self._apps.untombstone(app)  # no clean-up without a tombstone, no tombstone without a clean-up
            raise
        return app

    def update_settings(self, app_id: str, changes: ApplicationSettings) -> App:
        """Each structure that is sent replaces the stored one; structures not sent are kept."""
        validate_settings(changes)
        sent = {f.name: getattr(changes, f.name) for f in dataclasses.fields(changes)}
        modified = iso_now(self._clock())

        def store(app: App) -> App:
            settings = dataclasses.replace(app.settings, **{k: v for k, v in sent.items() if v is not None})
            updated = dataclasses.replace(app, settings=settings, settings_modified=modified)
            self._apps.put(updated)
            return updated

        return self._write(app_id, store)
