"""Message templates, pure: the five template records (email, SMS, voice, push, in-app), their
versions, and Pinpoint's rules for names, sizes and default substitutions.

Templates are account-level (no app). A template is one name and type with numbered versions
("1", "2", …); one of them is active (what a send uses when it names no version). Records are named
as the snake_case of Pinpoint's request members, so senders, campaigns and journeys read them as
they read the API reference.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from homing.domain.errors import BadRequest

# Pinpoint's TemplateType values and the path segment each uses (/v1/templates/<name>/<segment>).
EMAIL, SMS, VOICE, PUSH, INAPP = "EMAIL", "SMS", "VOICE", "PUSH", "INAPP"
TEMPLATE_TYPES = (EMAIL, SMS, VOICE, PUSH, INAPP)
PATH_TYPES = {"email": EMAIL, "sms": SMS, "voice": VOICE, "push": PUSH, "inapp": INAPP}

# Pinpoint's quotas (reference/pinpoint-api.md §7, pinpoint-formats.md §5.1).
MAX_NAME_LENGTH = 128
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
TEMPLATES_PER_ACCOUNT = 20_000
VERSIONS_PER_TEMPLATE = 5_000
MAX_EMAIL_CHARS = 600_000
MAX_SMS_CHARS = 1_600
MAX_VOICE_CHARS = 10_000
MAX_INAPP_CHARS = 200_000
MAX_PUSH_CHARS = 4_000
MAX_ADM_CHARS = 6_000
MAX_EMAIL_HEADERS = 15
MAX_DESCRIPTION_CHARS = 500  # TemplateDescription: not documented as a quota; a bound all the same
LAYOUTS = frozenset({"BOTTOM_BANNER", "TOP_BANNER", "OVERLAYS", "MOBILE_FEED", "MIDDLE_BANNER", "CAROUSEL"})
PUSH_ACTIONS = frozenset({"OPEN_APP", "DEEP_LINK", "URL"})
ALIGNMENTS = frozenset({"LEFT", "CENTER", "RIGHT"})
BUTTON_ACTIONS = frozenset({"LINK", "DEEP_LINK", "CLOSE"})


@dataclass(frozen=True, kw_only=True)
class TemplateBase:
    """What every template version carries besides its content."""

    name: str = ""
    version: str = ""  # "1", "2", …
    creation_date: str = ""  # of the template (its first version)
    last_modified_date: str = ""  # of this version
    template_description: str | None = None
    default_substitutions_json: str | None = None  # DefaultSubstitutions as sent, echoed unchanged
    recommender_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @cached_property
    def default_substitutions(self) -> dict[str, str]:
        """Variable (dotted path) -> default, from DefaultSubstitutions (validated when stored)."""
        return parse_default_substitutions(self.default_substitutions_json, "DefaultSubstitutions")


@dataclass(frozen=True)
class MessageHeader:
    name: str | None = None
    value: str | None = None


@dataclass(frozen=True, kw_only=True)
class EmailTemplate(TemplateBase):
    subject: str | None = None
    html_part: str | None = None
    text_part: str | None = None
    headers: list[MessageHeader] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class SmsTemplate(TemplateBase):
    body: str | None = None


@dataclass(frozen=True, kw_only=True)
class VoiceTemplate(TemplateBase):
    body: str | None = None
    language_code: str | None = None
    voice_id: str | None = None


@dataclass(frozen=True)
class PushPart:
    """One platform's part of a push template (Default, APNS, GCM, ADM, Baidu); the Android-only and
    APNs-only members are None on the others."""

    action: str | None = None
    title: str | None = None
    body: str | None = None
    url: str | None = None
    image_url: str | None = None
    image_icon_url: str | None = None
    small_image_icon_url: str | None = None
    media_url: str | None = None
    sound: str | None = None
    raw_content: str | None = None


@dataclass(frozen=True, kw_only=True)
class PushTemplate(TemplateBase):
    default: PushPart | None = None
    apns: PushPart | None = None
    gcm: PushPart | None = None
    adm: PushPart | None = None
    baidu: PushPart | None = None


@dataclass(frozen=True, kw_only=True)
class InAppTemplate(TemplateBase):
    """In-app content is kept in Pinpoint's own JSON shape (InAppMessageContent list, CustomConfig)."""

    content: list[dict[str, Any]] = field(default_factory=list)
    custom_config: dict[str, str] = field(default_factory=dict)
    layout: str | None = None


Template = EmailTemplate | SmsTemplate | VoiceTemplate | PushTemplate | InAppTemplate
RECORDS: dict[str, type[Template]] = {
    EMAIL: EmailTemplate,
    SMS: SmsTemplate,
    VOICE: VoiceTemplate,
    PUSH: PushTemplate,
    INAPP: InAppTemplate,
}
PUSH_PARTS = ("default", "apns", "gcm", "adm", "baidu")


@dataclass(frozen=True)
class TemplateSummary:
    """A template as ListTemplates shows it: its active version's metadata."""

    name: str
    template_type: str
    version: str
    creation_date: str
    last_modified_date: str
    template_description: str | None = None
    default_substitutions_json: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def template_type(record: Template) -> str:
    return next(t for t, cls in RECORDS.items() if isinstance(record, cls))


def check_name(name: str) -> None:
    """Pinpoint: starts with a letter or digit; letters, digits, ``_`` and ``-``; at most 128 characters."""
    if not NAME_PATTERN.fullmatch(name):
        raise BadRequest(
            "template-name must start with a letter or digit and contain at most 128 letters, digits, "
            "underscores (_) or hyphens (-)"
        )


def parse_version(raw: str | None, field_name: str = "version") -> int | None:
    """A version id ("1", "2", …) as a number; None when not given."""
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= VERSIONS_PER_TEMPLATE * 1000:
        raise BadRequest(f"{field_name} must be the identifier of a template version (a positive integer)")
    return int(raw)


def parse_default_substitutions(raw: str | None, field_name: str) -> dict[str, str]:
    """DefaultSubstitutions is a string holding a JSON object: variable -> default text. Nested objects
    (``{"User": {"UserAttributes": {"FirstName": "there"}}}``) are read as dotted paths."""
    if raw is None or raw.strip() == "":
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise BadRequest(f"{field_name} must be a JSON object of variable names to default values") from None
    if not isinstance(value, dict):
        raise BadRequest(f"{field_name} must be a JSON object of variable names to default values")
    flat: dict[str, str] = {}
    stack: list[tuple[str, dict[str, Any]]] = [("", value)]
    while stack:
        prefix, node = stack.pop()
        for key, item in node.items():
            path = f"{prefix}{key}"
            if isinstance(item, dict):
                stack.append((f"{path}.", item))
            elif isinstance(item, str):
                flat[path] = item
            else:
                raise BadRequest(f"{field_name}: the default of {path} must be a string")
    return flat


def _length(*parts: str | None) -> int:
    return sum(len(p) for p in parts if p)


def _limit(size: int, limit: int, field_name: str) -> None:
    if size > limit:
        raise BadRequest(f"{field_name} exceeds the maximum of {limit} characters")


def check_template(record: Template) -> None:
    """The content rules of each type, each 400 naming the field; run before anything is written."""
    parse_default_substitutions(record.default_substitutions_json, "DefaultSubstitutions")
    if record.template_description is not None:
        _limit(len(record.template_description), MAX_DESCRIPTION_CHARS, "TemplateDescription")
    if isinstance(record, EmailTemplate):
        _check_email(record)
    elif isinstance(record, SmsTemplate):
        _limit(_length(record.body), MAX_SMS_CHARS, "Body")
    elif isinstance(record, VoiceTemplate):
        _limit(_length(record.body), MAX_VOICE_CHARS, "Body")
    elif isinstance(record, PushTemplate):
        _check_push(record)
    else:
        _check_in_app(record)


def _check_email(record: EmailTemplate) -> None:
    if len(record.headers) > MAX_EMAIL_HEADERS:
        raise BadRequest(f"Headers: at most {MAX_EMAIL_HEADERS} headers are allowed")
    for i, header in enumerate(record.headers):
        if not header.name:
            raise BadRequest(f"Headers[{i}].Name is required")
    size = _length(record.subject, record.html_part, record.text_part, record.default_substitutions_json)
    _limit(size, MAX_EMAIL_CHARS, "The email template (Subject, HtmlPart, TextPart)")


def _check_push(record: PushTemplate) -> None:
    for part_name in PUSH_PARTS:
        part: PushPart | None = getattr(record, part_name)
        if part is None:
            continue
        label = {"default": "Default", "apns": "APNS", "gcm": "GCM", "adm": "ADM", "baidu": "Baidu"}[part_name]
        if part.action is not None and part.action not in PUSH_ACTIONS:
            raise BadRequest(f"{label}.Action must be one of {', '.join(sorted(PUSH_ACTIONS))}")
        size = _length(part.title, part.body, part.url, part.image_url, part.sound, part.raw_content)
        size += _length(part.image_icon_url, part.small_image_icon_url, part.media_url)
        _limit(size, MAX_ADM_CHARS if part_name == "adm" else MAX_PUSH_CHARS, label)


def _check_in_app(record: InAppTemplate) -> None:
    if record.layout is not None and record.layout not in LAYOUTS:
        raise BadRequest(f"Layout must be one of {', '.join(sorted(LAYOUTS))}")
    if len(record.content) > 5:
        raise BadRequest("Content: an in-app template holds at most 5 messages")
    for i, message in enumerate(record.content):
        for key in ("HeaderConfig", "BodyConfig"):
            config = message.get(key)
            if config is None:
                continue
            if not isinstance(config, dict) or config.get("Alignment") not in ALIGNMENTS:
                raise BadRequest(f"Content[{i}].{key}.Alignment must be one of LEFT, CENTER, RIGHT")
        for key in ("PrimaryBtn", "SecondaryBtn"):
            button = message.get(key)
            if isinstance(button, dict) and isinstance(button.get("DefaultConfig"), dict):
                action = button["DefaultConfig"].get("ButtonAction")
                if action not in BUTTON_ACTIONS:
                    raise BadRequest(
                        f"Content[{i}].{key}.DefaultConfig.ButtonAction must be one of LINK, DEEP_LINK, CLOSE"
                    )
    size = len(json.dumps(record.content)) + len(json.dumps(record.custom_config))
    _limit(size, MAX_INAPP_CHARS, "The in-app template (Content, CustomConfig)")
