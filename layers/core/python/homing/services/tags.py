"""TagResource, UntagResource, ListTagsForResource: tags live on the app item.

Writes go through the app item's optimistic write loop (AppService.change), so concurrent tag and
settings writers merge as sequential ones would and the 50-tag cap holds on what is stored.
"""

from __future__ import annotations

import dataclasses

from homing.domain.apps import App
from homing.domain.errors import BadRequest
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.tags import check_tags, tagged_app_id
from homing.services.apps import AppService


class TagService:
    def __init__(self, apps: AppService, *, arn_prefix: str, quotas: Quotas = QUOTAS) -> None:
        self._apps, self._arn_prefix, self._quotas = apps, arn_prefix, quotas

    def list_tags(self, arn: str) -> dict[str, str]:
        return self._apps.require(tagged_app_id(arn, self._arn_prefix)).tags

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        def plan(app: App) -> App:
            merged = {**app.tags, **tags}
            check_tags(merged, "tags", self._quotas)  # the 50-tag cap, checked on what is actually stored
            return dataclasses.replace(app, tags=merged)

        self._apps.change(tagged_app_id(arn, self._arn_prefix), plan)

    def untag(self, arn: str, keys: list[str]) -> None:
        if not keys:
            raise BadRequest("tagKeys is required")

        def plan(app: App) -> App:
            return dataclasses.replace(app, tags={k: v for k, v in app.tags.items() if k not in keys})

        self._apps.change(tagged_app_id(arn, self._arn_prefix), plan)
