"""Typeform parser: the sample payloads (tests/fixtures), signatures,
bad bodies, and fuzzing with hypothesis (parse may raise only UnprocessablePayload / IgnoredTopic)."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidSignature, UnprocessablePayload
from webhooks.providers import IgnoredTopic, provider_for, typeform

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "tests" / "fixtures"
NPS = SAMPLES / "typeform" / "form-response-nps.json"
QUOTE = SAMPLES / "typeform" / "form-response-quote.json"
DOCS = SAMPLES / "real" / "typeform" / "form-response-docs-example.json"
ALL_SAMPLES = sorted((SAMPLES / "typeform").glob("*.json")) + sorted((SAMPLES / "real" / "typeform").glob("*.json"))
SECRET = "typeform-test-secret"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes())


def dump(data: Any) -> bytes:
    return json.dumps(data).encode()


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"typeform-signature": "sha256=" + base64.b64encode(digest).decode()}


def parse_dict(data: dict[str, Any]) -> list[Any]:
    return typeform.parse({}, dump(data))


# -- samples ------------------------------------------------------------------------------------


def test_samples_exist_and_route_by_name() -> None:
    assert len(ALL_SAMPLES) == 3
    assert provider_for("typeform") is typeform
    assert typeform.NAME == "typeform"


@pytest.mark.parametrize("path", ALL_SAMPLES, ids=lambda path: path.name)
def test_every_sample_gives_one_form_submission(path: Path) -> None:
    body = path.read_bytes()
    events = typeform.parse({}, body)
    form = events[0]
    data = load(path)
    token = data["form_response"]["token"]
    assert form.type == "form.submitted"
    assert form.source == "typeform"
    assert form.properties["form_key"] == data["form_response"]["form_id"]
    assert form.idempotency_key == f"typeform:{token}:form.submitted"
    assert form.object_key == f"form:{token}"
    assert typeform.delivery_id({}, body) == token
    assert typeform.topic({}, body) == "form_response"
    # Pure: the same bytes give the same events.
    assert typeform.parse({}, body) == events


def test_nps_sample_gives_form_and_detractor_survey() -> None:
    form, survey = typeform.parse({}, NPS.read_bytes())
    comment = "Headphones arrived late and the left ear crackles."
    assert form.email == survey.email == "leo.martin@example.com"
    assert form.occurred_at == survey.occurred_at == dt.datetime(2026, 3, 12, 8, 2, 31, tzinfo=dt.UTC)
    assert form.properties == {
        "form_key": "nPs4Q1z9",
        "fields": {"nps_score": 3, "nps_reason": comment, "contact_ok": True},
    }
    assert survey.type == "survey.answered"
    assert survey.source == "typeform"
    assert survey.properties == {
        "score": 3,
        "category": "detractor",
        "comment": comment,
        "reason": "",
        "survey": "nPs4Q1z9",
        "response_id": "8c2f1d7e9a3b5c4d6e8f0a1b2c3d4e5f",
    }
    assert survey.object_key == "survey:8c2f1d7e9a3b5c4d6e8f0a1b2c3d4e5f"
    assert survey.idempotency_key == "typeform:8c2f1d7e9a3b5c4d6e8f0a1b2c3d4e5f:survey.answered"


def test_quote_sample_is_only_a_form_submission_with_the_quote_details() -> None:
    events = typeform.parse({}, QUOTE.read_bytes())
    assert [event.type for event in events] == ["form.submitted"]
    form = events[0]
    # No hidden email: the first email-type answer identifies the contact.
    assert form.email == "wei.chen@example.com"
    assert form.occurred_at == dt.datetime(2026, 3, 13, 14, 23, 40, tzinfo=dt.UTC)
    assert form.properties["fields"] == {
        "email": "wei.chen@example.com",
        "company": "Harbor Clinic Group",
        "industry": "Healthcare",
        "seats": 40,
        "details": "Need delivery to 3 sites before May.",
    }


def test_real_docs_example_joins_answers_on_field_id() -> None:
    events = typeform.parse({}, DOCS.read_bytes())
    # opinion_scale / rating / number answers (all `type: number`) are not NPS questions here.
    assert [event.type for event in events] == ["form.submitted"]
    form = events[0]
    assert form.email == "laura@example.com"
    assert form.occurred_at == dt.datetime(2018, 1, 18, 18, 17, 2, tzinfo=dt.UTC)
    fields = form.properties["fields"]
    # Answers carry no ref (but the calendly one): the keys come from the definitions.
    assert fields["readable_ref_short_text"] == "Laura"
    assert fields["readable_ref_email"] == "laura@example.com"
    assert fields["readable_ref_date"] == "2005-10-15"
    assert fields["readable_ref_picture_choice"] == ["London", "Sydney"]
    assert fields["readable_ref_multiple_choice"] == "London"
    assert fields["readable_ref_legal"] is True
    assert fields["readable_ref_yes_no"] is False
    assert fields["readable_ref_opinion_scale"] == 2
    assert fields["readable_ref_rating"] == 3
    assert fields["readable_ref_number1"] == 5
    assert fields["readable_ref_number2"] == 4
    assert fields["readable_ref_calendly"].startswith("https://calendly.com/")
    assert fields["readable_ref_long_text"].startswith("It's cold right now!")
    assert len(fields) == 13


# -- variations built from the samples ----------------------------------------------------------


def test_without_refs_keys_are_title_slugs_without_placeholders_else_ids() -> None:
    data = load(DOCS)
    for field in data["form_response"]["definition"]["fields"]:
        field.pop("ref", None)
    for answer in data["form_response"]["answers"]:
        answer["field"].pop("ref", None)
    data["form_response"]["definition"]["fields"][2]["title"] = ""
    fields = parse_dict(data)[0].properties["fields"]
    # "Thanks, {{answer_60906475}}! What's it like..." -> placeholder dropped, cut at 60 characters.
    assert fields["thanks_what_s_it_like_where_you_live_tell_us_in_a_few_senten"].startswith("It's cold")
    assert fields["JwWggjAKtOkA"] == "Laura"  # no ref, no title: the field id
    assert "book_a_time_with_me" in fields


def test_same_key_twice_falls_back_to_field_id() -> None:
    data = load(QUOTE)
    data["form_response"]["definition"]["fields"][1]["ref"] = "email"
    fields = parse_dict(data)[0].properties["fields"]
    assert fields["email"] == "wei.chen@example.com"
    assert fields["Qa2"] == "Harbor Clinic Group"


def test_hidden_email_wins_over_email_answers() -> None:
    data = load(QUOTE)
    data["form_response"]["hidden"] = {"email": "  Boss@Example.com "}
    assert parse_dict(data)[0].email == "boss@example.com"


def test_no_email_anywhere_gives_no_identity() -> None:
    data = load(NPS)
    data["form_response"]["hidden"] = {"order": "1043"}
    assert {event.email for event in parse_dict(data)} == {None}


@pytest.mark.parametrize(
    ("field_type", "title", "ref", "steps", "score", "category"),
    [
        ("opinion_scale", "How was it?", "q1", 11, 9, "promoter"),
        ("opinion_scale", "How likely are you to recommend us?", "", None, 8, "passive"),
        ("rating", "Rate us", "nps", None, 10, "promoter"),
        ("number", "Would you recommend Acme?", "", None, 0, "detractor"),
        ("nps", "Score", "q1", None, 7, "passive"),
        ("nps", "Score", "q1", None, 6, "detractor"),
    ],
)
def test_nps_like_questions_also_give_a_survey_answer(
    field_type: str, title: str, ref: str, steps: int | None, score: int, category: str
) -> None:
    data = load(NPS)
    field = data["form_response"]["definition"]["fields"][0]
    field.update(type=field_type, title=title, ref=ref, properties={"steps": steps} if steps else {})
    answer = data["form_response"]["answers"][0]
    answer.update(number=score, field={"id": "Fq1aB2cD", "type": field_type})
    survey = parse_dict(data)[1]
    assert survey.properties["score"] == score
    assert survey.properties["category"] == category


@pytest.mark.parametrize(
    ("field_type", "title", "steps", "score"),
    [
        ("opinion_scale", "How important is the weather?", 5, 4),  # not 11 steps, no keyword
        ("nps", "Score", None, 11),  # out of range
        ("number", "How many units do you need?", None, 5),
        ("short_text", "Would you recommend us?", None, 9),  # not a numeric question
    ],
)
def test_not_nps_gives_only_the_form(field_type: str, title: str, steps: int | None, score: int) -> None:
    data = load(NPS)
    field = data["form_response"]["definition"]["fields"][0]
    field.update(type=field_type, title=title, ref="q1", properties={"steps": steps} if steps else {})
    data["form_response"]["answers"][0].update(number=score, field={"id": "Fq1aB2cD", "type": field_type})
    assert [event.type for event in parse_dict(data)] == ["form.submitted"]


def test_short_text_comment_when_there_is_no_long_text() -> None:
    data = load(NPS)
    data["form_response"]["definition"]["fields"][1]["type"] = "short_text"
    data["form_response"]["answers"][1]["field"]["type"] = "short_text"
    assert parse_dict(data)[1].properties["comment"].startswith("Headphones")


def test_other_answer_types() -> None:
    data = load(QUOTE)
    data["form_response"]["answers"] = [
        {"type": "phone_number", "phone_number": "+33612345678", "field": {"id": "p"}},
        {"type": "file_url", "file_url": "https://files.example/x.pdf", "field": {"id": "f"}},
        {"type": "choices", "choices": {"labels": ["A"], "other": "Z"}, "field": {"id": "c"}},
        {"type": "choice", "choice": {"other": "Custom"}, "field": {"id": "o"}},
        {"type": "payment", "payment": {"amount": "1"}, "field": {"id": "skipped"}},
        {"type": "text", "text": {"not": "a string"}, "field": {"id": "bad"}},
        "not an answer",
        {"type": "text", "text": "no field"},
    ]
    fields = parse_dict(data)[0].properties["fields"]
    assert fields == {
        "p": "+33612345678",
        "f": "https://files.example/x.pdf",
        "c": ["A", "Z"],
        "o": "Custom",
    }


def test_missing_submitted_at_defaults_to_now_and_form_id_falls_back_to_definition() -> None:
    data = load(QUOTE)
    del data["form_response"]["submitted_at"]
    del data["form_response"]["form_id"]
    form = parse_dict(data)[0]
    assert form.properties["form_key"] == "qUoTe123"
    assert abs(form.occurred_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_other_event_types_are_ignored() -> None:
    data = load(QUOTE)
    data["event_type"] = "form_partial_response"
    with pytest.raises(IgnoredTopic):
        parse_dict(data)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"form_response"',
        b"{}",
        b'{"event_type": 5}',
        b'{"event_type": "form_response"}',
        b'{"event_type": "form_response", "form_response": []}',
        b'{"event_type": "form_response", "form_response": {"form_id": "x"}}',
        b'{"event_type": "form_response", "form_response": {"token": "t"}}',
        b'{"event_type": "form_response", "form_response": {"token": "t", "form_id": "x", "answers": {}}}',
        b'{"event_type": "form_response", "form_response": {"token": "t", "form_id": "x", "submitted_at": "x"}}',
        b"1" * 5000,
    ],
)
def test_malformed_bodies_are_unprocessable(body: bytes) -> None:
    with pytest.raises(UnprocessablePayload):
        typeform.parse({}, body)


# -- verify, delivery id, topic -----------------------------------------------------------------


def test_verify_accepts_the_right_signature() -> None:
    body = NPS.read_bytes()
    typeform.verify(sign(body), body, SECRET)


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, InvalidSignature),
        ({"typeform-signature": ""}, InvalidSignature),
        ({"typeform-signature": "c2lnbmF0dXJl"}, InvalidSignature),  # no sha256= prefix
        ({"typeform-signature": "sha1=c2lnbmF0dXJl"}, InvalidSignature),
        ({"typeform-signature": "sha256=c2lnbmF0dXJl"}, InvalidSignature),
        ({"typeform-signature": "sha256=é"}, InvalidSignature),
    ],
)
def test_verify_rejects_missing_or_malformed_signatures(headers: dict[str, str], error: type) -> None:
    with pytest.raises(error):
        typeform.verify(headers, NPS.read_bytes(), SECRET)


def test_verify_rejects_wrong_secret_tampered_body_and_unconfigured_secret() -> None:
    body = NPS.read_bytes()
    with pytest.raises(InvalidSignature):
        typeform.verify(sign(body, "other-secret"), body, SECRET)
    with pytest.raises(InvalidSignature):
        typeform.verify(sign(body), body + b" ", SECRET)
    with pytest.raises(InvalidSignature):
        typeform.verify(sign(body, ""), body, "")


def test_delivery_id_falls_back_to_event_id_then_digest() -> None:
    data = load(QUOTE)
    del data["form_response"]["token"]
    assert typeform.delivery_id({}, dump(data)) == "01JQUOTE9X8W7V6U5T4S3R2Q1P"
    assert len(typeform.delivery_id({}, b"garbage")) == 64
    assert typeform.delivery_id({}, b"{}") == hashlib.sha256(b"{}").hexdigest()
    assert typeform.topic({}, b"garbage") == "unknown"


# -- fuzzing ------------------------------------------------------------------------------------

KEYS = sorted(
    {
        "event_id", "event_type", "form_response", "form_id", "token", "submitted_at", "hidden",
        "email", "definition", "fields", "id", "ref", "type", "title", "properties", "steps",
        "answers", "field", "text", "number", "choice", "choices", "label", "labels", "other",
        "boolean", "date", "url", "file_url", "phone_number", "nps", "opinion_scale", "rating",
        "long_text", "short_text",
    }
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-1, max_value=12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from([*KEYS, "form_response", "2026-03-12T08:02:31Z", "sha256=", "recommend"])
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


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    data = copy.deepcopy(load(draw(st.sampled_from(ALL_SAMPLES))))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(list(_paths(data))))
        if not path:
            continue
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(JSON)
    return dump(data)


def _parse_only_raises_allowed(body: bytes) -> None:
    try:
        events = typeform.parse({}, body)
    except (UnprocessablePayload, IgnoredTopic):
        return
    assert all(event.type in {"form.submitted", "survey.answered"} for event in events)
    assert isinstance(typeform.delivery_id({}, body), str)
    assert isinstance(typeform.topic({}, body), str)


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
