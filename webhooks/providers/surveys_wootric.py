"""Wootric NPS webhooks: `{"response": {...}, "event_name": "created", "survey_mode": "NPS", ...}`.

Only response events become `survey.answered` (created and updated); declines and anything else
are ignored. The answer's `created_at` (or `updated_at` for an update) is when it happened.

Authentication: Wootric does not sign its webhooks; it can only send fixed custom headers. So
besides the generic survey scheme (`X-Nurture-Signature`, base64 HMAC-SHA256 of the body keyed
with NURTURE_SURVEY_SECRET, for relays that sign) we accept `X-Nurture-Secret: <the secret>`
configured as a custom header in Wootric, compared in constant time. Anything else is rejected.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import Any

from contacts.events import NormalizedEvent
from core.errors import InvalidSignature, UnprocessablePayload
from webhooks.providers import IgnoredTopic
from webhooks.providers.common import body_digest, normalize_email, parse_time
from webhooks.providers.surveys import (
    identifier,
    load_mapping,
    nps_score,
    survey_event,
    text,
    verify_signature,
)

NAME = "survey-wootric"

SECRET_HEADER = "x-nurture-secret"


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    fixed = headers.get(SECRET_HEADER, "")
    if fixed:
        if not secret or not fixed.isascii() or not hmac.compare_digest(fixed.encode(), secret.encode()):
            raise InvalidSignature("shared secret does not match")
        return
    verify_signature(headers, body, secret)


def _response(data: Mapping[str, Any]) -> dict[str, Any]:
    response = data.get("response")
    if not isinstance(response, dict):
        raise UnprocessablePayload("response must be a JSON object")
    return response


def _event_name(data: Mapping[str, Any]) -> str:
    """`event_name`; bodies without one are named after what they carry."""
    if "event_name" in data:
        return text(data.get("event_name"))
    return "created" if "response" in data else "decline" if "decline" in data else ""


def _answer(data: Mapping[str, Any], time_key: str) -> NormalizedEvent:
    response = _response(data)
    score = nps_score(response.get("score"))
    if score is None:
        raise UnprocessablePayload("response.score must be an integer from 0 to 10")
    response_id = identifier(response.get("id"))
    if not response_id:
        raise UnprocessablePayload("response.id is missing")
    name = _event_name(data)
    return survey_event(
        source="wootric",
        response_id=response_id,
        idempotency_key=f"{NAME}:{response_id}:{name}:{text(response.get(time_key))}",
        occurred_at=parse_time(response.get(time_key) or response.get("created_at")),
        score=score,
        email=normalize_email(response.get("email")),
        comment=text(response.get("text")),
        survey=identifier(response.get("survey_id")),
    )


def _created(data: Mapping[str, Any]) -> NormalizedEvent:
    return _answer(data, "created_at")


def _updated(data: Mapping[str, Any]) -> NormalizedEvent:
    return _answer(data, "updated_at")


_EVENTS: dict[str, Callable[[Mapping[str, Any]], NormalizedEvent]] = {
    "created": _created,
    "updated": _updated,
}


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    try:
        data = load_mapping(body)
        response = _response(data)
    except UnprocessablePayload:
        return body_digest(body)
    response_id = identifier(response.get("id"))
    stamp = text(response.get("updated_at")) or text(response.get("created_at"))
    key = f"{response_id}:{_event_name(data)}:{stamp}"
    return key if response_id and len(key) <= 200 else body_digest(body)


def topic(headers: Mapping[str, str], body: bytes) -> str:
    try:
        return _event_name(load_mapping(body))[:100] or "unknown"
    except UnprocessablePayload:
        return "unknown"


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    data = load_mapping(body)
    handler = _EVENTS.get(_event_name(data))
    if handler is None:
        raise IgnoredTopic(f"wootric event {_event_name(data)[:40]!r} is not a response")
    return [handler(data)]
