"""The send_messages function in the local stack, every channel, read back from the local outbox.

The function is invoked as the campaign and journey workflows' task states invoke it (Lambda Invoke,
through moto's Lambda API); its workers reach SES and SNS in moto and End User Messaging's stand-in.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest

from homing.domain.dispatch import delivery_to_json, result_from_json
from homing.domain.messages import (
    CUSTOM,
    EMAIL,
    GCM,
    PERMANENT_FAILURE,
    SMS,
    SUCCESSFUL,
    VOICE,
    CustomContent,
    Delivery,
    EmailContent,
    PushContent,
    SmsContent,
    VoiceContent,
)
from tests.e2e.test_local_async_e2e import client

pytestmark = pytest.mark.e2e


def outbox(api_url: str, **filters: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode(filters)
    with urllib.request.urlopen(f"{api_url}/_local/outbox?{query}", timeout=60) as response:
        items: list[dict[str, Any]] = json.load(response)["Items"]
    return items


def send(moto_url: str, deliveries: list[Delivery]) -> list[Any]:
    lam = client(moto_url, "lambda")
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"] if "SendMessages" in f["FunctionName"]]
    assert len(names) == 1, names
    payload = json.dumps({"deliveries": [delivery_to_json(d) for d in deliveries]})
    response = lam.invoke(FunctionName=names[0], InvocationType="RequestResponse", Payload=payload)
    answer = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, answer
    return [result_from_json(r) for r in answer["results"]]


def test_every_channel_lands_in_the_outbox(api_url: str, moto_url: str) -> None:
    run = uuid.uuid4().hex[:8]
    application = client(moto_url, "sns").create_platform_application(
        Name=f"shop-{run}", Platform="GCM", Attributes={"PlatformCredential": "key"}
    )["PlatformApplicationArn"]
    mail = f"jane-{run}@example.com"
    phone = "+1555" + str(uuid.uuid4().int)[:7]
    deliveries = [
        Delivery(
            "app",
            EMAIL,
            mail,
            f"{run}-e",
            EmailContent(f"Shop <shop-{run}@example.com>", "Welcome", "<h1>Hi Jane</h1>", "Hi Jane"),
        ),
        Delivery("app", SMS, phone, f"{run}-s", SmsContent("Your code is 1234")),
        Delivery(
            "app",
            VOICE,
            phone,
            f"{run}-v",
            VoiceContent("Your code is 1234", voice_id="Joanna", origination_number="+15550000000"),
        ),
        Delivery("app", GCM, f"token-{run}", f"{run}-p", PushContent(application, title="Sale", body="50% off")),
        Delivery(
            "app",
            CUSTOM,
            "ep-1",
            f"{run}-c",
            CustomContent(
                f"arn:aws:lambda:us-east-1:123456789012:function:homing-custom-{run}",
                "hello",
                {"ep-1": {"Address": "x"}},
            ),
        ),
    ]
    results = send(moto_url, deliveries)
    assert [r.status for r in results[:4]] == [SUCCESSFUL] * 4
    assert results[4].status == PERMANENT_FAILURE  # no such function locally; the call is still in the outbox

    (email,) = outbox(api_url, channel="EMAIL", address=mail)
    assert (email["Subject"], email["Body"], email["From"]) == (
        "Welcome",
        "<h1>Hi Jane</h1>",
        f"Shop <shop-{run}@example.com>",
    )
    text, call = sorted(outbox(api_url, address=phone), key=lambda r: r["Channel"])
    assert (text["Channel"], text["Body"], call["Channel"], call["Details"]["VoiceId"]) == (
        "SMS",
        "Your code is 1234",
        "VOICE",
        "JOANNA",
    )
    (push,) = outbox(api_url, channel="PUSH", address=f"token-{run}")
    assert (push["Channel"], push["Subject"], push["Body"]) == ("GCM", "Sale", "50% off")
    custom = [r for r in outbox(api_url, channel="CUSTOM") if r["Details"]["Function"].endswith(run)]
    assert [(c["Body"], c["To"], c["Details"]["Delivered"]) for c in custom] == [("hello", ["ep-1"], False)]

    with urllib.request.urlopen(f"{api_url}/_local/outbox.html?address={urllib.parse.quote(mail)}", timeout=60) as page:
        shown = page.read().decode()
    assert "Welcome" in shown
    assert mail in shown
    with urllib.request.urlopen(f"{api_url}/_local", timeout=60) as index:
        assert "/_local/outbox" in {p["Page"] for p in json.load(index)["Pages"]}


def test_a_retried_batch_is_not_sent_twice(api_url: str, moto_url: str) -> None:
    run = uuid.uuid4().hex[:8]
    phone = "+1555" + str(uuid.uuid4().int)[:7]
    batch = [Delivery("app", SMS, phone, f"{run}-once", SmsContent("once"))]
    first, again = send(moto_url, batch), send(moto_url, batch)
    assert first == again
    assert len(outbox(api_url, address=phone)) == 1
