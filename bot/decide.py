"""Task decisions made with buttons and modals: shared by actions.py and views.py."""

from __future__ import annotations

from bot import slackio
from bot.tasks import refresh_message
from contacts.models import Contact
from core import people
from core.errors import BadRequest, NurtureError
from core.services import Services
from journeys.decisions import QuoteEmail, decide_approval, load_task, may_act_on, may_decide, set_task_status
from journeys.durations import parse_duration
from journeys.models import Task, TaskStatus
from journeys.quotes import context_of, quote_for_task, unpriced

NOT_A_LEAD_PENALTY = 20
SNOOZE = "1d"


async def refuse(services: Services, task: Task | None, user: str, channel: str | None, text: str) -> None:
    where = channel or (task.slack_channel if task else None)
    await slackio.tell(services.slack, where, user, f":no_entry: {text}")


async def may_act(services: Services, task_id: int, user: str, channel: str | None) -> Task | None:
    """The task when `user` may decide it; otherwise an ephemeral refusal and None."""
    try:
        task = await load_task(task_id)
    except NurtureError as error:
        await refuse(services, None, user, channel, str(error))
        return None
    if not may_decide(services, task, user):
        await refuse(services, task, user, channel, "only the assigned rep or an admin can decide this quote.")
        return None
    return task


async def decide_quote(services: Services, task_id: int, user: str, channel: str | None, *, approved: bool,
                       subject: str = "", text: str = "", reason: str = "") -> None:
    email: QuoteEmail | None = None
    try:
        if approved:
            task = await load_task(task_id)
            if task.status == TaskStatus.OPEN:  # else decide_approval says why not
                email = await _quote_email(services, task, user, subject, text)
        task = await decide_approval(services, task_id, user, approved=approved, email=email, reason=reason)
    except NurtureError as error:
        await refuse(services, None, user, channel, str(error))
        return
    await refresh_message(services, task)


async def _quote_email(services: Services, task: Task, user: str, subject: str, text: str) -> QuoteEmail:
    """The approved email, with the task's priced quote; refused while a line has no price."""
    quote = await quote_for_task(services, task)
    missing = unpriced(quote)
    if missing:
        raise BadRequest(f"price every line before sending: press *Edit quote* (no price yet for "
                         f"{', '.join(missing[:3])})")
    rep = await people.person(services.slack, user)
    return QuoteEmail(from_name=rep.name, reply_to=rep.email, subject=subject, body=text,
                      quote=context_of(services, quote), quote_id=quote.id)


async def change_task(services: Services, task_id: int, user: str, channel: str | None, action: str) -> None:
    """Claim, snooze, not a lead, assign to me, done."""
    try:
        task = await apply(services, task_id, user, action)
    except NurtureError as error:
        await refuse(services, None, user, channel, str(error))
        return
    await refresh_message(services, task)


async def apply(services: Services, task_id: int, user: str, action: str) -> Task:
    await may_act_on(services, await load_task(task_id), user, action)
    if action == "claim":
        return await set_task_status(services, task_id, user, TaskStatus.CLAIMED)
    if action == "done":
        return await set_task_status(services, task_id, user, TaskStatus.DONE)
    if action == "snooze":
        task = await set_task_status(services, task_id, user, TaskStatus.SNOOZED)

        task.due_at = services.clock.now() + parse_duration(SNOOZE)
        await task.save(update_fields=["due_at", "updated_at"])
        return task
    if action == "not_lead":
        task = await set_task_status(services, task_id, user, TaskStatus.REJECTED)
        contact = await Contact.get(id=task.contact_id)
        contact.lead_score = max(0, contact.lead_score - NOT_A_LEAD_PENALTY)  # scores never go below zero
        await contact.save(update_fields=["lead_score", "updated_at"])
        return task
    task = await load_task(task_id)  # assign to me: the task is yours, the contact's owner stays
    task.assignee, task.status, task.decided_by = user, TaskStatus.CLAIMED, user
    await task.save(update_fields=["assignee", "status", "decided_by", "updated_at"])
    return task
