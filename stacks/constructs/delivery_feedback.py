"""DeliveryFeedback: delivery receipts and inbound SMS come back through SNS into two functions.

- Receipts topic <- the SES configuration set's event destination (built here) and End User
  Messaging SMS/voice configuration sets' event destinations (one CLI command, docs) ->
  record_receipts -> the events stream (Pinpoint's `_email.*`, `_SMS.*`, `_voice.*` records), and
  hard bounces / complaints -> Endpoints INACTIVE.
- Inbound SMS topic <- End User Messaging two-way SMS (the phone number's TwoWayChannelArn) ->
  receive_sms -> opt-outs, keyword replies, `_SMS.RECEIVED`, forwarding to the app's topic.

SNS invokes Lambda asynchronously, one message per invocation: a failed invocation is retried twice
by Lambda, then sent to the function's dead-letter queue (on-failure destination), which alarms.
Both topics are encrypted with the Data stack's messaging key, which SES and End User Messaging may
use to publish (the data key is not opened to service principals), and are TLS-only.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from homing.adapters.dynamodb.tables import APPS, CATALOG, DELIVERY_LEDGER, ENDPOINTS, TWO_WAY_SMS, Table
from homing.settings import Env
from stacks.constructs.alarms import dead_letters_alarm
from stacks.constructs.function import HomingFunction
from stacks.constructs.queues import secure_queue
from stacks.constructs.senders import grant_sending, sms_carrier
from stacks.resources import DataResources, function_environment

# What each function reads and writes (its environment names exactly these; grants below).
RECEIPT_TABLES = (APPS, ENDPOINTS, CATALOG)
INBOUND_TABLES = (APPS, ENDPOINTS, CATALOG, TWO_WAY_SMS, DELIVERY_LEDGER)  # replies are sent idempotently
PUBLISHERS = ("ses.amazonaws.com", "sms-voice.amazonaws.com")  # SES v2 and End User Messaging
RETRY_ATTEMPTS = 2  # Lambda's asynchronous retries before the dead-letter queue
RETENTION = Duration.days(14)
CONFIGURATION_SET_CONTEXT_KEY = "ses_configuration_set"  # the name the email channel's ConfigurationSet uses


class DeliveryFeedback(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: DataResources,
        configuration_set_name: str,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        if data.messaging_key is None:
            raise ValueError("DeliveryFeedback needs the Data stack's messaging key (its topics' encryption)")
        self.key = data.messaging_key
        self.receipts_topic = self._topic("ReceiptsTopic", "Homing delivery receipts")
        self.inbound_topic = self._topic("InboundSmsTopic", "Homing inbound SMS")

        self.record_receipts, self.receipts_dead_letters = self._function(
            data,
            "RecordReceipts",
            entry="record_receipts",
            description="Homing: SES and End User Messaging delivery receipts -> engagement events",
            tables=RECEIPT_TABLES,
            topic=self.receipts_topic,
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        self.receive_sms, self.inbound_dead_letters = self._function(
            data,
            "ReceiveSms",
            entry="receive_sms",
            description="Homing: inbound SMS -> opt-outs, keyword replies, events, forwarding",
            tables=INBOUND_TABLES,
            topic=self.inbound_topic,
            env={Env.SMS_CARRIER: sms_carrier(self)},
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        receipts_fn, inbound_fn = self.record_receipts.function, self.receive_sms.function
        for fn in (receipts_fn, inbound_fn):
            # EndpointService.mark_address, as run_jobs writes endpoints: the app's liveness checked in the
            # transaction, the by-address index, the endpoints and their users' records.
            data.tables[APPS].grant_read_data(fn)
            for table in (ENDPOINTS, CATALOG):
                data.tables[table].grant_read_write_data(fn)
            data.event_stream.grant_write(fn)
            data.key.grant_encrypt_decrypt(fn)
        data.tables[TWO_WAY_SMS].grant(
            inbound_fn, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"
        )  # configuration and number owner reads; the inbound marker's claim and release
        # HELP and keyword replies: SMS through the senders, each reply key sent at most once (the ledger).
        grant_sending(self, inbound_fn, data, custom_functions=(), carrier=sms_carrier(self))
        # Forwarding: the topics apps name (UpdateTwoWaySms checks they are SNS topic ARNs) in this account.
        inbound_fn.add_to_role_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[f"arn:{Aws.PARTITION}:sns:*:{Aws.ACCOUNT_ID}:*"])
        )

        # The SES side, built here: the configuration set the email channel names, publishing every
        # event type Pinpoint recorded to the receipts topic, with the message's tags (carrier tags).
        self.configuration_set = ses.ConfigurationSet(
            self, "ConfigurationSet", configuration_set_name=configuration_set_name
        )
        self.configuration_set.add_event_destination(
            "Receipts",
            destination=ses.EventDestination.sns_topic(self.receipts_topic),
            events=[
                ses.EmailSendingEvent.SEND,
                ses.EmailSendingEvent.REJECT,
                ses.EmailSendingEvent.BOUNCE,
                ses.EmailSendingEvent.COMPLAINT,
                ses.EmailSendingEvent.DELIVERY,
                ses.EmailSendingEvent.OPEN,
                ses.EmailSendingEvent.CLICK,
                ses.EmailSendingEvent.RENDERING_FAILURE,
            ],
        )
        for name, value, description in (
            ("ConfigurationSetName", configuration_set_name, "The SES configuration set the email channel names"),
            ("ReceiptsTopicArn", self.receipts_topic.topic_arn, "End User Messaging configuration sets' destination"),
            ("InboundSmsTopicArn", self.inbound_topic.topic_arn, "Each phone number's two-way SNS topic"),
        ):
            CfnOutput(self, name, value=value, description=description)

    def _topic(self, construct_id: str, display_name: str) -> sns.Topic:
        topic = sns.Topic(self, construct_id, display_name=display_name, master_key=self.key, enforce_ssl=True)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowMessagingServicesToPublish",
                principals=[iam.ServicePrincipal(p) for p in PUBLISHERS],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        return topic

    def _function(
        self,
        data: DataResources,
        construct_id: str,
        *,
        entry: str,
        description: str,
        tables: tuple[Table, ...],
        topic: sns.Topic,
        env: dict[str, str] | None = None,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> tuple[HomingFunction, sqs.Queue]:
        dead_letters = secure_queue(
            self, f"{construct_id}DeadLetters", key=data.key, retention=RETENTION, removal_policy=removal_policy
        )
        function = HomingFunction(
            self,
            construct_id,
            entry=entry,
            description=description,
            env=function_environment(
                data, tables, {Env.EVENT_STREAM_NAME: data.event_stream.stream_name, **(env or {})}
            ),
            log_retention=log_retention,
            log_removal_policy=removal_policy,
        )
        lambda_.EventInvokeConfig(
            self,
            f"{construct_id}InvokeConfig",
            function=function.function,
            retry_attempts=RETRY_ATTEMPTS,
            on_failure=destinations.SqsDestination(dead_letters),
        )
        topic.add_subscription(subscriptions.LambdaSubscription(function.function))
        dead_letters_alarm(
            function,
            dead_letters,
            f"{entry} failed a notification three times; the dead-letter queue holds it (the SNS message "
            "and the error). Fix the cause, then send the message to the topic again.",
        )
        return function, dead_letters
