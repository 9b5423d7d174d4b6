"""The per-app access helper: Pinpoint action names -> execute-api ARNs of the paths the API really routes."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from tests.infrastructure.conftest import REPO_ROOT

pytestmark = pytest.mark.xdist_group("infrastructure")

APP = "0123456789abcdef0123456789abcdef"


def _served_routes() -> set[tuple[str, str]]:
    """(method, path pattern) of every route of the api function's resolver, parameters as ``*``."""
    from homing.api.app import build_resolver
    from homing.settings import ApiSettings

    settings = ApiSettings(region="us-east-1", resource_arn_prefix="")
    resolver = build_resolver(SimpleNamespace(settings=settings))  # type: ignore[arg-type]
    routes = resolver._static_routes + resolver._dynamic_routes
    return {
        (
            route.method.upper(),
            re.sub(r"<application_id>", "{app}", re.sub(r"<(?!application_id)\w+>", "*", route.path)),
        )
        for route in routes
    }


def test_every_route_is_covered_by_exactly_one_action_and_every_action_by_a_route() -> None:
    from stacks.constructs.access import PINPOINT_ACTIONS

    covered = [(op.method, op.path) for ops in PINPOINT_ACTIONS.values() for op in ops]
    assert sorted(set(covered)) == sorted(_served_routes())
    assert len(covered) == len(set(covered))


def test_paths_are_canonical_and_app_scoped_where_pinpoint_scoped_them() -> None:
    from stacks.constructs.access import method_paths

    pairs = method_paths(["mobiletargeting:GetEndpoint", "PutEvents", "GetApps"], [APP])

    assert pairs == [
        ("GET", f"/v1/apps/{APP}/endpoints/*"),
        ("POST", f"/v1/apps/{APP}/events"),
        ("GET", "/v1/apps"),
    ]


@pytest.mark.parametrize("app_id", [APP.upper(), APP[:-1], f"{APP}0", "..", "%30" + APP[2:]])
def test_non_canonical_app_ids_are_refused(app_id: str) -> None:
    from stacks.constructs.access import method_paths

    with pytest.raises(ValueError, match="32 lowercase hex"):
        method_paths(["GetEndpoint"], [app_id])


def test_unknown_actions_and_missing_apps_are_refused() -> None:
    from stacks.constructs.access import method_paths

    with pytest.raises(ValueError, match="unknown Pinpoint action"):
        method_paths(["mobiletargeting:CreateRecommenderConfiguration"], [APP])
    with pytest.raises(ValueError, match="scoped to apps"):
        method_paths(["GetEndpoint"], [])


def test_grant_writes_execute_api_invoke_on_exactly_those_arns() -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_apigateway as apigw
    from aws_cdk import aws_iam as iam

    from stacks.constructs.access import grant_pinpoint_actions

    stack = Stack(App(), "Access")
    api = apigw.RestApi(stack, "Api")
    api.root.add_method("ANY")
    role = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    grant_pinpoint_actions(api, role, actions=["GetEndpoint", "GetUserEndpoints"], app_ids=[APP])

    resolved = stack.resolve(role.node.find_child("DefaultPolicy").document)  # type: ignore[attr-defined]
    (statement,) = resolved["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Effect"] == "Allow"
    tails = [arn["Fn::Join"][1][-1] for arn in statement["Resource"]]
    assert tails == [f"/GET/v1/apps/{APP}/endpoints/*", f"/GET/v1/apps/{APP}/users/*"]
    assert all(":execute-api:" in str(arn) for arn in statement["Resource"])


def test_docs_table_matches_the_helper() -> None:
    """docs/access.md lists every action with its method and path, and nothing else."""
    from stacks.constructs.access import PINPOINT_ACTIONS

    text = (REPO_ROOT / "docs" / "access.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(?:mobiletargeting:)?(\w+)` \| `(\w+)` \| `([^`]+)` \|", text, re.MULTILINE)
    documented: dict[str, list[tuple[str, str]]] = {}
    for action, method, path in rows:
        documented.setdefault(action, []).append((method, path.replace("<app-id>", "{app}")))
    expected = {action: [(op.method, op.path) for op in ops] for action, ops in PINPOINT_ACTIONS.items()}
    assert documented == expected
