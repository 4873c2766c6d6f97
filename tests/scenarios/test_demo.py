"""`nurture demo` end to end, as a newcomer runs it: real process, embedded stack, exit 0."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def _run_demo(var_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(NURTURE_VAR_DIR=str(var_dir), COLUMNS="200")
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
    assert funnel == {"abandoned-cart": 2, "hot-lead-alert": 1, "nps-follow-up": 3, "quote-request": 1,
                      "welcome-series": 6, "win-back": 1}
    converted = database.execute("SELECT COUNT(*) FROM enrollments WHERE exit_reason = 'converted'").fetchone()[0]
    assert converted == 2  # Hana and Ana bought during their welcome series
    quote_from = database.execute("SELECT from_name, reply_to FROM messages WHERE template = 'quote'").fetchone()
    assert quote_from == ("Kenji Sato", "kenji.sato@acme-audio.example")
    assert "Hot lead: maria.rossi@example.com" in out and "Quote approval for maria.rossi@example.com" in out
    html_files = sorted((tmp_path / "demo" / "emails").glob("*.html"))
    assert len(html_files) == len(subjects) and "<html" in html_files[0].read_text().lower()
    second = _run_demo(tmp_path)  # a second run starts over and works too
    assert second.returncode == 0, second.stderr[-3000:]
