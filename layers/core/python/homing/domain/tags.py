"""Tag rules, pure: Pinpoint's tag quotas and which app a tagged resource's ARN names."""

from __future__ import annotations

from urllib.parse import unquote

from homing.domain.errors import BadRequest
from homing.domain.limits import QUOTAS, Quotas


def check_tags(tags: dict[str, str], field: str, quotas: Quotas = QUOTAS) -> None:
    """At most 50 tags; keys 1-128 characters, not starting ``aws:``; values at most 256 characters."""
    if len(tags) > quotas.tags_per_resource:
        raise BadRequest(f"{field}: a resource can have at most {quotas.tags_per_resource} tags")
    for key, value in tags.items():
        if not key or len(key) > quotas.tag_key_length or key.lower().startswith("aws:"):
            raise BadRequest(f"{field}.{key}: tag keys are 1-{quotas.tag_key_length} characters, not starting aws:")
        if len(value) > quotas.tag_value_length:
            raise BadRequest(f"{field}.{key}: tag values are at most {quotas.tag_value_length} characters")


def tagged_app_id(arn: str, arn_prefix: str) -> str:
    """The app id of ``<arn_prefix>:apps/<id>``; any other ARN is not a resource of this deployment.

    The ARN is unquoted once more (``apps%2F<id>`` is accepted), as Homing always has: the wire stays as it was.
    """
    arn = unquote(arn)
    prefix = f"{arn_prefix}:apps/"
    if not arn.startswith(prefix) or "/" in arn[len(prefix) :] or len(arn) == len(prefix):
        raise BadRequest(f"ResourceArn {arn} is not the ARN of a resource of this Homing deployment")
    return arn[len(prefix) :]
