"""An optional Cognito identity pool so a web or mobile app records events without shipping keys.

Signed-in users get credentials for the authenticated role through the enhanced flow
(``fromCognitoIdentityPool``); guests through the basic flow (GetOpenIdToken, then
AssumeRoleWithWebIdentity on the guest role), see the README. Both roles may only call PutEvents and
UpdateEndpoint, and only on the apps listed: the grants go through access.py, so they are
``execute-api:Invoke`` on exactly those methods and canonical paths.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.constructs.access import grant_pinpoint_actions

# What Amplify Analytics (and the README's JS example) need: register the device, send its events.
CLIENT_ACTIONS = ("mobiletargeting:UpdateEndpoint", "mobiletargeting:PutEvents")
COGNITO = "cognito-identity.amazonaws.com"


class EventsIdentityPool(Construct):
    """Identity pool (guest access allowed) whose unauthenticated and authenticated roles send events only."""

    def __init__(
        self, scope: Construct, construct_id: str, *, api: apigw.RestApi, app_ids: Sequence[str], name: str
    ) -> None:
        super().__init__(scope, construct_id)
        if not app_ids:
            raise ValueError("an events identity pool needs at least one application id")
        self.app_ids = tuple(app_ids)
        self.pool = cognito.CfnIdentityPool(
            self,
            "Pool",
            identity_pool_name=name,
            allow_unauthenticated_identities=True,  # guests: an app's visitors record events before any sign-in
            # Guests need the basic (classic) flow: in the enhanced flow Cognito caps guest sessions with
            # AmazonCognitoUnAuthedIdentitiesSessionPolicy, which has no execute-api. The roles below are
            # already narrower than that cap.
            allow_classic_flow=True,
        )
        self.unauthenticated_role = self._role("Unauthenticated", "unauthenticated")
        self.authenticated_role = self._role("Authenticated", "authenticated")
        for role in (self.unauthenticated_role, self.authenticated_role):
            grant_pinpoint_actions(api, role, actions=CLIENT_ACTIONS, app_ids=self.app_ids)
        cognito.CfnIdentityPoolRoleAttachment(
            self,
            "Roles",
            identity_pool_id=self.pool.ref,
            roles={
                "unauthenticated": self.unauthenticated_role.role_arn,
                "authenticated": self.authenticated_role.role_arn,
            },
        )
        CfnOutput(self, "IdentityPoolId", value=self.pool.ref, description="Cognito identity pool for web/mobile apps")
        CfnOutput(
            self,
            "GuestRoleArn",
            value=self.unauthenticated_role.role_arn,
            description="Role guests assume with the basic flow (GetOpenIdToken, then AssumeRoleWithWebIdentity)",
        )

    def _role(self, construct_id: str, amr: str) -> iam.Role:
        """A role only identities of this pool, of this kind (amr), can assume."""
        return iam.Role(
            self,
            construct_id,
            description=f"Homing: {amr} Cognito identities send events (PutEvents, UpdateEndpoint) to listed apps",
            assumed_by=iam.FederatedPrincipal(
                COGNITO,
                conditions={
                    "StringEquals": {f"{COGNITO}:aud": self.pool.ref},
                    "ForAnyValue:StringLike": {f"{COGNITO}:amr": amr},
                },
                assume_role_action="sts:AssumeRoleWithWebIdentity",
            ),
        )
