"""Alarms shared by several constructs (each alarm notifies the alarm topic through NotifyAlarmTopic)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def dead_letters_alarm(scope: Construct, queue: sqs.IQueue, description: str) -> cloudwatch.Alarm:
    """``DeadLettersAlarm`` in ``scope``: any message in the dead-letter queue ``queue`` is an incident."""
    return cloudwatch.Alarm(
        scope,
        "DeadLettersAlarm",
        alarm_description=description,
        metric=queue.metric_approximate_number_of_messages_visible(
            statistic=cloudwatch.Stats.MAXIMUM, period=Duration.minutes(5)
        ),
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
