"""`nurture simulate --from-segment`: real contacts' attributes on the virtual clock, read only."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from contacts.models import Consent, Contact
from core.services import Services
from emails.models import Message, OutboxMessage
from journeys.models import Enrollment

SEGMENT = "'offer-converted' in contact.tags and contact.lead_score >= 20"


def _nurture(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, on the test's own database and var directory."""
    settings = services.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(NURTURE_VAR_DIR=str(settings.var_dir), NURTURE_SECRET_KEY=settings.secret_key,
               NURTURE_DATABASE_URL=settings.database_url, COLUMNS="140")
    return subprocess.run([sys.executable, "-m", "nurture", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def _counts(stdout: str) -> dict[str, str]:
    rows = [line.strip("│ ").rsplit("│", 1) for line in stdout.splitlines()
            if line.startswith("│") and line.count("│") == 3]
    return {name.strip(): value.strip() for name, value in rows}


async def _people() -> list[Contact]:
    matching = [await Contact.create(email=f"reader{n}@example.com", tags=["offer-converted"], lead_score=30 + n,
                                     timezone="Europe/Berlin", consent=Consent.SUBSCRIBED) for n in range(4)]
    await Contact.create(email="first.timer@example.com", tags=[], lead_score=90, consent=Consent.SUBSCRIBED)
    await Contact.create(email="cold.lead@example.com", tags=["offer-converted"], lead_score=5,
                         consent=Consent.SUBSCRIBED)
    return matching


@pytest.mark.parametrize("limit, entered", [(50, 4), (2, 2)])
async def test_simulates_the_matching_contacts_and_writes_nothing(services: Services, limit: int,
                                                                   entered: int) -> None:
    await _people()
    before = [(c.tags, c.lead_score, c.lifecycle_stage) for c in await Contact.all().order_by("id")]
    files_before = set(services.settings.outbox_dir.glob("**/*.eml"))  # var/ is shared with earlier tests
    result = _nurture(services, "simulate", "lead-nurture", "--contacts", str(limit), "--days", "30",
                      "--from-segment", SEGMENT)
    assert result.returncode == 0, result.stderr
    counts = _counts(result.stdout)
    assert counts["entered"] == str(entered)
    # Their real tags say they already took an offer: every one gets the series, none exits as a first-timer.
    assert counts["email lead-nurture-1"] == str(entered)
    assert "exited: first conversion recorded" not in counts
    assert f"{entered} recorded contacts" in result.stdout
    assert await Message.all().count() == 0 and await OutboxMessage.all().count() == 0
    assert await Enrollment.all().count() == 0
    assert set(services.settings.outbox_dir.glob("**/*.eml")) == files_before
    after = [(c.tags, c.lead_score, c.lifecycle_stage) for c in await Contact.all().order_by("id")]
    assert after == before


async def test_bad_or_empty_segments_are_one_line_errors(services: Services) -> None:
    await _people()
    for expression, message in [("contact.tags ==", "not a valid expression"),
                                ("'vip' in contact.tags", "no contact matches")]:
        result = _nurture(services, "simulate", "lead-nurture", "--from-segment", expression)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
