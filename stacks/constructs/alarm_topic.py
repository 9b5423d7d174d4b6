"""AlarmTopic: where every Homing alarm sends its ALARM and OK notifications (SNS, encrypted)."""

from __future__ import annotations

import jsii
from aws_cdk import ArnFormat, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct, IConstruct

CLOUDWATCH = "cloudwatch.amazonaws.com"


class AlarmTopic(Construct):
    """An SNS topic encrypted with its own KMS key, TLS-only, optionally with one email subscription.

    Its own key rather than the data key: CloudWatch must be allowed to use the key of an encrypted
    topic it publishes to (the AWS-managed aws/sns key cannot allow that), and the key that protects
    personal data should not be opened to a service principal for an alarm. The topic policy keeps
    SNS's TLS-only denial and lets CloudWatch publish only for alarms of this account.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        email: str | None,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description="Homing alarm notifications (SNS topic encryption)",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        # What CloudWatch needs to publish to an encrypted topic (CloudWatch alarms documentation).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Homing alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        # A topic policy replaces SNS's default one, so CloudWatch's publish is allowed explicitly,
        # for this account's alarms only (no confused deputy).
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        if email is not None:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    @property
    def action(self) -> cloudwatch_actions.SnsAction:
        return cloudwatch_actions.SnsAction(self.topic)


@jsii.implements(IAspect)
class NotifyAlarmTopic:
    """Aspect: every CloudWatch alarm in scope notifies ``topic`` on ALARM and on OK.

    Applied to the whole app, so alarms added later (by any stack) notify without being wired one
    by one; an infrastructure test checks that every alarm of every template does.
    """

    def __init__(self, topic: AlarmTopic) -> None:
        self._topic = topic

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, cloudwatch.AlarmBase):
            node.add_alarm_action(self._topic.action)
            node.add_ok_action(self._topic.action)
