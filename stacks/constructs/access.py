"""Per-app access: Pinpoint IAM action names mapped to the execute-api ARNs of their method and path.

Pinpoint customers scoped policies to ``mobiletargeting:<Action>`` on ``apps/<id>/*``. Behind API
Gateway the same intent is ``execute-api:Invoke`` on ``<api>/<stage>/<METHOD>/<path>``; this module
holds the one table from action to method and path (documented in docs/access.md) and a helper that
grants a principal chosen actions on chosen apps. Paths use the canonical spelling only
(``/v1/apps/<32 lowercase hex>/...``): the API refuses any other spelling, so a Deny written on these
ARNs cannot be sidestepped with ``%2F``, dot segments or upper case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam

APP_ID = re.compile(r"[0-9a-f]{32}")
ACTION_PREFIX = "mobiletargeting:"
APP = "{app}"  # placeholder of the application id in a path template


@dataclass(frozen=True)
class Operation:
    """The HTTP method and path (``*`` = one path parameter) an action covers."""

    method: str
    path: str

    @property
    def app_scoped(self) -> bool:
        return APP in self.path

    def for_app(self, app_id: str) -> str:
        return self.path.replace(APP, app_id)


_APPS = "/v1/apps/" + APP

# Pinpoint's IAM action names (and Homing's extensions) -> what each one covers.
PINPOINT_ACTIONS: dict[str, tuple[Operation, ...]] = {
    # apps (account-level: not scoped to an app)
    "CreateApp": (Operation("POST", "/v1/apps"),),
    "GetApps": (Operation("GET", "/v1/apps"),),
    # apps
    "GetApp": (Operation("GET", _APPS),),
    "DeleteApp": (Operation("DELETE", _APPS),),
    "GetApplicationSettings": (Operation("GET", f"{_APPS}/settings"),),
    "UpdateApplicationSettings": (Operation("PUT", f"{_APPS}/settings"),),
    # endpoints and users
    "UpdateEndpoint": (Operation("PUT", f"{_APPS}/endpoints/*"),),
    "UpdateEndpointsBatch": (Operation("PUT", f"{_APPS}/endpoints"),),
    "GetEndpoint": (Operation("GET", f"{_APPS}/endpoints/*"),),
    "DeleteEndpoint": (Operation("DELETE", f"{_APPS}/endpoints/*"),),
    "GetUserEndpoints": (Operation("GET", f"{_APPS}/users/*"),),
    "DeleteUserEndpoints": (Operation("DELETE", f"{_APPS}/users/*"),),
    "RemoveAttributes": (Operation("PUT", f"{_APPS}/attributes/*"),),
    # events and event streams
    "PutEvents": (Operation("POST", f"{_APPS}/events"),),
    "PutEventStream": (Operation("POST", f"{_APPS}/eventstream"),),
    "GetEventStream": (Operation("GET", f"{_APPS}/eventstream"),),
    "DeleteEventStream": (Operation("DELETE", f"{_APPS}/eventstream"),),
    # direct messages
    "SendMessages": (Operation("POST", f"{_APPS}/messages"),),
    "SendUsersMessages": (Operation("POST", f"{_APPS}/users-messages"),),
    # segments
    "CreateSegment": (Operation("POST", f"{_APPS}/segments"),),
    "GetSegments": (Operation("GET", f"{_APPS}/segments"),),
    "GetSegment": (Operation("GET", f"{_APPS}/segments/*"),),
    "UpdateSegment": (Operation("PUT", f"{_APPS}/segments/*"),),
    "DeleteSegment": (Operation("DELETE", f"{_APPS}/segments/*"),),
    "GetSegmentVersions": (Operation("GET", f"{_APPS}/segments/*/versions"),),
    "GetSegmentVersion": (Operation("GET", f"{_APPS}/segments/*/versions/*"),),
    # import and export jobs
    "CreateImportJob": (Operation("POST", f"{_APPS}/jobs/import"),),
    "GetImportJobs": (Operation("GET", f"{_APPS}/jobs/import"),),
    "GetImportJob": (Operation("GET", f"{_APPS}/jobs/import/*"),),
    "GetSegmentImportJobs": (Operation("GET", f"{_APPS}/segments/*/jobs/import"),),
    "CreateExportJob": (Operation("POST", f"{_APPS}/jobs/export"),),
    "GetExportJobs": (Operation("GET", f"{_APPS}/jobs/export"),),
    "GetExportJob": (Operation("GET", f"{_APPS}/jobs/export/*"),),
    "GetSegmentExportJobs": (Operation("GET", f"{_APPS}/segments/*/jobs/export"),),
    # channels
    "GetChannels": (Operation("GET", f"{_APPS}/channels"),),
    "GetEmailChannel": (Operation("GET", f"{_APPS}/channels/email"),),
    "UpdateEmailChannel": (Operation("PUT", f"{_APPS}/channels/email"),),
    "DeleteEmailChannel": (Operation("DELETE", f"{_APPS}/channels/email"),),
    "GetSmsChannel": (Operation("GET", f"{_APPS}/channels/sms"),),
    "UpdateSmsChannel": (Operation("PUT", f"{_APPS}/channels/sms"),),
    "DeleteSmsChannel": (Operation("DELETE", f"{_APPS}/channels/sms"),),
    "GetVoiceChannel": (Operation("GET", f"{_APPS}/channels/voice"),),
    "UpdateVoiceChannel": (Operation("PUT", f"{_APPS}/channels/voice"),),
    "DeleteVoiceChannel": (Operation("DELETE", f"{_APPS}/channels/voice"),),
    "GetApnsChannel": (Operation("GET", f"{_APPS}/channels/apns"),),
    "UpdateApnsChannel": (Operation("PUT", f"{_APPS}/channels/apns"),),
    "DeleteApnsChannel": (Operation("DELETE", f"{_APPS}/channels/apns"),),
    "GetApnsSandboxChannel": (Operation("GET", f"{_APPS}/channels/apns_sandbox"),),
    "UpdateApnsSandboxChannel": (Operation("PUT", f"{_APPS}/channels/apns_sandbox"),),
    "DeleteApnsSandboxChannel": (Operation("DELETE", f"{_APPS}/channels/apns_sandbox"),),
    "GetApnsVoipChannel": (Operation("GET", f"{_APPS}/channels/apns_voip"),),
    "UpdateApnsVoipChannel": (Operation("PUT", f"{_APPS}/channels/apns_voip"),),
    "DeleteApnsVoipChannel": (Operation("DELETE", f"{_APPS}/channels/apns_voip"),),
    "GetApnsVoipSandboxChannel": (Operation("GET", f"{_APPS}/channels/apns_voip_sandbox"),),
    "UpdateApnsVoipSandboxChannel": (Operation("PUT", f"{_APPS}/channels/apns_voip_sandbox"),),
    "DeleteApnsVoipSandboxChannel": (Operation("DELETE", f"{_APPS}/channels/apns_voip_sandbox"),),
    "GetGcmChannel": (Operation("GET", f"{_APPS}/channels/gcm"),),
    "UpdateGcmChannel": (Operation("PUT", f"{_APPS}/channels/gcm"),),
    "DeleteGcmChannel": (Operation("DELETE", f"{_APPS}/channels/gcm"),),
    "GetBaiduChannel": (Operation("GET", f"{_APPS}/channels/baidu"),),
    "UpdateBaiduChannel": (Operation("PUT", f"{_APPS}/channels/baidu"),),
    "DeleteBaiduChannel": (Operation("DELETE", f"{_APPS}/channels/baidu"),),
    "GetAdmChannel": (Operation("GET", f"{_APPS}/channels/adm"),),
    "UpdateAdmChannel": (Operation("PUT", f"{_APPS}/channels/adm"),),
    "DeleteAdmChannel": (Operation("DELETE", f"{_APPS}/channels/adm"),),
    # campaigns
    "CreateCampaign": (Operation("POST", f"{_APPS}/campaigns"),),
    "GetCampaigns": (Operation("GET", f"{_APPS}/campaigns"),),
    "GetCampaign": (Operation("GET", f"{_APPS}/campaigns/*"),),
    "UpdateCampaign": (Operation("PUT", f"{_APPS}/campaigns/*"),),
    "DeleteCampaign": (Operation("DELETE", f"{_APPS}/campaigns/*"),),
    "GetCampaignVersions": (Operation("GET", f"{_APPS}/campaigns/*/versions"),),
    "GetCampaignVersion": (Operation("GET", f"{_APPS}/campaigns/*/versions/*"),),
    "GetCampaignActivities": (Operation("GET", f"{_APPS}/campaigns/*/activities"),),
    # analytics
    "GetApplicationDateRangeKpi": (Operation("GET", f"{_APPS}/kpis/daterange/*"),),
    "GetCampaignDateRangeKpi": (Operation("GET", f"{_APPS}/campaigns/*/kpis/daterange/*"),),
    "GetJourneyDateRangeKpi": (Operation("GET", f"{_APPS}/journeys/*/kpis/daterange/*"),),
    # one-time passwords and phone numbers
    "SendOTPMessage": (Operation("POST", f"{_APPS}/otp"),),
    "VerifyOTPMessage": (Operation("POST", f"{_APPS}/verify-otp"),),
    "PhoneNumberValidate": (Operation("POST", "/v1/phone/number/validate"),),
    # tags: the resource ARN travels percent-encoded in the path, so these are not scoped per app
    "TagResource": (Operation("POST", "/v1/tags/*"),),
    "UntagResource": (Operation("DELETE", "/v1/tags/*"),),
    "ListTagsForResource": (Operation("GET", "/v1/tags/*"),),
    # message templates (account-level: /v1/templates/<name>/<type>)
    "ListTemplates": (Operation("GET", "/v1/templates"),),
    "ListTemplateVersions": (Operation("GET", "/v1/templates/*/*/versions"),),
    "UpdateTemplateActiveVersion": (Operation("PUT", "/v1/templates/*/*/active-version"),),
    **{
        f"{verb}{kind}Template": (Operation(method, f"/v1/templates/*/{kind.lower()}"),)
        for kind in ("Email", "Sms", "Voice", "Push", "InApp")
        for verb, method in (("Create", "POST"), ("Get", "GET"), ("Update", "PUT"), ("Delete", "DELETE"))
    },
    # Homing extensions (no Pinpoint counterpart; same naming)
    "ListEndpoints": (Operation("GET", f"{_APPS}/endpoints"),),
    "GetEventStatistics": (Operation("GET", f"{_APPS}/events/*/stats"),),
    "QueryFunnel": (Operation("POST", f"{_APPS}/funnels"),),
    "ResolveSegmentAudience": (Operation("POST", f"{_APPS}/segments/*/audience"),),
    "GetSegmentAudience": (Operation("GET", f"{_APPS}/segments/*/audience"),),
    "UpdateTwoWaySms": (Operation("PUT", f"{_APPS}/two-way-sms"),),
    "GetTwoWaySms": (Operation("GET", f"{_APPS}/two-way-sms"),),
    "DeleteTwoWaySms": (Operation("DELETE", f"{_APPS}/two-way-sms"),),
}


def action_name(action: str) -> str:
    """``mobiletargeting:GetEndpoint`` or ``GetEndpoint`` -> ``GetEndpoint`` (ValueError if unknown)."""
    name = action.removeprefix(ACTION_PREFIX)
    if name not in PINPOINT_ACTIONS:
        raise ValueError(f"unknown Pinpoint action {action!r}; known: {', '.join(sorted(PINPOINT_ACTIONS))}")
    return name


def check_app_id(app_id: str) -> str:
    if not APP_ID.fullmatch(app_id):
        raise ValueError(f"application id {app_id!r} is not 32 lowercase hex characters (Pinpoint's form)")
    return app_id


def method_paths(actions: Iterable[str], app_ids: Sequence[str]) -> list[tuple[str, str]]:
    """Every (method, canonical path) the actions cover on the apps, without duplicates, in order."""
    apps = [check_app_id(a) for a in app_ids]
    found: list[tuple[str, str]] = []
    for action in actions:
        for operation in PINPOINT_ACTIONS[action_name(action)]:
            if operation.app_scoped and not apps:
                raise ValueError(f"{action} is scoped to apps: give at least one application id")
            paths = [operation.for_app(a) for a in apps] if operation.app_scoped else [operation.path]
            for path in paths:
                if (operation.method, path) not in found:
                    found.append((operation.method, path))
    return found


def execute_api_arns(api: apigw.RestApi, actions: Iterable[str], app_ids: Sequence[str]) -> list[str]:
    """``arn:<partition>:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>`` for each pair."""
    stage = api.deployment_stage.stage_name
    return [api.arn_for_execute_api(method, path, stage) for method, path in method_paths(actions, app_ids)]


def grant_pinpoint_actions(
    api: apigw.RestApi, principal: iam.IGrantable, *, actions: Sequence[str], app_ids: Sequence[str]
) -> iam.Grant:
    """Let ``principal`` call ``actions`` (Pinpoint IAM names) on ``app_ids`` only, and nothing else.

    Account-level actions (CreateApp, GetApps, tags) are granted on their path whatever the apps.
    """
    if not actions:
        raise ValueError("give at least one action")
    return iam.Grant.add_to_principal(
        grantee=principal, actions=["execute-api:Invoke"], resource_arns=execute_api_arns(api, actions, app_ids)
    )
