"""Tasks in Slack: gather what a task message shows, post it once, update it in place."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import mrkdwn, slackio, task_blocks
from bot.business_hours import add_business_hours
from bot.task_blocks import TaskView
from contacts.models import Contact, Event
from contacts.view import contact_view
from core.services import Services
from emails.drafts import page_links
from emails.errors import TemplateError
from emails.library import shared_library
from emails.render import render
from emails.sandbox import render_string
from journeys.delivery import contact_fields
from journeys.engine import zone
from journeys.models import Enrollment, Task, TaskKind, TaskStatus
from journeys.quotes import context_of, quote_for_task

log = logging.getLogger(__name__)
ACTIVITY_TYPES = ("page.viewed", "form.submitted", "survey.answered", "checkout.abandoned", "order.created")


def task_id_of(value: str) -> int:
    """Button values are `task:<id>`."""
    return int(value.rsplit(":", 1)[-1])


def display_name(contact: Contact) -> str:
    """The contact's name as data (builders escape it)."""
    return " ".join(p for p in (contact.first_name, contact.last_name) if p)


def _activity_line(event: Event) -> str:
    props = event.properties
    when = event.occurred_at.strftime("%d %b %H:%M")
    if event.type == "page.viewed":
        return f"{when} viewed {props.get('path') or props.get('url', '')} {props.get('title') or ''}".strip()
    if event.type == "form.submitted":
        return f"{when} submitted form {props.get('form_key', '')}"
    return f"{when} {event.type}"


async def recent_activity(contact: Contact, limit: int = 5) -> tuple[list[str], list[str]]:
    events = await Event.filter(contact_id=contact.id, type__in=ACTIVITY_TYPES).order_by("-occurred_at").limit(limit)
    links = sorted({str(e.properties["url"]) for e in events if str(e.properties.get("url", "")).startswith("http")})
    return [_activity_line(e) for e in events], links[:3]


def _brand_name(services: Services) -> str:
    return services.workspace.brand.get("name") or email.utils.parseaddr(services.settings.mail_from)[0]


def quote_preview(services: Services, task: Task, contact: Contact, quote: dict[str, Any], *,
                  copy_only: bool = False) -> tuple[str, str]:
    """The drafted quote email (subject, text part) as the contact would get it, with `quote` (the
    priced quote's context); with `copy_only`, just the copy a rep may rewrite (the quote's items
    and links stay as they are)."""
    context: dict[str, Any] = dict(task.payload.get("context") or {})
    brand = {"name": _brand_name(services), **services.workspace.brand}
    context.update(page_links(brand), brand=brand, contact=contact_fields(contact), unsubscribe_url="",
                   preferences_url="", custom={"copy_only": copy_only}, quote=quote)
    try:
        rendered = render(shared_library(), str(task.payload.get("email", "quote")), context)
    except (TemplateError, ValueError) as error:
        return "(cannot render)", f"The template could not be rendered: {error}"
    return rendered.subject, rendered.text.strip()


def fill_text(source: str, contact: Contact, event: dict[str, Any]) -> str:
    """Task and notification texts are marketer Jinja, so mrkdwn: the contact's and the event's data
    go in escaped (a name cannot mention anyone); rendered in the sandbox, raw on error."""
    try:
        return render_string(source, mrkdwn.escape_all({"contact": contact_view(contact), "event": event}))
    except (TemplateError, ValueError):
        return source


async def task_quote(services: Services, task: Task) -> dict[str, Any]:
    """The task's quote as the email shows it (a sent quote no longer changes)."""
    return context_of(services, await quote_for_task(services, task))


async def task_view(services: Services, task: Task) -> TaskView:
    contact = await Contact.get(id=task.contact_id)
    activity, links = await recent_activity(contact) if task.kind == TaskKind.HOT_LEAD else ([], [])
    event = (task.payload.get("context") or {}).get("event") or {}
    subject, text, quote = "", "", {}
    if task.kind == TaskKind.QUOTE_APPROVAL:
        quote = await task_quote(services, task)
        subject, text = quote_preview(services, task, contact, quote)
    return TaskView(
        id=task.id, kind=task.kind.value, status=task.status.value, contact=display_name(contact),
        email=contact.email or "", score=contact.lead_score,
        text=fill_text(str(task.payload.get("text", "")), contact, {"properties": event}),
        owner=contact.owner, assignee=task.assignee, decided_by=task.decided_by, activity=activity, links=links,
        escalation=str(task.payload.get("escalation", "")),
        nps_score=event.get("score") if isinstance(event.get("score"), int) else None,
        comment=str(event.get("comment") or ""), quote_subject=subject, quote_text=text, quote=quote,
        note=str(task.payload.get("decision_reason", "")),
    )


async def task_content(services: Services, task: Task) -> dict[str, Any]:
    return task_blocks.task_message(await task_view(services, task))


async def destination(services: Services, assignee: str | None) -> str | None:
    """A DM to the assignee, else the sales channel; None when neither exists."""
    if assignee:
        return await slackio.dm_channel(services.slack, assignee)
    return services.workspace.slack.sales_channel or None


async def is_test_task(task: Task) -> bool:
    return task.enrollment_id is not None and await Enrollment.exists(id=task.enrollment_id, is_test=True)


def sla_deadline(services: Services, now: dt.datetime) -> dt.datetime:
    """When an unclaimed hot lead escalates: the SLA in business hours of the sales team."""
    slack = services.workspace.slack
    return add_business_hours(now, slack.hot_lead_sla_hours, dt.time.fromisoformat(slack.business_open),
                              dt.time.fromisoformat(slack.business_close), frozenset(slack.business_days),
                              zone(slack.business_timezone))


async def post_task(services: Services, task_id: int, *, channel: str | None = None) -> str:
    """Post a task message once (to the assignee, or `channel` when given); a stored slack_ts
    means it was posted already."""
    task = await Task.get_or_none(id=task_id)
    if task is None:
        return "no such task"
    if task.slack_ts:
        return "already posted"
    if await is_test_task(task):
        return "skipped: test run"
    channel = channel or await destination(services, task.assignee)
    if channel is None:
        return "nowhere to post: no assignee and no sales channel configured"
    try:
        task.slack_channel, task.slack_ts = await slackio.post(services.slack, channel,
                                                               await task_content(services, task))
    except SlackApiError as error:  # not transient (slackio.call retries those): kept for an admin to fix
        return await _record_post_error(services, task, channel, str(error.response.get("error") or error))
    now = services.clock.now()
    if task.kind == TaskKind.HOT_LEAD and task.status == TaskStatus.OPEN:
        task.due_at = sla_deadline(services, now)
    task.payload = {**{k: v for k, v in task.payload.items() if k != "post_error"}, "posted_at": now.isoformat()}
    await task.save(update_fields=["slack_channel", "slack_ts", "due_at", "payload", "updated_at"])
    return f"posted to {channel}"


# What an admin can do about each refusal (shown in App Home and `nurture slack problems`).
POST_FIXES = {
    "not_in_channel": "invite the bot to the channel (/invite @Nurture), or reinstall it with chat:write.public",
    "channel_not_found": "check slack.sales_channel in the workspace file",
    "is_archived": "the channel is archived: choose another slack.sales_channel",
    "invalid_auth": "check NURTURE_SLACK_BOT_TOKEN",
    "token_revoked": "the app was uninstalled: reinstall it and update NURTURE_SLACK_BOT_TOKEN",
    "account_inactive": "the app was uninstalled: reinstall it and update NURTURE_SLACK_BOT_TOKEN",
    "missing_scope": "reinstall the app with the scopes in bot/manifest.yml",
}


async def _record_post_error(services: Services, task: Task, channel: str, error: str) -> str:
    """Slack refused the message: the task keeps why (no hot lead is lost) and the cron tries again."""
    fix = POST_FIXES.get(error, "see Slack's answer")
    task.payload = {**task.payload, "post_error": {"error": error, "channel": channel, "fix": fix,
                                                   "at": services.clock.now().isoformat()}}
    await task.save(update_fields=["payload", "updated_at"])
    log.warning("task %s not posted to %s: %s (%s)", task.id, channel, error, fix)
    return f"not posted to {channel}: {error}"


async def unposted_tasks(limit: int = 50) -> list[Task]:
    """Open tasks Slack refused to post, oldest first (tried again by a cron)."""
    waiting = await Task.filter(status=TaskStatus.OPEN, slack_ts__isnull=True).order_by("id").limit(500)
    return [task for task in waiting if "post_error" in task.payload][:limit]


async def refresh_message(services: Services, task: Task) -> None:
    """chat.update the task's message in place with its current state."""
    if task.slack_channel and task.slack_ts:
        await services.slack.chat_update(channel=task.slack_channel, ts=task.slack_ts,
                                         **await task_content(services, task))
