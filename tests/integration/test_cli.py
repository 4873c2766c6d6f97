"""The `nurture` command as a user runs it: real processes, real exit codes."""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from contacts.models import Contact
from core.services import Services
from core.settings import Settings
from journeys.models import Task, TaskKind

NURTURE = [sys.executable, "-m", "nurture"]


def _env(settings: Settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(
        NURTURE_VAR_DIR=str(tmp_path / "var"),
        NURTURE_SECRET_KEY=settings.secret_key,
        NURTURE_REDIS_URL=settings.redis_url,
    )
    if settings.is_postgres:
        env["NURTURE_DATABASE_URL"] = settings.database_url
    env.update(extra)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NURTURE, *args], env=env, capture_output=True, text=True, timeout=120)


def test_invalid_database_url_is_one_line_exit_2(settings: Settings, tmp_path: Path) -> None:
    result = _run(_env(settings, tmp_path, NURTURE_DATABASE_URL="mysql//oops"), "migrate")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "NURTURE_DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr


def test_migrate_is_idempotent(settings: Settings, tmp_path: Path) -> None:
    env = _env(settings, tmp_path, NURTURE_DATABASE_URL=f"sqlite://{tmp_path}/cli.sqlite3")
    first = _run(env, "migrate")
    assert first.returncode == 0, first.stderr
    assert "applied nurture.0001_initial" in first.stdout
    second = _run(env, "migrate")
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout


def test_help_lists_commands(settings: Settings, tmp_path: Path) -> None:
    result = _run(_env(settings, tmp_path), "--help")
    assert result.returncode == 0
    for command in ("serve", "worker", "dev", "migrate", "contacts", "inbox"):
        assert command in result.stdout


def test_unknown_contact_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    env = _env(settings, tmp_path, NURTURE_DATABASE_URL=f"sqlite://{tmp_path}/cli.sqlite3")
    assert _run(env, "migrate").returncode == 0
    result = _run(env, "contacts", "show", "nobody@example.com")
    assert result.returncode == 2
    assert "no contact with email 'nobody@example.com'" in result.stderr
    assert "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_healthz(settings: Settings, tmp_path: Path) -> None:
    port = _free_port()
    env = _env(
        settings, tmp_path, NURTURE_HTTP_PORT=str(port),
        NURTURE_DATABASE_URL=settings.database_url,
    )
    if not settings.is_postgres:
        env["NURTURE_DATABASE_URL"] = f"sqlite://{tmp_path}/serve.sqlite3"
        assert _run(env, "migrate").returncode == 0
    server = subprocess.Popen([*NURTURE, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        body = _poll_health(port)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert body["ok"] is True
    assert body["database"]["ok"] and body["redis"]["ok"]


def _poll_health(port: int) -> dict:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail("nurture serve did not answer /healthz within 60 s")
            time.sleep(0.2)


def test_send_test_really_sends_to_the_sink(settings: Settings, tmp_path: Path) -> None:
    env = _env(settings, tmp_path, NURTURE_DATABASE_URL=f"sqlite://{tmp_path}/cli.sqlite3")
    assert _run(env, "migrate").returncode == 0
    result = _run(env, "emails", "send-test", "cart-reminder", "tester@example.com")
    assert result.returncode == 0, result.stderr
    message_id = result.stdout.strip()
    database = sqlite3.connect(tmp_path / "cli.sqlite3")
    rows = database.execute("SELECT message_id, recipients, subject, path FROM outbox").fetchall()
    assert len(rows) == 1
    received_id, recipients, subject, path = rows[0]
    assert received_id == message_id and json.loads(recipients) == ["tester@example.com"]
    assert subject.startswith("[test] ") and "cart" in subject.lower()
    mail = email.message_from_bytes(Path(path).read_bytes(), policy=email.policy.default)
    assert mail["Subject"] == subject and mail["List-Unsubscribe"] is None  # not a marketing send
    status, is_test = database.execute("SELECT status, is_test FROM messages").fetchone()
    assert (status, is_test) == ("sent", 1)


async def test_slack_problems_lists_refused_tasks_with_their_fix(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    contact = await Contact.create(email="wei.chen@example.com")
    refused = await Task.create(kind=TaskKind.HOT_LEAD, contact=contact, dedupe_key="cli-refused", payload={
        "post_error": {"error": "not_in_channel", "channel": "C0SALES", "fix": "invite the bot to the channel",
                       "at": "2026-03-10T09:00:00+00:00"}})
    env = _env(settings, tmp_path, NURTURE_DATABASE_URL=settings.database_url)
    done = _run(env, "slack", "problems")
    assert done.returncode == 0, done.stderr
    assert str(refused.id) in done.stdout and "not_in_channel" in done.stdout and "invite the bot" in done.stdout
