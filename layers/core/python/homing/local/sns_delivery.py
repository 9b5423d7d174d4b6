"""SNS -> Lambda subscriptions in local mode (delivery receipts and inbound SMS topics).

moto's CloudFormation has no ``AWS::SNS::Subscription``, so the deployer strips the stacks'
subscriptions. This recreates each Lambda subscription through moto's SNS API after the deploy;
moto then delivers every Publish to the function inside the Publish call, through the Lambda
backend's ``invoke``, which the local runner (runner.py) turns into a run of the real handler.
So a publish to the inbound SMS topic has been handled when the Publish call returns.

Unlike AWS, a failed invocation is not retried or dead-lettered locally: its error is in the
function's log (``--lambda-logs``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("homing.local")
SUBSCRIPTION_TYPE = "AWS::SNS::Subscription"


@dataclass(frozen=True)
class LambdaSubscription:
    stack: str
    logical_id: str
    topic_arn: str
    function: str  # the function's physical id (its name)


def lambda_subscriptions(
    stack_name: str, template: dict[str, Any], resolve: Callable[[Any], str]
) -> list[LambdaSubscription]:
    """The Lambda subscriptions of a synthesized (unprepared) template, their topic and function resolved."""
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") != SUBSCRIPTION_TYPE or props.get("Protocol") != "lambda":
            continue
        try:
            found.append(
                LambdaSubscription(stack_name, logical_id, resolve(props["TopicArn"]), resolve(props["Endpoint"]))
            )
        except (KeyError, ValueError) as error:
            log.warning("%s/%s: SNS subscription not recreated locally (%s)", stack_name, logical_id, error)
    return found


def subscribe_functions(sns: Any, lambda_client: Any, stacks: Iterable[Any], exports: dict[str, str]) -> list[str]:
    """Subscribe each deployed function to its topic in moto; returns "<topic> -> <function>" lines."""
    from homing.local.archive import resolver

    done = []
    for stack in stacks:
        for sub in lambda_subscriptions(stack.name, stack.source_template, resolver(stack.physical_ids, exports)):
            arn = lambda_client.get_function(FunctionName=sub.function)["Configuration"]["FunctionArn"]
            sns.subscribe(TopicArn=sub.topic_arn, Protocol="lambda", Endpoint=arn)
            done.append(f"{sub.topic_arn.rsplit(':', 1)[-1]} -> {sub.function}")
    return done
