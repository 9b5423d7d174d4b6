"""The local API Gateway stand-in: IAM auth as API Gateway answers it, stage prefix, unchanged clients."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from homing.client import pinpoint_client
from tests.e2e.conftest import REGION, AwsCli


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


@pytest.mark.parametrize("prefix", ["", "/prod"])
def test_unsigned_request_is_rejected_like_api_gateway(api_url: str, prefix: str) -> None:
    status, headers, body = _get(f"{api_url}{prefix}/v1/apps")

    assert status == 403
    assert body == {"message": "Missing Authentication Token"}
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_wrong_secret_is_rejected(api_url: str) -> None:
    client = boto3.client(
        "pinpoint", endpoint_url=api_url, region_name=REGION, aws_access_key_id="homing", aws_secret_access_key="nope"
    )

    with pytest.raises(ClientError) as caught:
        client.get_apps()

    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert "signature we calculated does not match" in error["Error"]["Message"]


def test_unknown_access_key_is_rejected(api_url: str) -> None:
    client = pinpoint_client(api_url, region_name=REGION, aws_access_key_id="AKIDUNKNOWN", aws_secret_access_key="x")

    with pytest.raises(ClientError) as caught:
        client.get_apps()

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_stock_pinpoint_client_reaches_the_handler(pinpoint: Any) -> None:
    response = pinpoint.get_apps()

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Item" in response["ApplicationsResponse"]
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_execute_api_signed_client_reaches_the_handler(pinpoint_execute_api: Any) -> None:
    response = pinpoint_execute_api.get_apps()

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Item" in response["ApplicationsResponse"]


def test_stage_prefix_is_served(api_url: str) -> None:
    client = pinpoint_client(
        f"{api_url}/prod", region_name=REGION, aws_access_key_id="homing", aws_secret_access_key="homing"
    )

    assert client.get_apps()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_aws_cli_works_unchanged(aws_cli: AwsCli) -> None:
    returncode, output, stderr = aws_cli("get-apps")

    assert returncode == 0, stderr
    assert "Item" in output["ApplicationsResponse"]


def test_round_trip_through_both_clients(pinpoint: Any, pinpoint_execute_api: Any) -> None:
    app_id = pinpoint.create_app(CreateApplicationRequest={"Name": "e2e-local-stack"})["ApplicationResponse"]["Id"]
    try:
        pinpoint.update_endpoint(
            ApplicationId=app_id,
            EndpointId="ep-1",
            EndpointRequest={"ChannelType": "EMAIL", "Address": "ana@example.com", "User": {"UserId": "u-1"}},
        )

        endpoint = pinpoint_execute_api.get_endpoint(ApplicationId=app_id, EndpointId="ep-1")["EndpointResponse"]

        assert endpoint["Id"] == "ep-1"
        assert endpoint["ChannelType"] == "EMAIL"
        assert endpoint["User"]["UserId"] == "u-1"
    finally:
        pinpoint.delete_app(ApplicationId=app_id)


def test_handler_errors_keep_pinpoint_shape(pinpoint: Any) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.get_app(ApplicationId="does-not-exist")

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert caught.value.response["Error"]["Code"] == "NotFoundException"
