"""A boto3 ``pinpoint`` client that talks to a Homing API Gateway endpoint.

Amazon Pinpoint's service model signs requests for ``mobiletargeting``; API Gateway's IAM
auth requires the credential scope ``execute-api``. One before-sign hook switches the scope,
so every Pinpoint operation of the stock client works against Homing unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_pinpoint import PinpointClient

EXECUTE_API = "execute-api"


def _sign_for_api_gateway(request: Any, **_: Any) -> None:
    request.context.setdefault("signing", {})["signing_name"] = EXECUTE_API


def pinpoint_client(endpoint_url: str, **boto3_client_kwargs: Any) -> PinpointClient:
    """Return ``boto3.client("pinpoint")`` for ``endpoint_url``, signing for execute-api.

    ``endpoint_url`` is the API's invoke URL including the stage, e.g.
    ``https://abc.execute-api.eu-west-1.amazonaws.com/prod`` or ``http://127.0.0.1:8740``.
    """
    client: PinpointClient = boto3.client("pinpoint", endpoint_url=endpoint_url, **boto3_client_kwargs)
    client.meta.events.register("before-sign.pinpoint", _sign_for_api_gateway)
    return client
