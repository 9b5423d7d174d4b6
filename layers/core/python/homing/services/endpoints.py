"""Endpoints and users: create-or-update (single and batch), read, delete, attribute catalogue.

A write is planned completely in memory first (merge, limits, the user cap, address
de-duplication, the attribute catalogue) and only then stored, so a rejected request writes
nothing. See docs/decisions.md for the merge rules and the concurrency trade-off.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import random
from collections.abc import Callable
from datetime import datetime

from homing.adapters.dynamodb.repositories import CatalogRepository, EndpointRepository, decode_token, encode_token
from homing.domain.endpoints import (
    ATTRIBUTE_TYPES,
    attribute_names,
    check_complete,
    endpoint_key,
    merge,
    validate_endpoint_id,
    validate_request,
)
from homing.domain.errors import BadRequest, NotFound
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.model import EVICTABLE_CHANNELS, Endpoint, EndpointRequest, EndpointUser
from homing.domain.timestamps import iso_now, parse_timestamp
from homing.services.apps import AppService

ATTRIBUTE_KIND = "attr#"  # catalogue entries for endpoint attribute names: attr#<type>#<name>


class _Plan:
    """The endpoints one request touches, as they will be after it, read lazily and cached."""

    def __init__(self, repo: EndpointRepository, app_id: str) -> None:
        self.repo, self.app_id = repo, app_id
        self.state: dict[str, Endpoint | None] = {}
        self.changed: set[str] = set()
        self._users: dict[str, set[str]] = {}  # user id -> keys stored for it when first asked
        self._addresses: dict[tuple[str, str], set[str]] = {}

    def load(self, keys: set[str]) -> None:
        missing = keys - self.state.keys()
        found = self.repo.get_many(self.app_id, missing)
        for key in missing:
            self.state[key] = found.get(key)

    def put(self, endpoint: Endpoint) -> None:
        key = endpoint_key(endpoint.id)
        self.state[key] = endpoint
        self.changed.add(key)

    def members(self, user_id: str) -> list[Endpoint]:
        if user_id not in self._users:
            stored = self.repo.by_user(self.app_id, user_id)
            for found in stored:
                self.state.setdefault(endpoint_key(found.id), found)
            self._users[user_id] = {endpoint_key(found.id) for found in stored}
        keys = self._users[user_id] | self.changed
        return [e for k in keys if (e := self.state.get(k)) is not None and e.user_id == user_id]

    def holders(self, channel: str, address: str) -> list[Endpoint]:
        if (channel, address) not in self._addresses:
            keys = set(self.repo.keys_by_address(self.app_id, channel, address))
            self.load(keys)
            self._addresses[(channel, address)] = keys
        keys = self._addresses[(channel, address)] | self.changed
        return [
            e
            for k in keys
            if (e := self.state.get(k)) is not None and (e.channel_type, e.address) == (channel, address)
        ]


class EndpointService:
    def __init__(
        self,
        apps: AppService,
        endpoints: EndpointRepository,
        catalog: CatalogRepository,
        *,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
        quotas: Quotas = QUOTAS,
        forget_activity: Callable[[str, list[str], str], None] | None = None,
    ) -> None:
        self._apps, self._endpoints, self._catalog = apps, endpoints, catalog
        self._clock, self._rng, self._quotas = clock, rng or random.Random(), quotas
        self._forget_activity = forget_activity  # (app, endpoint ids, user id): analytics activity items

    # --- writes -------------------------------------------------------------------------------

    def update_endpoint(
        self, app_id: str, endpoint_id: str, req: EndpointRequest, request_id: str, *, app_checked: bool = False
    ) -> Endpoint:
        """Create or update one endpoint; returns it as stored.

        ``app_checked``: the caller has just read the app (PutEvents, once per request, not per item).
        """
        validate_endpoint_id(endpoint_id)
        validate_request(req, "", self._quotas)
        if not app_checked:
            self._apps.require(app_id)
        return self._write(app_id, [(endpoint_id, req, "")], request_id)[endpoint_key(endpoint_id)]

    def update_endpoints_batch(self, app_id: str, items: list[EndpointRequest], request_id: str) -> None:
        if not items:
            raise BadRequest("Item must contain at least one endpoint")
        if len(items) > self._quotas.endpoints_per_batch:
            raise BadRequest(f"Item can contain at most {self._quotas.endpoints_per_batch} endpoints")
        writes = []
        for i, item in enumerate(items):
            path = f"Item[{i}]"
            validate_endpoint_id(item.id or "", f"{path}.Id")
            validate_request(item, path, self._quotas)
            writes.append((item.id or "", item, path))
        self._apps.require(app_id)
        self._write(app_id, writes, request_id)

    def _write(
        self, app_id: str, writes: list[tuple[str, EndpointRequest, str]], request_id: str
    ) -> dict[str, Endpoint]:
        """Plan every write in memory, then store them: a rejected request writes nothing."""
        now = iso_now(self._clock())
        plan = _Plan(self._endpoints, app_id)
        plan.load({endpoint_key(eid) for eid, _, _ in writes})
        for endpoint_id, req, path in writes:
            before = plan.state.get(endpoint_key(endpoint_id))
            after = merge(
                before,
                req,
                application_id=app_id,
                endpoint_id=endpoint_id,
                now=now,
                request_id=request_id,
                rng=self._rng,
            )
            check_complete(after, path, self._quotas)
            if after.user_id and (before is None or before.user_id != after.user_id):
                self._make_room(plan, after, path)
            if after.address and after.channel_type and after.endpoint_status == "ACTIVE":
                for other in plan.holders(after.channel_type, after.address):
                    if endpoint_key(other.id) != endpoint_key(endpoint_id) and other.endpoint_status == "ACTIVE":
                        plan.put(dataclasses.replace(other, endpoint_status="INACTIVE"))  # newest writer wins
            plan.put(after)
        new_names = self._new_attribute_names(app_id, [e for k in plan.changed if (e := plan.state[k])])
        self._endpoints.save_all(e for k in plan.changed if (e := plan.state[k]) is not None)
        self._catalog.add(app_id, new_names)
        return {k: e for k in plan.changed if (e := plan.state[k]) is not None}

    def _make_room(self, plan: _Plan, joining: Endpoint, path: str) -> None:
        """Pinpoint's 15-endpoints-per-user cap: evict the oldest push endpoint, or refuse."""
        assert joining.user_id is not None
        members = [e for e in plan.members(joining.user_id) if endpoint_key(e.id) != endpoint_key(joining.id)]
        if len(members) < self._quotas.endpoints_per_user:
            return
        evictable = [e for e in members if e.channel_type in EVICTABLE_CHANNELS]
        if joining.channel_type not in EVICTABLE_CHANNELS or not evictable:
            raise BadRequest(
                f"{path + '.' if path else ''}User.UserId: exceeded maximum endpoint per user count: "
                f"{self._quotas.endpoints_per_user}"
            )
        oldest = min(evictable, key=lambda e: parse_timestamp(e.effective_date, "EffectiveDate"))
        plan.put(
            dataclasses.replace(
                oldest, endpoint_status="INACTIVE", user=EndpointUser(oldest.user.user_attributes, None)
            )
        )

    def _new_attribute_names(self, app_id: str, endpoints: list[Endpoint]) -> set[str]:
        used = {f"{ATTRIBUTE_KIND}{kind}#{name}" for e in endpoints for kind, name in attribute_names(e)}
        known = self._catalog.names(app_id, ATTRIBUTE_KIND) if used else set()
        new = used - known
        limit = self._quotas.attribute_names_per_app
        if len(known) + len(new) > limit:
            raise BadRequest(
                f"Attributes: an application can have at most {limit} attribute names across Attributes, "
                f"Metrics and User.UserAttributes ({len(known)} in use, {len(new)} new)"
            )
        return new

    # --- reads and deletes ----------------------------------------------------------------------

    def get_endpoint(self, app_id: str, endpoint_id: str) -> Endpoint:
        self._apps.require(app_id)
        endpoint = self._endpoints.get(app_id, endpoint_id)
        if endpoint is None:
            raise NotFound(f"Endpoint {endpoint_id} not found in application {app_id}")
        return endpoint

    def find(self, app_id: str, endpoint_id: str) -> Endpoint | None:
        return self._endpoints.get(app_id, endpoint_id)

    def delete_endpoint(self, app_id: str, endpoint_id: str) -> Endpoint:
        endpoint = self.get_endpoint(app_id, endpoint_id)
        self._endpoints.delete_all(app_id, [endpoint_key(endpoint.id)])
        return endpoint

    def get_user_endpoints(self, app_id: str, user_id: str) -> list[Endpoint]:
        self._apps.require(app_id)
        endpoints = self._endpoints.by_user(app_id, user_id) if user_id else []
        if not endpoints:
            raise NotFound(f"User {user_id} not found in application {app_id}")
        return sorted(endpoints, key=lambda e: e.creation_date)

    def delete_user_endpoints(self, app_id: str, user_id: str) -> list[Endpoint]:
        endpoints = self.get_user_endpoints(app_id, user_id)
        self._endpoints.delete_all(app_id, [endpoint_key(e.id) for e in endpoints])
        if self._forget_activity is not None:
            self._forget_activity(app_id, [e.id for e in endpoints], user_id)
        return endpoints

    def list_endpoints(
        self, app_id: str, page_size: int, token: str | None, channel: str | None, user_id: str | None
    ) -> tuple[list[Endpoint], str | None]:
        """Homing extension: page through an app's endpoints, optionally of one channel or one user."""
        self._apps.require(app_id)
        if user_id:  # a user has at most 15 endpoints: read them all, filter and page here
            found = sorted(self._endpoints.by_user(app_id, user_id), key=lambda e: (e.creation_date, e.id))
            found = [e for e in found if channel is None or e.channel_type == channel]
            start = int((decode_token(token) or {}).get("offset", 0))
            end = start + page_size
            return found[start:end], encode_token({"offset": end}) if end < len(found) else None
        return self._endpoints.list(app_id, page_size, token, channel)

    def remove_attributes(self, app_id: str, attribute_type: str, blacklist: list[str]) -> list[str]:
        """Drop names (or glob patterns) from the app's attribute catalogue; endpoints keep their values."""
        self._apps.require(app_id)
        if attribute_type not in ATTRIBUTE_TYPES:
            raise BadRequest(f"attribute-type must be one of {', '.join(ATTRIBUTE_TYPES)}")
        if not blacklist:
            raise BadRequest("Blacklist must name at least one attribute")
        prefix = f"{ATTRIBUTE_KIND}{attribute_type}#"
        entries = self._catalog.names(app_id, prefix)
        removed = sorted(e for e in entries if any(fnmatch.fnmatchcase(e[len(prefix) :], p) for p in blacklist))
        self._catalog.remove(app_id, removed)
        return [e[len(prefix) :] for e in removed]
