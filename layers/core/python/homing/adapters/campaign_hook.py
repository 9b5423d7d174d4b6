"""The campaign hook: a customer's Lambda function invoked in FILTER mode to drop or adjust a batch's endpoints.

Pinpoint's payload (pinpoint-formats.md §1.10): ``MessageConfiguration``, the app, campaign,
treatment and activity ids, ``ScheduledTime`` and ``Endpoints`` (endpoint id -> endpoint), at most
``HOOK_BATCH`` endpoints per invocation; the function answers the map of the endpoints to send to.
What the answer may change is ``domain.campaign_rules.apply_hook_answer``'s rule.

Failures are Pinpoint's: the delivery fails (those endpoints are not sent, and are reported) when
the function takes more than 15 s, answers something that cannot be parsed, or has not succeeded
after 3 invocation attempts. A refusal that another attempt cannot change (no such function, not
allowed to invoke it, payload too large) fails at once. Failing closed is deliberate: a filter may
exist to keep messages from people who must not get them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from homing.domain.campaign_rules import HOOK_BATCH, HookAnswerInvalid, apply_hook_answer
from homing.observability import logger

HOOK_ATTEMPTS = 3
HOOK_TIMEOUT_SECONDS = 15  # an invocation answering later has failed
# One HTTP attempt per invocation (botocore's ``max_attempts`` counts retries, ``total_max_attempts``
# every attempt), so this loop's HOOK_ATTEMPTS are the function's invocations, as Pinpoint counts them.
HOOK_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=HOOK_TIMEOUT_SECONDS
)
# Lambda Invoke errors no retry can change.
FINAL_ERRORS = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "InvalidParameterValueException",
        "InvalidRequestContentException",
        "RequestTooLargeException",
        "RecursiveInvocationException",
    }
)


@dataclass(frozen=True)
class HookRequest:
    """The campaign side of the payload; ``message_configuration`` is Pinpoint's JSON (a DirectMessageConfiguration)."""

    function_name: str  # name or ARN (CampaignHook.LambdaFunctionName)
    application_id: str
    campaign_id: str
    treatment_id: str
    activity_id: str
    scheduled_time: str
    message_configuration: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class HookOutcome:
    """The batch after the hook: endpoints to send (with the hook's changes), dropped, and failed."""

    kept: dict[str, dict[str, Any]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # their invocation failed: not sent (Pinpoint's rule)
    errors: list[str] = field(default_factory=list)  # why, one line per failed invocation (no endpoint data)


class HookFailed(Exception):
    """One invocation came to nothing usable; the message says why (never the payload)."""


class CampaignHookInvoker:
    def __init__(
        self,
        lambda_client: Any = None,
        attempts: int = HOOK_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lambda = lambda_client
        self._attempts = attempts
        self._sleep = sleep

    @property
    def lambda_client(self) -> Any:
        if self._lambda is None:
            import boto3

            self._lambda = boto3.client("lambda", config=HOOK_CLIENT_CONFIG)
        return self._lambda

    def filter(self, request: HookRequest, endpoints: Mapping[str, Mapping[str, Any]]) -> HookOutcome:
        """Run the batch's endpoints (Pinpoint JSON, by id) through the hook, ``HOOK_BATCH`` at a time."""
        outcome = HookOutcome()
        ids = list(endpoints)
        for start in range(0, len(ids), HOOK_BATCH):
            chunk = {i: endpoints[i] for i in ids[start : start + HOOK_BATCH]}
            try:
                verdict = apply_hook_answer(chunk, self._invoke(request, chunk))
            except (HookFailed, HookAnswerInvalid) as error:
                outcome.failed.extend(chunk)
                outcome.errors.append(str(error))
                logger.warning(
                    "campaign hook failed",
                    extra={"campaign_id": request.campaign_id, "endpoints": len(chunk), "reason": str(error)},
                )
                continue
            outcome.kept.update(verdict.kept)
            outcome.dropped.extend(verdict.dropped)
        return outcome

    def _invoke(self, request: HookRequest, chunk: Mapping[str, Mapping[str, Any]]) -> Any:
        payload = json.dumps(
            {
                "MessageConfiguration": dict(request.message_configuration),
                "ApplicationId": request.application_id,
                "CampaignId": request.campaign_id,
                "TreatmentId": request.treatment_id,
                "ActivityId": request.activity_id,
                "ScheduledTime": request.scheduled_time,
                "Endpoints": chunk,
            }
        ).encode()
        reason = "not invoked"
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(min(1.0, 0.1 * 2**attempt))
            try:
                response = self.lambda_client.invoke(
                    FunctionName=request.function_name, InvocationType="RequestResponse", Payload=payload
                )
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "Unknown")
                if code in FINAL_ERRORS:
                    raise HookFailed(f"the hook could not be invoked ({code})") from None
                reason = f"the hook could not be invoked ({code})"
                continue
            except BotoCoreError as error:  # timeouts (ReadTimeoutError after 15 s) and lost connections
                reason = f"the hook did not answer ({type(error).__name__})"
                continue
            if response.get("FunctionError"):
                reason = f"the hook failed ({response['FunctionError']})"
                continue
            try:
                return json.loads(response["Payload"].read())
            except (ValueError, UnicodeDecodeError):
                raise HookFailed("the hook's answer is not JSON") from None
        raise HookFailed(f"{reason}, after {self._attempts} attempts")
