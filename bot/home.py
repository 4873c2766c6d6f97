"""App Home: the user's open tasks and today's numbers of every live journey."""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import task_blocks
from bot.commands import console_reply
from bot.context import services_of
from bot.tasks import task_view, unposted_tasks
from contacts.models import Contact
from core.services import Services
from emails.models import Message, MessageStatus
from journeys.models import Enrollment, Journey, JourneyStatus, Task, TaskStatus


async def journeys_today(since: dt.datetime) -> list[task_blocks.JourneyToday]:
    rows = []
    for journey in await Journey.filter(status=JourneyStatus.LIVE).order_by("key"):
        runs = Enrollment.filter(journey=journey, is_test=False)
        ids = await runs.values_list("id", flat=True)
        rows.append(task_blocks.JourneyToday(
            journey.key, journey.name,
            entered=await runs.filter(entered_at__gte=since).count(),
            sent=await Message.filter(enrollment_ref__in=list(ids), status=MessageStatus.SENT,
                                      sent_at__gte=since).count() if ids else 0,
            converted=await runs.filter(exit_reason="converted", finished_at__gte=since).count(),
        ))
    return rows


async def refusals() -> list[task_blocks.Refusal]:
    found = []
    for task in await unposted_tasks():
        error = task.payload["post_error"]
        contact = await Contact.get_or_none(id=task.contact_id)
        found.append(task_blocks.Refusal(task.id, task.kind.value, (contact.email if contact else "") or "",
                                    str(error.get("channel", "")), str(error.get("error", "")),
                                    str(error.get("fix", ""))))
    return found


async def home_for(services: Services, user: str) -> dict[str, Any]:
    mine = await Task.filter(assignee=user, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED]).order_by("-id").limit(20)
    views = [await task_view(services, task) for task in mine]
    start = services.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    problems = await refusals() if user in services.workspace.slack.admins else []
    return task_blocks.home_view(views, await journeys_today(start), problems)


async def app_home_opened(event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
    if event.get("tab", "home") != "home":
        return
    await client.views_publish(user_id=event["user"], view=await home_for(services_of(context), event["user"]))


async def open_console(ack: Any, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
    """App Home's "Open console": a single-use sign-in link, in a DM to the one who pressed it."""
    await ack()
    user = body["user"]["id"]
    reply = {k: v for k, v in console_reply(services_of(context), user).items() if k != "response_type"}
    await client.chat_postMessage(channel=user, **reply)


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(app_home_opened)
    app.action("console_open")(open_console)
