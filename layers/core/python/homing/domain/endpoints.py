"""Endpoints: the records (snake_case; Pinpoint's JSON is in homing.api.wire.endpoints) and their pure
rules: validation against Pinpoint's limits and the create-or-update merge.

Every field of a request-side record is optional: ``None`` means "not given", which the merge rules treat
as "keep what is stored" (below).

Merge rules (docs/decisions.md, "Endpoint merge rules"):
- a field that is absent keeps its stored value; a scalar that is sent replaces it;
- ``Attributes``, ``User.UserAttributes`` and ``Metrics`` are replaced per key (``"k": []`` empties k);
- ``Demographic`` and ``Location`` are replaced per member; latitude/longitude are kept to 1 decimal;
- ``EndpointStatus`` becomes ACTIVE on every write unless the request sets it; ``EffectiveDate`` is
  the request's or now; ``RequestId`` is the id of the API request that wrote it;
- ``CohortId`` and ``CreationDate`` are fixed when the endpoint is created.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field

from homing.codec import dump, snake
from homing.domain.errors import BadRequest
from homing.domain.keys import APP_ID_BYTES, PARTITION_KEY_BYTES, check_endpoint_key, check_key_part, check_user_id
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.timestamps import parse_timestamp

CHANNEL_TYPES = frozenset(
    {
        "PUSH", "GCM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX",
        "ADM", "SMS", "VOICE", "EMAIL", "BAIDU", "CUSTOM", "IN_APP",
    }
)  # fmt: skip
# Push-token channels whose oldest endpoint Pinpoint evicts when a user is at the endpoint cap.
EVICTABLE_CHANNELS = frozenset({"ADM", "GCM", "APNS", "APNS_VOIP", "APNS_VOIP_SANDBOX", "BAIDU"})
OPT_OUT_VALUES = frozenset({"ALL", "NONE"})
ENDPOINT_STATUSES = frozenset({"ACTIVE", "INACTIVE"})

AttributeMap = dict[str, list[str]]


@dataclass
class Demographic:
    app_version: str | None = None
    locale: str | None = None
    make: str | None = None
    model: str | None = None
    model_version: str | None = None
    platform: str | None = None
    platform_version: str | None = None
    timezone: str | None = None


@dataclass
class Location:
    city: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    postal_code: str | None = None
    region: str | None = None


@dataclass
class EndpointUser:
    user_attributes: AttributeMap | None = None
    user_id: str | None = None


@dataclass
class EndpointRequest:
    """An UpdateEndpoint body or one UpdateEndpointsBatch item (``id`` is only set for batch items)."""

    address: str | None = None
    attributes: AttributeMap | None = None
    channel_type: str | None = None
    demographic: Demographic | None = None
    effective_date: str | None = None
    endpoint_status: str | None = None
    id: str | None = None
    location: Location | None = None
    metrics: dict[str, float] | None = None
    opt_out: str | None = None
    request_id: str | None = None
    user: EndpointUser | None = None


@dataclass
class Endpoint:
    """A stored endpoint, as GetEndpoint returns it."""

    id: str
    application_id: str
    creation_date: str
    cohort_id: str
    effective_date: str
    endpoint_status: str = "ACTIVE"
    opt_out: str = "NONE"
    channel_type: str | None = None
    address: str | None = None
    attributes: AttributeMap = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    demographic: Demographic = field(default_factory=Demographic)
    location: Location = field(default_factory=Location)
    user: EndpointUser = field(default_factory=EndpointUser)
    request_id: str | None = None

    @property
    def user_id(self) -> str | None:
        return self.user.user_id or None


_LONGEST_CHANNEL = max(len(c) for c in CHANNEL_TYPES)
# GSI partition key of the by-address index: ``<app>#<channel>#<address>`` (adapters/dynamodb/endpoints.py).
ADDRESS_BYTES = PARTITION_KEY_BYTES - APP_ID_BYTES - _LONGEST_CHANNEL - 2


def check_endpoint_request_keys(req: EndpointRequest, path: str = "") -> None:
    """The endpoint fields that become key attributes: ``Id``, ``Address``, ``User.UserId``."""
    p = f"{path}." if path else ""
    if req.id is not None:
        check_endpoint_key(req.id, f"{p}Id")
    if req.address is not None:
        check_key_part(req.address, f"{p}Address", ADDRESS_BYTES)
    if req.user is not None and req.user.user_id:
        check_user_id(req.user.user_id, f"{p}User.UserId")


# Attribute kinds as RemoveAttributes names them, with the endpoint field each one covers.
ATTRIBUTE_TYPES = {
    "endpoint-custom-attributes": "attributes",
    "endpoint-metric-attributes": "metrics",
    "endpoint-user-attributes": "user_attributes",
}


def endpoint_key(endpoint_id: str) -> str:
    """Pinpoint endpoint ids are case-insensitive: this is the key they are stored under."""
    return endpoint_id.lower()


def validate_endpoint_id(endpoint_id: str, field: str = "EndpointId") -> None:
    if not endpoint_id or not endpoint_id.strip():
        raise BadRequest(f"{field} must not be empty")
    if any(c in endpoint_id for c in "${}"):
        raise BadRequest(f"{field} must not contain '$', '{{' or '}}'")
    if len(endpoint_id.encode()) > 512:
        raise BadRequest(f"{field} must be at most 512 bytes")


def validate_request(req: EndpointRequest, path: str = "", quotas: Quotas = QUOTAS) -> None:
    """Check one endpoint request against Pinpoint's documented limits; errors name the field."""
    p = f"{path}." if path else ""
    check_endpoint_request_keys(req, path)
    if req.channel_type is not None and req.channel_type not in CHANNEL_TYPES:
        raise BadRequest(f"{p}ChannelType must be one of {', '.join(sorted(CHANNEL_TYPES))}")
    if req.opt_out is not None and req.opt_out not in OPT_OUT_VALUES:
        raise BadRequest(f"{p}OptOut must be ALL or NONE")
    if req.endpoint_status is not None and req.endpoint_status not in ENDPOINT_STATUSES:
        raise BadRequest(f"{p}EndpointStatus must be ACTIVE or INACTIVE")
    if req.effective_date is not None:
        parse_timestamp(req.effective_date, f"{p}EffectiveDate")
    _check_attributes(req.attributes, f"{p}Attributes", quotas)
    if req.user is not None:
        _check_attributes(req.user.user_attributes, f"{p}User.UserAttributes", quotas)
    for name in req.metrics or {}:
        _check_name(name, f"{p}Metrics", quotas)
    if req.location is not None:
        lat, lon = req.location.latitude, req.location.longitude
        if lat is not None and not -90 <= lat <= 90:
            raise BadRequest(f"{p}Location.Latitude must be between -90 and 90")
        if lon is not None and not -180 <= lon <= 180:
            raise BadRequest(f"{p}Location.Longitude must be between -180 and 180")


def _check_name(name: str, field: str, quotas: Quotas) -> None:
    if not name.strip():
        raise BadRequest(f"{field} has an empty attribute name")
    if len(name) > quotas.attribute_name_length:
        raise BadRequest(f"{field}.{name}: attribute names are at most {quotas.attribute_name_length} characters")


def _check_attributes(attrs: AttributeMap | None, field: str, quotas: Quotas) -> None:
    for name, values in (attrs or {}).items():
        _check_name(name, field, quotas)
        if len(values) > quotas.attribute_values_per_key:
            raise BadRequest(f"{field}.{name}: at most {quotas.attribute_values_per_key} values per attribute")
        for value in values:
            if len(value) > quotas.attribute_value_length:
                raise BadRequest(
                    f"{field}.{name}: attribute values are at most {quotas.attribute_value_length} characters"
                )


def _merge_map(stored: dict, sent: dict | None) -> dict:  # type: ignore[type-arg]
    return stored if sent is None else {**stored, **sent}


def _merge_members(stored: object, sent: object | None) -> object:
    if sent is None:
        return stored
    changes = {f.name: getattr(sent, f.name) for f in dataclasses.fields(sent) if getattr(sent, f.name) is not None}  # type: ignore[arg-type]
    return dataclasses.replace(stored, **changes)  # type: ignore[type-var]


def merge(
    stored: Endpoint | None,
    req: EndpointRequest,
    *,
    application_id: str,
    endpoint_id: str,
    now: str,
    request_id: str,
    rng: random.Random | None = None,
) -> Endpoint:
    """Apply one create-or-update request to the stored endpoint (or create it)."""
    if stored is None:
        stored = Endpoint(
            id=endpoint_id,
            application_id=application_id,
            creation_date=now,
            cohort_id=str((rng or random).randrange(100)),  # ~1% of endpoints per cohort, fixed at creation
            effective_date=now,
        )
    user = stored.user
    if req.user is not None:
        user = EndpointUser(
            user_attributes=_merge_map(user.user_attributes or {}, req.user.user_attributes),
            user_id=user.user_id if req.user.user_id is None else (req.user.user_id or None),
        )
    location = _merge_members(stored.location, req.location)
    for coord in ("latitude", "longitude"):
        value = getattr(location, coord)
        if value is not None:
            location = dataclasses.replace(location, **{coord: round(value, 1)})  # type: ignore[type-var]
    merged = dataclasses.replace(
        stored,
        channel_type=req.channel_type or stored.channel_type,
        address=req.address if req.address is not None else stored.address,
        attributes=_merge_map(stored.attributes, req.attributes),
        metrics=_merge_map(stored.metrics, req.metrics),
        demographic=_merge_members(stored.demographic, req.demographic),  # type: ignore[arg-type]
        location=location,  # type: ignore[arg-type]
        user=user,
        opt_out=req.opt_out or stored.opt_out,
        endpoint_status=req.endpoint_status or "ACTIVE",
        effective_date=req.effective_date or now,
        request_id=request_id,
    )
    return merged


def endpoint_size(endpoint: Endpoint) -> int:
    return len(json.dumps(dump(endpoint, snake), separators=(",", ":")).encode())


def check_complete(endpoint: Endpoint, path: str, quotas: Quotas = QUOTAS) -> None:
    """Checks that need the merged endpoint: Pinpoint's 15 KB endpoint size.

    No ChannelType or Address is required: Pinpoint stores such endpoints (AWS Amplify Analytics
    creates one per app install), they are simply never a message recipient.
    """
    if endpoint_size(endpoint) > quotas.endpoint_size_bytes:
        raise BadRequest(f"{path or 'The endpoint'} exceeds the maximum endpoint size of 15 KB")


def attribute_names(endpoint: Endpoint) -> set[tuple[str, str]]:
    """(attribute type, name) pairs the endpoint uses, for the per-app attribute catalogue."""
    return (
        {("endpoint-custom-attributes", n) for n in endpoint.attributes}
        | {("endpoint-metric-attributes", n) for n in endpoint.metrics}
        | {("endpoint-user-attributes", n) for n in endpoint.user.user_attributes or {}}
    )
