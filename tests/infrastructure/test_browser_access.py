"""Browsers and mobile apps: CORS on the API (preflights without auth, headers on gateway errors), the
optional Cognito identity pool, and the per-app access helper's execute-api ARNs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infrastructure.conftest import TEST_CONTEXT, Synthesized

pytestmark = pytest.mark.xdist_group("infrastructure")

APP_A = "0123456789abcdef0123456789abcdef"
APP_B = "fedcba9876543210fedcba9876543210"
ORIGINS = ("https://shop.example", "https://admin.example:8443")
GATEWAY_TYPES = {
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "ACCESS_DENIED",
    "MISSING_AUTHENTICATION_TOKEN",
    "INVALID_SIGNATURE",
    "EXPIRED_TOKEN",
    "THROTTLED",
    "REQUEST_TOO_LARGE",
}


def _methods(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::Method"]


def _gateway_responses(template: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        r["Properties"]["ResponseType"]: r["Properties"]["ResponseParameters"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::GatewayResponse"
    }


@pytest.fixture(scope="module")
def browser_synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The app synthesized with two CORS origins and an identity pool for two apps (cdk-nag included)."""
    import app as cdk_app

    outdir = tmp_path_factory.mktemp("cdk.out.browser")
    context = {**TEST_CONTEXT, "corsAllowOrigins": ",".join(ORIGINS), "identityPoolAppIds": f"{APP_A},{APP_B}"}
    application = cdk_app.build_app(context=context, outdir=str(outdir))
    application.synth()  # raises on any unacknowledged cdk-nag finding
    report = json.loads((outdir / "validation-report.json").read_text())
    return {
        "template": json.loads((outdir / "Homing-dev-Api.template.json").read_text()),
        "violations": [v for p in report["pluginReports"] for v in p.get("violations", [])],
    }


# -- CORS, default configuration (cdk.json: every origin) -----------------------------------------
def test_preflight_methods_are_mock_integrations_without_auth(synth: Synthesized) -> None:
    methods = _methods(synth.template(synth.api))
    preflights = [m for m in methods if m["HttpMethod"] == "OPTIONS"]

    assert len(preflights) == 2  # "/" and "/{proxy+}"
    for method in preflights:
        assert method["AuthorizationType"] == "NONE"
        assert method["Integration"]["Type"] == "MOCK"
        assert [r["StatusCode"] for r in method["MethodResponses"]] == ["204"]
        headers = method["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == "'*'"
        allowed = headers["method.response.header.Access-Control-Allow-Headers"].strip("'").split(",")
        for header in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-User-Agent"):
            assert header in allowed
        for header in ("amz-sdk-invocation-id", "amz-sdk-request", "Content-Type", "X-Amz-Content-Sha256"):
            assert header in allowed


def test_every_other_method_still_requires_iam(synth: Synthesized) -> None:
    others = [m for m in _methods(synth.template(synth.api)) if m["HttpMethod"] != "OPTIONS"]

    assert others
    assert {m["AuthorizationType"] for m in others} == {"AWS_IAM"}


def test_gateway_responses_carry_cors_headers(synth: Synthesized) -> None:
    responses = _gateway_responses(synth.template(synth.api))

    assert set(responses) == GATEWAY_TYPES
    for parameters in responses.values():
        assert parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
        exposed = parameters["gatewayresponse.header.Access-Control-Expose-Headers"].strip("'").split(",")
        assert "x-amzn-ErrorType" in exposed
        assert "x-amzn-RequestId" in exposed


def test_api_function_gets_the_same_origins(synth: Synthesized) -> None:
    env = synth.resource(synth.api.api_function.function)["Properties"]["Environment"]["Variables"]

    assert env["CORS_ALLOW_ORIGINS"] == "*"


def test_no_identity_pool_unless_apps_are_listed(synth: Synthesized) -> None:
    assert synth.resources(synth.api, "AWS::Cognito::IdentityPool") == {}


# -- CORS with listed origins, and the identity pool -----------------------------------------------
def test_listed_origins_only(browser_synth: dict[str, Any]) -> None:
    template = browser_synth["template"]
    preflight = next(m for m in _methods(template) if m["HttpMethod"] == "OPTIONS")
    response = preflight["Integration"]["IntegrationResponses"][0]
    function = next(
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "management API" in r["Properties"].get("Description", "")
    )

    assert response["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"] == f"'{ORIGINS[0]}'"
    assert response["ResponseParameters"]["method.response.header.Vary"] == "'Origin'"
    assert f'$origin == "{ORIGINS[1]}"' in response["ResponseTemplates"]["application/json"]
    assert function["Properties"]["Environment"]["Variables"]["CORS_ALLOW_ORIGINS"] == ",".join(ORIGINS)
    for parameters in _gateway_responses(template).values():
        assert parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == "method.request.header.Origin"
        assert parameters["gatewayresponse.header.Vary"] == "'Origin'"


def test_cdk_nag_is_clean_with_the_identity_pool(browser_synth: dict[str, Any]) -> None:
    assert browser_synth["violations"] == []


def _role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"]["Roles"]:
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _arn_path(arn: Any) -> str:
    """``/<METHOD>/<path>`` of an execute-api ARN built by arn_for_execute_api (a Fn::Join)."""
    parts = arn["Fn::Join"][1]
    assert parts[-2] == {"Ref": next(iter(parts[-2].values()))}  # the stage
    return str(parts[-1])


def test_identity_pool_roles_may_only_send_events_to_listed_apps(browser_synth: dict[str, Any]) -> None:
    template = browser_synth["template"]
    pools = [r for r in template["Resources"].values() if r["Type"] == "AWS::Cognito::IdentityPool"]
    attachment = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::Cognito::IdentityPoolRoleAttachment"
    )
    roles = {kind: arn["Fn::GetAtt"][0] for kind, arn in attachment["Properties"]["Roles"].items()}

    assert len(pools) == 1
    assert pools[0]["Properties"]["AllowUnauthenticatedIdentities"] is True
    assert pools[0]["Properties"]["AllowClassicFlow"] is True  # guests: the enhanced flow's cap has no execute-api
    assert set(roles) == {"unauthenticated", "authenticated"}
    expected = {
        f"/PUT/v1/apps/{APP_A}/endpoints/*",
        f"/POST/v1/apps/{APP_A}/events",
        f"/PUT/v1/apps/{APP_B}/endpoints/*",
        f"/POST/v1/apps/{APP_B}/events",
    }
    for kind, role_id in roles.items():
        (trust,) = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        audience = trust["Condition"]["StringEquals"]["cognito-identity.amazonaws.com:aud"]
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert trust["Principal"] == {"Federated": "cognito-identity.amazonaws.com"}
        assert template["Resources"][audience["Ref"]]["Type"] == "AWS::Cognito::IdentityPool"
        assert trust["Condition"]["ForAnyValue:StringLike"] == {"cognito-identity.amazonaws.com:amr": kind}
        statements = _role_statements(template, role_id)
        assert [s["Action"] for s in statements] == ["execute-api:Invoke"]
        assert statements[0]["Effect"] == "Allow"
        assert {_arn_path(arn) for arn in statements[0]["Resource"]} == expected
        assert template["Resources"][role_id]["Properties"].get("ManagedPolicyArns") is None


# -- configuration ---------------------------------------------------------------------------------
COMPLETE = {
    "api_throttling_rate_limit": 10,
    "api_throttling_burst_limit": 20,
    "log_retention": "ONE_WEEK",
    "removal_policy": "destroy",
}


def _config(context: dict[str, Any]) -> Any:
    from aws_cdk import App

    from stacks.config import EnvConfig

    return EnvConfig.from_context(App(context={"environments": {"dev": COMPLETE}, **context}).node)


def test_cors_allows_every_origin_by_default_and_can_be_turned_off() -> None:
    assert _config({}).cors_allow_origins == ("*",)
    assert _config({"corsAllowOrigins": ""}).cors_allow_origins == ()
    assert _config({"corsAllowOrigins": ["https://a.example"]}).cors_allow_origins == ("https://a.example",)


@pytest.mark.parametrize(
    "origins", ["*,https://a.example", "https://a.example/", "a.example", "https://*.example", "ftp://a.example"]
)
def test_bad_cors_origins_are_refused(origins: str) -> None:
    from stacks.config import ConfigError

    with pytest.raises(ConfigError, match=r"CORS|cors_allow_origins"):
        _config({"corsAllowOrigins": origins})


def test_identity_pool_app_ids_must_be_canonical() -> None:
    from stacks.config import ConfigError

    assert _config({"identityPoolAppIds": f"{APP_A}, {APP_A}"}).identity_pool_app_ids == (APP_A,)
    with pytest.raises(ConfigError, match="identity pool app id"):
        _config({"identityPoolAppIds": APP_A.upper()})
