"""Block Kit for tasks (hot leads, feedback, quote approvals, calls), their modals, and App Home.

Pure like bot/blocks.py, whose primitives it uses: every field of a TaskView is data and goes
through bot/mrkdwn.py, except `text`, the marketer's own template rendered with escaped data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.blocks import (
    Block,
    actions,
    button,
    clip,
    context,
    input_block,
    message,
    plain,
    section,
    sections,
    who,
)
from bot.mrkdwn import escape, person, quote
from bot.quote_blocks import summary_section

# -- tasks ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskView:
    """Everything a task message shows, gathered by bot.tasks from the database."""

    id: int
    kind: str
    status: str
    contact: str  # the contact's name ("" when unknown); data, like every field but `text`
    email: str
    text: str  # mrkdwn: the marketer's template, rendered with escaped data
    score: int = 0
    owner: str | None = None
    assignee: str | None = None
    decided_by: str | None = None
    activity: Sequence[str] = ()
    links: Sequence[str] = ()
    escalation: str = ""
    nps_score: int | None = None
    comment: str = ""
    quote_subject: str = ""
    quote_text: str = ""
    quote: dict[str, Any] = field(default_factory=dict)  # the quote's email context (emails/quotes.py)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _contact(view: TaskView) -> str:
    return person(view.contact, view.email)


def _quoted_markup(text: str) -> str:
    """The marketer's (already safe) text as a block quote, every line of it."""
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])


def _closed_line(view: TaskView) -> str:
    by = who(view.decided_by)
    return {
        "claimed": f":white_check_mark: Claimed by {by}",
        "done": f":white_check_mark: Done ({by})",
        "snoozed": f":zzz: Snoozed by {by} for a day",
        "rejected": f":no_entry_sign: Closed by {by}",
        "approved": f":white_check_mark: Approved by {by}",
    }.get(view.status, "")


def hot_lead_message(view: TaskView) -> dict[str, Any]:
    head = f":fire: *Hot lead:* {_contact(view)} · lead score *{view.score}* · owner {who(view.owner)}"
    blocks = [section(head, "lead"), section(f"*Why:* {view.text}" if view.text else "*Why:* hot-lead rule")]
    if view.activity:
        blocks.append(section("*Recent activity*\n" + "\n".join(f"• {escape(a)}" for a in view.activity)))
    if view.links:
        blocks.append(context(" · ".join(escape(link) for link in view.links)))
    if view.escalation:
        blocks.append(context(f":rotating_light: {view.escalation}"))
    if view.status in ("open",):
        value = f"task:{view.id}"
        blocks.append(actions("task_actions", button("Claim", "task_claim", value, "primary"),
                              button("Snooze 1 day", "task_snooze", value),
                              button("Not a lead", "task_not_lead", value, "danger")))
    else:
        blocks.append(context(_closed_line(view) + (f" - {escape(view.note)}" if view.note else "")))
        if view.status == "claimed":  # handing a claimed lead on is explicit: its owner or an admin
            blocks.append(actions("task_actions", button("Reassign", "task_reassign", f"task:{view.id}")))
    return message(f"Hot lead: {escape(view.email)}", blocks)


def feedback_message(view: TaskView) -> dict[str, Any]:
    score = f"NPS *{view.nps_score}*" if view.nps_score is not None else "Feedback"
    head = f":speech_balloon: {score} from {_contact(view)}"
    manager = f"Account manager: {who(view.owner)}"
    said = quote(view.comment) if view.comment else _quoted_markup(view.text or "(no comment)")
    blocks = [section(head, "feedback"), section(said),
              context(manager + (f" · assigned to {who(view.assignee)}" if view.assignee else ""))]
    if view.status in ("open", "claimed"):
        value = f"task:{view.id}"
        buttons = [button("Done", "task_done", value, "primary")]
        if view.status == "open":
            buttons.insert(0, button("Assign to me", "task_assign", value))
        blocks.append(actions("task_actions", *buttons))
    else:
        blocks.append(context(_closed_line(view)))
    return message(f"Feedback from {escape(view.email)}", blocks)


def approval_message(view: TaskView) -> dict[str, Any]:
    head = f":memo: *Quote for {_contact(view)}* needs approval by {who(view.assignee)}"
    blocks = [section(head, "quote"), summary_section(str(view.quote.get("number", "")), view.quote),
              section(f"*Subject:* {escape(view.quote_subject)}"),
              section("```" + clip(escape(view.quote_text), 2700) + "```")]
    if view.status == "open":
        value = f"task:{view.id}"
        blocks.append(actions("quote_actions", button("Approve & send", "quote_approve", value, "primary"),
                              button("Edit quote", "quote_build", value),
                              button("Edit email text", "quote_edit", value),
                              button("Reject", "quote_reject", value, "danger")))
    elif view.status == "approved":
        blocks.append(context(f":white_check_mark: Approved and sent by {who(view.decided_by)}"))
    elif view.status == "done":  # closed without a decision: the approval expired
        blocks.append(context(f":hourglass: Closed without a decision ({escape(view.note or 'expired')})"))
    else:
        reason = f": {escape(view.note)}" if view.note else ""
        blocks.append(context(f":no_entry_sign: Rejected by {who(view.decided_by)}{reason}"))
    return message(f"Quote approval for {escape(view.email)}", blocks)


def generic_task_message(view: TaskView) -> dict[str, Any]:
    blocks = [section(f":telephone_receiver: *{escape(view.kind)}* for {_contact(view)}: {view.text}", "task")]
    if view.status in ("open", "claimed"):
        blocks.append(actions("task_actions", button("Done", "task_done", f"task:{view.id}", "primary")))
    else:
        blocks.append(context(_closed_line(view)))
    return message(f"Task for {escape(view.email)}", blocks)


def task_message(view: TaskView) -> dict[str, Any]:
    builders = {"hot_lead": hot_lead_message, "feedback": feedback_message, "quote_approval": approval_message}
    return builders.get(view.kind, generic_task_message)(view)


def quote_edit_modal(task_id: int, subject: str, body: str) -> Block:
    return {
        "type": "modal", "callback_id": "quote_edit", "private_metadata": str(task_id),
        "title": plain("Edit quote email"), "submit": plain("Send"), "close": plain("Cancel"),
        "blocks": [
            input_block("subject", "Subject", {"type": "plain_text_input", "action_id": "subject_input",
                                               "initial_value": subject[:150]}),
            input_block("body", "Message", {"type": "plain_text_input", "action_id": "body_input",
                                            "multiline": True, "initial_value": body[:3000]},
                        hint="Replaces the email's text. The quoted items, the accept button and your signature "
                             "follow it: state prices or terms the request lacks here."),
        ],
    }


def reassign_modal(task_id: int) -> Block:
    return {
        "type": "modal", "callback_id": "task_reassign", "private_metadata": str(task_id),
        "title": plain("Reassign"), "submit": plain("Reassign"), "close": plain("Cancel"),
        "blocks": [input_block("owner", "New owner", {"type": "users_select", "action_id": "owner_select"})],
    }


def quote_reject_modal(task_id: int) -> Block:
    return {
        "type": "modal", "callback_id": "quote_reject", "private_metadata": str(task_id),
        "title": plain("Reject quote"), "submit": plain("Reject"), "close": plain("Cancel"),
        "blocks": [input_block("reason", "Reason", {"type": "plain_text_input", "action_id": "reason_input"})],
    }


# -- App Home -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JourneyToday:
    key: str
    name: str
    entered: int
    sent: int
    converted: int


@dataclass(frozen=True)
class Refusal:
    """A task Slack refused to post, for admins: which, where, why and what fixes it."""

    task_id: int
    kind: str
    email: str
    channel: str
    error: str
    fix: str


def refusals_section(refusals: Sequence[Refusal]) -> list[Block]:
    if not refusals:
        return []
    lines = [f"• task {r.task_id} ({escape(r.kind.replace('_', ' '))}, {escape(r.email)}) to `{escape(r.channel)}`: "
             f"*{escape(r.error)}*: {escape(r.fix)}" for r in refusals]
    return [{"type": "header", "text": plain("Tasks Slack refused to post")},
            *sections("Tried again every minute until the cause is fixed:\n" + "\n".join(lines))]


def home_view(tasks: Sequence[TaskView], journeys: Sequence[JourneyToday],
              refusals: Sequence[Refusal] = ()) -> Block:
    blocks: list[Block] = [*refusals_section(refusals),
                           actions("console", button("Open console", "console_open", "console", "primary")),
                           {"type": "header", "text": plain("My open tasks")}]
    if not tasks:
        blocks.append(section("Nothing waiting for you. :tada:"))
    for task in tasks[:20]:
        blocks.append(section(f"• *{escape(task.kind.replace('_', ' '))}* - {_contact(task)}: {task.text}"))
    blocks += [{"type": "divider"}, {"type": "header", "text": plain("Live journeys today")}]
    if not journeys:
        blocks.append(section("No live journeys. Create one with `/journey new`."))
    for item in journeys[:40]:
        blocks.append(section(f"*{escape(item.name)}* (`{escape(item.key)}`): entered {item.entered} · "
                              f"sent {item.sent} · converted {item.converted}"))
    return {"type": "home", "blocks": blocks}
