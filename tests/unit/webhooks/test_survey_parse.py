"""Survey parsers (generic NPS JSON and Wootric): the sample payloads (tests/fixtures,
never copied), signatures, bad bodies, and fuzzing with hypothesis (parse may raise only
UnprocessablePayload / IgnoredTopic)."""

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

from core.errors import InvalidSignature, UnprocessablePayload
from webhooks.providers import IgnoredTopic, provider_for, surveys, surveys_wootric

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "tests" / "fixtures"
GENERIC = SAMPLES / "surveys" / "generic-nps.json"
WOOTRIC = SAMPLES / "real" / "survey" / "wootric-nps-response-created.json"
GENERIC_SAMPLES = sorted((SAMPLES / "surveys").glob("*.json"))
WOOTRIC_SAMPLES = sorted((SAMPLES / "real" / "survey").glob("*.json"))
SECRET = "survey-test-secret"
MODULES = [surveys, surveys_wootric]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes())


def dump(data: Any) -> bytes:
    return json.dumps(data).encode()


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"x-nurture-signature": base64.b64encode(digest).decode()}


def test_samples_exist_and_route_by_name() -> None:
    assert [path.name for path in GENERIC_SAMPLES] == ["generic-nps.json"]
    assert [path.name for path in WOOTRIC_SAMPLES] == ["wootric-nps-response-created.json"]
    assert provider_for("survey-generic") is surveys
    assert provider_for("survey-wootric") is surveys_wootric


@pytest.mark.parametrize(("score", "category"), [(0, "detractor"), (6, "detractor"), (7, "passive"),
                                                 (8, "passive"), (9, "promoter"), (10, "promoter")])
def test_category(score: int, category: str) -> None:
    assert surveys.category(score) == category


def test_wootric_reuses_the_survey_helpers() -> None:
    assert surveys_wootric.verify_signature is surveys.verify_signature
    assert surveys_wootric.survey_event is surveys.survey_event


# -- generic ------------------------------------------------------------------------------------


def test_generic_sample() -> None:
    body = GENERIC.read_bytes()
    (event,) = surveys.parse({}, body)
    assert event.type == "survey.answered"
    assert event.source == "survey"
    assert event.email == "hana.sato@example.com"
    # The sample names its time `answered_at`.
    assert event.occurred_at == dt.datetime(2026, 3, 20, 11, 5, tzinfo=dt.UTC)
    assert event.properties == {
        "score": 10,
        "category": "promoter",
        "comment": "Love the subscription, lenses always arrive on time!",
        "reason": "",
        "survey": "post-purchase-nps",
        "response_id": "resp_7f3a9c",
    }
    assert event.idempotency_key == "survey-generic:resp_7f3a9c"
    assert event.object_key == "survey:resp_7f3a9c"
    assert surveys.delivery_id({}, body) == "resp_7f3a9c"
    assert surveys.topic({}, body) == "survey.answered"
    assert surveys.parse({}, body) == [event]


def test_generic_accepts_alternative_keys() -> None:
    body = dump({"id": 77, "score": "4", "email": "X@Example.com", "reason": "price",
                 "created_at": 1_700_000_000})
    (event,) = surveys.parse({}, body)
    assert event.properties["response_id"] == "77"
    assert event.properties["score"] == 4
    assert event.properties["category"] == "detractor"
    assert event.properties["reason"] == "price"
    assert event.properties["comment"] == ""
    assert event.email == "x@example.com"
    assert event.occurred_at == dt.datetime.fromtimestamp(1_700_000_000, dt.UTC)
    assert surveys.delivery_id({}, body) == "77"


def test_generic_submitted_at_wins_and_no_id_uses_the_digest() -> None:
    data = {"score": 8, "submitted_at": "2026-01-02T03:04:05Z", "created_at": "2020-01-01T00:00:00Z"}
    body = dump(data)
    (event,) = surveys.parse({}, body)
    digest = hashlib.sha256(body).hexdigest()
    assert event.occurred_at == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert event.properties["response_id"] == digest
    assert event.idempotency_key == f"survey-generic:{digest}"
    assert event.email is None
    assert surveys.delivery_id({}, body) == digest


@pytest.mark.parametrize("score", [None, -1, 11, 7.5, 7.0, True, "seven", "²", "", [7], {"v": 7}, 10**30])
def test_generic_score_must_be_an_int_from_0_to_10(score: Any) -> None:
    data = load(GENERIC)
    data["score"] = score
    with pytest.raises(UnprocessablePayload):
        surveys.parse({}, dump(data))


def test_generic_missing_score() -> None:
    data = load(GENERIC)
    del data["score"]
    with pytest.raises(UnprocessablePayload):
        surveys.parse({}, dump(data))


@pytest.mark.parametrize(
    "body",
    [b"", b"nope", b"\xff", b"[]", b"null", b"10", b'{"score": 5, "answered_at": "yesterday"}', b"9" * 5000],
)
def test_generic_malformed_bodies_are_unprocessable(body: bytes) -> None:
    with pytest.raises(UnprocessablePayload):
        surveys.parse({}, body)


# -- wootric ------------------------------------------------------------------------------------


def test_wootric_sample() -> None:
    body = WOOTRIC.read_bytes()
    (event,) = surveys_wootric.parse({}, body)
    assert event.type == "survey.answered"
    assert event.source == "wootric"
    assert event.email == "nps@example.com"
    assert event.occurred_at == dt.datetime(2016, 8, 4, 20, 57, 26, 558000, tzinfo=dt.UTC)
    assert event.properties == {
        "score": 7,
        "category": "passive",
        "comment": "",  # `text` is null in the sample
        "reason": "",
        "survey": "1146",
        "response_id": "1128",
    }
    assert event.object_key == "survey:1128"
    assert event.idempotency_key == "survey-wootric:1128:created:2016-08-04T13:57:26.558-07:00"
    assert surveys_wootric.delivery_id({}, body) == "1128:created:2016-08-04T13:57:26.558-07:00"
    assert surveys_wootric.topic({}, body) == "created"


def test_wootric_comment_and_update() -> None:
    data = load(WOOTRIC)
    data["event_name"] = "updated"
    data["response"].update(score=10, text="Great support", updated_at="2016-08-05T10:00:00Z")
    (event,) = surveys_wootric.parse({}, dump(data))
    assert event.properties["category"] == "promoter"
    assert event.properties["comment"] == "Great support"
    assert event.occurred_at == dt.datetime(2016, 8, 5, 10, tzinfo=dt.UTC)
    assert event.idempotency_key == "survey-wootric:1128:updated:2016-08-05T10:00:00Z"


def test_wootric_without_event_name_is_a_created_response() -> None:
    data = load(WOOTRIC)
    del data["event_name"]
    assert surveys_wootric.parse({}, dump(data))[0].properties["score"] == 7


@pytest.mark.parametrize(
    "data",
    [
        {"event_name": "declined", "decline": {"id": 4}},
        {"decline": {"id": 4, "email": "a@example.com"}},
        {"event_name": "deleted", "response": {"id": 1, "score": 3}},
        {"event_name": 5, "response": {"id": 1, "score": 3}},
    ],
)
def test_wootric_other_events_are_ignored(data: dict[str, Any]) -> None:
    with pytest.raises(IgnoredTopic):
        surveys_wootric.parse({}, dump(data))


@pytest.mark.parametrize(
    "change",
    [
        {"score": 11},
        {"score": None},
        {"score": "ten"},
        {"id": None},
        {"id": ""},
        {"created_at": "not a date"},
    ],
)
def test_wootric_bad_responses_are_unprocessable(change: dict[str, Any]) -> None:
    data = load(WOOTRIC)
    data["response"].update(change)
    with pytest.raises(UnprocessablePayload):
        surveys_wootric.parse({}, dump(data))


@pytest.mark.parametrize("body", [b"", b"{", b"[1]", b'{"event_name": "created"}',
                                  b'{"event_name": "created", "response": "x"}'])
def test_wootric_malformed_bodies_are_unprocessable(body: bytes) -> None:
    with pytest.raises(UnprocessablePayload):
        surveys_wootric.parse({}, body)


# -- verify (one scheme for both) ---------------------------------------------------------------


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.NAME)
@pytest.mark.parametrize("path", [GENERIC, WOOTRIC], ids=lambda path: path.name)
def test_verify_accepts_the_right_signature(module: ModuleType, path: Path) -> None:
    body = path.read_bytes()
    module.verify(sign(body), body, SECRET)


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.NAME)
@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, InvalidSignature),
        ({"x-nurture-signature": ""}, InvalidSignature),
        ({"x-nurture-signature": "c2lnbmF0dXJl"}, InvalidSignature),
        ({"x-nurture-signature": "ünicode"}, InvalidSignature),
        ({"x-shopify-hmac-sha256": "c2lnbmF0dXJl"}, InvalidSignature),
    ],
)
def test_verify_rejects_missing_or_bad_signatures(
    module: ModuleType, headers: dict[str, str], error: type
) -> None:
    with pytest.raises(error):
        module.verify(headers, GENERIC.read_bytes(), SECRET)


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.NAME)
def test_verify_rejects_wrong_secret_tampered_body_and_unconfigured_secret(module: ModuleType) -> None:
    body = WOOTRIC.read_bytes()
    with pytest.raises(InvalidSignature):
        module.verify(sign(body, "other"), body, SECRET)
    with pytest.raises(InvalidSignature):
        module.verify(sign(body), body.replace(b'"score": 7', b'"score": 9'), SECRET)
    with pytest.raises(InvalidSignature):
        module.verify(sign(body, ""), body, "")


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.NAME)
def test_delivery_id_and_topic_never_fail(module: ModuleType) -> None:
    assert module.delivery_id({}, b"\xff") == hashlib.sha256(b"\xff").hexdigest()
    assert isinstance(module.topic({}, b"\xff"), str)


# -- fuzzing ------------------------------------------------------------------------------------

KEYS = ["email", "score", "comment", "reason", "survey", "response_id", "id", "submitted_at",
        "answered_at", "created_at", "updated_at", "response", "event_name", "text", "survey_id",
        "decline"]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-1, max_value=11)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["created", "updated", "7", "2026-03-20T11:05:00Z", "a@example.com"])
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
    data = copy.deepcopy(load(draw(st.sampled_from(GENERIC_SAMPLES + WOOTRIC_SAMPLES))))
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
    for module in MODULES:
        try:
            events = module.parse({}, body)
        except (UnprocessablePayload, IgnoredTopic):
            pass
        else:
            assert [event.type for event in events] == ["survey.answered"]
            assert 0 <= events[0].properties["score"] <= 10
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


def test_wootric_accepts_its_fixed_shared_secret_header() -> None:
    surveys_wootric.verify({"x-nurture-secret": "s3cret"}, b"{}", "s3cret")
    with pytest.raises(InvalidSignature):
        surveys_wootric.verify({"x-nurture-secret": "guess"}, b"{}", "s3cret")
    with pytest.raises(InvalidSignature):
        surveys_wootric.verify({"x-nurture-secret": "anything"}, b"{}", "")
