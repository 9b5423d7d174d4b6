"""cdk-nag: the AwsSolutions checks and every acknowledged finding, each with its reason, in one place.

cdk-nag 3 acknowledges through CDK's ``Validations.of(construct).acknowledge`` (NagSuppressions is
gone), one finding at a time: ``AwsSolutions-IAM5[Action::kms:ReEncrypt*]`` and
``AwsSolutions-IAM5[Resource::*]`` are separate acknowledgements. Acknowledge on the narrowest
construct that owns the finding, never on a whole stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aws_cdk import Acknowledgment, App, Aws, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from homing.adapters.dynamodb.tables import ENDPOINTS
from stacks.arns import event_stream_accounts

if TYPE_CHECKING:
    from stacks.api_stack import ApiStack
    from stacks.constructs.campaign_sending import CampaignSending
    from stacks.data_stack import DataStack
    from stacks.events_stack import EventsStack

PACK = "AwsSolutions"


def apply_checks(app: App) -> None:
    """Run the AwsSolutions rule pack on every stack of ``app`` at synth (errors fail synth)."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def _ack(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{PACK}-{rule}", reason=reason))


def _ack_tracing(role: IConstruct) -> None:
    """Every function role: Lambda active tracing writes to X-Ray, which has no resource-level permissions."""
    _ack(
        role,
        "IAM5[Resource::*]",
        "Only X-Ray's xray:PutTraceSegments and xray:PutTelemetryRecords (Lambda active tracing) use "
        "Resource '*': these actions have no resource-level permissions.",
    )


def _import_name(producer: Stack, value: Any) -> str:
    """The export name CDK uses when another stack references ``value`` of ``producer``.

    ``export_value`` returns the same export the automatic cross-stack reference creates (same id),
    so the name in the consumer's ``Fn::ImportValue`` (and hence in cdk-nag's finding id) is this one.
    """
    resolved = producer.resolve(producer.export_value(value))
    return str(resolved["Fn::ImportValue"])


def acknowledge(*, data: DataStack, api: ApiStack, events: EventsStack) -> None:
    """Acknowledge every finding that is intended, with the reason it is."""
    _acknowledge_data(data)
    _acknowledge_api(api, data)
    _acknowledge_cleanup(api, data)
    _acknowledge_jobs(api, data)
    _acknowledge_audiences(api, data)
    _acknowledge_senders(api, events)
    _acknowledge_events(events, data)
    _acknowledge_channels(api)
    _acknowledge_feedback(events, data)
    _acknowledge_campaigns(api, data)


def _acknowledge_data(data: DataStack) -> None:
    _ack(
        data.event_stream,
        "KDS3",
        "The event stream is encrypted with Homing's customer-managed data key (as are the tables and "
        "archive) so that the customer controls and audits access to event data; aws/kinesis cannot do that.",
    )


def _acknowledge_cleanup(api: ApiStack, data: DataStack) -> None:
    role = api.cleanup.clean_up_app.role
    _ack_tracing(role)
    endpoints_arn = _import_name(data, data.tables[ENDPOINTS].table_arn)
    _ack(
        role,
        f"IAM5[Resource::{endpoints_arn}/index/*]",
        "Table.grant covers the Endpoints table's own index ARNs too; the clean-up only queries the "
        "table and batch-deletes its items, and the wildcard covers index ARNs of that one table only.",
    )
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        _ack(
            role,
            f"IAM5[Action::{action}]",
            f"{action} comes from the grant on Homing's data key, which encrypts the tables and the clean-up "
            "queue the function reads, deletes from and sends continuations to; scoped to that one key.",
        )


def _acknowledge_jobs(api: ApiStack, data: DataStack) -> None:
    role = api.jobs.run_jobs.role
    _ack_tracing(role)
    endpoints_arn = _import_name(data, data.tables[ENDPOINTS].table_arn)
    _ack(
        role,
        f"IAM5[Resource::{endpoints_arn}/index/*]",
        "run_jobs writes imported endpoints the way UpdateEndpointsBatch does, which queries the Endpoints "
        "table's own indexes (by-user, by-address); the wildcard covers index ARNs of that one table only.",
    )
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        _ack(
            role,
            f"IAM5[Action::{action}]",
            f"{action} comes from the grants on Homing's data key, which encrypts the tables and the jobs "
            "queue run_jobs reads and writes; scoped to that one key.",
        )
    for bucket in api.jobs.buckets:
        for resource in (f"arn:<AWS::Partition>:s3:::{bucket}", f"arn:<AWS::Partition>:s3:::{bucket}/*"):
            if "*" not in resource:
                continue
            _ack(
                role,
                f"IAM5[Resource::{resource}]",
                "Import jobs read any object under the S3Url the caller names and export jobs write under their "
                "S3UrlPrefix, so object keys are only known at run time; the buckets are the ones the deployment "
                "configures for jobs (context job_buckets, default homing-jobs-*), and the API refuses others.",
            )


def _ack_audience_objects(role: IConstruct, data: DataStack, actions: str = "GetObject/PutObject") -> None:
    from homing.domain.audiences import PREFIX

    bucket_arn = _import_name(data, data.audience_bucket.bucket_arn)
    _ack(
        role,
        f"IAM5[Resource::{bucket_arn}/{PREFIX}/*]",
        f"Audience objects are named by app, segment and resolution at run time; the grant is {actions} "
        "under the audiences/ prefix of the one audience bucket.",
    )


def _acknowledge_audiences(api: ApiStack, data: DataStack) -> None:
    resolution = api.audiences
    role = resolution.resolve_audience.role
    _ack_tracing(role)
    _ack_audience_objects(role, data)
    _ack_audience_objects(api.api_function.role, data)
    _ack_audience_objects(api.cleanup.clean_up_app.role, data, "DeleteObject (DeleteApp's clean-up)")
    endpoints_arn = _import_name(data, data.tables[ENDPOINTS].table_arn)
    _ack(
        role,
        f"IAM5[Resource::{endpoints_arn}/index/*]",
        "resolve_audience queries the Endpoints table's by-channel index for single-channel segments; "
        "the grant is dynamodb:Query only, on that one table's indexes.",
    )
    machine_role = resolution.state_machine.role
    function = resolution.resolve_audience.function
    function_id = Stack.of(function).get_logical_id(function.node.default_child)  # type: ignore[arg-type]
    _ack(
        machine_role,
        f"IAM5[Resource::<{function_id}.Arn>:*]",
        "The state machine invokes resolve_audience (any version or alias of that one function, as the "
        "LambdaInvoke task's grant writes it).",
    )
    _ack(
        machine_role,
        "IAM5[Resource::*]",
        "X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) and CloudWatch Logs "
        "delivery (logs:CreateLogDelivery etc.) have no resource-level permissions.",
    )


def _acknowledge_senders(api: ApiStack, events: EventsStack) -> None:
    """send_messages, and the functions that send in-process through the same grants (``grant_sending``):
    the api (SendMessages, SendUsersMessages, OTP) and receive_sms (keyword replies, no custom channel)."""
    senders = api.senders
    role = senders.send_messages.role
    _ack_tracing(role)
    _acknowledge_sending(role, senders.carrier, senders.custom_functions)
    _acknowledge_sending(api.api_function.role, senders.carrier, senders.custom_functions)
    _acknowledge_sending(events.feedback.receive_sms.role, senders.carrier, ())
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        _ack(
            role,
            f"IAM5[Action::{action}]",
            f"{action} comes from the grant on Homing's data key, which encrypts the delivery ledger table "
            "send_messages reads and writes; scoped to that one key.",
        )


def _acknowledge_sending(role: Any, carrier: str, custom_functions: Sequence[str]) -> None:
    account = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{resource}"
    reasons = {
        ("ses", "identity/*"): "SES authorizes SendEmail on the From address's identity, which each app's "
        "email channel names at run time (any verified identity of the account).",
        ("ses", "configuration-set/*"): "SES authorizes SendEmail on the configuration set the email channel "
        "names for event tracking, known only at run time.",
        ("sns", "app/*"): "Push: a platform endpoint is created under the platform application each app's push "
        "channel names at run time; CreatePlatformEndpoint only.",
        ("sns", "endpoint/*"): "Push: the device endpoints created under those applications (Publish, "
        "Get/SetEndpointAttributes to re-enable one); endpoint ARNs are made by SNS at run time.",
    }
    for kind in ("phone-number", "pool", "sender-id", "configuration-set", "opt-out-list"):
        reasons[("sms-voice", f"{kind}/*")] = (
            "End User Messaging authorizes SendTextMessage/SendVoiceMessage on the origination identity "
            f"({kind}) each SMS or voice channel names at run time; those two actions only."
        )
    for (service, resource), reason in reasons.items():
        _ack(role, f"IAM5[Resource::{account.format(service=service, resource=resource)}]", reason)
    if carrier == "sns":
        _ack(
            role,
            "IAM5[Resource::*]",
            "SMS through SNS (context sms_carrier=sns) publishes to phone numbers, which have no ARN: "
            "sns:Publish on '*' is the only way to grant it.",
        )
    for name in custom_functions:
        if "*" in name:
            shown = name if name.startswith("arn:") else account.format(service="lambda", resource=f"function:{name}")
            _ack(
                role,
                f"IAM5[Resource::{shown}]",
                "Custom channels invoke the customer's functions the deployment allows (context "
                "custom_channel_functions, default homing-custom-*); InvokeFunction only.",
            )


def _acknowledge_api(api: ApiStack, data: DataStack) -> None:
    role = api.api_function.role
    _ack_tracing(role)
    endpoints_arn = _import_name(data, data.tables[ENDPOINTS].table_arn)
    _ack(
        role,
        f"IAM5[Resource::{endpoints_arn}/index/*]",
        "The api function queries the Endpoints table's own secondary indexes (by-user, by-address, "
        "by-channel); the wildcard covers index ARNs of that one table only.",
    )
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        _ack(
            role,
            f"IAM5[Action::{action}]",
            f"{action} comes from the table grants (tables encrypted with a customer-managed key); the "
            "statement is scoped to Homing's one data key.",
        )

    rest_api = api.api.rest_api
    _ack(
        rest_api,
        "APIG2",
        "Proxy integration: the api function validates every request against Pinpoint's request schemas "
        "and answers with Pinpoint's error shape (BadRequestException), which an API Gateway request "
        "validator cannot produce.",
    )
    _ack(
        rest_api.deployment_stage,
        "APIG3",
        "Every method requires AWS_IAM (SigV4), so unsigned traffic is rejected before any integration "
        "runs, and the stage is throttled; a WAF web ACL is an optional per-deployment add-on (fixed cost).",
    )
    for method in rest_api.methods:
        if method.http_method == "OPTIONS":
            # CORS preflights (no auth by necessity): cdk-nag's APIG4/COG4 treat an OPTIONS method whose
            # responses are 204 with Access-Control-Allow-* headers as not applicable, so nothing to ack.
            continue
        _ack(
            method,
            "COG4",
            "Pinpoint clients (AWS SDKs, CLI) sign requests with SigV4: the method uses AWS_IAM "
            "authorization, which is Pinpoint's own scheme, instead of a Cognito user pool authorizer.",
        )
    if api.identity_pool is not None:
        _acknowledge_identity_pool(api)
    cloud_watch_role = rest_api.node.find_child("CloudWatchRole")
    _ack(
        cloud_watch_role,
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-level API Gateway logging role uses the AWS-maintained policy documented for it; "
        "it lets API Gateway write stage execution and access logs.",
    )


def _acknowledge_identity_pool(api: ApiStack) -> None:
    from stacks.constructs.access import method_paths
    from stacks.constructs.identity_pool import CLIENT_ACTIONS

    pool = api.identity_pool
    assert pool is not None
    _ack(
        pool.pool,
        "COG7",
        "Guest (unauthenticated) identities are the point of this pool: a web or mobile app records events "
        "before anyone signs in, without shipping keys. Their role may only call PutEvents and "
        "UpdateEndpoint on the apps listed in the context (identityPoolAppIds).",
    )
    rest_api = api.api.rest_api
    api_id = Stack.of(rest_api).get_logical_id(rest_api.node.default_child)  # type: ignore[arg-type]
    stage = rest_api.deployment_stage.node.default_child
    stage_id = Stack.of(rest_api).get_logical_id(stage)  # type: ignore[arg-type]
    prefix = f"arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<{api_id}>/<{stage_id}>/"
    for method, path in method_paths(CLIENT_ACTIONS, pool.app_ids):
        if "*" not in path:
            continue
        for role in (pool.unauthenticated_role, pool.authenticated_role):
            _ack(
                role,
                f"IAM5[Resource::{prefix}{method}{path}]",
                "UpdateEndpoint's path ends in the endpoint id, which the app itself chooses (one per device); "
                "the wildcard stands for that one path segment under one listed app.",
            )


def _acknowledge_events(events: EventsStack, data: DataStack) -> None:
    processing = events.processing
    role = processing.process_events.role
    _ack_tracing(role)
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        _ack(
            role,
            f"IAM5[Action::{action}]",
            f"{action} comes from the Analytics table grant and the dead-letter queue's send grant (both "
            "encrypted with a customer-managed key); the statement is scoped to Homing's one data key.",
        )
    for account in event_stream_accounts(events):
        shown = "<AWS::AccountId>" if account == Aws.ACCOUNT_ID else account
        _ack(
            role,
            f"IAM5[Resource::arn:<AWS::Partition>:iam::{shown}:role/*]",
            "process_events forwards each app's events to the Kinesis or Firehose stream registered with "
            "PutEventStream, assuming the RoleArn the customer gave there, which is only known at run time. "
            "sts:AssumeRole is the only action, limited to the accounts PutEventStream allows (context "
            "event_stream_accounts, default this account), and always sent with the app's ExternalId that "
            "the role's trust policy requires.",
        )
    _ack(
        processing.dead_letters,
        "SQS3",
        "This queue is itself a dead-letter queue: the on-failure destination of the events stream's "
        "event-source mapping (it receives failed batches' shard and sequence ranges); a DLQ for it "
        "would have no consumer to fail.",
    )

    archive = events.archive
    archive_arn = _import_name(data, data.archive_bucket.bucket_arn)
    _ack(
        archive.destination_role,
        f"IAM5[Resource::{archive_arn}/*]",
        "Firehose writes new objects under generated, date-partitioned keys of the Archive bucket, so "
        "the object actions (s3:PutObject, s3:GetObject, s3:AbortMultipartUpload) need the bucket's "
        "object wildcard; the role has no delete action.",
    )
    _ack(
        archive.delivery_stream,
        "KDF1",
        "The delivery stream reads from the events stream, which is encrypted with Homing's data key; "
        "Firehose server-side encryption applies only to Direct PUT streams and cannot be enabled with "
        "a Kinesis source. Delivered objects are encrypted with the same data key (KMSEncryptionConfig).",
    )


def _acknowledge_channels(api: ApiStack) -> None:
    """Push channels: the api creates, updates and deletes SNS platform applications; clean-up deletes them."""
    for role in (api.api_function.role, api.cleanup.clean_up_app.role):
        _ack(
            role,
            "IAM5[Resource::arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:app/*/homing-*]",
            "A push channel's SNS platform application is named homing-<app id>-<channel type> and created on "
            "the first Update*Channel, so its ARN is only known at run time; the wildcard covers Homing's "
            "own platform applications (any platform) in this account and region, nothing else in SNS.",
        )


def _acknowledge_feedback(events: EventsStack, data: DataStack) -> None:
    """record_receipts and receive_sms (stacks/constructs/delivery_feedback.py)."""
    feedback = events.feedback
    endpoints_arn = _import_name(data, data.tables[ENDPOINTS].table_arn)
    for function in (feedback.record_receipts, feedback.receive_sms):
        role = function.role
        _ack_tracing(role)
        _ack(
            role,
            f"IAM5[Resource::{endpoints_arn}/index/*]",
            "Opt-outs and deactivations find every endpoint of an address through the Endpoints table's "
            "by-address index (and write as UpdateEndpoint does); the wildcard covers that one table's indexes.",
        )
        for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
            _ack(
                role,
                f"IAM5[Action::{action}]",
                f"{action} comes from the grants on Homing's data key (the tables, the events stream and the "
                "dead-letter queue are encrypted with it); scoped to that one key.",
            )
    _ack(
        feedback.receive_sms.role,
        "IAM5[Resource::arn:<AWS::Partition>:sns:*:<AWS::AccountId>:*]",
        "Inbound messages are forwarded to the SNS topic each app names in its two-way SMS configuration, "
        "known only at run time; sns:Publish is the only action, on this account's topics.",
    )
    for queue in (feedback.receipts_dead_letters, feedback.inbound_dead_letters):
        _ack(
            queue,
            "SQS3",
            "This queue is itself a dead-letter queue: the on-failure destination of the function's "
            "asynchronous invocations from SNS; a DLQ for it would have no consumer to fail.",
        )


def acknowledge_campaign_schedules(role: IConstruct) -> None:
    """A role given ``CampaignScheduling.grant_manage``; the delivery workflow's stack calls this with the grant."""
    _ack(
        role,
        "IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/homing-campaigns/*]",
        "Campaign schedules are created and deleted with their campaigns, one per campaign, so their names are "
        "not known at deploy time: the grant is the adapter's four calls on the homing-campaigns group only.",
    )


def acknowledge_campaign_sending(sending: CampaignSending, data: DataStack) -> None:
    """send_batch (``stacks.constructs.campaign_sending.CampaignSending``): the stack that creates it
    calls this (the api stack, with the delivery workflow)."""
    from homing.domain.campaign_runs import RUNS_PREFIX

    role = sending.role
    _ack_tracing(role)
    _acknowledge_sending(role, sending.carrier, sending.custom_functions)
    _ack_audience_objects(role, data, "GetObject")
    bucket_arn = _import_name(data, data.audience_bucket.bucket_arn)
    _ack(
        role,
        f"IAM5[Resource::{bucket_arn}/{RUNS_PREFIX}/*]",
        "Each batch writes its tally under campaign-runs/<app>/<campaign>/<run>/, named at run time; the grant "
        "is GetObject/PutObject under that prefix of the one audience bucket.",
    )
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        _ack(
            role,
            f"IAM5[Action::{action}]",
            f"{action} comes from the grants on Homing's data key, which encrypts the delivery ledger, the caps "
            "table, the events stream and the audience bucket send_batch uses; scoped to that one key.",
        )
    account = "arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:{name}"
    for name in sending.hook_functions:
        if "*" in name:
            shown = name if name.startswith("arn:") else account.format(name=name)
            _ack(
                role,
                f"IAM5[Resource::{shown}]",
                "Campaign hooks (FILTER mode) invoke the customer's functions the deployment allows (context "
                "campaign_hook_functions, default homing-hook-*); InvokeFunction only.",
            )


def _acknowledge_campaigns(api: ApiStack, data: DataStack) -> None:
    """The campaign delivery workflow (``CampaignDelivery``): run_campaign, its state machine, the api's
    arming of runs, and send_batch (``acknowledge_campaign_sending``)."""
    from homing.domain.campaign_runs import RUNS_PREFIX

    delivery = api.campaign_delivery
    acknowledge_campaign_sending(api.campaign_sending, data)
    acknowledge_campaign_schedules(api.api_function.role)
    role = delivery.run_campaign.role
    _ack_tracing(role)
    acknowledge_campaign_schedules(role)
    _ack_audience_objects(role, data)
    bucket_arn = _import_name(data, data.audience_bucket.bucket_arn)
    _ack(
        role,
        f"IAM5[Resource::{bucket_arn}/{RUNS_PREFIX}/*]",
        "A run's items file and tallies are under campaign-runs/<app>/<campaign>/<run>/, named at run time; the "
        "grant is GetObject/PutObject under that prefix of the one audience bucket.",
    )
    machine = delivery.state_machine
    machine_role = machine.role
    for function in (
        api.audiences.resolve_audience.function,
        delivery.run_campaign.function,
        api.campaign_sending.function,
    ):
        function_id = Stack.of(function).get_logical_id(function.node.default_child)  # type: ignore[arg-type]
        _ack(
            machine_role,
            f"IAM5[Resource::<{function_id}.Arn>:*]",
            "The workflow invokes its three functions (any version or alias of each, as the LambdaInvoke "
            "task's grant writes it).",
        )
    _ack(
        machine_role,
        "IAM5[Resource::*]",
        "X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) and CloudWatch Logs "
        "delivery (logs:CreateLogDelivery etc.) have no resource-level permissions.",
    )
    bucket_name = _import_name(data, data.audience_bucket.bucket_name)
    _ack(
        machine_role,
        f"IAM5[Resource::arn:<AWS::Partition>:s3:::{bucket_name}/*]",
        "The Distributed Map's ItemReader reads the run's items file, whose key the Plan step names at run "
        "time; s3:GetObject only, in the one audience bucket (the grant CDK's S3JsonItemReader writes).",
    )
    machine_id = Stack.of(machine).get_logical_id(machine.node.default_child)  # type: ignore[arg-type]
    executions = (
        "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
        f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine_id}"}}]}}]}}'
    )
    for suffix in (":*", "/*:*"):
        _ack(
            machine.node.find_child("DistributedMapPolicy"),
            f"IAM5[Resource::{executions}{suffix}]",
            "A Distributed Map runs its batches as child executions of this machine (StartExecution, Describe, "
            "Stop on its own executions only, as CDK's DistributedMap grants).",
        )
