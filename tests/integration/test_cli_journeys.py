"""The journey commands as a user runs them: real processes, real exit codes, readable errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings

NURTURE = [sys.executable, "-m", "nurture"]


@pytest.fixture
def nurture(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(NURTURE_VAR_DIR=str(tmp_path / "var"), NURTURE_SECRET_KEY=settings.secret_key,
               NURTURE_DATABASE_URL=f"sqlite://{tmp_path}/journeys.sqlite3", COLUMNS="120")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*NURTURE, *args], env=env, capture_output=True, text=True, timeout=120)

    assert run("migrate").returncode == 0
    return run


def test_validate_reports_every_problem_with_its_path(nurture, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.yml"
    broken.write_text("key: k1\nname: K1\ntrigger: {manual: true}\nsteps:\n  - wait: 3x\n  - email: cart-remindr\n")
    result = nurture("journeys", "validate", str(broken))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f'{broken}: steps[0].wait: "3x" is not a duration, e.g. 3d, 12h' in result.stderr
    assert "steps[1].email: no email template named 'cart-remindr' (did you mean 'cart-reminder'?)" in result.stderr
    missing = nurture("journeys", "validate", str(tmp_path / "nowhere.yml"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_a_journey_through_its_life_from_the_command_line(nurture) -> None:  # type: ignore[no-untyped-def]
    assert nurture("journeys", "install", "welcome-series", "--as", "my-welcome").returncode == 0
    published = nurture("journeys", "publish", "my-welcome")
    assert published.returncode == 0 and "version 1 is live" in published.stdout
    listed = nurture("journeys", "list")
    assert "my-welcome" in listed.stdout and "live" in listed.stdout
    shown = nurture("journeys", "show", "my-welcome").stdout
    assert "welcome-1" in shown and "then → 2/then/0," in shown and "Email: welcome 1" in shown
    # Flow order: the branch's then-steps, then its else-steps, then the step after the branch.
    rows = [re.search(rf"│ {step_id} +│ {kind} ", shown) for step_id, kind in
            (("2/then/1", "email"), ("2/else/0", "email"), ("3", "wait"))]
    assert all(rows) and rows[0].start() < rows[1].start() < rows[2].start()  # type: ignore[union-attr]
    assert "Wait 2 days" in shown
    assert "is now paused" in nurture("journeys", "pause", "my-welcome").stdout
    assert "is now live" in nurture("journeys", "resume", "my-welcome").stdout
    stats = nurture("journeys", "stats", "my-welcome")
    assert stats.returncode == 0 and "entered" in stats.stdout and "Wait 2 days" in stats.stdout
    as_json = json.loads(nurture("journeys", "stats", "my-welcome", "--since", "7d", "--json").stdout)
    assert (as_json["journey"], as_json["entered"], as_json["orders"], as_json["revenue"]) == ("my-welcome", 0, 0, [])
    assert as_json["since"] and [s["label"] for s in as_json["steps"]][:2] == ["Email: welcome 1", "Wait 2 days"]
    wrong = nurture("journeys", "stats", "my-welcome", "--since", "a week")
    assert wrong.returncode == 2 and "--since: 'a week' is not a window" in wrong.stderr
    assert "is now archived" in nurture("journeys", "archive", "my-welcome").stdout
    again = nurture("journeys", "resume", "my-welcome")
    assert again.returncode == 2 and "cannot resume 'my-welcome': it is archived" in again.stderr


def test_simulate_prints_a_funnel_and_sends_nothing(nurture, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert nurture("journeys", "install", "welcome-series").returncode == 0
    result = nurture("simulate", "welcome-series", "--contacts", "200", "--days", "30", "--seed", "1")
    assert result.returncode == 0, result.stderr
    rows = dict(line.strip("│ ").rsplit("│", 1) for line in result.stdout.splitlines()
                if line.startswith("│") and line.count("│") == 3)
    counts = {name.strip(): value.strip() for name, value in rows.items()}
    assert counts["entered"] == "200" and int(counts["emails sent"]) > 200
    assert counts == dict(counts) and nurture("simulate", "welcome-series", "--contacts", "200", "--days", "30",
                                              "--seed", "1").stdout == result.stdout  # reproducible by seed
    assert not list((tmp_path / "var" / "outbox").glob("**/*.eml"))
    unknown = nurture("simulate", "no-such-journey")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
