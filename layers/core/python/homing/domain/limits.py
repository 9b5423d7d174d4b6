"""Pinpoint's documented quotas (reference/pinpoint-api.md §7), as configuration with Pinpoint's values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quotas:
    apps_per_account: int = 100
    tags_per_resource: int = 50
    tag_key_length: int = 128
    tag_value_length: int = 256
    endpoints_per_batch: int = 100
    endpoint_size_bytes: int = 15 * 1024
    attribute_names_per_app: int = 250
    attribute_name_length: int = 50
    attribute_value_length: int = 100
    attribute_values_per_key: int = 50
    endpoints_per_user: int = 15
    events_per_request: int = 100
    events_request_bytes: int = 4 * 1024 * 1024
    event_size_bytes: int = 1000 * 1024
    event_keys: int = 40
    event_key_length: int = 50
    event_type_length: int = 50
    event_attribute_value_length: int = 200
    custom_event_types_per_app: int = 1500
    kpi_max_days: int = 31
    kpi_max_age_days: int = 90
    max_page_size: int = 1000
    default_page_size: int = 100


QUOTAS = Quotas()
