"""What the engine may know before it decides to market to a contact (journeys/facts.py)."""

from __future__ import annotations

from contacts.models import Consent, Contact, SuppressionReason
from contacts.suppression import suppress
from core.services import Services
from journeys.facts import gather_facts


async def test_a_suppressed_address_is_not_marketable_even_when_subscribed(services: Services) -> None:
    key, now = services.settings.secret_key, services.clock.now()
    contact = await Contact.create(email="bounced@example.com", consent=Consent.SUBSCRIBED)
    assert (await gather_facts(key, contact, now, "opt_in")).marketable
    for reason in (SuppressionReason.HARD_BOUNCE, SuppressionReason.COMPLAINT, SuppressionReason.UNSUBSCRIBE):
        other = await Contact.create(email=f"{reason.value}@example.com", consent=Consent.SUBSCRIBED)
        await suppress(key, f"{reason.value.upper()}@example.com", reason)  # any spelling of the address
        facts = await gather_facts(key, other, now, "opt_in")
        assert not facts.marketable and "suppressed" in facts.why_not_marketable, reason


async def test_consent_and_policy_decide_before_any_send(services: Services) -> None:
    key, now = services.settings.secret_key, services.clock.now()
    unknown = await Contact.create(email="unknown@example.com")
    assert not (await gather_facts(key, unknown, now, "opt_in")).marketable
    assert (await gather_facts(key, unknown, now, "opt_out")).marketable
    gone = await Contact.create(email="gone@example.com", consent=Consent.UNSUBSCRIBED)
    assert not (await gather_facts(key, gone, now, "opt_out")).marketable
    nobody = await Contact.create(email=None, anonymous_id="anon-1", consent=Consent.SUBSCRIBED)
    assert (await gather_facts(key, nobody, now, "opt_out")).why_not_marketable == "the contact has no email address"
