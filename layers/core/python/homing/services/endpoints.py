"""Endpoints and users: create-or-update (single and batch), read, delete, attribute catalogue.

A write is planned completely in memory from strongly consistent reads (merge, limits, the user
cap, address de-duplication, the attribute catalogue), then committed as one DynamoDB transaction
whose every item is conditional on what was read; a race re-plans and retries. A rejected request
writes nothing. See docs/decisions.md, "Endpoint merge rules" and "Concurrency model".
"""

from __future__ import annotations

import dataclasses
import fnmatch
import random
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from homing.adapters.dynamodb.catalog import CatalogRepository, user_entry
from homing.adapters.dynamodb.common import MAX_TRANSACTION_ITEMS, SORT_KEY_MAX_BYTES, WriteConflict
from homing.adapters.dynamodb.endpoints import EndpointChanges, EndpointRepository, UserSet, UserSetWrite, Versioned
from homing.adapters.dynamodb.paging import decode_token, encode_token
from homing.domain.endpoints import (
    ATTRIBUTE_TYPES,
    EVICTABLE_CHANNELS,
    Endpoint,
    EndpointRequest,
    EndpointUser,
    attribute_names,
    check_complete,
    endpoint_key,
    merge,
    validate_endpoint_id,
    validate_request,
)
from homing.domain.errors import BadRequest, Conflict, HomingError, NotFound
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.timestamps import iso_now, parse_timestamp
from homing.services.apps import AppService
from homing.services.retry import WRITE_ATTEMPTS, back_off

_T = TypeVar("_T")


class _TooLarge(Exception):
    """The plan needs more than one transaction: commit the slice in two halves."""


class _NamesCap(BadRequest):
    """The app's attribute-name cap refused the write (its outcome depends on every earlier write)."""


class _Reads(Protocol):
    """What a plan reads: the repository itself, or a request's snapshot of it (``_Snapshot``)."""

    def get_versioned(self, app_id: str, keys: Iterable[str]) -> dict[str, Versioned]: ...
    def user_set(self, app_id: str, user_id: str) -> UserSet: ...
    def by_user(self, app_id: str, user_id: str) -> list[Endpoint]: ...
    def keys_by_address(self, app_id: str, channel: str, address: str) -> list[str]: ...


class _Plan:
    """The items one request touches, as read (with versions) and as they will be after it."""

    def __init__(self, repo: _Reads, app_id: str) -> None:
        self.repo, self.app_id = repo, app_id
        self.read: dict[str, Versioned | None] = {}  # endpoint key -> as stored when first read
        self.state: dict[str, Endpoint | None] = {}
        self.changed: set[str] = set()
        self.users: dict[str, UserSet] = {}
        self._addresses: dict[tuple[str, str], set[str]] = {}
        self.item = 0  # which write of the request is being planned
        self.links: list[tuple[int, tuple[str, str]]] = []  # (write, endpoint key or user it changes)

    def load(self, keys: set[str]) -> None:
        missing = keys - self.state.keys()
        found = self.repo.get_versioned(self.app_id, missing)
        for key in missing:
            self.read[key] = found.get(key)
            self.state[key] = found[key].endpoint if key in found else None

    def put(self, endpoint: Endpoint) -> None:
        key = endpoint_key(endpoint.id)
        before = self.state.get(key)
        self.links.append((self.item, ("key", key)))
        for user_id in {before.user_id if before else None, endpoint.user_id} - {None}:
            self.links.append((self.item, ("user", str(user_id))))
        self.state[key] = endpoint
        self.changed.add(key)

    def user(self, user_id: str) -> UserSet:
        """The user's recorded keys; a user stored before these records gets its keys from the index."""
        if user_id not in self.users:
            stored = self.repo.user_set(self.app_id, user_id)
            if stored.version is None:
                legacy = {endpoint_key(e.id) for e in self.repo.by_user(self.app_id, user_id)}
                stored = dataclasses.replace(stored, keys=frozenset(legacy))
            self.users[user_id] = stored
            self.load(set(stored.keys))
        return self.users[user_id]

    def members(self, user_id: str) -> list[Endpoint]:
        keys = self.user(user_id).keys | self.changed
        self.load(set(keys))
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

    def touched(self) -> set[tuple[str, ...]]:
        """Every endpoint, user and address this plan read or writes: plans touching nothing in common commute."""
        out: set[tuple[str, ...]] = {("key", k) for k in self.state}
        out |= {("user", u) for u in self.users}
        out |= {("address", *pair) for pair in self._addresses}
        seen = [r.endpoint for r in self.read.values() if r] + [e for e in self.state.values() if e]
        for e in seen:
            if e.user_id:
                out.add(("user", e.user_id))
            if e.channel_type and e.address:
                out.add(("address", e.channel_type, e.address))
        return out

    def changes(self, cap: int, labels: dict[str, str]) -> EndpointChanges:
        """The conditional writes: each endpoint on the version read, each user set it changed."""
        out = EndpointChanges(self.app_id, labels=labels)
        for key in sorted(self.changed):
            read, after = self.read.get(key), self.state[key]
            if after is not None:
                out.puts.append((after, None if read is None else read.version))
            for user_id in {read.endpoint.user_id if read else None, after.user_id if after else None}:
                if user_id:
                    self.user(user_id)
        for user_id, stored in sorted(self.users.items()):
            keys = {k for k in stored.keys | self.changed if (e := self.state.get(k)) and e.user_id == user_id}
            out.users.append(UserSetWrite(stored, keys, cap))
        return out

    def parts(self, changes: EndpointChanges, writes: int) -> list[tuple[list[int], EndpointChanges]] | None:
        """``changes`` cut into transactions of consecutive writes (None: it cannot be).

        Writes that change a common endpoint or user are one group, never cut apart; groups share no item,
        so committing them one after another, each conditional on what the whole plan read, ends as the
        whole plan, and a part that fails leaves exactly the writes before it stored.
        """
        root = list(range(writes))

        def find(i: int) -> int:
            while root[i] != i:
                root[i] = root[root[i]]
                i = root[i]
            return i

        owner: dict[tuple[str, str], int] = {}
        for item, thing in self.links:
            if thing in owner:
                root[find(item)] = find(owner[thing])
            else:
                owner[thing] = item
        groups: dict[int, EndpointChanges] = {}

        def group(thing: tuple[str, str]) -> EndpointChanges:
            g = find(owner[thing])
            return groups.setdefault(g, EndpointChanges(self.app_id, labels=changes.labels))

        try:
            for put in changes.puts:
                group(("key", endpoint_key(put[0].id))).puts.append(put)
            for write in changes.users:
                if write.keys != write.stored.keys:
                    group(("user", write.stored.user_id)).users.append(write)
        except KeyError:  # a change no write of the request made (a user record out of step): re-plan
            return None
        last = {find(i): i for i in range(writes)}  # each group's last write
        out: list[tuple[list[int], EndpointChanges]] = []
        run: list[int] = []  # consecutive writes, cut only where no group spans the cut
        reach = 0
        for i in range(writes):
            run.append(i)
            reach = max(reach, last[find(i)])
            if reach > i:
                continue
            part = EndpointChanges(self.app_id, labels=changes.labels)
            for g in dict.fromkeys(find(j) for j in run):
                if g in groups:
                    part.puts += groups[g].puts
                    part.users += groups[g].users
            if part.size() >= MAX_TRANSACTION_ITEMS:  # leaves room for the catalogue update
                return None
            if out and out[-1][1].size() + part.size() < MAX_TRANSACTION_ITEMS:
                out[-1][0].extend(run)
                out[-1][1].puts += part.puts
                out[-1][1].users += part.users
            else:
                out.append((run, part))
            run = []
        names = set(changes.new_names)
        for _, part in out:  # each new attribute name is added by the first part that uses it
            part.names_limit = changes.names_limit
            part.new_names = names & {f"{k}#{n}" for e, _ in part.puts for k, n in attribute_names(e)}
            names -= part.new_names
        return out


class _Snapshot:
    """One PutEvents request's reads, shared by the plans of its items: fetched in a few batched calls,
    then served from memory (anything a plan asks for that was not fetched is read once, on demand)."""

    def __init__(self, repo: EndpointRepository, app_id: str) -> None:
        self._repo, self._app_id = repo, app_id
        self._endpoints: dict[str, Versioned | None] = {}
        self._users: dict[str, UserSet] = {}
        self._by_user: dict[str, list[Endpoint]] = {}
        self._addresses: dict[tuple[str, str], list[str]] = {}
        self._complete = False  # every user of the app has a record: one without has no endpoints

    def fetch(
        self, keys: Iterable[str] = (), users: Iterable[str] = (), addresses: Iterable[tuple[str, str]] = ()
    ) -> None:
        """User sets (one BatchGetItem); the members of users without one, if the app may hold endpoints
        from before user records, and the holders of each address (queries side by side); then every
        endpoint named (one BatchGetItem)."""
        new_users = set(users) - self._users.keys()
        if new_users:
            found, complete = self._repo.user_sets(self._app_id, new_users)
            self._users.update(found)
            self._complete = self._complete or complete
        legacy = {u for u in new_users if self._users[u].version is None} - self._by_user.keys()
        if legacy and not self._complete:
            self._complete = self._repo.records_complete(self._app_id)
        if self._complete:
            self._by_user.update({u: [] for u in legacy})  # no record: no endpoints (docs/decisions.md)
            legacy = set()
        new_addresses = set(addresses) - self._addresses.keys()
        if legacy or new_addresses:
            members, holders = self._repo.by_users_and_addresses(self._app_id, legacy, new_addresses)
            self._by_user.update(members)
            self._addresses.update(holders)
        wanted = set(keys)
        for user_id in new_users:
            wanted |= self._users[user_id].keys
            wanted |= {endpoint_key(e.id) for e in self._by_user.get(user_id, ())}
        for pair in new_addresses:
            wanted.update(self._addresses[pair])
        self._load(wanted)

    def _load(self, keys: set[str]) -> None:
        missing = keys - self._endpoints.keys()
        if missing:
            found = self._repo.get_versioned(self._app_id, missing)
            self._endpoints.update({k: found.get(k) for k in missing})

    def get_versioned(self, app_id: str, keys: Iterable[str]) -> dict[str, Versioned]:
        wanted = set(keys)
        self._load(wanted)
        return {k: v for k in wanted if (v := self._endpoints[k]) is not None}

    def user_set(self, app_id: str, user_id: str) -> UserSet:
        if user_id not in self._users:
            self._users[user_id] = self._repo.user_set(app_id, user_id)
        return self._users[user_id]

    def by_user(self, app_id: str, user_id: str) -> list[Endpoint]:
        """Asked for users without a record only (``_Plan.user``)."""
        if user_id not in self._by_user:
            self._by_user[user_id] = [] if self._complete else self._repo.by_user(app_id, user_id)
        return self._by_user[user_id]

    def keys_by_address(self, app_id: str, channel: str, address: str) -> list[str]:
        if (channel, address) not in self._addresses:
            self._addresses[(channel, address)] = self._repo.keys_by_address(app_id, channel, address)
        return self._addresses[(channel, address)]


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
        sleep: Callable[[float], None] = time.sleep,
        forget_activity: Callable[[str, list[str], str], None] | None = None,
    ) -> None:
        self._apps, self._endpoints, self._catalog = apps, endpoints, catalog
        self._clock, self._rng, self._quotas, self._sleep = clock, rng or random.Random(), quotas, sleep
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

    def upsert_each(
        self, app_id: str, items: Sequence[tuple[str, EndpointRequest | None]], request_id: str
    ) -> list[Endpoint | HomingError | None]:
        """PutEvents' endpoints: each item created or updated on its own (``None``: only read), in order.

        The result, per item, is the endpoint as stored (``None`` if only read and absent) or why it was
        refused. The caller has checked the app. The outcome is that of ``update_endpoint`` / ``find``
        called once per item, one after the other, but a request whose items share nothing costs a few
        calls instead of three or four per item: their reads are made together (batched), each item is planned
        from them as it would be alone, and the items whose plans touch no endpoint, user or address an
        earlier item touched are committed together, each item's writes conditional on what was read
        (one transaction per up to 100 items). An item that shares something with an earlier one, a
        commit that meets a race or a storage refusal, and a request near the attribute-name cap fall
        back to one ``update_endpoint`` per item, in order (docs/decisions.md, "PutEvents' endpoints").
        """
        results: list[Endpoint | HomingError | None] = [None] * len(items)
        todo: list[int] = []
        for i, (endpoint_id, req) in enumerate(items):
            try:
                if req is not None:
                    validate_endpoint_id(endpoint_id)
                    validate_request(req, "", self._quotas)
            except HomingError as error:
                results[i] = error
                continue
            todo.append(i)
        if not todo:
            return results
        now = iso_now(self._clock())
        snapshot = _Snapshot(self._endpoints, app_id)
        snapshot.fetch(keys={endpoint_key(items[i][0]) for i in todo})
        writes = [(items[i][0], r) for i in todo if (r := items[i][1]) is not None]
        self._prefetch(snapshot, app_id, writes, now, request_id)  # reads only (req None) are fetched above

        known: list[set[str]] = []

        def known_names() -> set[str]:
            if not known:
                known.append(self._catalog.attribute_names(app_id))
            return known[0]

        seen: set[tuple[str, ...]] = set()
        together: list[tuple[int, EndpointChanges]] = []  # (item, its plan)
        alone: list[int] = []
        new_names: set[str] = set()
        for i in todo:
            endpoint_id, req = items[i]
            key = endpoint_key(endpoint_id)
            plan = _Plan(snapshot, app_id)
            outcome: EndpointChanges | Endpoint | HomingError | None
            if req is None:
                plan.load({key})
                outcome = plan.state[key]
            else:
                try:
                    outcome = self._plan_into(plan, [(endpoint_id, req, "")], now, request_id, known_names)
                except _NamesCap:
                    alone = list(todo)  # its outcome depends on every other item's names: one after the other
                    together = []
                    break
                except HomingError as error:
                    outcome = error
            touched = plan.touched() | {("key", key)}
            if touched & seen:
                alone.append(i)
            elif isinstance(outcome, EndpointChanges):
                if outcome.size() > MAX_TRANSACTION_ITEMS:
                    alone.append(i)
                else:
                    together.append((i, outcome))
                    new_names |= outcome.new_names
            else:
                results[i] = outcome  # read, or refused for its content: as it would be alone
            seen |= touched
        if together and new_names and len(known_names()) + len(new_names) > self._quotas.attribute_names_per_app:
            alone, together = list(todo), []

        chunk: list[tuple[int, EndpointChanges]] = []
        for entry in [*together, None]:
            if chunk and (entry is None or sum(c.size() for _, c in chunk) + entry[1].size() > MAX_TRANSACTION_ITEMS):
                if not self._commit_together([(i, endpoint_key(items[i][0]), c) for i, c in chunk], results):
                    alone.extend(i for i, _ in chunk)
                chunk = []
            if entry is not None:
                chunk.append(entry)

        for i in sorted(set(alone)):
            endpoint_id, req = items[i]
            try:
                if req is None:
                    results[i] = self.find(app_id, endpoint_id)
                else:
                    results[i] = self._write(app_id, [(endpoint_id, req, "")], request_id)[endpoint_key(endpoint_id)]
            except HomingError as error:
                results[i] = error
        return results

    def _prefetch(
        self, snapshot: _Snapshot, app_id: str, writes: list[tuple[str, EndpointRequest]], now: str, request_id: str
    ) -> None:
        """The batched reads of a request's plans (PutEvents' items, a batch): its endpoints (one BatchGetItem);
        then, as a trial merge of each write says, the user records its plans read (one BatchGetItem), the
        address and legacy-user index queries (side by side) and the endpoints those name (one BatchGetItem).
        A plan that asks for anything else (a write that depends on an earlier one) reads it on demand."""
        snapshot.fetch(keys={endpoint_key(endpoint_id) for endpoint_id, _ in writes})
        users: set[str] = set()
        addresses: set[tuple[str, str]] = set()
        for endpoint_id, req in writes:
            before = snapshot.get_versioned(app_id, [endpoint_key(endpoint_id)]).get(endpoint_key(endpoint_id))
            after = merge(
                before.endpoint if before else None,
                req,
                application_id=app_id,
                endpoint_id=endpoint_id,
                now=now,
                request_id=request_id,
                rng=random.Random(0),
            )
            users.update(u for u in (before.endpoint.user_id if before else None, after.user_id) if u)
            if after.address and after.channel_type and after.endpoint_status == "ACTIVE":
                addresses.add((after.channel_type, after.address))
        snapshot.fetch(users=users, addresses=addresses)

    def _commit_together(
        self, chunk: list[tuple[int, str, EndpointChanges]], results: list[Endpoint | HomingError | None]
    ) -> bool:
        """Independent items' writes in one transaction; False (nothing written) on a race or a refusal."""
        first = chunk[0][2]
        changes = EndpointChanges(first.app_id, names_limit=first.names_limit)
        for _, _, part in chunk:
            changes.puts += part.puts
            changes.users += part.users
            changes.new_names |= part.new_names
            changes.labels |= part.labels
        try:
            self._endpoints.commit(changes)
        except (WriteConflict, HomingError):
            return False
        for i, key, part in chunk:
            results[i] = next(e for e, _ in part.puts if endpoint_key(e.id) == key)
        return True

    def _write(
        self, app_id: str, writes: list[tuple[str, EndpointRequest, str]], request_id: str
    ) -> dict[str, Endpoint]:
        """Plan against what is stored, then commit it conditionally; on a race, re-plan (docs/decisions.md).

        A request that fits one transaction is all or nothing. A larger batch is planned whole first (so a
        request refused for its content writes nothing), then committed in consecutive transactions, each
        of whole groups of writes that share nothing with the others' and conditional on what the plan
        read. A part that meets a race (or a storage refusal) leaves it and the rest to be re-planned in
        slices from fresh reads.
        """
        now = iso_now(self._clock())
        changes, plan = self._plan(app_id, writes, now, request_id)  # refuses bad content
        if changes.size() <= MAX_TRANSACTION_ITEMS or (parts := plan.parts(changes, len(writes))) is None:
            return self._commit_in_slices(app_id, writes, now, request_id, changes, {})
        stored: dict[str, Endpoint] = {}
        for n, (_, part) in enumerate(parts):
            try:
                self._endpoints.commit(part)
            except (WriteConflict, HomingError):
                rest = sorted(i for m, _ in parts[n:] for i in m)
                return self._commit_in_slices(app_id, [writes[i] for i in rest], now, request_id, None, stored)
            stored.update({endpoint_key(e.id): e for e, _ in part.puts})
        return stored

    def _commit_in_slices(
        self,
        app_id: str,
        writes: list[tuple[str, EndpointRequest, str]],
        now: str,
        request_id: str,
        first: EndpointChanges | None,
        stored: dict[str, Endpoint],
    ) -> dict[str, Endpoint]:
        """Commit with retries; a plan too large for one transaction is halved, each half re-planned as the
        earlier slices left the data. ``first``: a plan of ``writes`` just made; ``stored``: earlier parts."""
        pending = [writes]
        while pending:
            part = pending.pop(0)
            try:
                stored.update(self._commit_with_retries(app_id, part, now, request_id, first))
                first = None
            except _TooLarge:  # split where the plan says so, as the earlier slices left the data
                first = None
                half = len(part) // 2
                pending[:0] = [part[:half], part[half:]]
            except HomingError as error:
                if not stored:
                    raise
                raise Conflict(
                    f"{error.message} (a concurrent request changed the data while this batch was stored in "
                    f"parts: the items before {part[0][2]} are stored, {part[0][2]} and the rest are not)"
                ) from None
        return stored

    def _commit_with_retries(
        self,
        app_id: str,
        writes: list[tuple[str, EndpointRequest, str]],
        now: str,
        request_id: str,
        plan: EndpointChanges | None,
    ) -> dict[str, Endpoint]:
        for attempt in range(WRITE_ATTEMPTS):
            changes = plan or self._plan(app_id, writes, now, request_id)[0]
            plan = None
            if changes.size() > MAX_TRANSACTION_ITEMS:
                if len(writes) > 1:
                    raise _TooLarge()
                raise BadRequest(
                    f"{writes[0][2] or 'The endpoint'}: this write would change more than "
                    f"{MAX_TRANSACTION_ITEMS} items (endpoints sharing its address)"
                )
            try:
                self._endpoints.commit(changes)
            except WriteConflict:
                self._backoff(attempt)
                continue
            return {endpoint_key(e.id): e for e, _ in changes.puts}
        raise Conflict(
            f"{writes[0][2] or 'EndpointId'}: the endpoint was changed by {WRITE_ATTEMPTS} concurrent requests "
            "while this one was applied; nothing was written, retry the request"
        )

    def _plan(
        self, app_id: str, writes: list[tuple[str, EndpointRequest, str]], now: str, request_id: str
    ) -> tuple[EndpointChanges, _Plan]:
        """Every write merged in memory against fresh reads, made together (``_prefetch``): limits, the user
        cap, addresses, the catalogue."""
        snapshot = _Snapshot(self._endpoints, app_id)
        self._prefetch(snapshot, app_id, [(endpoint_id, req) for endpoint_id, req, _ in writes], now, request_id)
        plan = _Plan(snapshot, app_id)
        return self._plan_into(plan, writes, now, request_id), plan

    def _plan_into(
        self,
        plan: _Plan,
        writes: list[tuple[str, EndpointRequest, str]],
        now: str,
        request_id: str,
        known_names: Callable[[], set[str]] | None = None,
    ) -> EndpointChanges:
        app_id = plan.app_id
        plan.load({endpoint_key(eid) for eid, _, _ in writes})
        labels: dict[str, str] = {}
        for plan.item, (endpoint_id, req, path) in enumerate(writes):
            key = endpoint_key(endpoint_id)
            labels[key] = path or f"Endpoint {endpoint_id}"
            before = plan.state.get(key)
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
                self._check_user_id(after.user_id, path)
                self._make_room(plan, after, path)
            if after.address and after.channel_type and after.endpoint_status == "ACTIVE":
                for other in plan.holders(after.channel_type, after.address):
                    if endpoint_key(other.id) != key and other.endpoint_status == "ACTIVE":
                        plan.put(dataclasses.replace(other, endpoint_status="INACTIVE"))  # newest writer wins
            plan.put(after)
        changes = plan.changes(self._quotas.endpoints_per_user, labels)
        changes.new_names = self._new_attribute_names(app_id, [e for e, _ in changes.puts], known_names)
        changes.names_limit = self._quotas.attribute_names_per_app
        return changes

    @staticmethod
    def _check_user_id(user_id: str, path: str) -> None:
        limit = SORT_KEY_MAX_BYTES - len(user_entry(""))
        if len(user_id.encode()) > limit:
            raise BadRequest(f"{path + '.' if path else ''}User.UserId must be at most {limit} bytes")

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

    def _new_attribute_names(
        self, app_id: str, endpoints: list[Endpoint], known_names: Callable[[], set[str]] | None = None
    ) -> set[str]:
        used = {f"{kind}#{name}" for e in endpoints for kind, name in attribute_names(e)}
        known = (known_names or (lambda: self._catalog.attribute_names(app_id)))() if used else set()
        new = used - known
        limit = self._quotas.attribute_names_per_app
        if len(known) + len(new) > limit:
            raise _NamesCap(
                f"Attributes: an application can have at most {limit} attribute names across Attributes, "
                f"Metrics and User.UserAttributes ({len(known)} in use, {len(new)} new)"
            )
        return new

    # --- reads and deletes ----------------------------------------------------------------------

    def get_endpoint(self, app_id: str, endpoint_id: str) -> Endpoint:
        """The app check and the endpoint in one round trip (GetEndpoint is the hottest read)."""
        live, endpoint = self._endpoints.get_with_app(app_id, endpoint_id)
        if not live:
            self._apps.require(app_id)  # NotFound, worded as for every operation
        if endpoint is None:
            raise NotFound(f"Endpoint {endpoint_id} not found in application {app_id}")
        return endpoint

    def find(self, app_id: str, endpoint_id: str) -> Endpoint | None:
        return self._endpoints.get(app_id, endpoint_id)

    def find_many(self, app_id: str, endpoint_ids: Iterable[str]) -> dict[str, Endpoint]:
        """The endpoints that exist among ``endpoint_ids`` (batched reads), by the id as given."""
        ids = list(endpoint_ids)
        found = self._endpoints.get_many(app_id, {endpoint_key(e) for e in ids})
        return {e: found[endpoint_key(e)] for e in ids if endpoint_key(e) in found}

    def delete_endpoint(self, app_id: str, endpoint_id: str) -> Endpoint:
        """Conditional on the version read, and taken off its user's record in the same transaction."""
        self._apps.require(app_id)
        key = endpoint_key(endpoint_id)

        def plan() -> tuple[EndpointChanges, Endpoint]:
            p = _Plan(self._endpoints, app_id)
            p.load({key})
            read = p.read[key]
            if read is None:
                raise NotFound(f"Endpoint {endpoint_id} not found in application {app_id}")
            p.state[key] = None
            p.changed.add(key)
            changes = p.changes(self._quotas.endpoints_per_user, {})
            changes.deletes.append(read)
            return changes, read.endpoint

        return self._retrying(plan, "EndpointId")

    def get_user_endpoints(self, app_id: str, user_id: str) -> list[Endpoint]:
        self._apps.require(app_id)
        endpoints = self._endpoints.by_user(app_id, user_id) if user_id else []
        if not endpoints:
            raise NotFound(f"User {user_id} not found in application {app_id}")
        return sorted(endpoints, key=lambda e: e.creation_date)

    def delete_user_endpoints(self, app_id: str, user_id: str) -> list[Endpoint]:
        """The user's endpoints (its record and the index, for users written before records) and its record."""
        self._apps.require(app_id)

        def plan() -> tuple[EndpointChanges, list[Endpoint]]:
            p = _Plan(self._endpoints, app_id)
            stored = p.user(user_id) if user_id else UserSet(user_id, frozenset(), None)
            keys = set(stored.keys) | (
                {endpoint_key(e.id) for e in self._endpoints.by_user(app_id, user_id)} if user_id else set()
            )
            p.load(keys)
            found = [r for k in sorted(keys) if (r := p.read.get(k)) is not None and r.endpoint.user_id == user_id]
            if not found:
                raise NotFound(f"User {user_id} not found in application {app_id}")
            changes = EndpointChanges(app_id, deletes=found, user_deletes=[stored])
            return changes, sorted((r.endpoint for r in found), key=lambda e: e.creation_date)

        endpoints = self._retrying(plan, "UserId")
        if self._forget_activity is not None:
            self._forget_activity(app_id, [e.id for e in endpoints], user_id)
        return endpoints

    def _retrying(self, plan: Callable[[], tuple[EndpointChanges, _T]], field: str) -> _T:
        """Plan, commit conditionally, and on a race re-plan, at most WRITE_ATTEMPTS times (then 409)."""
        for attempt in range(WRITE_ATTEMPTS):
            changes, result = plan()
            try:
                self._endpoints.commit(changes)
            except WriteConflict:
                self._backoff(attempt)
                continue
            return result
        raise Conflict(
            f"{field}: changed by concurrent requests {WRITE_ATTEMPTS} times while this one was applied; "
            "nothing was written, retry the request"
        )

    def _backoff(self, attempt: int) -> None:
        back_off(attempt, self._rng, self._sleep)

    def list_endpoints(
        self, app_id: str, page_size: int, token: str | None, channel: str | None, user_id: str | None
    ) -> tuple[list[Endpoint], str | None]:
        """Homing extension: page through an app's endpoints, optionally of one channel or one user."""
        self._apps.require(app_id)
        if user_id:  # a user has at most 15 endpoints: read them all, filter and page here
            found = sorted(self._endpoints.by_user(app_id, user_id), key=lambda e: (e.creation_date, e.id))
            found = [e for e in found if channel is None or e.channel_type == channel]
            scope = f"endpoints/{app_id}/user/{user_id}/{channel or ''}"  # a token pages only its own listing
            start = int((decode_token(token, scope) or {}).get("offset", 0))
            end = start + page_size
            return found[start:end], encode_token({"offset": end}, scope) if end < len(found) else None
        return self._endpoints.list(app_id, page_size, token, channel)

    def remove_attributes(self, app_id: str, attribute_type: str, blacklist: list[str]) -> list[str]:
        """Drop names (or glob patterns) from the app's attribute catalogue; endpoints keep their values."""
        self._apps.require(app_id)
        if attribute_type not in ATTRIBUTE_TYPES:
            raise BadRequest(f"attribute-type must be one of {', '.join(ATTRIBUTE_TYPES)}")
        if not blacklist:
            raise BadRequest("Blacklist must name at least one attribute")
        prefix = f"{attribute_type}#"
        entries = {e for e in self._catalog.attribute_names(app_id) if e.startswith(prefix)}
        removed = sorted(e for e in entries if any(fnmatch.fnmatchcase(e[len(prefix) :], p) for p in blacklist))
        self._catalog.remove_attribute_names(app_id, set(removed))
        return [e[len(prefix) :] for e in removed]

    def mark_address(
        self,
        app_id: str,
        channels: Iterable[str],
        address: str,
        *,
        opt_out: str | None = None,
        status: str | None = None,
    ) -> list[Endpoint]:
        """Delivery receipts and inbound STOPs: set ``OptOut`` and/or ``EndpointStatus`` on every endpoint
        of the app with ``address`` on ``channels`` (the by-address index), each write conditional on the
        version read, re-planned on a race. Returns the endpoints changed (none: nothing to change)."""

        def plan() -> tuple[EndpointChanges, list[Endpoint]]:
            p = _Plan(self._endpoints, app_id)
            changed = []
            for channel in channels:
                for held in sorted(p.holders(channel, address), key=lambda e: e.id):
                    after = dataclasses.replace(
                        held,
                        opt_out=opt_out or held.opt_out,
                        endpoint_status=status or held.endpoint_status,
                        effective_date=iso_now(self._clock()),
                    )
                    if (after.opt_out, after.endpoint_status) != (held.opt_out, held.endpoint_status):
                        p.put(after)
                        changed.append(after)
            if not changed:
                raise _NothingToMark
            return p.changes(self._quotas.endpoints_per_user, {}), changed

        try:
            return self._retrying(plan, "Address")
        except _NothingToMark:
            return []


class _NothingToMark(Exception):
    """``mark_address`` found every endpoint already as asked: there is nothing to commit."""
