"""Web forms: urlencoded HTML posts or JSON, mapped onto contact fields.

Known field names fill the profile (email, first_name, last_name, phone, company,
industry...); everything is kept in the event's `fields`. The form's consent
checkbox subscribes only when ticked; a filled honeypot marks the delivery as spam.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from contacts.events import NormalizedEvent
from contacts.models import Consent
from core.errors import UnprocessablePayload
from emails.i18n import accept_language
from webhooks.providers import IgnoredTopic
from webhooks.providers.common import (
    DELIVERY_HEADER,
    RECEIVED_HEADER,
    body_digest,
    load_object,
    normalize_email,
    parse_time,
)

NAME = "forms"
PROFILE = {"first_name", "last_name", "phone", "locale", "timezone"}
ATTRIBUTES = {"company", "industry", "job_title", "country", "city", "website_url", "interest"}
TRUTHY = {"1", "true", "yes", "on", "y", "checked"}
KEY_HEADER, CONSENT_HEADER, HONEYPOT_HEADER, TAGS_HEADER = (
    "x-nurture-form-key", "x-nurture-form-consent-field", "x-nurture-form-honeypot", "x-nurture-form-tags",
)


def rule_headers(key: str, consent_field: str, honeypot_field: str, tags: Sequence[str]) -> dict[str, str]:
    return {KEY_HEADER: key, CONSENT_HEADER: consent_field, HONEYPOT_HEADER: honeypot_field,
            TAGS_HEADER: ",".join(tags)}


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Forms are checked per form (secret or origin) by webhooks.forms_endpoint before storing."""


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    # A client-supplied key makes retries idempotent; otherwise identical bodies within
    # the same minute count as one submission (double clicks, proxy retries).
    supplied = headers.get("idempotency-key", "")
    minute = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M")
    return f"{headers.get(KEY_HEADER, '')}:{supplied or body_digest(body) + ':' + minute}"[:200]


def topic(headers: Mapping[str, str], body: bytes) -> str:
    return f"form/{headers.get(KEY_HEADER, '')}"


def _fields(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    if "json" in headers.get("content-type", ""):
        return {str(k): v for k, v in load_object(body).items()}
    try:
        # errors="strict": a percent-escaped byte that is not UTF-8 must not become U+FFFD in an address.
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError:
        raise UnprocessablePayload("form body is not UTF-8") from None


def _text(value: Any) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()
    return ""


def _consent(fields: Mapping[str, Any], name: str) -> Consent | None:
    value = fields.get(name)
    if value is True or _text(value).lower() in TRUTHY:
        return Consent.SUBSCRIBED
    return None  # an unticked box is not an opt-out


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    fields = _fields(headers, body)
    if _text(fields.get(headers.get(HONEYPOT_HEADER, "website"))):
        raise IgnoredTopic("spam: the honeypot field was filled")
    email = normalize_email(fields.get("email"))
    if email is None:
        raise UnprocessablePayload("the form has no valid `email` field")
    key = headers.get(KEY_HEADER, "")
    clean = {k: v for k, v in fields.items() if k != headers.get(HONEYPOT_HEADER, "website")}
    return [
        NormalizedEvent(
            type="form.submitted", source="form",
            idempotency_key=f"form:{headers.get(DELIVERY_HEADER) or delivery_id(headers, body)}",
            occurred_at=parse_time(headers.get(RECEIVED_HEADER)), email=email,
            profile={k: _text(v)[:100] for k, v in fields.items() if k in PROFILE and _text(v)},
            attributes={k: _text(v)[:200] for k, v in fields.items() if k in ATTRIBUTES and _text(v)},
            tags=tuple(t for t in headers.get(TAGS_HEADER, "").split(",") if t),
            consent=_consent(fields, headers.get(CONSENT_HEADER, "consent")),
            locale_guess=next(iter(accept_language(headers.get("accept-language", ""))), ""),
            properties={"form_key": key, "fields": json.loads(json.dumps(clean, default=str))},
        )
    ]
