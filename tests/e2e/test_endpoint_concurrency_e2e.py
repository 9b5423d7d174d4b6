"""Concurrent writers through the local stack and the stock boto3 client: every key survives."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_apps_e2e import new_app


@pytest.fixture
def app_id(pinpoint: Any) -> Iterator[str]:
    with new_app(pinpoint, "concurrency") as app:
        yield str(app["Id"])


def test_sixteen_concurrent_update_endpoint_calls_lose_no_key(pinpoint: Any, app_id: str) -> None:
    pinpoint.update_endpoint(
        ApplicationId=app_id, EndpointId="hot", EndpointRequest={"ChannelType": "EMAIL", "Address": "a@example.com"}
    )

    def add(i: int) -> int:
        request = {
            "Attributes": {f"a{i}": [str(i)]},
            "Metrics": {f"m{i}": float(i)},
            "User": {"UserAttributes": {f"u{i}": [str(i)]}},
        }
        response = pinpoint.update_endpoint(ApplicationId=app_id, EndpointId="hot", EndpointRequest=request)
        return int(response["ResponseMetadata"]["HTTPStatusCode"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert list(pool.map(add, range(16))) == [202] * 16

    endpoint = pinpoint.get_endpoint(ApplicationId=app_id, EndpointId="hot")["EndpointResponse"]
    assert endpoint["Attributes"] == {f"a{i}": [str(i)] for i in range(16)}
    assert endpoint["Metrics"] == {f"m{i}": float(i) for i in range(16)}
    assert endpoint["User"]["UserAttributes"] == {f"u{i}": [str(i)] for i in range(16)}
    assert endpoint["Address"] == "a@example.com"


def test_twenty_concurrent_creates_for_one_user_stop_at_fifteen(pinpoint: Any, app_id: str) -> None:
    def create(i: int) -> str:
        request = {"ChannelType": "SMS", "Address": f"+1555010{i:02d}", "User": {"UserId": "crowd"}}
        try:
            pinpoint.update_endpoint(ApplicationId=app_id, EndpointId=f"ep-{i}", EndpointRequest=request)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "ok"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(create, range(20)))

    assert outcomes.count("ok") == 15
    assert outcomes.count("BadRequestException") == 5
    stored = pinpoint.get_user_endpoints(ApplicationId=app_id, UserId="crowd")["EndpointsResponse"]["Item"]
    assert len(stored) == 15


def test_batch_whose_30th_item_storage_rejects_is_a_400_that_stores_nothing(pinpoint: Any, app_id: str) -> None:
    items = [{"Id": f"ep-{i}", "ChannelType": "EMAIL", "Address": f"{i}@example.com"} for i in range(29)]
    items.append({"Id": "ep-29", "ChannelType": "EMAIL", "Address": "x" * 2100})  # past DynamoDB's key size
    with pytest.raises(ClientError) as caught:
        pinpoint.update_endpoints_batch(ApplicationId=app_id, EndpointBatchRequest={"Item": items})
    response: Any = caught.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == ("BadRequestException", 400)
    assert "Item[29]" in response["Error"]["Message"]
    assert "Address" in response["Error"]["Message"]
    for endpoint_id in ("ep-0", "ep-28"):
        with pytest.raises(ClientError) as missing:
            pinpoint.get_endpoint(ApplicationId=app_id, EndpointId=endpoint_id)
        assert missing.value.response["Error"]["Code"] == "NotFoundException"
