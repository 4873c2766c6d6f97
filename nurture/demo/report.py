"""What the demo shows at the end: funnels, Slack messages, and the emails as files to open."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

from rich.table import Table

from emails.models import OutboxMessage
from journeys.analytics import Funnel, funnel
from journeys.models import Journey
from nurture.slack_double import SlackCall


async def funnels() -> list[Funnel]:
    return [await funnel(journey) for journey in await Journey.all().order_by("key")]


def funnel_table(results: list[Funnel]) -> Table:
    table = Table("journey", "entered", "in flight", "completed", "converted", "exited", "emails",
                  title="Journeys after one month")
    for f in results:
        table.add_row(f.key, str(f.entered), str(f.active), str(f.completed), str(f.converted),
                      str(sum(f.exits.values())), str(f.emails))
    return table


def _text_of(call: SlackCall) -> str:
    text = str(call.params.get("text") or "")
    if not text and isinstance(call.params.get("blocks"), list):
        parts = [b.get("text", {}).get("text", "") for b in call.params["blocks"] if isinstance(b, dict)]
        text = " ".join(p for p in parts if p)
    return re.sub(r"\s+", " ", text)[:110]


def slack_table(calls: list[SlackCall]) -> Table:
    table = Table("method", "where", "message", title="Slack messages posted (local Slack double)")
    for call in calls:
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            table.add_row(call.method, str(call.params.get("channel", "")), _text_of(call))
    return table


async def export_emails(directory: Path) -> list[tuple[str, str, Path]]:
    """Write the HTML part of every email the sink received; returns (to, subject, path)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for n, row in enumerate(await OutboxMessage.all().order_by("id"), start=1):
        parsed = email.message_from_bytes(Path(row.path).read_bytes(), policy=email.policy.default)
        html = parsed.get_body(preferencelist=("html",))
        target = directory / f"{n:02d}-{re.sub(r'[^a-z0-9]+', '-', row.subject.lower())[:50].strip('-')}.html"
        target.write_text(html.get_content() if html is not None else "")
        written.append((", ".join(row.recipients), row.subject, target))
    return written


def email_table(written: list[tuple[str, str, Path]]) -> Table:
    table = Table("to", "subject", "open in a browser", title="Emails received by the SMTP sink")
    for to, subject, path in written:
        table.add_row(to, subject, str(path))
    return table
