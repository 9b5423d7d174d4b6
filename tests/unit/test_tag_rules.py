"""Pure tag rules: Pinpoint's tag quotas and the app a tagged resource's ARN names."""

from __future__ import annotations

import pytest

from homing.domain.errors import BadRequest
from homing.domain.tags import check_tags, tagged_app_id

PREFIX = "arn:aws:mobiletargeting:us-east-1:123456789012"
APP = "0123456789abcdef0123456789abcdef"


def test_fifty_tags_of_the_longest_keys_and_values_pass() -> None:
    check_tags({f"{i:02d}" + "k" * 126: "v" * 256 for i in range(50)}, "tags")


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({f"k{i}": "v" for i in range(51)}, "at most 50 tags"),
        ({"": "v"}, "tag keys are 1-128 characters"),
        ({"k" * 129: "v"}, "tag keys are 1-128 characters"),
        ({"AWS:owner": "v"}, "not starting aws:"),
        ({"k": "v" * 257}, "tag values are at most 256 characters"),
    ],
)
def test_tags_past_pinpoints_quotas_are_refused_naming_the_field(tags: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest, match=message) as caught:
        check_tags(tags, "tags")
    assert caught.value.message.startswith("tags")


@pytest.mark.parametrize("arn", [f"{PREFIX}:apps/{APP}", f"{PREFIX}:apps%2F{APP}"])
def test_an_app_arn_of_this_deployment_names_its_app(arn: str) -> None:
    assert tagged_app_id(arn, PREFIX) == APP


@pytest.mark.parametrize(
    "arn",
    [
        f"{PREFIX}:apps/",
        f"{PREFIX}:apps/{APP}/campaigns/c1",
        f"arn:aws:mobiletargeting:eu-west-1:123456789012:apps/{APP}",
        f"arn:aws:mobiletargeting:us-east-1:999999999999:apps/{APP}",
        APP,
    ],
)
def test_any_other_arn_is_not_a_resource_of_this_deployment(arn: str) -> None:
    with pytest.raises(BadRequest, match="is not the ARN of a resource of this Homing deployment"):
        tagged_app_id(arn, PREFIX)
