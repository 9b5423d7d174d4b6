"""The shared message contract: carrier tags survive the round trip through a carrier's tag rules."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from homing.domain.messages import EMAIL, Delivery, EmailContent, carrier_tags, from_carrier_tags

SES_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@given(
    app=st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
    endpoint=st.none() | st.text(min_size=1, max_size=64),
    campaign=st.text(min_size=1, max_size=40),
)
def test_tags_are_ses_safe_and_decode_back(app: str, endpoint: str | None, campaign: str) -> None:
    delivery = Delivery(
        app, EMAIL, "a@example.com", "k", EmailContent("f@example.com"), endpoint, {"campaign_id": campaign}
    )
    tags = carrier_tags(delivery, ("campaign_id",))
    assert all(SES_TAG.match(k) and SES_TAG.match(v) for k, v in tags.items())
    assert from_carrier_tags(tags) == (app, endpoint, {"campaign_id": campaign})


def test_foreign_and_malformed_tags_are_ignored() -> None:
    assert from_carrier_tags({"team": "growth", "homing_app": "!!"}) == (None, None, {})


def test_only_named_context_keys_are_tagged_and_at_most_three() -> None:
    context = {f"k{i}": "v" for i in range(6)}
    delivery = Delivery("a", EMAIL, "x", "k", EmailContent("f"), None, context)
    tags = carrier_tags(delivery, tuple(context))
    assert set(tags) == {"homing_app", "homing_k0", "homing_k1", "homing_k2"}
