"""Webhook providers: one module each. The contract every module follows:

    NAME: str                                       # route name, InboundDelivery.provider
    verify(headers, body, secret) -> None           # raises nurture.errors.InvalidSignature
    delivery_id(headers, body) -> str               # dedupe key of the delivery (unique per provider)
    topic(headers, body) -> str                     # what kind of delivery, for the inbox listing
    parse(headers, body) -> list[NormalizedEvent]   # pure; raises UnprocessablePayload or IgnoredTopic

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


@functools.cache  # on every request's path: the module lookup is done once per name
def provider_for(name: str) -> Provider:
    if name not in MODULES:
        raise UnprocessablePayload(f"no parser for provider {name!r}")
    return cast(Provider, importlib.import_module(f"webhooks.providers.{MODULES[name]}"))
