"""Pinpoint's JSON for message templates: the five *TemplateRequest bodies in, their *TemplateResponse,
TemplatesResponse and TemplateVersionsResponse out."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import optional_string, parse_body, string_map
from homing.codec import build, dump
from homing.domain.errors import BadRequest
from homing.domain.templates import (
    EMAIL,
    PATH_TYPES,
    PUSH,
    PUSH_PARTS,
    SMS,
    VOICE,
    EmailTemplate,
    InAppTemplate,
    MessageHeader,
    PushPart,
    PushTemplate,
    SmsTemplate,
    Template,
    TemplateSummary,
    VoiceTemplate,
    template_type,
)

# Wire name of each push part, and the members each platform's part has (AndroidPushNotificationTemplate
# for GCM, ADM and Baidu; APNSPushNotificationTemplate; DefaultPushNotificationTemplate).
PUSH_WIRE = {"default": "Default", "apns": "APNS", "gcm": "GCM", "adm": "ADM", "baidu": "Baidu"}
_COMMON = ("action", "body", "sound", "title", "url")
_ANDROID = (*_COMMON, "image_icon_url", "image_url", "raw_content", "small_image_icon_url")
PART_MEMBERS = {
    "default": _COMMON,
    "apns": (*_COMMON, "media_url", "raw_content"),
    "gcm": _ANDROID,
    "adm": _ANDROID,
    "baidu": _ANDROID,
}


def template_type_of_path(segment: str) -> str:
    """``email`` -> ``EMAIL``: the type a /v1/templates/<name>/<type> path names."""
    try:
        return PATH_TYPES[segment.lower()]
    except KeyError:
        raise BadRequest("template-type must be one of EMAIL, SMS, VOICE, PUSH, INAPP") from None


def query_flag(raw: str | None, name: str) -> bool:
    if raw is None or raw == "":
        return False
    if raw.lower() not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false")
    return raw.lower() == "true"


def _common(body: dict[str, Any], with_defaults: bool = True, with_recommender: bool = True) -> dict[str, Any]:
    fields: dict[str, Any] = {"template_description": optional_string(body, "TemplateDescription")}
    if with_defaults:
        fields["default_substitutions_json"] = optional_string(body, "DefaultSubstitutions")
    if with_recommender:
        fields["recommender_id"] = optional_string(body, "RecommenderId")
    return fields


def _push_part(value: Any, part: str) -> PushPart | None:
    if value is None:
        return None
    label = PUSH_WIRE[part]
    if not isinstance(value, dict):
        raise BadRequest(f"{label} must be a JSON object")
    fields: dict[str, str | None] = {}
    for member in PART_MEMBERS[part]:
        key = "".join(p.capitalize() for p in member.split("_"))
        text = value.get(key)
        if text is not None and not isinstance(text, str):
            raise BadRequest(f"{label}.{key} must be a string")
        fields[member] = text
    return PushPart(**fields)


def template_request(path_type: str, raw: str | None) -> tuple[Template, dict[str, str]]:
    """(the record as sent, its tags) from an Email/SMS/Voice/Push/InApp TemplateRequest body."""
    kind = template_type_of_path(path_type)
    body = parse_body(raw)
    tags = string_map(body.get("tags"), "tags")
    record: Template
    if kind == EMAIL:
        headers = body.get("Headers")
        if headers is not None and not isinstance(headers, list):
            raise BadRequest("Headers must be a list")
        record = EmailTemplate(
            subject=optional_string(body, "Subject"),
            html_part=optional_string(body, "HtmlPart"),
            text_part=optional_string(body, "TextPart"),
            headers=[build(MessageHeader, h, f"Headers[{i}]") for i, h in enumerate(headers or [])],
            **_common(body),
        )
    elif kind == SMS:
        record = SmsTemplate(body=optional_string(body, "Body"), **_common(body))
    elif kind == VOICE:
        record = VoiceTemplate(
            body=optional_string(body, "Body"),
            language_code=optional_string(body, "LanguageCode"),
            voice_id=optional_string(body, "VoiceId"),
            **_common(body, with_recommender=False),
        )
    elif kind == PUSH:
        record = PushTemplate(
            default=_push_part(body.get("Default"), "default"),
            apns=_push_part(body.get("APNS"), "apns"),
            gcm=_push_part(body.get("GCM"), "gcm"),
            adm=_push_part(body.get("ADM"), "adm"),
            baidu=_push_part(body.get("Baidu"), "baidu"),
            **_common(body),
        )
    else:
        content = body.get("Content")
        if content is not None and (not isinstance(content, list) or not all(isinstance(c, dict) for c in content)):
            raise BadRequest("Content must be a list of InAppMessageContent objects")
        record = InAppTemplate(
            content=content or [],
            custom_config=string_map(body.get("CustomConfig"), "CustomConfig"),
            layout=optional_string(body, "Layout"),
            **_common(body, with_defaults=False, with_recommender=False),
        )
    return record, tags


def active_version_request(raw: str | None) -> str | None:
    return optional_string(parse_body(raw), "Version")


def _base(record: Template, arn: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Arn": arn,
        "CreationDate": record.creation_date,
        "LastModifiedDate": record.last_modified_date,
        "TemplateName": record.name,
        "TemplateType": template_type(record),
        "Version": record.version,
        "tags": dict(record.tags),
    }
    if record.template_description is not None:
        body["TemplateDescription"] = record.template_description
    if record.default_substitutions_json is not None and not isinstance(record, InAppTemplate):
        body["DefaultSubstitutions"] = record.default_substitutions_json
    if record.recommender_id is not None:
        body["RecommenderId"] = record.recommender_id
    return body


def template_response(record: Template, arn: str) -> dict[str, Any]:
    """EmailTemplateResponse, SMSTemplateResponse, VoiceTemplateResponse, PushNotificationTemplateResponse
    or InAppTemplateResponse."""
    body = _base(record, arn)
    if isinstance(record, EmailTemplate):
        for key, value in (("Subject", record.subject), ("HtmlPart", record.html_part), ("TextPart", record.text_part)):
            if value is not None:
                body[key] = value
        if record.headers:
            body["Headers"] = [dump(h) for h in record.headers]
    elif isinstance(record, SmsTemplate | VoiceTemplate):
        body |= {k: v for k, v in dump(record).items() if k in ("Body", "LanguageCode", "VoiceId")}
    elif isinstance(record, PushTemplate):
        for part in PUSH_PARTS:
            value = getattr(record, part)
            if value is not None:
                body[PUSH_WIRE[part]] = dump(value)
    else:
        body["Content"] = record.content
        if record.custom_config:
            body["CustomConfig"] = record.custom_config
        if record.layout is not None:
            body["Layout"] = record.layout
    return body


def created_response(arn: str, request_id: str) -> dict[str, Any]:
    """CreateTemplateMessageBody."""
    return {"Arn": arn, "Message": "Created", "RequestID": request_id}


def accepted_response(request_id: str) -> dict[str, Any]:
    """MessageBody of Update*/Delete*/UpdateTemplateActiveVersion."""
    return {"Message": "Accepted", "RequestID": request_id}


def templates_response(items: list[tuple[TemplateSummary, str]], next_token: str | None) -> dict[str, Any]:
    """TemplatesResponse: each template's active version."""
    out: list[dict[str, Any]] = []
    for s, arn in items:
        item: dict[str, Any] = {
            "Arn": arn,
            "CreationDate": s.creation_date,
            "LastModifiedDate": s.last_modified_date,
            "TemplateName": s.name,
            "TemplateType": s.template_type,
            "Version": s.version,
            "tags": dict(s.tags),
        }
        if s.template_description is not None:
            item["TemplateDescription"] = s.template_description
        if s.default_substitutions_json is not None:
            item["DefaultSubstitutions"] = s.default_substitutions_json
        out.append(item)
    body: dict[str, Any] = {"Item": out}
    if next_token:
        body["NextToken"] = next_token
    return body


def versions_response(records: list[Template], next_token: str | None, request_id: str) -> dict[str, Any]:
    """TemplateVersionsResponse."""
    out: list[dict[str, Any]] = []
    for r in records:
        item: dict[str, Any] = {
            "CreationDate": r.creation_date,
            "LastModifiedDate": r.last_modified_date,
            "TemplateName": r.name,
            "TemplateType": template_type(r),
            "Version": r.version,
        }
        if r.template_description is not None:
            item["TemplateDescription"] = r.template_description
        if r.default_substitutions_json is not None and not isinstance(r, InAppTemplate):
            item["DefaultSubstitutions"] = r.default_substitutions_json
        out.append(item)
    body: dict[str, Any] = {"Item": out, "RequestID": request_id}
    if next_token:
        body["NextToken"] = next_token
    return body
