"""CloudFormation models for resource types that moto's CloudFormation lacks but local mode needs.

Registering a model keeps ``Ref``/``GetAtt`` to the resource working (a stripped resource would
take everything that references it along). Only types with a meaningful local effect or a
harmless no-op live here; anything else is stripped by the deployer.
"""

from __future__ import annotations

from typing import Any

from moto.apigateway.models import apigateway_backends
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.logs.models import logs_backends
from moto.scheduler.models import scheduler_backends


def _id(value: Any) -> str:
    """moto resolves ``Ref`` to models without a physical id (e.g. Deployment) to the object."""
    return value if isinstance(value, str) else str(getattr(value, "id", value))


class _Shim:
    """Common no-op lifecycle and attributes.

    Each shim also subclasses CloudFormationModel *directly*: moto finds models through
    ``CloudFormationModel.__subclasses__()``.
    """

    def __init__(self, physical_id: str, attributes: dict[str, str] | None = None) -> None:
        self._physical_id = physical_id
        self._attributes = attributes or {}

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self._attributes.get(attribute_name, self._physical_id)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None

    def is_created(self) -> bool:
        return True


class ApiGatewayStage(_Shim, CloudFormationModel):
    """A real stage in moto's API Gateway: the local API reads its name and variables back."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ApiGatewayStage:
        props = cloudformation_json["Properties"]
        stage_name = props.get("StageName") or resource_name
        apigateway_backends[account_id][region_name].create_stage(
            _id(props["RestApiId"]),
            stage_name,
            _id(props.get("DeploymentId", "")),
            variables=props.get("Variables") or {},
            description=props.get("Description", ""),
            tracing_enabled=props.get("TracingEnabled"),
        )
        return cls(stage_name)


class ApiGatewayGatewayResponse(_Shim, CloudFormationModel):
    """A gateway response (e.g. CORS headers on DEFAULT_4XX) stored in moto's API Gateway for the local API."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::GatewayResponse"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ApiGatewayGatewayResponse:
        props = cloudformation_json["Properties"]
        apigateway_backends[account_id][region_name].put_gateway_response(
            _id(props["RestApiId"]),
            props["ResponseType"],
            status_code=props.get("StatusCode"),
            response_parameters=props.get("ResponseParameters") or {},
            response_templates=props.get("ResponseTemplates") or {},
        )
        return cls(f"{_id(props['RestApiId'])}-{props['ResponseType']}")


class ApiGatewayAccount(_Shim, CloudFormationModel):
    """Account-level CloudWatch role setting: nothing to do locally."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Account"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ApiGatewayAccount:
        return cls(resource_name)


class CdkMetadata(_Shim, CloudFormationModel):
    """CDK's version-reporting resource: nothing to do locally."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CDK::Metadata"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> CdkMetadata:
        return cls(resource_name)


class LogsLogStream(_Shim, CloudFormationModel):
    """A log stream in moto's CloudWatch Logs (its group must exist, as in AWS)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::LogStream"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> LogsLogStream:
        props = cloudformation_json["Properties"]
        name = props.get("LogStreamName") or resource_name
        logs_backends[account_id][region_name].create_log_stream(props["LogGroupName"], name)
        return cls(name)


class SchedulerScheduleGroup(_Shim, CloudFormationModel):
    """A schedule group in moto's Scheduler backend (storage only: local mode fires schedules)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::ScheduleGroup"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> SchedulerScheduleGroup:
        props = cloudformation_json["Properties"]
        name = props.get("Name") or resource_name
        group = scheduler_backends[account_id][region_name].create_schedule_group(name, props.get("Tags") or [])
        return cls(name, {"Arn": group.arn})


class SchedulerSchedule(_Shim, CloudFormationModel):
    """A schedule in moto's Scheduler backend (moto never fires it; local mode's clock does)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::Schedule"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> SchedulerSchedule:
        props = cloudformation_json["Properties"]
        name = props.get("Name") or resource_name
        schedule = scheduler_backends[account_id][region_name].create_schedule(
            description=props.get("Description", ""),
            end_date=props.get("EndDate"),
            flexible_time_window=props.get("FlexibleTimeWindow") or {"Mode": "OFF"},
            group_name=props.get("GroupName") or "default",
            kms_key_arn=props.get("KmsKeyArn"),
            name=name,
            schedule_expression=props["ScheduleExpression"],
            schedule_expression_timezone=props.get("ScheduleExpressionTimezone", "UTC"),
            start_date=props.get("StartDate"),
            state=props.get("State", "ENABLED"),
            target=props["Target"],
            action_after_completion=None,
        )
        return cls(name, {"Arn": schedule.arn})


SHIM_TYPES = frozenset(
    model.cloudformation_type()
    for model in (
        ApiGatewayStage,
        ApiGatewayGatewayResponse,
        ApiGatewayAccount,
        CdkMetadata,
        LogsLogStream,
        SchedulerScheduleGroup,
        SchedulerSchedule,
    )
)


def kms_keys_as_declared() -> None:
    """``AWS::KMS::Key`` with its ``KeySpec`` and ``KeyUsage``: moto's CloudFormation creates every
    key as a symmetric encryption key, so the OTP key (HMAC_256, GENERATE_VERIFY_MAC) could not MAC."""
    from moto.kms.models import Key, kms_backends

    original = Key.create_from_cloudformation_json
    if getattr(original, "_homing_fix", False):
        return

    def create(
        cls: type[Key], resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Key:
        properties = cloudformation_json["Properties"]
        spec, usage = properties.get("KeySpec"), properties.get("KeyUsage")
        if not spec and not usage:
            return original.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)  # type: ignore[attr-defined,no-any-return]
        key = kms_backends[account_id][region_name].create_key(
            policy=properties["KeyPolicy"],
            key_usage=usage or "ENCRYPT_DECRYPT",
            key_spec=spec or "SYMMETRIC_DEFAULT",
            description=properties.get("Description"),
            tags=properties.get("Tags", []),
        )
        key.enabled = properties.get("Enabled", True)
        return key

    create._homing_fix = True  # type: ignore[attr-defined]
    Key.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment,arg-type]


def register() -> None:
    """Make moto's CloudFormation see the shims (its model map is cached on first use)."""
    kms_keys_as_declared()
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def supported_types() -> frozenset[str]:
    """Resource types moto's CloudFormation can create, shims included."""
    register()
    return frozenset(parsing.get_model_map()) | frozenset(parsing.NULL_MODELS)
