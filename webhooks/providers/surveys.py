"""Generic NPS survey answers (our design), plus the survey helpers other providers share.

Body: one JSON object, for example::

    {"email": "hana.sato@example.com", "score": 10, "comment": "Love it", "reason": "delivery",
     "survey": "post-purchase-nps", "response_id": "resp_7f3a9c", "submitted_at": "2026-03-20T11:05:00Z"}

- `score` (required): an integer 0..10 (a JSON integer or a string of ASCII digits).
- `response_id` (or `id`): the answer's id; it keys idempotency and the delivery. Without it the
  body digest is used, so an identical re-post is still a duplicate.
- `submitted_at` / `answered_at` / `created_at`: ISO 8601 or unix seconds (default: now).
- `email`, `comment`, `reason`, `survey`: optional strings.

Authentication (our design): the sender puts `X-Nurture-Signature: <base64 HMAC-SHA256 of the raw
body, keyed with NURTURE_SURVEY_SECRET>` on the request -- the same construction Shopify uses, so
any HTTP client or relay can produce it with a few lines. `verify_signature` below is shared by
every survey provider (see `surveys_wootric`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from contacts.events import NormalizedEvent
from core.errors import InvalidSignature, UnprocessablePayload
from webhooks.providers.common import (
    body_digest,
    check_hmac_base64,
    load_json,
    normalize_email,
    parse_time,
    signature_header,
)

NAME = "survey-generic"
SIGNATURE_HEADER = "x-nurture-signature"
_DIGITS = re.compile(r"^\s*[0-9]{1,3}\s*$")
_TIME_KEYS = ("submitted_at", "answered_at", "created_at")


def category(score: int) -> str:
    """NPS bucket of a 0..10 score: 9-10 promoter, 7-8 passive, 0-6 detractor."""
    if score >= 9:
        return "promoter"
    if score >= 7:
        return "passive"
    return "detractor"


def nps_score(value: Any) -> int | None:
    """An integer 0..10 (JSON int or ASCII digit string), else None."""
    if isinstance(value, str) and _DIGITS.match(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10:
        return value
    return None


def verify_signature(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """`X-Nurture-Signature`: base64 HMAC-SHA256 of the raw body; BadRequest when missing."""
    signature = signature_header(headers, SIGNATURE_HEADER)
    if not signature.isascii():
        raise InvalidSignature("signature is not base64")
    check_hmac_base64(body, secret, signature)


# common.load_json reports every unreadable body (int-digit limits included) as UnprocessablePayload.
load_payload = load_json


def load_mapping(body: bytes) -> dict[str, Any]:
    data = load_payload(body)
    if not isinstance(data, dict):
        raise UnprocessablePayload("body must be a JSON object")
    return data


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def identifier(value: Any) -> str:
    """A string or integer id as text ("" when absent or of another type)."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    return text(value).strip()


def survey_event(
    *,
    source: str,
    response_id: str,
    idempotency_key: str,
    occurred_at: dt.datetime,
    score: int,
    email: str | None,
    comment: str = "",
    reason: str = "",
    survey: str = "",
) -> NormalizedEvent:
    """The `survey.answered` event, built the same way by every survey provider."""
    return NormalizedEvent(
        type="survey.answered",
        source=source,
        idempotency_key=idempotency_key,
        occurred_at=occurred_at,
        email=email,
        properties={
            "score": score,
            "category": category(score),
            "comment": comment,
            "reason": reason,
            "survey": survey,
            "response_id": response_id,
        },
        object_key=f"survey:{response_id}",
    )


def _response_id(data: Mapping[str, Any]) -> str:
    return identifier(data.get("response_id")) or identifier(data.get("id"))


def _answered_at(data: Mapping[str, Any]) -> dt.datetime:
    value = next((data[key] for key in _TIME_KEYS if data.get(key) not in (None, "")), None)
    return parse_time(value)


verify = verify_signature


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    try:
        response_id = _response_id(load_mapping(body))
    except UnprocessablePayload:
        response_id = ""
    return response_id if 0 < len(response_id) <= 200 else body_digest(body)


def topic(headers: Mapping[str, str], body: bytes) -> str:
    return "survey.answered"


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    data = load_mapping(body)
    score = nps_score(data.get("score"))
    if score is None:
        raise UnprocessablePayload("score must be an integer from 0 to 10")
    response_id = _response_id(data) or body_digest(body)
    return [
        survey_event(
            source="survey",
            response_id=response_id,
            idempotency_key=f"{NAME}:{response_id}",
            occurred_at=_answered_at(data),
            score=score,
            email=normalize_email(data.get("email")),
            comment=text(data.get("comment")),
            reason=text(data.get("reason")),
            survey=text(data.get("survey")),
        )
    ]
