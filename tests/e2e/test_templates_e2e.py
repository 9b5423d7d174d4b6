"""Message templates through the stock boto3 pinpoint client against the local stack: each of the five
types created, read, updated in place and as a new version, listed, made active and deleted."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_apps_e2e import error_of

# (create/get/update/delete suffix, request member, response member of Get, the request body)
TYPES: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "EMAIL": (
        "email_template",
        "EmailTemplateRequest",
        "EmailTemplateResponse",
        {
            "Subject": "Hi {{User.UserAttributes.FirstName}}",
            "HtmlPart": "<p>{{User.UserAttributes.FirstName}}</p>",
            "TextPart": "{{User.UserAttributes.FirstName}}",
            "Headers": [{"Name": "X-Campaign", "Value": "spring"}],
            "DefaultSubstitutions": json.dumps({"User.UserAttributes.FirstName": "there"}),
            "TemplateDescription": "first",
        },
    ),
    "SMS": ("sms_template", "SMSTemplateRequest", "SMSTemplateResponse", {"Body": "Code {{Attributes.Code}}"}),
    "VOICE": (
        "voice_template",
        "VoiceTemplateRequest",
        "VoiceTemplateResponse",
        {"Body": "Hello", "LanguageCode": "en-US", "VoiceId": "Joanna"},
    ),
    "PUSH": (
        "push_template",
        "PushNotificationTemplateRequest",
        "PushNotificationTemplateResponse",
        {
            "Default": {"Action": "OPEN_APP", "Title": "Hi", "Body": "Hello"},
            "APNS": {"Action": "URL", "Url": "https://example.com", "MediaUrl": "https://example.com/m.png"},
            "GCM": {"Body": "g", "ImageIconUrl": "https://example.com/i.png"},
        },
    ),
    "INAPP": (
        "in_app_template",
        "InAppTemplateRequest",
        "InAppTemplateResponse",
        {
            "Layout": "TOP_BANNER",
            "Content": [{"BodyConfig": {"Alignment": "LEFT", "Body": "Sale", "TextColor": "#000000"}}],
        },
    ),
}


@pytest.mark.parametrize("template_type", list(TYPES))
def test_template_lifecycle_through_boto3(pinpoint: Any, template_type: str) -> None:
    suffix, request, response, body = TYPES[template_type]
    name = f"e2e-{template_type.lower()}-{uuid.uuid4().hex[:8]}"

    created = getattr(pinpoint, f"create_{suffix}")(TemplateName=name, **{request: {**body, "tags": {"t": "1"}}})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    message = created.get("CreateTemplateMessageBody") or created["TemplateCreateMessageBody"]
    assert message["Arn"].endswith(f":templates/{name}/{template_type}")

    got = getattr(pinpoint, f"get_{suffix}")(TemplateName=name)[response]
    assert (got["TemplateName"], got["TemplateType"], got["Version"], got["tags"]) == (
        name,
        template_type,
        "1",
        {"t": "1"},
    )
    for key, value in body.items():
        assert got[key] == value, key

    # in place, then as a new version (the active version stays until it is moved)
    updated = getattr(pinpoint, f"update_{suffix}")(
        TemplateName=name, **{request: {**body, "TemplateDescription": "one"}}
    )
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert updated["MessageBody"]["Message"] == "Accepted"
    getattr(pinpoint, f"update_{suffix}")(
        TemplateName=name, CreateNewVersion=True, **{request: {**body, "TemplateDescription": "two"}}
    )
    assert getattr(pinpoint, f"get_{suffix}")(TemplateName=name)[response]["TemplateDescription"] == "one"
    second = getattr(pinpoint, f"get_{suffix}")(TemplateName=name, Version="2")[response]
    assert (second["Version"], second["TemplateDescription"]) == ("2", "two")

    versions = pinpoint.list_template_versions(TemplateName=name, TemplateType=template_type)
    assert [v["Version"] for v in versions["TemplateVersionsResponse"]["Item"]] == ["1", "2"]
    listed = pinpoint.list_templates(Prefix=name, TemplateType=template_type)["TemplatesResponse"]["Item"]
    assert [(t["TemplateName"], t["Version"]) for t in listed] == [(name, "1")]

    pinpoint.update_template_active_version(
        TemplateName=name, TemplateType=template_type, TemplateActiveVersionRequest={"Version": "latest"}
    )
    assert getattr(pinpoint, f"get_{suffix}")(TemplateName=name)[response]["Version"] == "2"

    deleted = getattr(pinpoint, f"delete_{suffix}")(TemplateName=name, Version="1")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    getattr(pinpoint, f"delete_{suffix}")(TemplateName=name)
    with pytest.raises(ClientError) as caught:
        getattr(pinpoint, f"get_{suffix}")(TemplateName=name)
    assert error_of(caught)[:2] == ("NotFoundException", 404)


def test_list_templates_pages_with_next_token(pinpoint: Any) -> None:
    prefix = f"e2e-page-{uuid.uuid4().hex[:8]}-"
    for i in range(3):
        pinpoint.create_sms_template(TemplateName=f"{prefix}{i}", SMSTemplateRequest={"Body": str(i)})
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Prefix": prefix, "PageSize": "2"}
    while True:
        page = pinpoint.list_templates(**kwargs)["TemplatesResponse"]
        seen += [t["TemplateName"] for t in page["Item"]]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == [f"{prefix}{i}" for i in range(3)]
    for i in range(3):
        pinpoint.delete_sms_template(TemplateName=f"{prefix}{i}")


def test_template_errors_through_boto3(pinpoint: Any) -> None:
    name = f"e2e-bad-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as caught:
        pinpoint.create_sms_template(TemplateName=name, SMSTemplateRequest={"Body": "x", "DefaultSubstitutions": "[1]"})
    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "DefaultSubstitutions" in message
    with pytest.raises(ClientError) as caught:
        pinpoint.get_sms_template(TemplateName=name)
    assert error_of(caught)[:2] == ("NotFoundException", 404)
    pinpoint.create_sms_template(TemplateName=name, SMSTemplateRequest={"Body": "x"})
    with pytest.raises(ClientError) as caught:
        pinpoint.update_sms_template(
            TemplateName=name, CreateNewVersion=True, Version="1", SMSTemplateRequest={"Body": "y"}
        )
    assert error_of(caught)[:2] == ("BadRequestException", 400)
    pinpoint.delete_sms_template(TemplateName=name)
