"""arq jobs and crons of the Slack bot: posting tasks and notifications, slow slash commands,
snoozed reposts, the hot-lead hand-off SLA and approval reminders."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import blocks, slackio
from bot.mrkdwn import escape
from bot.tasks import destination, fill_text, post_task, refresh_message, unposted_tasks
from contacts.models import Contact
from core.clock import ManualClock
from core.errors import NurtureError
from core.services import Services
from emails.models import Message
from journeys import outcomes
from journeys.analytics import funnel
from journeys.durations import parse_duration
from journeys.manual import start_for_contact
from journeys.models import Enrollment, EnrollmentState, Task, TaskKind, TaskStatus
from journeys.runner import run_step
from journeys.store import get_journey, latest_version, live_version, loaded

NOTIFIED_TTL = 30 * 24 * 3600
MAX_TEST_STEPS = 200


async def post_task_job(ctx: dict[str, Any], *, task_id: int) -> str:
    return await post_task(ctx["services"], task_id)


async def _notify_channel(services: Services, to: str, contact: Contact) -> str | None:
    if to == "owner":
        return await destination(services, contact.owner)
    if to == "sales":
        return services.workspace.slack.sales_channel or None
    if to.startswith(("U", "W")):
        return await slackio.dm_channel(services.slack, to)
    return to


async def post_notification(ctx: dict[str, Any], *, enrollment_id: int, seq: int, to: str, text: str) -> str:
    """A journey's slack_notify step: posted once per (enrollment, step)."""
    services: Services = ctx["services"]
    key = f"nurture:slack:notified:{enrollment_id}:{seq}"
    if await services.redis.exists(key):
        return "already posted"
    enrollment = await Enrollment.get_or_none(id=enrollment_id)
    if enrollment is None or enrollment.is_test:
        return "skipped: test run" if enrollment else "no such enrollment"
    contact = await Contact.get(id=enrollment.contact_id)
    channel = await _notify_channel(services, to, contact)
    if channel is None:
        return f"nowhere to post for {to!r}"
    body = fill_text(text, contact, dict(enrollment.context.get("event") or {}))
    await slackio.post(services.slack, channel, blocks.message(body))
    await services.redis.set(key, "1", ex=NOTIFIED_TTL)
    return f"posted to {channel}"


# -- slow slash commands ---------------------------------------------------------------------------

ERASED = ":wastebasket: This message was about a person whose data has since been erased at their request."
# Slack answers these when the message or its channel is gone: nothing left to erase.
GONE = ("message_not_found", "channel_not_found", "is_archived", "cant_update_message")


async def erase_slack_message(ctx: dict[str, Any], *, channel: str, ts: str) -> str:
    """A task message about an erased person, edited to say only that (pipeline/privacy.py enqueues it)."""
    services: Services = ctx["services"]
    try:
        await slackio.call(services.slack.chat_update(channel=channel, ts=ts, **blocks.message(ERASED)))
    except SlackApiError as error:
        if error.response.get("error") in GONE:
            return "gone"
        raise
    return "erased"


async def answer(services: Services, response_url: str, channel: str, user: str, content: dict[str, Any]) -> None:
    """The later answer to a command: through its response_url (any channel or DM); jobs queued
    before response_url was passed still answer with an ephemeral message."""
    if response_url:
        await slackio.reply(response_url, content)
    else:
        await slackio.call(services.slack.chat_postEphemeral(channel=channel, user=user, **content))


async def journey_stats(ctx: dict[str, Any], *, key: str, user: str, channel: str, response_url: str = "") -> str:
    services: Services = ctx["services"]
    try:
        journey = await get_journey(key)
        version = await live_version(journey) or await latest_version(journey)
        stats = await outcomes.journey_stats(await funnel(journey), journey.id, loaded(version).program)
    except NurtureError as error:
        await answer(services, response_url, channel, user, blocks.message(f":warning: {escape(str(error))}"))
        return "refused"
    await answer(services, response_url, channel, user, blocks.stats_message(stats))
    return "answered"


async def run_fast(services: Services, enrollment_id: int) -> Enrollment:
    """Run one (test) enrollment to its end on a clock that jumps to each timer."""
    fast = dataclasses.replace(services, clock=ManualClock(services.clock.now()))
    clock = fast.clock
    assert isinstance(clock, ManualClock)
    for _ in range(MAX_TEST_STEPS):
        enrollment = await Enrollment.get(id=enrollment_id)
        if enrollment.state not in (EnrollmentState.ACTIVE, EnrollmentState.WAITING):
            return enrollment
        if enrollment.next_run_at and enrollment.next_run_at > clock.now():
            clock.set(enrollment.next_run_at)
        if not await run_step(fast, enrollment.id, enrollment.seq):
            return enrollment
    return await Enrollment.get(id=enrollment_id)


async def journey_test(ctx: dict[str, Any], *, key: str, email: str, user: str, channel: str,
                       response_url: str = "") -> str:
    services: Services = ctx["services"]
    try:
        enrollment = await start_for_contact(services, key, email, test=True, started_by=user)
    except NurtureError as error:
        await answer(services, response_url, channel, user, blocks.message(f":warning: {escape(str(error))}"))
        return "refused"
    done = await run_fast(services, enrollment.id)
    messages = await Message.filter(enrollment_ref=done.id).order_by("id")
    sends = [f"`{m.template}`" + (f' - "{m.subject}"' if m.subject else '') for m in messages]
    tasks = [t.kind.value for t in await Task.filter(enrollment_id=done.id).order_by("id")]
    outcome = f"{done.state.value}" + (f" ({done.exit_reason})" if done.exit_reason else "")
    await answer(services, response_url, channel, user, blocks.test_report(key, email, sends, tasks, outcome))
    return outcome


# -- crons ---------------------------------------------------------------------------------------

async def repost_refused(ctx: dict[str, Any]) -> int:
    """Tasks Slack refused (bot not in the channel, wrong channel...) are posted again once the
    cause is fixed: tried every minute until they go through."""
    services: Services = ctx["services"]
    posted = 0
    for task in await unposted_tasks():
        posted += (await post_task(services, task.id)).startswith("posted")
    return posted


async def repost_snoozed(ctx: dict[str, Any]) -> int:
    """Snoozed tasks whose day is over come back as new messages."""
    services: Services = ctx["services"]
    due = await Task.filter(status=TaskStatus.SNOOZED, due_at__lte=services.clock.now()).limit(200)
    for task in due:
        await Task.filter(id=task.id, status=TaskStatus.SNOOZED).update(
            status=TaskStatus.OPEN, slack_ts=None, slack_channel=None, due_at=None)
        await post_task(services, task.id)
    return len(due)


def next_rep(reps: tuple[str, ...], current: str | None) -> str | None:
    """Round-robin: the rep after `current` (the first one when current is not a rep)."""
    if not reps:
        return None
    if current in reps:
        return reps[(reps.index(current) + 1) % len(reps)]
    return reps[0]


def escalation_note(hours: float, channel: str, rep: str | None) -> str:
    where = f"<#{channel}>" if channel else f"<@{rep}>"
    nudge = f", next up <@{rep}>" if channel and rep else ""
    return f"Unclaimed after {hours:g}h: escalated to {where}{nudge}"


async def escalate(services: Services, task: Task) -> str:
    """Repost an unclaimed hot lead to the sales channel (or, without one, to the next rep by DM);
    the next rep round-robin becomes the assignee, and the old alert says where it went."""
    slack = services.workspace.slack
    rep = next_rep(slack.sales_reps, task.assignee)
    rep = None if rep == task.assignee else rep
    channel = slack.sales_channel or (await slackio.dm_channel(services.slack, rep) if rep else "")
    if not channel or (rep is None and channel == task.slack_channel):
        return "nobody to escalate to"
    task.payload = {**task.payload, "escalation": escalation_note(slack.hot_lead_sla_hours, slack.sales_channel,
                                                                  rep)}
    task.escalated_at = services.clock.now()
    await task.save(update_fields=["payload", "escalated_at", "updated_at"])
    await refresh_message(services, task)  # the old alert shows the escalation
    task.assignee = rep or task.assignee
    task.slack_ts = None
    await task.save(update_fields=["assignee", "slack_ts", "updated_at"])
    return await post_task(services, task.id, channel=channel)


async def escalate_unclaimed(ctx: dict[str, Any]) -> int:
    """Hot leads nobody claimed within the SLA are reposted to the sales channel or the next rep."""
    services: Services = ctx["services"]
    overdue = await Task.filter(kind=TaskKind.HOT_LEAD, status=TaskStatus.OPEN, escalated_at=None,
                                due_at__lte=services.clock.now(), slack_ts__not_isnull=True).limit(200)
    for task in overdue:
        await escalate(services, task)
    return len(overdue)


EXPIRED = "expired: nobody decided in time, so the journey took its timeout path"


async def approval_moved_on(task: Task) -> bool:
    """True when the run no longer waits for this decision (the approval timed out, or the contact left)."""
    if task.enrollment_id is None:
        return False
    enrollment = await Enrollment.get_or_none(id=task.enrollment_id)
    return enrollment is None or enrollment.wait_event != "approval.decided" or enrollment.state not in (
        EnrollmentState.WAITING, EnrollmentState.PAUSED)


async def expire_approval(services: Services, task: Task) -> None:
    """Close the task and take the buttons off its message: a click could no longer send anything."""
    task.status = TaskStatus.DONE
    task.payload = {**task.payload, "decision_reason": EXPIRED}
    await task.save(update_fields=["status", "payload", "updated_at"])
    await refresh_message(services, task)


def reminder_due(task: Task, now: dt.datetime) -> bool:
    posted, after = task.payload.get("posted_at"), task.payload.get("remind_after")
    if not posted or not after or task.payload.get("reminded_at"):
        return False
    return dt.datetime.fromisoformat(posted) + parse_duration(after) <= now


async def remind(services: Services, task: Task) -> None:
    """One reminder in the approval's thread, so the rep's DM shows it next to the quote."""
    who = f"<@{task.assignee}>" if task.assignee else "Someone"
    await services.slack.chat_postMessage(channel=task.slack_channel or "", thread_ts=task.slack_ts,
                                          text=f"{who}, this quote is still waiting for a decision.")
    task.payload = {**task.payload, "reminded_at": services.clock.now().isoformat()}
    await task.save(update_fields=["payload", "updated_at"])


async def remind_approvals(ctx: dict[str, Any]) -> int:
    """Remind once after `remind_after`; once the engine took the timeout path, close the task."""
    services: Services = ctx["services"]
    reminded = 0
    waiting = await Task.filter(kind=TaskKind.QUOTE_APPROVAL, status=TaskStatus.OPEN, slack_ts__not_isnull=True)
    for task in waiting:
        if await approval_moved_on(task):
            await expire_approval(services, task)
        elif reminder_due(task, services.clock.now()):
            await remind(services, task)
            reminded += 1
    return reminded


CRONS = (repost_snoozed, repost_refused, escalate_unclaimed, remind_approvals)
