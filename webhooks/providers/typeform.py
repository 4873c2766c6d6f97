"""Typeform webhooks (`event_type: form_response`).

Every response becomes `form.submitted` with `{form_key: form_id, fields: {key: value}}`. Answers
are joined to `definition.fields` on `field.id` (answers rarely carry `ref`); a field's key is its
`ref`, else a slug of its title, else its id. When the form holds an NPS-like question the same
response also becomes `survey.answered`.

Authentication: `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>`, keyed with the
webhook secret.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contacts.events import NormalizedEvent
from core.errors import InvalidSignature, UnprocessablePayload
from webhooks.providers import IgnoredTopic
from webhooks.providers.common import (
    body_digest,
    check_hmac_base64,
    normalize_email,
    parse_time,
    signature_header,
)
from webhooks.providers.surveys import identifier, load_mapping, nps_score, survey_event, text

NAME = "typeform"
_PREFIX = "sha256="
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_NPS_WORDS = re.compile(r"recommend|(?<![a-z])nps(?![a-z])")
_NUMERIC_TYPES = frozenset({"number", "nps", "opinion_scale", "rating"})
_COMMENT_TYPES = ("long_text", "short_text")


@dataclass(frozen=True)
class Answer:
    """One answer joined to its field definition."""

    key: str
    field_id: str
    field_type: str  # the definition's type (nps, opinion_scale...), else the answer's field.type
    title: str
    ref: str
    steps: Any
    value: Any


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    signature = signature_header(headers, "typeform-signature").strip()
    if not signature.startswith(_PREFIX) or not signature.isascii():
        raise InvalidSignature("Typeform-Signature must start with sha256=")
    check_hmac_base64(body, secret, signature[len(_PREFIX):])


def _response(data: Mapping[str, Any]) -> dict[str, Any]:
    response = data.get("form_response")
    if not isinstance(response, dict):
        raise UnprocessablePayload("form_response must be a JSON object")
    return response


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    try:
        data = load_mapping(body)
    except UnprocessablePayload:
        return body_digest(body)
    response = data.get("form_response")
    token = identifier(response.get("token")) if isinstance(response, dict) else ""
    found = token or identifier(data.get("event_id"))
    return found if 0 < len(found) <= 200 else body_digest(body)


def topic(headers: Mapping[str, str], body: bytes) -> str:
    try:
        return text(load_mapping(body).get("event_type"))[:100] or "unknown"
    except UnprocessablePayload:
        return "unknown"


# -- answer values ------------------------------------------------------------------------------


def _nested(answer: Mapping[str, Any], outer: str, inner: str) -> Any:
    container = answer.get(outer)
    return container.get(inner) if isinstance(container, dict) else None


def _scalar(kind: str) -> Callable[[Mapping[str, Any]], Any]:
    def read(answer: Mapping[str, Any]) -> Any:
        value = answer.get(kind)
        return value if isinstance(value, str | int | float | bool) else None

    return read


def _choice(answer: Mapping[str, Any]) -> Any:
    label = _nested(answer, "choice", "label")
    other = _nested(answer, "choice", "other")
    return label if isinstance(label, str) else other if isinstance(other, str) else None


def _choices(answer: Mapping[str, Any]) -> Any:
    labels = _nested(answer, "choices", "labels")
    chosen = [label for label in labels if isinstance(label, str)] if isinstance(labels, list) else []
    other = _nested(answer, "choices", "other")
    return [*chosen, other] if isinstance(other, str) and other else chosen


_VALUES: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    **{
        kind: _scalar(kind)
        for kind in ("text", "email", "number", "boolean", "date", "phone_number", "url", "file_url")
    },
    "choice": _choice,
    "choices": _choices,
}


def _answer_value(answer: Mapping[str, Any]) -> Any:
    reader = _VALUES.get(text(answer.get("type")))
    return reader(answer) if reader else None


# -- joining answers to the definition ----------------------------------------------------------


def _definitions(response: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    definition = response.get("definition")
    fields = definition.get("fields") if isinstance(definition, dict) else None
    if not isinstance(fields, list):
        return {}
    return {
        identifier(item.get("id")): item for item in fields if isinstance(item, dict) and item.get("id")
    }


def _slug(title: str) -> str:
    return _NON_WORD.sub("_", _PLACEHOLDER.sub(" ", title).lower()).strip("_")[:60].strip("_")


def _join(answer: Mapping[str, Any], definitions: Mapping[str, dict[str, Any]]) -> Answer | None:
    field = answer.get("field")
    if not isinstance(field, dict):
        return None
    field_id = identifier(field.get("id"))
    value = _answer_value(answer)
    if not field_id or value is None:
        return None
    definition = definitions.get(field_id, {})
    ref = text(definition.get("ref")) or text(field.get("ref"))
    title = text(definition.get("title"))
    properties = definition.get("properties")
    return Answer(
        key=ref or _slug(title) or field_id,
        field_id=field_id,
        field_type=text(definition.get("type")) or text(field.get("type")),
        title=title,
        ref=ref,
        steps=properties.get("steps") if isinstance(properties, dict) else None,
        value=value,
    )


def _answers(response: Mapping[str, Any]) -> list[Answer]:
    raw = response.get("answers", [])
    if not isinstance(raw, list):
        raise UnprocessablePayload("form_response.answers must be a list")
    definitions = _definitions(response)
    joined = (_join(item, definitions) for item in raw if isinstance(item, dict))
    return [answer for answer in joined if answer is not None]


def _fields(answers: list[Answer]) -> dict[str, Any]:
    """{key: value}; a key used twice (same ref or title) falls back to the field id."""
    fields: dict[str, Any] = {}
    for answer in answers:
        fields[answer.field_id if answer.key in fields else answer.key] = answer.value
    return fields


def _email(response: Mapping[str, Any], answers: list[Answer]) -> str | None:
    hidden = response.get("hidden")
    from_hidden = normalize_email(hidden.get("email")) if isinstance(hidden, dict) else None
    typed = (normalize_email(answer.value) for answer in answers if answer.field_type == "email")
    return from_hidden or next((email for email in typed if email), None)


# -- NPS ----------------------------------------------------------------------------------------


def _is_nps(answer: Answer) -> bool:
    if answer.field_type not in _NUMERIC_TYPES or nps_score(answer.value) is None:
        return False
    if answer.field_type == "nps" or (answer.field_type == "opinion_scale" and answer.steps == 11):
        return True
    return bool(_NPS_WORDS.search(f"{answer.title} {answer.ref}".lower()))


def _comment(answers: list[Answer]) -> str:
    for kind in _COMMENT_TYPES:
        found = next((a.value for a in answers if a.field_type == kind and isinstance(a.value, str)), None)
        if found:
            return found
    return ""


# -- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    token: str
    form_id: str
    occurred_at: dt.datetime
    email: str | None
    answers: list[Answer]


def _submission(response: Mapping[str, Any]) -> Submission:
    token = identifier(response.get("token"))
    if not token:
        raise UnprocessablePayload("form_response.token is missing")
    definition = response.get("definition")
    definition_id = identifier(definition.get("id")) if isinstance(definition, dict) else ""
    form_id = identifier(response.get("form_id")) or definition_id
    if not form_id:
        raise UnprocessablePayload("form_response.form_id is missing")
    answers = _answers(response)
    return Submission(
        token=token,
        form_id=form_id,
        occurred_at=parse_time(response.get("submitted_at")),
        email=_email(response, answers),
        answers=answers,
    )


def _form_event(submission: Submission) -> NormalizedEvent:
    return NormalizedEvent(
        type="form.submitted",
        source=NAME,
        idempotency_key=f"{NAME}:{submission.token}:form.submitted",
        occurred_at=submission.occurred_at,
        email=submission.email,
        properties={"form_key": submission.form_id, "fields": _fields(submission.answers)},
        object_key=f"form:{submission.token}",
    )


def _survey_events(submission: Submission) -> list[NormalizedEvent]:
    nps = next((answer for answer in submission.answers if _is_nps(answer)), None)
    score = nps_score(nps.value) if nps else None
    if score is None:
        return []
    return [
        survey_event(
            source=NAME,
            response_id=submission.token,
            idempotency_key=f"{NAME}:{submission.token}:survey.answered",
            occurred_at=submission.occurred_at,
            score=score,
            email=submission.email,
            comment=_comment(submission.answers),
            survey=submission.form_id,
        )
    ]


def _form_response(data: Mapping[str, Any]) -> list[NormalizedEvent]:
    submission = _submission(_response(data))
    return [_form_event(submission), *_survey_events(submission)]


_EVENTS: dict[str, Callable[[Mapping[str, Any]], list[NormalizedEvent]]] = {
    "form_response": _form_response,
}


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    data = load_mapping(body)
    event_type = data.get("event_type")
    if not isinstance(event_type, str):
        raise UnprocessablePayload("event_type is missing")
    handler = _EVENTS.get(event_type)
    if handler is None:
        raise IgnoredTopic(f"typeform event {event_type[:40]!r} is not handled")
    return handler(data)
