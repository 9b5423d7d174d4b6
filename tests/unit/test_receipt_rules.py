"""Delivery receipts -> Pinpoint stream records, on SES and End User Messaging events shaped as the
AWS pages show them (SES: event-publishing-retrieving-sns-examples; End User Messaging:
configuration-sets-event-format), with Homing's carrier tags on them."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homing.domain.analytics import parse_record
from homing.domain.messages import EMAIL, Delivery, EmailContent, SmsContent, carrier_tags
from homing.domain.receipts import from_event

APP = "0123456789abcdef0123456789abcdef"
ARRIVAL = 1_700_000_100_000


def _tags(endpoint: str | None = "ep-1", context: dict[str, str] | None = None) -> dict[str, str]:
    delivery = Delivery(APP, EMAIL, "a@example.org", "k", EmailContent("f@example.com"), endpoint, context or {})
    return carrier_tags(delivery, tuple((context or {}).keys()))


def ses(kind: str, detail_key: str | None = None, detail: dict[str, Any] | None = None, **tags: Any) -> dict[str, Any]:
    """An SES event-publishing record as SNS carries it."""
    mail_tags = {"ses:configuration-set": ["homing"], **{k: [v] for k, v in _tags(**tags).items()}}
    event: dict[str, Any] = {
        "eventType": kind,
        "mail": {
            "timestamp": "2017-08-05T00:40:02.012Z",
            "source": "Sender Name <sender@example.com>",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
            "sendingAccountId": "123456789012",
            "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
            "destination": ["recipient@example.com"],
            "headersTruncated": False,
            "headers": [
                {"name": "From", "value": "Sender Name <sender@example.com>"},
                {"name": "Subject", "value": "Hi"},
            ],
            "commonHeaders": {
                "from": ["Sender Name <sender@example.com>"],
                "to": ["recipient@example.com"],
                "subject": "Hi",
            },
            "tags": mail_tags,
        },
    }
    if detail_key:
        event[detail_key] = detail or {}
    return event


def sms(kind: str, status: str, **extra: Any) -> dict[str, Any]:
    delivery = Delivery(APP, "SMS", "+14255550156", "k", SmsContent("hi"), "ep-9", {"campaign_id": "c1"})
    return {
        "eventType": kind,
        "eventVersion": "1.0",
        "eventTimestamp": 1686975103470,
        "isFinal": True,
        "originationPhoneNumber": "+12065550152",
        "destinationPhoneNumber": "+14255550156",
        "isoCountryCode": "US",
        "mcc": "310",
        "mnc": "800",
        "messageId": "862a8790-60c0-4430-9b2b-658bdexample",
        "messageRequestTimestamp": 1686975103170,
        "messageEncoding": "GSM",
        "messageType": "TRANSACTIONAL",
        "messageStatus": status,
        "messageStatusDescription": "Message has been accepted by phone carrier",
        "context": {"account": "bar", **carrier_tags(delivery, ("campaign_id",))},
        "totalMessageParts": 2,
        "totalMessagePrice": 0.00645,
        "totalCarrierFee": 0.0,
        **extra,
    }


DELIVERY = {
    "timestamp": "2017-08-05T00:40:03.000Z",
    "processingTimeMillis": 546,
    "recipients": ["recipient@example.com"],
    "smtpResponse": "250 ok",
    "reportingMTA": "a8-70.smtp-out.amazonses.com",
}


@pytest.mark.parametrize(
    ("kind", "key", "detail", "event_type", "feedback"),
    [
        ("Delivery", "delivery", DELIVERY, "_email.delivered", "delivered"),
        (
            "Open",
            "open",
            {"ipAddress": "192.0.2.1", "timestamp": "2017-08-09T22:00:19.652Z", "userAgent": "UA"},
            "_email.open",
            "opened",
        ),
        (
            "Click",
            "click",
            {
                "ipAddress": "192.0.2.1",
                "link": "http://docs.aws.amazon.com/ses/",
                "linkTags": {"samplekey0": ["samplevalue0"]},
                "timestamp": "2017-08-09T23:51:25.570Z",
                "userAgent": "UA",
            },
            "_email.click",
            "http://docs.aws.amazon.com/ses/",
        ),
        ("Reject", "reject", {"reason": "Bad content"}, "_email.rejected", "rejected"),
        (
            "Rendering Failure",
            "failure",
            {"errorMessage": "Attribute 'x' is not present", "templateName": "t"},
            "_email.rendering_failure",
            "rendering_failure",
        ),
        (
            "Bounce",
            "bounce",
            {
                "bounceType": "Transient",
                "bounceSubType": "MailboxFull",
                "bouncedRecipients": [{"emailAddress": "recipient@example.com"}],
                "timestamp": "2017-08-05T00:41:02.669Z",
                "feedbackId": "f",
            },
            "_email.softbounce",
            "softbounce",
        ),
    ],
)
def test_ses_events_become_pinpoint_email_records(
    kind: str, key: str, detail: dict[str, Any], event_type: str, feedback: str
) -> None:
    receipt = from_event(ses(kind, key, detail, context={"campaign_id": "camp-1"}), ARRIVAL)
    assert receipt is not None
    assert receipt.app_id == APP
    assert receipt.deactivate == ()
    record = receipt.record
    assert record is not None
    assert record["event_type"] == event_type
    assert record["event_timestamp"] == 1501893602012  # the send time, for every event of the message
    assert record["arrival_timestamp"] == ARRIVAL
    assert record["application"] == {"app_id": APP, "sdk": {}}
    assert record["client"] == {"client_id": "ep-1"}
    assert record["attributes"] == {
        "campaign_id": "camp-1",
        "feedback": feedback,
        "message_id": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
    }
    assert record["client_context"] == {"custom": {"legacy_identifier": APP}}
    mail_event = record["facets"]["email_channel"]["mail_event"]  # type: ignore[index]
    assert mail_event["mail"]["common_headers"] == {
        "from": "Sender Name <sender@example.com>",
        "to": ["recipient@example.com"],
        "subject": "Hi",
    }
    assert mail_event["mail"]["message_send_timestamp"] == 1501893602012
    assert set(mail_event) == {"mail", "rendering_failure" if kind == "Rendering Failure" else key}
    assert record["awsAccountId"] == "123456789012"
    parsed = parse_record(record)  # what process_events will make of it
    assert parsed.event_type == event_type
    assert parsed.app_id == APP


def test_delivery_detail_is_pinpoints_snake_case() -> None:
    receipt = from_event(ses("Delivery", "delivery", DELIVERY), ARRIVAL)
    assert receipt is not None
    assert receipt.record is not None
    assert receipt.record["facets"]["email_channel"]["mail_event"]["delivery"] == {  # type: ignore[index]
        "smtp_response": "250 ok",
        "reporting_mta": "a8-70.smtp-out.amazonses.com",
        "recipients": ["recipient@example.com"],
        "processing_time_millis": 546,
    }


def test_a_hard_bounce_deactivates_each_bounced_address() -> None:
    bounce = {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": "recipient@example.com",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            },
            {"emailAddress": "Other <other@example.com>"},
        ],
        "timestamp": "2017-08-05T00:41:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "reportingMTA": "dsn; mta.example.com",
    }
    receipt = from_event(ses("Bounce", "bounce", bounce), ARRIVAL)
    assert receipt is not None
    assert receipt.record is not None
    assert receipt.record["event_type"] == "_email.hardbounce"
    assert receipt.deactivate == (("EMAIL", "recipient@example.com"), ("EMAIL", "other@example.com"))
    facet = receipt.record["facets"]["email_channel"]["mail_event"]["bounce"]  # type: ignore[index]
    assert facet["bounce_type"] == "Permanent"
    assert facet["bounced_recipients"][0]["diagnostic_code"] == "smtp; 550 5.1.1 user unknown"


def test_a_complaint_deactivates_the_complaining_address() -> None:
    complaint = {
        "complainedRecipients": [{"emailAddress": "recipient@example.com"}],
        "timestamp": "2017-08-05T00:41:02.669Z",
        "feedbackId": "f",
        "userAgent": "Mozilla/5.0",
        "complaintFeedbackType": "abuse",
    }
    receipt = from_event(ses("Complaint", "complaint", complaint), ARRIVAL)
    assert receipt is not None
    assert receipt.record is not None
    assert receipt.record["event_type"] == "_email.complaint"
    assert receipt.deactivate == (("EMAIL", "recipient@example.com"),)


def test_send_and_delivery_delay_are_not_recorded_twice() -> None:
    """The send event comes from the dispatcher; SES's own Send would count the message twice."""
    assert from_event(ses("Send", "send", {}), ARRIVAL) is None
    assert from_event(ses("DeliveryDelay", "deliveryDelay", {"delayType": "MailboxFull"}), ARRIVAL) is None


def test_a_transactional_send_without_endpoint_gets_a_stable_uuid_client() -> None:
    first = from_event(ses("Delivery", "delivery", DELIVERY, endpoint=None), ARRIVAL)
    again = from_event(ses("Delivery", "delivery", DELIVERY, endpoint=None), ARRIVAL + 5)
    assert first is not None
    assert again is not None
    assert first.record
    assert again.record
    client = first.record["client"]["client_id"]  # type: ignore[index]
    assert len(client) == 36
    assert client == again.record["client"]["client_id"]  # type: ignore[index]


def test_receipts_of_other_senders_are_ignored() -> None:
    event = ses("Delivery", "delivery", DELIVERY)
    event["mail"]["tags"] = {"ses:configuration-set": ["homing"], "team": ["growth"]}
    assert from_event(event, ARRIVAL) is None
    foreign_sms = sms("TEXT_DELIVERED", "DELIVERED")
    foreign_sms["context"] = {"account": "bar"}
    assert from_event(foreign_sms, ARRIVAL) is None


@pytest.mark.parametrize(
    ("kind", "status", "event_type", "record_status"),
    [
        ("TEXT_DELIVERED", "DELIVERED", "_SMS.SUCCESS", "DELIVERED"),
        ("TEXT_SUCCESSFUL", "SUCCESSFUL", "_SMS.SUCCESS", "SUCCESSFUL"),
        ("TEXT_BLOCKED", "BLOCKED", "_SMS.FAILURE", "BLOCKED"),
        ("TEXT_INVALID", "INVALID", "_SMS.FAILURE", "INVALID"),
        ("TEXT_CARRIER_UNREACHABLE", "CARRIER_UNREACHABLE", "_SMS.FAILURE", "CARRIER_UNREACHABLE"),
        ("TEXT_TTL_EXPIRED", "TTL_EXPIRED", "_SMS.FAILURE", "TTL_EXPIRED"),
        ("TEXT_SPAM", "SPAM", "_SMS.FAILURE", "SPAM"),
        ("TEXT_UNKNOWN", "UNKNOWN", "_SMS.FAILURE", "UNKNOWN"),
        ("TEXT_SOMETHING_NEW", "NEW_STATUS", "_SMS.FAILURE", "NEW_STATUS"),
    ],
)
def test_sms_events_become_pinpoint_sms_records(kind: str, status: str, event_type: str, record_status: str) -> None:
    receipt = from_event(sms(kind, status), ARRIVAL)
    assert receipt is not None
    assert receipt.record is not None
    record = receipt.record
    assert record["event_type"] == event_type
    assert record["event_timestamp"] == 1686975103470
    assert record["client"] == {"client_id": "ep-9"}
    assert record["attributes"] == {
        "campaign_id": "c1",
        "treatment_id": "0",
        "message_id": "862a8790-60c0-4430-9b2b-658bdexample",
        "origination_phone_number": "+12065550152",
        "destination_phone_number": "+14255550156",
        "record_status": record_status,
        "iso_country_code": "US",
        "number_of_message_parts": "2",
        "message_type": "Transactional",
        "status_description": "Message has been accepted by phone carrier",
    }
    assert record["metrics"] == {"price_in_millicents_usd": 645.0}
    assert parse_record(record).event_type == event_type


def test_intermediate_sms_statuses_are_not_recorded() -> None:
    assert from_event(sms("TEXT_QUEUED", "QUEUED"), ARRIVAL) is None
    assert from_event(sms("TEXT_PENDING", "PENDING"), ARRIVAL) is None
    assert from_event(sms("TEXT_SUCCESSFUL", "SUCCESSFUL", isFinal=False), ARRIVAL) is None


def test_voice_outcomes_become_voice_records() -> None:
    done = sms("VOICE_COMPLETED", "COMPLETED", totalDurationSeconds=12)
    receipt = from_event(done, ARRIVAL)
    assert receipt is not None
    assert receipt.record is not None
    assert receipt.record["event_type"] == "_voice.success"
    assert receipt.record["attributes"]["record_status"] == "COMPLETED"  # type: ignore[index]
    assert receipt.record["metrics"] == {"price_in_millicents_usd": 645.0, "duration_seconds": 12.0}
    busy = from_event(sms("VOICE_BUSY", "BUSY"), ARRIVAL)
    assert busy is not None
    assert busy.record is not None
    assert busy.record["event_type"] == "_voice.failure"
    assert from_event(sms("VOICE_RINGING", "RINGING"), ARRIVAL) is None


@pytest.mark.parametrize(
    "broken",
    [
        {"mail": {}},
        {"eventType": 7},
        {"eventType": "Whatever"},
        {"eventType": "TEXT_DELIVERED", "context": "nope"},
    ],
)
def test_malformed_receipts_are_value_errors(broken: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"eventType|receipt|mail|context"):
        from_event(broken, ARRIVAL)


def test_a_tagged_receipt_missing_its_message_id_is_a_value_error() -> None:
    event = ses("Delivery", "delivery", DELIVERY)
    del event["mail"]["messageId"]
    with pytest.raises(ValueError, match="messageId"):
        from_event(event, ARRIVAL)


JUNK = st.none() | st.integers() | st.text(max_size=5) | st.lists(st.text(max_size=3), max_size=2) | st.booleans()


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(
    base=st.sampled_from(["ses", "sms"]),
    path=st.sampled_from(
        [
            ("eventType",),
            ("mail",),
            ("mail", "timestamp"),
            ("mail", "tags"),
            ("mail", "commonHeaders"),
            ("mail", "messageId"),
            ("delivery",),
            ("context",),
            ("messageId",),
            ("eventTimestamp",),
            ("totalMessageParts",),
        ]
    ),
    junk=JUNK,
)
def test_a_receipt_with_any_field_spoiled_maps_or_raises_value_error(
    base: str, path: tuple[str, ...], junk: Any
) -> None:
    """Poison never escapes as another error type: the handler fails the invocation, Lambda dead-letters it."""
    event = ses("Delivery", "delivery", DELIVERY) if base == "ses" else sms("TEXT_DELIVERED", "DELIVERED")
    target = event
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            return
        target = target[key]
    target[path[-1]] = junk
    with contextlib.suppress(ValueError):
        from_event(event, ARRIVAL)


@pytest.mark.parametrize("price", [float("nan"), float("inf"), -1.0, True, "0.01"])
def test_a_price_that_is_not_an_amount_is_left_out(price: Any) -> None:
    receipt = from_event(sms("TEXT_DELIVERED", "DELIVERED", totalMessagePrice=price), ARRIVAL)
    assert receipt is not None
    assert receipt.record is not None
    assert receipt.record["metrics"] == {}


@pytest.mark.parametrize("when", [float("nan"), 10**17, -5, "1970-01-01T00:00:00Z", True])
def test_a_receipt_time_outside_what_process_events_counts_is_a_value_error(when: Any) -> None:
    with pytest.raises(ValueError, match=r"eventTimestamp|malformed"):
        from_event(sms("TEXT_DELIVERED", "DELIVERED", eventTimestamp=when), ARRIVAL)
