"""What the demo shows at the end: funnels, Slack messages, and the emails as files to open."""

from __future__ import annotations

import email
import email.policy
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emails.models import Message, OutboxMessage
from journeys.analytics import Funnel, funnel
from journeys.models import Enrollment, Journey, StepRun
from journeys.store import latest_version, loaded
from nurture.slack_double import SlackCall

# Nodes that only mark where a run ended: the outcome rows (completed, converted) count those.
_NOT_STEPS = {"end", "goal"}


@dataclass(frozen=True)
class StepCount:
    step_id: str  # "2/then/0": the first step of branch 2's `then` arm
    kind: str
    reached: int  # contacts (not step runs: an approval runs twice for one contact)


def _reading_order(ids: list[str]) -> Callable[[str], list[int]]:
    """Sort key putting each step before its arms' steps, arms in the order the spec writes them.

    The program lists a branch's arms (then before else) before the branch itself; a step's
    number sorts numerically ("10" after "9") and an arm by where the program first mentions it.
    """
    first: dict[str, int] = {}
    for index, step_id in enumerate(ids):
        parts = step_id.split("/")
        for end in range(1, len(parts) + 1):
            first.setdefault("/".join(parts[:end]), index)

    def key(step_id: str) -> list[int]:
        parts = step_id.split("/")
        return [int(part) if part.isdigit() else first["/".join(parts[: n + 1])] for n, part in enumerate(parts)]

    return key


async def _contacts_per_step(journey: Journey) -> Counter[str]:
    ids = list(await Enrollment.filter(journey=journey, is_test=False).values_list("id", flat=True))
    if not ids:
        return Counter()
    runs = await StepRun.filter(enrollment_id__in=ids).values_list("step_id", "enrollment_id")
    return Counter(step_id for step_id, _ in set(runs))


async def journey_steps(journey: Journey) -> list[StepCount]:
    """Every step of the newest version with how many contacts reached it, zeros included."""
    program = loaded(await latest_version(journey)).program
    reached = await _contacts_per_step(journey)
    order = _reading_order(list(program.nodes))
    nodes = sorted((n for n in program.nodes.values() if n.kind not in _NOT_STEPS), key=lambda n: order(n.id))
    return [StepCount(n.id, n.kind, reached[n.id]) for n in nodes]


async def funnels() -> list[tuple[Funnel, list[StepCount]]]:
    return [(await funnel(journey), await journey_steps(journey)) for journey in await Journey.all().order_by("key")]


def funnel_table(results: list[tuple[Funnel, list[StepCount]]]) -> Table:
    """Per journey: how many entered, reached each step, and how their runs ended."""
    table = Table("journey", "step", "kind", "contacts", title="Journeys after one month: funnel per step")
    for f, steps in results:
        table.add_row(f.key, "entered", "", str(f.entered))
        for step in steps:
            table.add_row("", step.step_id, step.kind, str(step.reached))
        outcomes = (("completed", f.completed), ("converted", f.converted), ("exited", sum(f.exits.values())),
                    ("in flight", f.active))
        for name, count in outcomes:
            table.add_row("", name, "outcome", str(count))
        table.add_row("", "emails sent", "", str(f.emails))
        table.add_section()
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


LANGUAGE_NAMES = {"en": "English", "ja": "Japanese", "zh": "Chinese", "tr": "Turkish"}


@dataclass(frozen=True)
class Exported:
    to: str
    subject: str
    path: Path
    language: str  # what the email is written in (Message.locale)


def _file_name(n: int, subject: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", subject.lower())[:50].strip("-") or "email"
    return f"{n:02d}-{slug}.html"


async def export_emails(directory: Path) -> list[Exported]:
    """Write the HTML part of every email the sink received, with the language it went out in."""
    directory.mkdir(parents=True, exist_ok=True)
    languages = dict(await Message.exclude(message_id="").values_list("message_id", "locale"))
    written = []
    for n, row in enumerate(await OutboxMessage.all().order_by("id"), start=1):
        parsed = email.message_from_bytes(Path(row.path).read_bytes(), policy=email.policy.default)
        html = parsed.get_body(preferencelist=("html",))
        target = directory / _file_name(n, row.subject)
        target.write_text(html.get_content() if html is not None else "")
        language = str(languages.get(str(parsed["Message-ID"] or "").strip(), "") or "en")
        written.append(Exported(", ".join(row.recipients), row.subject, target, language))
    return written


def email_table(written: list[Exported]) -> Table:
    table = Table("#", "to", "language", "subject", title="Emails received by the SMTP sink")
    for n, sent in enumerate(written, start=1):
        table.add_row(str(n), sent.to, LANGUAGE_NAMES.get(sent.language, sent.language), sent.subject)
    return table


def print_email_paths(console: Console, written: list[Exported]) -> None:
    """One full path per line: a table cell would cut a long path to the terminal width ("…")."""
    console.print("Open them in a browser:")
    for n, path in enumerate((sent.path for sent in written), start=1):
        console.print(f"{n:>3}  {path.resolve()}", soft_wrap=True, markup=False, highlight=False)
