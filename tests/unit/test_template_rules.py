"""Template rules, pure: names, versions, DefaultSubstitutions, Pinpoint's size limits per type."""

from __future__ import annotations

import pytest

from homing.domain.errors import BadRequest
from homing.domain.templates import (
    EmailTemplate,
    InAppTemplate,
    MessageHeader,
    PushPart,
    PushTemplate,
    SmsTemplate,
    VoiceTemplate,
    check_name,
    check_template,
    parse_default_substitutions,
    parse_version,
    template_type,
)


@pytest.mark.parametrize("name", ["a", "Welcome_2-b", "9lives", "x" * 128])
def test_valid_names(name: str) -> None:
    check_name(name)


@pytest.mark.parametrize("name", ["", "-a", "_a", "a.b", "a b", "a/b", "x" * 129, "é"])
def test_invalid_names_name_the_field(name: str) -> None:
    with pytest.raises(BadRequest, match="template-name"):
        check_name(name)


def test_versions_are_positive_integers() -> None:
    assert parse_version(None) is None
    assert parse_version("") is None
    assert parse_version("12") == 12
    for bad in ("0", "-1", "1.5", "latest", "x"):
        with pytest.raises(BadRequest, match="version"):
            parse_version(bad)


def test_default_substitutions_flat_and_nested() -> None:
    assert parse_default_substitutions(None, "F") == {}
    assert parse_default_substitutions('{"a": "1", "User.UserAttributes.FirstName": "there"}', "F") == {
        "a": "1",
        "User.UserAttributes.FirstName": "there",
    }
    assert parse_default_substitutions('{"Attributes": {"Purchase": "Test"}}', "F") == {"Attributes.Purchase": "Test"}


@pytest.mark.parametrize("raw", ["nope", "[]", '"text"', '{"a": 1}', '{"a": ["x"]}', '{"a": {"b": null}}'])
def test_default_substitutions_must_be_an_object_of_strings(raw: str) -> None:
    with pytest.raises(BadRequest, match="DefaultSubstitutions"):
        parse_default_substitutions(raw, "DefaultSubstitutions")


def test_records_parse_their_defaults_and_know_their_type() -> None:
    record = SmsTemplate(body="x", default_substitutions_json='{"Name": "friend"}')
    assert record.default_substitutions == {"Name": "friend"}
    assert template_type(record) == "SMS"
    assert template_type(InAppTemplate()) == "INAPP"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (SmsTemplate(body="x" * 1601), "Body"),
        (VoiceTemplate(body="x" * 10_001), "Body"),
        (EmailTemplate(subject="s", html_part="x" * 600_000), "email template"),
        (EmailTemplate(headers=[MessageHeader(name=f"h{i}", value="v") for i in range(16)]), "Headers"),
        (EmailTemplate(headers=[MessageHeader(value="v")]), "Headers[0].Name"),
        (PushTemplate(default=PushPart(title="t", body="x" * 4000)), "Default"),
        (PushTemplate(baidu=PushPart(body="x" * 4001)), "Baidu"),
        (PushTemplate(adm=PushPart(body="x" * 6001)), "ADM"),
        (PushTemplate(gcm=PushPart(action="NOPE")), "GCM.Action"),
        (InAppTemplate(layout="SIDEWAYS"), "Layout"),
        (InAppTemplate(content=[{}] * 6), "Content"),
        (InAppTemplate(content=[{"PrimaryBtn": {"DefaultConfig": {"ButtonAction": "JUMP"}}}]), "ButtonAction"),
        (SmsTemplate(template_description="d" * 501), "TemplateDescription"),
    ],
)
def test_limits_name_the_field(record: object, field: str) -> None:
    with pytest.raises(BadRequest, match=field.replace("[", r"\[").replace("]", r"\]")):
        check_template(record)  # type: ignore[arg-type]


def test_limits_at_the_boundary_pass() -> None:
    check_template(SmsTemplate(body="x" * 1600))
    check_template(VoiceTemplate(body="x" * 10_000))
    check_template(PushTemplate(adm=PushPart(body="x" * 6000), default=PushPart(body="x" * 4000)))
    check_template(EmailTemplate(html_part="x" * 600_000))
