"""Message templates through the real api handler on moto: the five types, versions, the active
version, listing and paging, deletes, validation (400s naming the field) and ``resolve``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from homing.domain.errors import NotFound
from homing.domain.templates import EmailTemplate, PushTemplate

EMAIL_BODY = {
    "Subject": "Hi {{User.UserAttributes.FirstName}}",
    "HtmlPart": "<p>Hello {{User.UserAttributes.FirstName}}</p>",
    "TextPart": "Hello {{User.UserAttributes.FirstName}}",
    "Headers": [{"Name": "X-Campaign", "Value": "spring"}],
    "DefaultSubstitutions": json.dumps({"User.UserAttributes.FirstName": "there"}),
    "TemplateDescription": "welcome",
    "RecommenderId": "rec-1",
    "tags": {"team": "growth"},
}
BODIES: dict[str, dict[str, Any]] = {
    "email": EMAIL_BODY,
    "sms": {"Body": "Code {{Attributes.Code}}", "DefaultSubstitutions": "{}"},
    "voice": {"Body": "Hello {{Address}}", "LanguageCode": "en-US", "VoiceId": "Joanna"},
    "push": {
        "Default": {"Action": "OPEN_APP", "Title": "Hi", "Body": "Hello {{User.UserId}}"},
        "APNS": {"Action": "URL", "Url": "https://example.com", "MediaUrl": "https://example.com/a.png", "Sound": "x"},
        "GCM": {"Body": "g", "ImageIconUrl": "https://example.com/i.png", "RawContent": "{}"},
        "ADM": {"Body": "a"},
        "Baidu": {"Body": "b"},
    },
    "inapp": {
        "Layout": "TOP_BANNER",
        "Content": [
            {
                "BackgroundColor": "#fff",
                "BodyConfig": {"Alignment": "LEFT", "Body": "Sale", "TextColor": "#000"},
                "PrimaryBtn": {"DefaultConfig": {"ButtonAction": "CLOSE", "Text": "OK"}},
            }
        ],
        "CustomConfig": {"k": "v"},
    },
}
TYPES = {"email": "EMAIL", "sms": "SMS", "voice": "VOICE", "push": "PUSH", "inapp": "INAPP"}


@pytest.fixture
def api_services(call: Any) -> Any:
    from homing.bootstrap import build_services
    from homing.settings import ApiSettings

    return build_services(ApiSettings.from_env())


@pytest.mark.parametrize("kind", list(BODIES))
def test_each_type_is_created_read_updated_versioned_and_deleted(call: Any, kind: str) -> None:
    path = f"/v1/templates/welcome-{kind}/{kind}"
    created = call("POST", path, BODIES[kind])
    assert created.status == 201, created.body
    assert (
        created.body["Arn"] == f"arn:aws:mobiletargeting:us-east-1:123456789012:templates/welcome-{kind}/{TYPES[kind]}"
    )
    assert created.body["Message"] == "Created"

    got = call("GET", path)
    assert got.status == 200, got.body
    assert got.body["Version"] == "1"
    assert got.body["TemplateType"] == TYPES[kind]
    assert got.body["TemplateName"] == f"welcome-{kind}"
    for key, value in BODIES[kind].items():
        assert got.body[key] == value, key

    # without create-new-version the latest version is overwritten
    assert call("PUT", path, {**BODIES[kind], "TemplateDescription": "v1 again"}).status == 202
    got = call("GET", path).body
    assert (got["Version"], got["TemplateDescription"]) == ("1", "v1 again")

    # with it, a new version; the active version stays until it is moved
    assert (
        call("PUT", path, {**BODIES[kind], "TemplateDescription": "two"}, {"create-new-version": ["true"]}).status
        == 202
    )
    assert call("GET", path).body["Version"] == "1"
    assert call("GET", path, query={"version": ["2"]}).body["TemplateDescription"] == "two"
    versions = call("GET", f"/v1/templates/welcome-{kind}/{TYPES[kind]}/versions").body
    assert [v["Version"] for v in versions["Item"]] == ["1", "2"]
    active = call("PUT", f"/v1/templates/welcome-{kind}/{TYPES[kind]}/active-version", {"Version": "latest"})
    assert active.status == 200, active.body
    assert call("GET", path).body["Version"] == "2"

    # one version, then the template
    assert call("DELETE", path, query={"version": ["1"]}).status == 202
    assert call("GET", path, query={"version": ["1"]}).status == 404
    assert call("GET", path).body["Version"] == "2"
    assert call("DELETE", path).status == 202
    gone = call("GET", path)
    assert (gone.status, gone.error_type) == (404, "NotFoundException")


def test_update_with_a_version_must_name_the_latest_and_not_come_with_create_new_version(call: Any) -> None:
    path = "/v1/templates/t/sms"
    call("POST", path, {"Body": "a"})
    call("PUT", path, {"Body": "b"}, {"create-new-version": ["true"]})
    assert call("PUT", path, {"Body": "c"}, {"version": ["2"]}).status == 202
    assert call("GET", path, query={"version": ["2"]}).body["Body"] == "c"
    stale = call("PUT", path, {"Body": "d"}, {"version": ["1"]})
    assert (stale.status, stale.error_type) == (400, "BadRequestException")
    both = call("PUT", path, {"Body": "d"}, {"version": ["2"], "create-new-version": ["true"]})
    assert both.status == 400
    assert "create-new-version" in both.body["Message"]
    assert call("GET", path, query={"version": ["1"]}).body["Body"] == "a"  # rejected requests wrote nothing


def test_the_active_version_cannot_be_deleted_while_others_remain(call: Any) -> None:
    path = "/v1/templates/t/sms"
    call("POST", path, {"Body": "a"})
    call("PUT", path, {"Body": "b"}, {"create-new-version": ["true"]})
    refused = call("DELETE", path, query={"version": ["1"]})
    assert refused.status == 400
    assert "active version" in refused.body["Message"]
    assert call("DELETE", path, query={"version": ["2"]}).status == 202
    # the latest is version 1 again: an update without a version overwrites it
    call("PUT", path, {"Body": "a2"})
    assert call("GET", path).body["Body"] == "a2"
    assert call("DELETE", path, query={"version": ["7"]}).status == 404


def test_list_templates_by_prefix_and_type_with_paging(call: Any) -> None:
    for name in ("promo-a", "promo-b", "promo-c", "other"):
        assert call("POST", f"/v1/templates/{name}/sms", {"Body": "x"}).status == 201
    assert call("POST", "/v1/templates/promo-a/email", {"Subject": "s"}).status == 201

    everything = call("GET", "/v1/templates").body["Item"]
    assert [(t["TemplateName"], t["TemplateType"]) for t in everything] == [
        ("other", "SMS"),
        ("promo-a", "EMAIL"),
        ("promo-a", "SMS"),
        ("promo-b", "SMS"),
        ("promo-c", "SMS"),
    ]
    emails = call("GET", "/v1/templates", query={"template-type": ["EMAIL"]}).body["Item"]
    assert [t["TemplateName"] for t in emails] == ["promo-a"]

    seen: list[str] = []
    token: str | None = None
    while True:
        query = {"prefix": ["promo-"], "page-size": ["2"], **({"next-token": [token]} if token else {})}
        page = call("GET", "/v1/templates", query=query).body
        seen += [f"{t['TemplateName']}/{t['TemplateType']}" for t in page["Item"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == ["promo-a/EMAIL", "promo-a/SMS", "promo-b/SMS", "promo-c/SMS"]
    forged = call("GET", "/v1/templates", query={"next-token": ["v1.abc.def"]})
    assert forged.status == 400


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("sms", {"Body": "x", "DefaultSubstitutions": "not json"}, "DefaultSubstitutions"),
        ("sms", {"Body": "x", "DefaultSubstitutions": '["a"]'}, "DefaultSubstitutions"),
        ("sms", {"Body": "x", "DefaultSubstitutions": '{"a": 1}'}, "DefaultSubstitutions"),
        ("sms", {"Body": "x" * 1601}, "Body"),
        ("voice", {"Body": "x" * 10_001}, "Body"),
        ("push", {"Default": {"Body": "x" * 4001}}, "Default"),
        ("push", {"ADM": {"Body": "x" * 6001}}, "ADM"),
        ("push", {"APNS": {"Action": "FLY"}}, "APNS.Action"),
        ("push", {"GCM": {"Title": 5}}, "GCM.Title"),
        ("email", {"HtmlPart": "x" * 600_001}, "The email template"),
        ("email", {"Headers": [{"Name": f"h{i}", "Value": "v"} for i in range(16)]}, "Headers"),
        ("email", {"Subject": 3}, "Subject"),
        ("inapp", {"Layout": "SIDEWAYS"}, "Layout"),
        ("inapp", {"Content": [{"BodyConfig": {"Alignment": "UP"}}]}, "Content[0].BodyConfig.Alignment"),
        ("sms", {"Body": "x", "tags": {"aws:x": "y"}}, "tags"),
    ],
)
def test_invalid_templates_are_400s_naming_the_field_and_write_nothing(
    call: Any, kind: str, body: dict[str, Any], field: str
) -> None:
    r = call("POST", f"/v1/templates/bad/{kind}", body)
    assert (r.status, r.error_type) == (400, "BadRequestException"), r.body
    assert field in r.body["Message"]
    assert call("GET", f"/v1/templates/bad/{kind}").status == 404


@pytest.mark.parametrize("name", ["-starts-with-hyphen", "_under", "has.dot", "x" * 129])
def test_template_names_follow_pinpoints_pattern(call: Any, name: str) -> None:
    r = call("POST", f"/v1/templates/{name}/sms", {"Body": "x"})
    assert r.status == 400
    assert "template-name" in r.body["Message"]


def test_a_template_cannot_be_created_twice(call: Any) -> None:
    assert call("POST", "/v1/templates/dup/sms", {"Body": "x"}).status == 201
    again = call("POST", "/v1/templates/dup/sms", {"Body": "y"})
    assert (again.status, again.error_type) == (400, "BadRequestException")
    assert call("POST", "/v1/templates/dup/email", {"Subject": "same name, other type"}).status == 201


def test_a_deleted_template_created_again_starts_afresh(call: Any) -> None:
    path = "/v1/templates/again/sms"
    call("POST", path, {"Body": "one"})
    call("PUT", path, {"Body": "two"}, {"create-new-version": ["true"]})
    call("DELETE", path)
    assert call("POST", path, {"Body": "fresh"}).status == 201
    versions = call("GET", "/v1/templates/again/SMS/versions").body["Item"]
    assert [v["Version"] for v in versions] == ["1"]
    assert call("GET", path).body["Body"] == "fresh"


def test_unknown_types_and_missing_templates(call: Any) -> None:
    assert call("GET", "/v1/templates/none/sms").status == 404
    assert call("GET", "/v1/templates/none/SMS/versions").status == 404
    assert call("GET", "/v1/templates", query={"template-type": ["FAX"]}).status == 400
    assert call("PUT", "/v1/templates/none/FAX/active-version", {"Version": "1"}).status == 400
    call("POST", "/v1/templates/t/sms", {"Body": "x"})
    assert call("PUT", "/v1/templates/t/SMS/active-version", {}).status == 400
    assert call("PUT", "/v1/templates/t/SMS/active-version", {"Version": "9"}).status == 404
    assert call("GET", "/v1/templates/t/sms", query={"version": ["abc"]}).status == 400


def test_resolve_gives_the_messaging_part_the_active_or_named_version(call: Any, api_services: Any) -> None:
    call("POST", "/v1/templates/w/email", EMAIL_BODY)
    call("POST", "/v1/templates/p/push", BODIES["push"])
    record = api_services.templates.resolve("w", "EMAIL")
    assert isinstance(record, EmailTemplate)
    assert record.subject == EMAIL_BODY["Subject"]
    assert record.default_substitutions == {"User.UserAttributes.FirstName": "there"}
    assert record.version == "1"
    push = api_services.templates.resolve("p", "PUSH", "1")
    assert isinstance(push, PushTemplate)
    assert push.apns is not None
    assert push.apns.media_url == "https://example.com/a.png"
    assert push.gcm is not None
    assert push.gcm.raw_content == "{}"
    with pytest.raises(NotFound):
        api_services.templates.resolve("w", "SMS")
    with pytest.raises(NotFound):
        api_services.templates.resolve("w", "EMAIL", "2")


def test_concurrent_new_versions_each_get_their_own_number(call: Any, api_services: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from homing.domain.templates import SmsTemplate

    call("POST", "/v1/templates/race/sms", {"Body": "0"})
    svc = api_services.templates

    def add(i: int) -> None:
        svc.update("race", SmsTemplate(body=str(i)), create_new_version=True, version=None)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, range(1, 9)))
    versions, _ = svc.versions("race", "SMS", 100, None)
    assert [v.version for v in versions] == [str(i) for i in range(1, 10)]
    assert sorted(v.body for v in versions) == sorted(str(i) for i in range(9))


def test_names_and_prefixes_no_template_can_have_are_4xx_not_storage_errors(call: Any) -> None:
    assert call("POST", "/v1/templates/x/sms", {"Body": "x"}).status == 201  # the #count item exists now
    long_name = "a" * 2000
    assert call("GET", f"/v1/templates/{long_name}/sms").status == 400
    assert call("DELETE", f"/v1/templates/{long_name}/sms").status == 400
    assert call("GET", f"/v1/templates/{long_name}/SMS/versions").status == 400
    listed = call("GET", "/v1/templates", query={"prefix": [long_name]})
    assert (listed.status, listed.body["Item"]) == (200, [])
    assert call("GET", "/v1/templates", query={"prefix": ["#"]}).body["Item"] == []
    assert call("GET", "/v1/templates", query={"page-size": ["0"]}).status == 400
