"""Decisions people make in Slack, applied to tasks and the enrollments waiting on them.

The Slack bot calls these; they know nothing about Slack. Permission: only the task's
assignee or a workspace admin may decide an approval; `may_act_on` says who may press the
other task buttons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contacts.models import Contact
from core.errors import BadRequest, Forbidden, NotFound
from core.services import Services
from journeys.engine import resume_on_decision
from journeys.models import Enrollment, JourneyVersion, Task, TaskKind, TaskStatus
from journeys.quotes import mark_rejected, mark_sent
from journeys.runner import advance, state_of, trace
from journeys.store import loaded
from journeys.triggers import enqueue_step


@dataclass(frozen=True)
class QuoteEmail:
    """What an approving rep sends: their name and address, optionally edited subject and text, and
    the priced quote (its email context, a snapshot: what the customer holds no longer changes)."""

    from_name: str
    reply_to: str
    subject: str = ""
    body: str = ""
    quote: dict[str, Any] | None = None
    quote_id: int | None = None

    def params(self) -> dict[str, Any]:
        found = {"from_name": self.from_name, "reply_to": self.reply_to, "subject": self.subject, "body": self.body}
        return found | ({"quote": self.quote} if self.quote else {})


async def load_task(task_id: int) -> Task:
    task = await Task.get_or_none(id=task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist (any more)")
    return task


def may_decide(services: Services, task: Task, user: str) -> bool:
    return user == task.assignee or user in services.workspace.slack.admins


async def decide_approval(
    services: Services, task_id: int, user: str, *, approved: bool, email: QuoteEmail | None = None,
    reason: str = "",
) -> Task:
    """Approve (the email goes out as from `email`) or reject; resumes the waiting enrollment."""
    task = await load_task(task_id)
    if task.kind != TaskKind.QUOTE_APPROVAL:
        raise BadRequest(f"task {task_id} is not an approval")
    if not may_decide(services, task, user):
        raise Forbidden("only the assigned rep or an admin can decide this quote")
    if task.status != TaskStatus.OPEN:
        raise BadRequest(f"this quote was already {task.status.value} by {task.decided_by or 'someone'}")
    # The run moves first: a decision the run can no longer take (the approval timed out a
    # moment ago) must not leave the task saying "approved" with no email sent.
    taken = task.enrollment_id is None or await _resume(services, task.enrollment_id, user, approved, email, reason)
    task.decided_by = user
    if not taken:
        task.status = TaskStatus.DONE
        task.payload = {**task.payload, "decision_reason": "expired: the run was no longer waiting"}
        await task.save()
        raise BadRequest("this quote is no longer waiting for a decision (it timed out or was handled elsewhere)")
    task.status = TaskStatus.APPROVED if approved else TaskStatus.REJECTED
    task.payload = {**task.payload, "decision_reason": reason}
    await task.save()
    if approved and email and email.quote_id:
        await mark_sent(email.quote_id, services.clock.now())
    elif not approved:
        await mark_rejected(task.id)
    return task


async def _resume(services: Services, enrollment_id: int, user: str, approved: bool, email: QuoteEmail | None,
                  reason: str) -> bool:
    enrollment = await Enrollment.get(id=enrollment_id)
    version = await JourneyVersion.get(id=enrollment.version_id).prefetch_related("journey")
    contact = await Contact.get(id=enrollment.contact_id)
    decision = "approved" if approved else (reason or "rejected")
    outcome = resume_on_decision(loaded(version).program, state_of(enrollment), decision, user,
                                 email.params() if email else None)
    now = services.clock.now()
    if outcome is None:
        await trace(contact.id, enrollment, version.journey.key, now, "approval",
                    f"{user} decided ({decision}) but the run was no longer waiting for it")
        return False
    if not await advance(services, enrollment, contact, version.journey.key, outcome, now):
        return False
    if outcome.status == "active":
        await enqueue_step(services, enrollment.id, enrollment.seq + 1)
    return True


# What each task button may do: the kinds it applies to and the states it may leave.
ACTIONS: dict[str, tuple[frozenset[TaskKind], frozenset[TaskStatus]]] = {
    "claim": (frozenset({TaskKind.HOT_LEAD}), frozenset({TaskStatus.OPEN})),
    "snooze": (frozenset({TaskKind.HOT_LEAD}), frozenset({TaskStatus.OPEN})),
    "not_lead": (frozenset({TaskKind.HOT_LEAD}), frozenset({TaskStatus.OPEN})),
    "assign": (frozenset({TaskKind.FEEDBACK, TaskKind.CALL}), frozenset({TaskStatus.OPEN})),
    "done": (frozenset({TaskKind.FEEDBACK, TaskKind.CALL}), frozenset({TaskStatus.OPEN, TaskStatus.CLAIMED})),
}


async def _owner(task: Task) -> str | None:
    """The task's contact's owner (the rep the lead belongs to), if any."""
    contact = await Contact.get_or_none(id=task.contact_id).only("id", "owner")
    return contact.owner if contact is not None else None


async def may_act_on(services: Services, task: Task, user: str, action: str) -> None:
    """Raises unless `user` may press `action` on `task` now.

    The assignee, the contact's owner and workspace admins may act. A task nobody holds yet (sent to
    the sales channel) is open to the sales reps (to anyone when the workspace lists none). A lead
    another rep claimed is not taken over by a button: its owner or an admin reassigns it.
    """
    kinds, states = ACTIONS.get(action, (frozenset(), frozenset()))
    if task.kind not in kinds:
        raise BadRequest(f"`{action}` does not apply to a {task.kind.value.replace('_', ' ')} task")
    if task.status not in states:
        holder = f" by {task.decided_by}" if task.decided_by else ""
        raise BadRequest(f"this task is already {task.status.value}{holder}")
    slack = services.workspace.slack
    owner = await _owner(task)
    if user in slack.admins or user in (task.assignee, owner):
        return
    if task.assignee is None and not owner and (not slack.sales_reps or user in slack.sales_reps):
        return
    raise Forbidden("only the assignee, the lead's owner or an admin can act on this task")


async def may_reassign(services: Services, task: Task, user: str) -> None:
    """Taking over a lead someone holds is explicit: its owner (or the assignee) or an admin hands it on."""
    if task.kind == TaskKind.QUOTE_APPROVAL or task.status not in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        raise BadRequest(f"this task is {task.status.value}: nothing to hand on")
    holders = {task.assignee, await _owner(task)} - {None}
    if user not in services.workspace.slack.admins and user not in holders:
        raise Forbidden("only the lead's owner or an admin can reassign it")


async def reassign(services: Services, task_id: int, user: str, to_user: str) -> Task:
    """`user` hands the task (and the contact, for a hot lead) on to `to_user`."""
    task = await load_task(task_id)
    await may_reassign(services, task, user)
    task.assignee, task.decided_by = to_user, user
    task.payload = {**task.payload, "reassigned_by": user}
    await task.save(update_fields=["assignee", "decided_by", "payload", "updated_at"])
    if task.kind == TaskKind.HOT_LEAD:
        await Contact.filter(id=task.contact_id).update(owner=to_user)
    return task


async def set_task_status(services: Services, task_id: int, user: str, status: TaskStatus) -> Task:
    """Claim / done / snooze / not-a-lead for hot-lead and feedback tasks (allowed by may_act_on)."""
    task = await load_task(task_id)
    if task.status in (TaskStatus.DONE, TaskStatus.REJECTED) and status != TaskStatus.OPEN:
        raise BadRequest(f"this task is already {task.status.value}")
    task.status = status
    task.decided_by = user
    if status == TaskStatus.CLAIMED:
        task.assignee = user
        await Contact.filter(id=task.contact_id).update(owner=user)
    await task.save()
    return task
