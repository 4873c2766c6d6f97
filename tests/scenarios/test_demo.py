"""`nurture demo` end to end, as a newcomer runs it: real process, embedded stack, exit 0."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient

from core.services import Services
from nurture.demo.store import DemoStore, customer


def _run_demo(var_dir: Path) -> subprocess.CompletedProcess[str]:
    # No COLUMNS: rich falls back to 80 columns, as in a small terminal, so cut paths would show.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_") and k not in ("COLUMNS", "LINES")}
    env.update(NURTURE_VAR_DIR=str(var_dir))
    return subprocess.run([sys.executable, "-m", "nurture", "demo"], env=env, capture_output=True, text=True,
                          timeout=300)


def test_demo_plays_a_month_and_shows_the_outcome(tmp_path: Path) -> None:
    result = _run_demo(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Demo finished." in out
    database = sqlite3.connect(tmp_path / "demo" / "demo.sqlite3")
    subjects = [row[0] for row in database.execute("SELECT subject FROM outbox ORDER BY id")]
    recipients = [row[0] for row in database.execute("SELECT recipients FROM outbox ORDER BY id")]
    assert "Welcome to Acme Audio, Ravi" in subjects
    assert "Jonas, you left something in your cart" in subjects
    assert "Your quote from Acme Audio" in subjects  # approved in Slack, sent as from the rep
    assert "Mehmet, we're sorry, and we want to put it right" in subjects
    assert "It's been a while, Olga" in subjects  # the lapsed customer entered win-back
    assert not any("ana.souza" in r and "left something" in s for r, s in zip(recipients, subjects, strict=True))
    funnel = dict(database.execute(
        "SELECT j.key, COUNT(e.id) FROM journeys j LEFT JOIN enrollments e ON e.journey_id = j.id GROUP BY j.key"))
    # Olga ticked Shopify's newsletter box at checkout: a buyer, so no welcome (its goal is an order).
    assert funnel == {"abandoned-cart": 2, "hot-lead-alert": 1, "nps-follow-up": 3, "quote-request": 1,
                      "welcome-series": 6, "win-back": 1}
    converted = database.execute("SELECT COUNT(*) FROM enrollments WHERE exit_reason = 'converted'").fetchone()[0]
    assert converted == 3  # Hana and Ana bought during their welcome series; Maria accepted her quote
    quote_from = database.execute("SELECT from_name, reply_to FROM messages WHERE template = 'quote'").fetchone()
    assert quote_from == ("Kenji Sato", "kenji.sato@acme-audio.example")
    quote = database.execute("SELECT status, total, currency FROM quotes").fetchone()
    assert (quote[0], float(quote[1]), quote[2]) == ("accepted", 5238.98, "EUR")  # priced in the builder
    assert "accepted quote Q-00001" in out
    quote_html = next(path for path in (tmp_path / "demo" / "emails").glob("*your-quote*")).read_text()
    assert "Laser engraving with your logo" in quote_html and "€5,238.98" in quote_html
    assert "+49 30 901820" in quote_html  # the rep's phone, from the workspace file
    # Hana reads Japanese (her browser and her Shopify order say so): her emails are Japanese.
    languages = {(to, locale) for to, locale in database.execute(
        "SELECT to_email, locale FROM messages WHERE status = 'sent'")}
    assert {locale for to, locale in languages if to == "hana.sato@example.com"} == {"ja"}
    assert {locale for to, locale in languages if to != "hana.sato@example.com"} == {"en"}
    hana_row = next(line for line in out.splitlines() if "hana.sato@example.com" in line and "Japanese" in line)
    assert "Acme Audio" in hana_row and "Welcome to" not in hana_row
    assert "Hot lead: maria.rossi@example.com" in out and "Quote approval for maria.rossi@example.com" in out
    html_files = sorted((tmp_path / "demo" / "emails").glob("*.html"))
    assert len(html_files) == len(subjects) and "<html" in html_files[0].read_text().lower()
    printed = [line.split()[-1] for line in out.splitlines() if line.strip().endswith(".html")]
    assert printed == [str(path.resolve()) for path in html_files]  # every path whole, none cut with "…"
    assert all(Path(path).is_file() for path in printed)
    assert "funnel per step" in out
    reminder = next(line for line in out.splitlines() if "2/timeout/1" in line)
    # The abandoned cart's coupon reminder: Jonas got it; Li had clicked the first one, so she did not.
    assert [cell.strip() for cell in reminder.split("│")][2:5] == ["2/timeout/1", "email", "1"]
    # The cart reminder shows the catalog's picture (drawn and served by the demo) and the variant.
    html = next(p for p in html_files if "left-something-in-your-cart" in p.name).read_text()
    assert "/demo/images/wireless-earbuds.png" in html and "Pearl White" in html
    created = database.execute("SELECT COUNT(*) FROM events WHERE type = 'customer.created'").fetchone()[0]
    assert created == 3  # Shopify customers/create webhooks were played too
    second = _run_demo(tmp_path)  # a second run starts over and works too
    assert second.returncode == 0, second.stderr[-3000:]


async def test_demo_store_reports_every_refused_request(client: TestClient, services: Services) -> None:
    base = str(client.make_url("")).rstrip("/")
    forged = dataclasses.replace(services.settings, shopify_webhook_secret="not-the-secret")
    payload = customer(1, "hana.sato@example.com", "Hana", "Sato", services.clock.now())
    async with aiohttp.ClientSession() as session:
        good, bad = DemoStore(session, base, services.settings), DemoStore(session, base, forged)
        assert await good.shopify("customers/create", payload) == 200
        assert await bad.shopify("customers/create", payload) == 401
    assert good.failures() == []
    (failure,) = bad.failures()
    assert failure.startswith("POST /webhooks/shopify (customers/create) -> 401")
