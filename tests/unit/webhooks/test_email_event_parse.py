"""Email event parsers (Postmark, SendGrid, Mailgun, SES, our generic JSON): the sample payloads
(tests/fixtures), signatures / basic auth, bad bodies, and fuzzing with
hypothesis (parse may raise only UnprocessablePayload / IgnoredTopic)."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import BadRequest, InvalidSignature, UnprocessablePayload
from webhooks.providers import (
    IgnoredTopic,
    email_generic,
    email_mailgun,
    email_postmark,
    email_sendgrid,
    email_ses,
    provider_for,
)

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "tests" / "fixtures"
OURS = SAMPLES / "email-events"
REAL = SAMPLES / "real" / "email"
ALL_SAMPLES = sorted(OURS.glob("*.json")) + sorted(REAL.glob("*.json"))
SECRET = "postmark:hook-pass"
MAILGUN_KEY = "key-mailgun-signing"
MODULES = [email_generic, email_postmark, email_sendgrid, email_mailgun, email_ses]
BASIC_AUTH_MODULES = [email_generic, email_postmark, email_sendgrid, email_ses]
EMAIL_TYPES = {"email.delivered", "email.bounced", "email.complained", "email.opened", "email.clicked"}
MODULE_BY_PREFIX = {
    "postmark": email_postmark,
    "sendgrid": email_sendgrid,
    "mailgun": email_mailgun,
    "ses": email_ses,
}


def module_for(path: Path) -> ModuleType:
    return MODULE_BY_PREFIX[path.name.split("-")[0]]


def load(path: Path) -> Any:
    return json.loads(path.read_bytes())


def dump(data: Any) -> bytes:
    return json.dumps(data).encode()


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def basic(credentials: str = SECRET) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
        micro: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=dt.UTC)


# -- samples ------------------------------------------------------------------------------------

EXPECTED: dict[str, dict[str, Any]] = {
    "email-events/postmark-bounce.json": {
        "type": "email.bounced",
        "email": "nobody.here@example.com",
        "occurred_at": utc(2026, 3, 6, 16, 33, 54, 907025),
        "key": "email-postmark:4323372036854775807:email.bounced",
        "properties": {
            "message_id": "42",  # ours, from Metadata, not Postmark's MessageID
            "provider": "email-postmark",
            "recipient": "nobody.here@example.com",
            "bounce_type": "hard",
            "description": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        },
    },
    "email-events/postmark-spam-complaint.json": {
        "type": "email.complained",
        "email": "ravi.kumar@example.com",
        "occurred_at": utc(2026, 3, 7, 10, 1, 2),
        "key": "email-postmark:4323372036854775808:email.complained",
        "properties": {"message_id": "57", "provider": "email-postmark", "recipient": "ravi.kumar@example.com"},
    },
    "real/email/postmark-bounce.json": {
        "type": "email.bounced",
        "email": "john@example.com",
        "occurred_at": utc(2019, 11, 5, 16, 33, 54, 907025),
        "key": "email-postmark:42:email.bounced",
        "properties": {
            "message_id": "20130503192659.13651.20287@mg.craftremote.com",
            "provider": "email-postmark",
            "recipient": "john@example.com",
            "bounce_type": "hard",
            "description": "Test bounce details",
        },
    },
    "real/email/postmark-spam-complaint.json": {
        "type": "email.complained",
        "email": "john@example.com",
        "occurred_at": utc(2019, 11, 5, 16, 33, 54, 907025),
        "key": "email-postmark:42:email.complained",
        "properties": {
            "message_id": "20130503192659.13651.20287@mg.craftremote.com",
            "provider": "email-postmark",
            "recipient": "john@example.com",
        },
    },
    "real/email/postmark-click.json": {
        "type": "email.clicked",
        "email": "john@example.com",
        "occurred_at": utc(2017, 10, 25, 15, 21, 11, 906561),
        "key": None,  # no ID on clicks: digest + index
        "properties": {
            "message_id": "20130503192659.13651.20287@mg.craftremote.com",
            "provider": "email-postmark",
            "recipient": "john@example.com",
            "url": "http://example.com/signup",
        },
    },
    "real/email/sendgrid-event-dropped.json": {
        "type": "email.bounced",
        "email": "hello@world.com",
        "occurred_at": utc(2020, 9, 14, 19, 41, 32),
        "key": "email-sendgrid:ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA:email.bounced",
        "properties": {
            "message_id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
            "provider": "email-sendgrid",
            "recipient": "hello@world.com",
            "bounce_type": "hard",
            "description": "Bounced Address",
        },
    },
    "real/email/mailgun-failed-permanent.json": {
        "type": "email.bounced",
        "email": "invalid@example.com",
        "occurred_at": utc(2018, 8, 12, 21, 47, 2, 389832),
        "key": None,  # no event id in the sample
        "properties": {
            "message_id": "20180812214658.1.0DF563D0B3597700@example.org",
            "provider": "email-mailgun",
            "recipient": "invalid@example.com",
            "bounce_type": "hard",
            "description": "5.1.1 The email account that you tried to reach does not exist. Please try\n"
            "5.1.1 double-checking the recipient's email address for typos",
        },
    },
    "real/email/ses-sns-bounce-suppression-list.json": {
        "type": "email.bounced",
        "email": "relayuser@test.com",
        "occurred_at": utc(2022, 1, 18, 15, 46, 34),
        "key": "email-ses:0100017e6dde5726-6164bdc9-7da9-42f7-ba58-8f4692799d89-000000:0:email.bounced",
        "properties": {
            "message_id": "0100017e6dde5594-4912fac5-bd85-4358-98d4-7b8d8b89fc60-000000",
            "provider": "email-ses",
            "recipient": "relayuser@test.com",
            "bounce_type": "hard",
            "description": "Amazon SES did not send the message to this address because it is on the "
            "suppression list for your account. For more information about removing addresses from "
            "the suppression list, see the Amazon SES Developer Guide at "
            "https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html",
        },
    },
    "real/email/ses-complaint-simulator.json": {
        "type": "email.complained",
        "email": "complaint@simulator.amazonses.com",
        "occurred_at": utc(2022, 8, 3, 17, 38, 31),
        "key": "email-ses:0100018264c9a044-451ca066-90ad-47ac-ae48-df21fb8a2fe8-000000:0:email.complained",
        "properties": {
            "message_id": "0100018264c99e08-1aae1638-c00a-4c2b-93dd-acf9752adf56-000000",
            "provider": "email-ses",
            "recipient": "complaint@simulator.amazonses.com",
        },
    },
}


def test_every_sample_has_expectations_and_routes() -> None:
    assert {str(path.relative_to(SAMPLES)) for path in ALL_SAMPLES} == set(EXPECTED)
    for module in MODULES:
        assert provider_for(module.NAME) is module


@pytest.mark.parametrize("path", ALL_SAMPLES, ids=lambda path: path.name)
def test_sample(path: Path) -> None:
    module = module_for(path)
    body = path.read_bytes()
    expected = EXPECTED[str(path.relative_to(SAMPLES))]
    (event,) = module.parse({}, body)
    assert event.type == expected["type"]
    assert event.source == "email"
    assert event.email == expected["email"]
    assert event.occurred_at == expected["occurred_at"]
    assert event.properties == expected["properties"]
    key = expected["key"] or f"{module.NAME}:{digest(body)}:0:{expected['type']}"
    assert event.idempotency_key == key
    assert module.parse({}, body) == [event]
    assert isinstance(module.delivery_id({}, body), str)
    assert module.topic({}, body) != "unknown"


def test_generic_sample_is_a_list_of_our_own_events() -> None:
    body = (SAMPLES / "email-generic" / "events.json").read_bytes()
    events = email_generic.parse({}, body)
    assert [(e.type, e.email) for e in events] == [
        ("email.bounced", "ann.lee@example.com"), ("email.opened", "bo.chen@example.com"),
        ("email.clicked", "bo.chen@example.com")]
    assert events[0].properties["bounce_type"] == "hard"
    assert events[2].properties["url"] == "https://acme-audio.example/products/studio-monitor-x5"
    assert [e.idempotency_key.split(":")[1] for e in events] == ["evt_2001", "evt_2002", "evt_2003"]


def test_sample_delivery_ids_and_topics() -> None:
    bounce = (OURS / "postmark-bounce.json").read_bytes()
    assert email_postmark.delivery_id({}, bounce) == "Bounce:4323372036854775807"
    assert email_postmark.topic({}, bounce) == "Bounce"
    click = (REAL / "postmark-click.json").read_bytes()
    assert email_postmark.delivery_id({}, click) == digest(click)
    sendgrid = (REAL / "sendgrid-event-dropped.json").read_bytes()
    assert sendgrid.endswith(b"\r\n")  # the trailing CRLF is part of the body
    assert email_sendgrid.delivery_id({}, sendgrid) == digest(sendgrid)
    assert email_sendgrid.topic({}, sendgrid) == "dropped"
    sns = (REAL / "ses-sns-bounce-suppression-list.json").read_bytes()
    assert email_ses.delivery_id({}, sns) == "adbc2384-317d-54f1-b957-79e4d266a9f8"
    assert email_ses.topic({}, sns) == "Notification:Bounce"
    assert email_ses.topic({}, (REAL / "ses-complaint-simulator.json").read_bytes()) == "Complaint"
    assert email_mailgun.topic({}, (REAL / "mailgun-failed-permanent.json").read_bytes()) == "failed"


# -- postmark -----------------------------------------------------------------------------------


def postmark(name: str = "postmark-bounce.json", **changes: Any) -> list[Any]:
    data = load(REAL / name)
    data.update(changes)
    return email_postmark.parse({}, dump(data))


@pytest.mark.parametrize(
    ("kind", "bounce_type"),
    [("HardBounce", "hard"), ("BadEmailAddress", "hard"), ("ManuallyDeactivated", "hard"),
     ("SoftBounce", "soft"), ("Transient", "soft"), ("DnsError", "soft"), ("Blocked", "soft")],
)
def test_postmark_bounce_types(kind: str, bounce_type: str) -> None:
    assert postmark(Type=kind)[0].properties["bounce_type"] == bounce_type


def test_postmark_bounce_description_falls_back_to_description() -> None:
    (event,) = postmark(Details="")
    assert event.properties["description"].startswith("The server was unable to deliver")


@pytest.mark.parametrize("kind", ["AutoResponder", "Subscribe", "AddressChange"])
def test_postmark_informational_bounces_are_ignored(kind: str) -> None:
    with pytest.raises(IgnoredTopic):
        postmark(Type=kind)


def test_postmark_spam_complaint_type_inside_a_bounce_record() -> None:
    assert postmark(Type="SpamComplaint")[0].type == "email.complained"


def test_postmark_delivery_open_and_our_message_id_header() -> None:
    headers = [{"Name": "X-Other", "Value": "1"}, {"Name": "Message-ID", "Value": "<abc@nurture.local>"}]
    delivery = {"RecordType": "Delivery", "MessageID": "pm-1", "Recipient": "Ann@Example.com",
                "DeliveredAt": "2026-03-01T10:00:00Z", "Details": "250 OK", "Headers": headers}
    (event,) = email_postmark.parse({}, dump(delivery))
    assert event.type == "email.delivered"
    assert event.email == "ann@example.com"
    assert event.occurred_at == utc(2026, 3, 1, 10)
    assert event.properties == {"message_id": "<abc@nurture.local>", "provider": "email-postmark",
                                "recipient": "ann@example.com"}
    opened = {"RecordType": "Open", "MessageID": "pm-2", "Recipient": "ann@example.com",
              "ReceivedAt": "2026-03-01T11:00:00Z", "Metadata": {"Message-ID": "<m2@nurture.local>"}}
    (event,) = email_postmark.parse({}, dump(opened))
    assert (event.type, event.properties["message_id"]) == ("email.opened", "<m2@nurture.local>")
    assert event.occurred_at == utc(2026, 3, 1, 11)


@pytest.mark.parametrize("record_type", ["SubscriptionChange", "Inbound", "", None, 3])
def test_postmark_other_record_types_are_ignored(record_type: Any) -> None:
    with pytest.raises(IgnoredTopic):
        postmark(RecordType=record_type)


# -- sendgrid -----------------------------------------------------------------------------------


def sendgrid_batch() -> list[dict[str, Any]]:
    base = load(REAL / "sendgrid-event-dropped.json")[0]
    rows: list[dict[str, Any]] = [
        {"event": "processed"},
        {"event": "delivered", "response": "250 OK"},
        {"event": "bounce", "type": "bounce", "reason": "550 no such user"},
        {"event": "bounce", "type": "blocked", "reason": "421 try later"},
        {"event": "dropped", "reason": "Invalid SMTPAPI header"},
        {"event": "dropped", "reason": "Unsubscribed Address"},
        {"event": "spamreport"},
        {"event": "open", "message_id": "<ours@nurture.local>"},
        {"event": "click", "url": "https://shop.example/p/1"},
        {"event": "deferred"},
    ]
    return [{**base, **row, "sg_event_id": f"evt-{index}"} for index, row in enumerate(rows)]


def test_sendgrid_batch_gives_one_event_per_useful_record() -> None:
    body = dump(sendgrid_batch())
    events = email_sendgrid.parse({}, body)
    assert [(event.type, event.properties.get("bounce_type")) for event in events] == [
        ("email.delivered", None),
        ("email.bounced", "hard"),
        ("email.bounced", "soft"),
        ("email.bounced", "hard"),
        ("email.complained", None),
        ("email.opened", None),
        ("email.clicked", None),
    ]
    assert [event.idempotency_key.split(":")[1] for event in events] == [
        "evt-1", "evt-2", "evt-3", "evt-4", "evt-6", "evt-7", "evt-8"
    ]
    assert events[3].properties["description"] == "Invalid SMTPAPI header"
    assert events[5].properties["message_id"] == "<ours@nurture.local>"
    assert events[6].properties["url"] == "https://shop.example/p/1"
    assert {event.email for event in events} == {"hello@world.com"}
    topics = "bounce,click,deferred,delivered,dropped,open,processed,spamreport"
    assert email_sendgrid.topic({}, body) == topics


def test_sendgrid_without_event_ids_uses_digest_and_index() -> None:
    rows = [{"event": "open", "email": "a@example.com", "timestamp": 1},
            {"event": "open", "email": "a@example.com", "timestamp": 1}]
    body = dump(rows)
    keys = [event.idempotency_key for event in email_sendgrid.parse({}, body)]
    assert keys == [f"email-sendgrid:{digest(body)}:{index}:email.opened" for index in (0, 1)]


def test_sendgrid_all_ignored_is_ignored_and_empty_is_nothing() -> None:
    with pytest.raises(IgnoredTopic):
        email_sendgrid.parse({}, dump([{"event": "processed"}, {"event": "dropped", "reason": "Unsubscribed"}]))
    assert email_sendgrid.parse({}, b"[]") == []


@pytest.mark.parametrize("body", [b"[1]", b'[{"event": "open"}, "x"]', b"[[]]", b"{", b"", b"[" * 5000])
def test_sendgrid_malformed_bodies_are_unprocessable(body: bytes) -> None:
    with pytest.raises(UnprocessablePayload):
        email_sendgrid.parse({}, body)


# -- mailgun ------------------------------------------------------------------------------------


def mailgun_body(changes: dict[str, Any] | None = None, secret: str = MAILGUN_KEY) -> bytes:
    data = load(REAL / "mailgun-failed-permanent.json")
    data["event-data"].update(changes or {})
    timestamp, token = "1534110422", "c2a1b3f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2"
    signature = hmac.new(secret.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    data["signature"] = {"timestamp": timestamp, "token": token, "signature": signature}
    return dump(data)


def test_mailgun_signed_at_reads_the_signed_timestamp() -> None:
    assert email_mailgun.signed_at({}, mailgun_body()) == 1534110422.0
    signature = {"timestamp": "soon", "token": "t", "signature": "s"}
    data = load(REAL / "mailgun-failed-permanent.json") | {"signature": signature}
    with pytest.raises(InvalidSignature, match="not a number"):
        email_mailgun.signed_at({}, dump(data))


def test_mailgun_verify_good_bad_and_missing() -> None:
    body = mailgun_body()
    email_mailgun.verify({}, body, MAILGUN_KEY)
    with pytest.raises(InvalidSignature):
        email_mailgun.verify({}, mailgun_body(secret="wrong-key"), MAILGUN_KEY)
    with pytest.raises(InvalidSignature, match="NURTURE_MAILGUN_SIGNING_KEY"):
        email_mailgun.verify({}, body, "")  # unset key: refused, and the message says which setting
    tampered = json.loads(body)
    tampered["signature"]["token"] = "other-token"
    with pytest.raises(InvalidSignature):
        email_mailgun.verify({}, dump(tampered), MAILGUN_KEY)
    # The real sample has no `signature` object.
    with pytest.raises(BadRequest):
        email_mailgun.verify({}, (REAL / "mailgun-failed-permanent.json").read_bytes(), MAILGUN_KEY)
    for bad in (b"nope", b"[]", b'{"signature": "x"}', b'{"signature": {"timestamp": "1"}}'):
        with pytest.raises(BadRequest):
            email_mailgun.verify({}, bad, MAILGUN_KEY)


@pytest.mark.parametrize("field", ["timestamp", "token", "signature"])
def test_mailgun_lone_surrogates_are_a_bad_signature_not_a_crash(field: str) -> None:
    # JSON may escape half of a UTF-16 pair ("\\ud800"); encoding it must not raise past verify.
    data = json.loads(mailgun_body())
    data["signature"][field] += "\ud800"
    with pytest.raises(InvalidSignature):
        email_mailgun.verify({}, json.dumps(data).encode(), MAILGUN_KEY)


def test_mailgun_signed_body_parses_and_keys_the_delivery_on_its_token() -> None:
    body = mailgun_body()
    assert email_mailgun.parse({}, body)[0].properties["bounce_type"] == "hard"
    assert email_mailgun.delivery_id({}, body) == "token:c2a1b3f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2"
    body = mailgun_body({"id": "mg-evt-1"})
    # The delivery is the token's (one token, one body); the event keeps its own id for idempotency.
    assert email_mailgun.delivery_id({}, body) == "token:c2a1b3f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2"
    assert email_mailgun.parse({}, body)[0].idempotency_key == "email-mailgun:mg-evt-1:email.bounced"


def test_mailgun_temporary_failure_is_soft_and_other_events() -> None:
    assert email_mailgun.parse({}, mailgun_body({"severity": "temporary"}))[0].properties["bounce_type"] == "soft"
    (clicked,) = email_mailgun.parse({}, mailgun_body(
        {"event": "clicked", "url": "https://shop.example/x", "user-variables": {"message_id": "<o@n>"}}
    ))
    assert clicked.type == "email.clicked"
    assert clicked.properties["url"] == "https://shop.example/x"
    assert clicked.properties["message_id"] == "<o@n>"
    for event, event_type in [("delivered", "email.delivered"), ("complained", "email.complained"),
                              ("opened", "email.opened")]:
        assert email_mailgun.parse({}, mailgun_body({"event": event}))[0].type == event_type
    for event in ("accepted", "unsubscribed", "stored"):
        with pytest.raises(IgnoredTopic):
            email_mailgun.parse({}, mailgun_body({"event": event}))


@pytest.mark.parametrize("body", [b'{"signature": {}}', b'{"event-data": []}', b"[]",
                                  mailgun_body({"severity": "odd"}), mailgun_body({"timestamp": "soon"})])
def test_mailgun_malformed_bodies_are_unprocessable(body: bytes) -> None:
    with pytest.raises(UnprocessablePayload):
        email_mailgun.parse({}, body)


# -- ses ----------------------------------------------------------------------------------------


def sns(inner: dict[str, Any], **changes: Any) -> bytes:
    envelope = load(REAL / "ses-sns-bounce-suppression-list.json")
    envelope["Message"] = json.dumps(inner)
    envelope.update(changes)
    return dump(envelope)


def ses_inner() -> dict[str, Any]:
    return json.loads(load(REAL / "ses-sns-bounce-suppression-list.json")["Message"])


def test_ses_transient_bounce_is_soft_and_every_recipient_counts() -> None:
    inner = ses_inner()
    inner["bounce"]["bounceType"] = "Transient"
    inner["bounce"]["bouncedRecipients"].append({"emailAddress": "two@test.com"})
    events = email_ses.parse({}, sns(inner))
    assert [(event.email, event.properties["bounce_type"]) for event in events] == [
        ("relayuser@test.com", "soft"), ("two@test.com", "soft")
    ]
    assert events[1].properties["description"] == "OnAccountSuppressionList"
    assert events[1].idempotency_key.endswith(":1:email.bounced")


def test_ses_delivery_open_click_and_our_message_id() -> None:
    inner = ses_inner()
    del inner["bounce"]
    inner["mail"]["headers"].append({"name": "Message-ID", "value": "<ours@nurture.local>"})
    inner.update(notificationType="Delivery", delivery={"timestamp": "2022-01-18T15:46:40Z",
                                                        "recipients": ["relayuser@test.com"]})
    (delivered,) = email_ses.parse({}, sns(inner))
    assert delivered.type == "email.delivered"
    assert delivered.occurred_at == utc(2022, 1, 18, 15, 46, 40)
    assert delivered.properties["message_id"] == "<ours@nurture.local>"
    assert delivered.idempotency_key == "email-ses:adbc2384-317d-54f1-b957-79e4d266a9f8:0:email.delivered"
    del inner["notificationType"]
    inner.update(eventType="Click", click={"timestamp": "2022-01-18T16:00:00Z", "link": "https://x.example/"})
    (clicked,) = email_ses.parse({}, sns(inner))
    assert (clicked.type, clicked.email, clicked.properties["url"]) == (
        "email.clicked", "relayuser@test.com", "https://x.example/"
    )
    inner.update(eventType="Open", open={"timestamp": "2022-01-18T16:01:00Z"})
    (opened,) = email_ses.parse({}, sns(inner))
    assert (opened.type, opened.occurred_at) == ("email.opened", utc(2022, 1, 18, 16, 1))


@pytest.mark.parametrize("sns_type", ["SubscriptionConfirmation", "UnsubscribeConfirmation", "Other"])
def test_ses_sns_control_messages_are_ignored(sns_type: str) -> None:
    with pytest.raises(IgnoredTopic):
        email_ses.parse({}, sns(ses_inner(), Type=sns_type))


@pytest.mark.parametrize("kind", ["Send", "Reject", "DeliveryDelay", "Rendering Failure"])
def test_ses_other_notifications_are_ignored(kind: str) -> None:
    inner = ses_inner()
    inner["notificationType"] = kind
    with pytest.raises(IgnoredTopic):
        email_ses.parse({}, sns(inner))


@pytest.mark.parametrize(
    "body",
    [
        sns(ses_inner(), Message=None),
        sns(ses_inner(), Message="not json"),
        sns(ses_inner(), Message="[]"),
        sns({"mail": {}}),
        sns({"notificationType": "Bounce", "bounce": {"bouncedRecipients": []}}),
        sns({"notificationType": "Complaint"}),
        b'{"Type": "Notification"}',
        b"{}",
        b"text",
    ],
)
def test_ses_malformed_bodies_are_unprocessable(body: bytes) -> None:
    with pytest.raises(UnprocessablePayload):
        email_ses.parse({}, body)


# -- generic ------------------------------------------------------------------------------------


def test_generic_single_record_and_list() -> None:
    record = {"event": "bounced", "email": "Ann@Example.com", "message_id": "<m@nurture.local>",
              "bounce_type": "soft", "description": "mailbox full", "timestamp": "2026-03-06T16:33:54Z",
              "id": "evt_1"}
    body = dump(record)
    (event,) = email_generic.parse({}, body)
    assert event.source == "email"
    assert event.email == "ann@example.com"
    assert event.occurred_at == utc(2026, 3, 6, 16, 33, 54)
    assert event.idempotency_key == "email-generic:evt_1:email.bounced"
    assert event.properties == {"message_id": "<m@nurture.local>", "provider": "email-generic",
                                "recipient": "ann@example.com", "bounce_type": "soft",
                                "description": "mailbox full"}
    assert email_generic.delivery_id({}, body) == "evt_1"
    assert email_generic.topic({}, body) == "bounced"
    rows = [{"event": "clicked", "email": "a@example.com", "url": "https://x.example", "timestamp": 1},
            {"event": "delivered", "email": "a@example.com"}, {"event": "unsubscribed"}]
    body = dump(rows)
    events = email_generic.parse({}, body)
    assert [event.type for event in events] == ["email.clicked", "email.delivered"]
    assert events[0].properties["url"] == "https://x.example"
    assert events[1].idempotency_key == f"email-generic:{digest(body)}:1:email.delivered"
    assert email_generic.delivery_id({}, body) == digest(body)
    assert email_generic.topic({}, body) == "batch"


@pytest.mark.parametrize("event", ["complained", "opened"])
def test_generic_simple_events(event: str) -> None:
    (parsed,) = email_generic.parse({}, dump({"event": event, "email": "a@example.com"}))
    assert parsed.type == f"email.{event}"


def test_generic_unknown_event_is_ignored() -> None:
    with pytest.raises(IgnoredTopic):
        email_generic.parse({}, dump({"event": "sent", "email": "a@example.com"}))


@pytest.mark.parametrize(
    "body",
    [b"", b"[1, 2]", b'"x"', b'{"event": "bounced", "email": "a@example.com"}',
     b'{"event": "bounced", "bounce_type": "medium"}', b'{"event": "opened", "timestamp": "x"}'],
)
def test_generic_malformed_bodies_are_unprocessable(body: bytes) -> None:
    with pytest.raises(UnprocessablePayload):
        email_generic.parse({}, body)


# -- basic auth (postmark, sendgrid, ses, generic) ----------------------------------------------


def test_basic_auth_is_one_shared_function() -> None:
    for module in BASIC_AUTH_MODULES:
        assert module.verify is email_generic.verify_basic_auth


@pytest.mark.parametrize("module", BASIC_AUTH_MODULES, ids=lambda module: module.NAME)
def test_basic_auth_accepts_the_right_credentials(module: ModuleType) -> None:
    module.verify(basic(), b"{}", SECRET)
    module.verify({"authorization": "basic " + basic()["authorization"][6:]}, b"{}", SECRET)


@pytest.mark.parametrize("module", BASIC_AUTH_MODULES, ids=lambda module: module.NAME)
@pytest.mark.parametrize(
    ("headers", "secret", "error"),
    [
        ({}, SECRET, InvalidSignature),
        ({"authorization": ""}, SECRET, InvalidSignature),
        ({"authorization": "Bearer abc"}, SECRET, BadRequest),
        ({"authorization": "Basic"}, SECRET, BadRequest),
        (basic("postmark:wrong"), SECRET, InvalidSignature),
        (basic("other:hook-pass"), SECRET, InvalidSignature),
        ({"authorization": "Basic !!!not-base64"}, SECRET, InvalidSignature),
        ({"authorization": "Basic ünïcode"}, SECRET, InvalidSignature),
        # The right credentials with junk around them: strict base64, nothing skipped.
        ({"authorization": "Basic " + basic()["authorization"][6:] + "!!"}, SECRET, InvalidSignature),
        ({"authorization": "Basic *" + basic()["authorization"][6:]}, SECRET, InvalidSignature),
        (basic(), "", InvalidSignature),
        (basic("nocolon"), "nocolon", InvalidSignature),
    ],
)
def test_basic_auth_rejects(module: ModuleType, headers: dict[str, str], secret: str, error: type) -> None:
    with pytest.raises(error):
        module.verify(headers, b"{}", secret)


# -- fuzzing ------------------------------------------------------------------------------------

KEYS = sorted(
    {
        "RecordType", "Type", "ID", "MessageID", "Metadata", "Headers", "Name", "Value", "Email",
        "Recipient", "BouncedAt", "ReceivedAt", "DeliveredAt", "OriginalLink", "Details",
        "Description", "event", "email", "type", "reason", "sg_event_id", "smtp-id", "url",
        "timestamp", "signature", "event-data", "severity", "recipient", "message", "headers",
        "message-id", "delivery-status", "user-variables", "id", "Message", "MessageId",
        "notificationType", "eventType", "bounce", "bounceType", "bouncedRecipients", "emailAddress",
        "complaint", "complainedRecipients", "delivery", "recipients", "mail", "destination",
        "messageId", "click", "link", "open", "bounce_type", "message_id", "feedbackId", "name",
        "value",
    }
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        ["Bounce", "SpamComplaint", "Delivery", "Open", "Click", "HardBounce", "delivered", "bounce",
         "dropped", "click", "failed", "permanent", "Notification", "Complaint", "Permanent", "bounced",
         "clicked", "hard", "a@example.com", "2026-03-06T16:33:54Z", "Message-ID"]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=5),
    max_leaves=25,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from _paths(child, (*prefix, key))


def _mutate(draw: st.DrawFn, data: Any) -> Any:
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(list(_paths(data))))
        if not path:
            continue
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(JSON)
    return data


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    return dump(_mutate(draw, load(draw(st.sampled_from(ALL_SAMPLES)))))


@st.composite
def mutated_sns_messages(draw: st.DrawFn) -> bytes:
    """Mutations inside the JSON string of an SNS envelope (which plain mutation never reaches)."""
    return sns(_mutate(draw, ses_inner()))


def _parse_only_raises_allowed(body: bytes) -> None:
    for module in MODULES:
        try:
            events = module.parse({}, body)
        except (UnprocessablePayload, IgnoredTopic):
            pass
        else:
            assert all(event.type in EMAIL_TYPES and event.source == "email" for event in events)
            assert all(event.properties["provider"] == module.NAME for event in events)
        assert isinstance(module.delivery_id({}, body), str)
        assert isinstance(module.topic({}, body), str)


@settings(max_examples=150, deadline=None)
@given(st.binary())
def test_fuzz_binary(body: bytes) -> None:
    _parse_only_raises_allowed(body)


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_fuzz_json_like(data: Any) -> None:
    _parse_only_raises_allowed(dump(data))


@settings(max_examples=150, deadline=None)
@given(mutated_samples())
def test_fuzz_mutated_samples(body: bytes) -> None:
    _parse_only_raises_allowed(body)


@settings(max_examples=150, deadline=None)
@given(mutated_sns_messages())
def test_fuzz_mutated_sns_messages(body: bytes) -> None:
    _parse_only_raises_allowed(body)
