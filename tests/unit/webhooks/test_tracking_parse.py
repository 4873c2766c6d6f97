"""The tracking snippet's parser: what a public write key may and may not say."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from core.errors import UnprocessablePayload
from webhooks.providers import tracking
from webhooks.providers.common import RECEIVED_HEADER

HEADERS = {RECEIVED_HEADER: "2026-03-10T09:00:00+00:00", "x-nurture-delivery-id": "d1"}
# Listed here, not read from the module: removing one there must fail a test here. Each is a family
# of events only our own code emits (privacy.* erases people, consent.* subscribes them...).
RESERVED = ("email.", "order.", "checkout.", "privacy.", "consent.", "customer.", "survey.", "form.",
            "segment.", "loyalty.", "engagement.")


def _parse(*items: dict[str, Any]) -> list[Any]:
    body = json.dumps({"batch": list(items)}).encode()
    return tracking.parse(HEADERS, body)


@pytest.mark.parametrize("prefix", RESERVED)
def test_a_public_write_key_cannot_send_our_own_event_families(prefix: str) -> None:
    name = prefix + ("redact_requested" if prefix == "privacy." else "anything")
    with pytest.raises(UnprocessablePayload, match="not allowed"):
        _parse({"type": "track", "anonymous_id": "a1", "event": name})
    with pytest.raises(UnprocessablePayload, match="not allowed"):
        _parse({"type": "track", "anonymous_id": "a1", "event": name.upper()})  # case makes no difference


def test_other_event_names_are_the_stores_own() -> None:
    (event,) = _parse({"type": "track", "anonymous_id": "a1", "event": "video.played", "properties": {"id": 7}})
    assert event.type == "video.played" and event.properties == {"id": 7}


def test_a_batch_is_capped() -> None:
    page = {"type": "page", "anonymous_id": "a1", "url": "https://shop.example/"}
    assert len(_parse(*[page] * tracking.MAX_EVENTS)) == tracking.MAX_EVENTS
    with pytest.raises(UnprocessablePayload, match=f"at most {tracking.MAX_EVENTS}"):
        _parse(*[page] * (tracking.MAX_EVENTS + 1))


def test_an_event_name_too_long_is_refused_not_cut() -> None:
    assert _parse({"type": "track", "anonymous_id": "a1", "event": "n" * 64})[0].type == "n" * 64
    with pytest.raises(UnprocessablePayload, match="not allowed"):
        _parse({"type": "track", "anonymous_id": "a1", "event": "n" * 65})


@pytest.mark.parametrize("properties", [[1, 2], "text", 7, None])
def test_properties_that_are_not_an_object_are_dropped(properties: Any) -> None:
    (event,) = _parse({"type": "track", "anonymous_id": "a1", "event": "video.played", "properties": properties})
    assert event.properties == {}


SECRET = "identity-secret"


def _hmac(text: str) -> str:
    return hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()


def test_user_hash_is_the_hmac_of_the_normal_address() -> None:
    assert tracking.user_hash("  Kenji@Example.COM ", SECRET) == _hmac("kenji@example.com")


@pytest.mark.parametrize("signed", ["kenji@example.com", "kenji@example.com."])
def test_an_identity_is_proven_in_our_normal_form_or_as_the_store_sent_it(signed: str) -> None:
    # The store's backend may sign the address as it holds it (a trailing dot, capitals).
    body = json.dumps({"type": "identify", "email": "Kenji@Example.COM.", "user_hash": _hmac(signed).upper()})
    assert tracking.verified_identities(body.encode(), SECRET) == tracking.identity_digest("kenji@example.com")


def test_an_identity_signed_for_another_address_proves_nothing() -> None:
    body = json.dumps({"type": "identify", "email": "kenji@example.com", "user_hash": _hmac("maria@example.com")})
    assert tracking.verified_identities(body.encode(), SECRET) == ""


def test_only_profile_traits_reach_the_contact_and_they_are_bounded() -> None:
    traits = {"first_name": "K" * 150, "phone": 5551234, "lead_score": 100, "owner": "UADMIN", "_engagement": "x",
              "email": "other@example.com", "last_name": ["not", "text"], "timezone": "Mars/Olympus",
              "locale": "ja-JP"}
    (event,) = _parse({"type": "identify", "anonymous_id": "a1", "traits": traits})
    assert event.profile == {"first_name": "K" * 100, "phone": "5551234", "locale": "ja-JP"}
