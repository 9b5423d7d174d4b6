"""MonitoringStack: where alarms notify (stateless; the other stacks' alarms reference its topic)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aspects, CfnOutput, Stack
from constructs import Construct, IConstruct

from stacks.config import EnvConfig
from stacks.constructs.alarm_topic import AlarmTopic, NotifyAlarmTopic


class MonitoringStack(Stack):
    """The alarm topic (and its optional email subscription, ``alarm_email``).

    Its own stack so that every other stack can reference the topic without depending on one of
    its peers; the Data stack stays purely stateful.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description=f"Homing ({config.name}): alarm notifications", **kwargs)
        self.config = config
        self.alarm_topic = AlarmTopic(
            self, "AlarmTopic", email=config.alarm_email, removal_policy=config.removal_policy
        )
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.alarm_topic.topic.topic_arn,
            description="SNS topic every Homing alarm notifies (subscribe more targets here)",
        )

    def notify_on_every_alarm(self, scope: IConstruct) -> None:
        """Make every alarm in ``scope`` (the app) notify the topic on ALARM and OK."""
        Aspects.of(scope).add(NotifyAlarmTopic(self.alarm_topic))
