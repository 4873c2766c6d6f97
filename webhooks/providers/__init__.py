"""Webhook providers: one module each. The contract every module follows:

    NAME: str                                       # route name, InboundDelivery.provider
    verify(headers, body, secret) -> None           # raises nurture.errors.InvalidSignature
    delivery_id(headers, body) -> str               # dedupe key of the delivery (unique per provider)
    topic(headers, body) -> str                     # what kind of delivery, for the inbox listing
    parse(headers, body) -> list[NormalizedEvent]   # pure; raises UnprocessablePayload or IgnoredTopic

and, for providers whose signature carries a timestamp and a one-time token rather than covering
the body (Mailgun):

    SIGNATURE_COVERS_BODY = False                    # delivery_id is the token: one token, one body
    signed_at(headers, body) -> float                # unix seconds signed, for the freshness window

`headers` always has lower-case names. `parse` is pure (no I/O), so it is unit-tested
on the sample payloads and fuzzed with hypothesis; it must raise only the two
exceptions above, whatever the input.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import Protocol, cast

from contacts.events import NormalizedEvent
from core.errors import UnprocessablePayload


class IgnoredTopic(Exception):
    """A well-formed delivery we have no use for (stored as `ignored`)."""


class Provider(Protocol):
    NAME: str

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> None: ...

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str: ...

    def topic(self, headers: Mapping[str, str], body: bytes) -> str: ...

    def parse(self, headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]: ...


# provider name -> module under webhooks.providers
MODULES = {
    "shopify": "shopify",
    "typeform": "typeform",
    "forms": "forms",
    "tracking": "tracking",
    "survey-generic": "surveys",
    "survey-wootric": "surveys_wootric",
    "email-generic": "email_generic",
    "email-postmark": "email_postmark",
    "email-sendgrid": "email_sendgrid",
    "email-mailgun": "email_mailgun",
    "email-ses": "email_ses",
}


def signature_covers_body(provider: Provider) -> bool:
    return bool(getattr(provider, "SIGNATURE_COVERS_BODY", True))


def signed_at(provider: Provider, headers: Mapping[str, str], body: bytes) -> float | None:
    """When the provider signs a timestamp, that time (unix seconds); None when it signs none."""
    reader = getattr(provider, "signed_at", None)
    return None if reader is None else float(reader(headers, body))


@functools.cache  # on every request's path: the module lookup is done once per name
def provider_for(name: str) -> Provider:
    if name not in MODULES:
        raise UnprocessablePayload(f"no parser for provider {name!r}")
    return cast(Provider, importlib.import_module(f"webhooks.providers.{MODULES[name]}"))
