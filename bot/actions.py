"""Buttons: Publish a draft, task buttons (Claim, Snooze, Not a lead, Assign to me, Done) and the
quote approval buttons (Approve & send, Edit, Reject). Every listener acks first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks, slackio, task_blocks
from bot.context import services_of
from bot.decide import change_task, decide_quote, may_act, refuse
from bot.tasks import quote_preview, task_id_of, task_quote
from contacts.models import Contact
from core.errors import NurtureError
from journeys.decisions import load_task, may_reassign
from journeys.permissions import may_edit_journeys
from journeys.store import publish

Ack = Callable[..., Awaitable[None]]
Listener = Callable[..., Awaitable[None]]


def where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel, message ts) of the clicked message."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return channel, container.get("message_ts") or (body.get("message") or {}).get("ts")


async def publish_draft(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext,
                        client: AsyncWebClient) -> None:
    await ack()
    services, user = services_of(context), body["user"]["id"]
    channel, ts = where(body)
    if not await may_edit_journeys(services, user):
        await slackio.tell(client, channel, user, ":no_entry: Only journey editors and admins may publish.")
        return
    try:
        version, _ = await publish(action["value"])
    except NurtureError as error:
        await slackio.tell(client, channel, user, f":warning: {error}")
        return
    if channel and ts:
        await client.chat_update(channel=channel, ts=ts, **blocks.journey_published(action["value"], version.number,
                                                                                       user))


def task_button(name: str) -> Listener:
    async def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        await change_task(services_of(context), task_id_of(action["value"]), body["user"]["id"], where(body)[0],
                          name)

    return listener


async def quote_approve(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext) -> None:
    await ack()
    services, user, channel = services_of(context), body["user"]["id"], where(body)[0]
    if await may_act(services, task_id_of(action["value"]), user, channel):
        await decide_quote(services, task_id_of(action["value"]), user, channel, approved=True)


def quote_modal(kind: str) -> Listener:
    async def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext,
                       client: AsyncWebClient) -> None:
        await ack()
        services, user = services_of(context), body["user"]["id"]
        task = await may_act(services, task_id_of(action["value"]), user, where(body)[0])
        if task is None:
            return
        if kind == "reject":
            view = task_blocks.quote_reject_modal(task.id)
        else:
            contact = await Contact.get(id=task.contact_id)
            subject, text = quote_preview(services, task, contact, await task_quote(services, task), copy_only=True)
            view = task_blocks.quote_edit_modal(task.id, subject, text)
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    return listener


async def reassign_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext,
                          client: AsyncWebClient) -> None:
    await ack()
    services, user = services_of(context), body["user"]["id"]
    try:
        task = await load_task(task_id_of(action["value"]))
        await may_reassign(services, task, user)
    except NurtureError as error:
        await refuse(services, None, user, where(body)[0], str(error))
        return
    await client.views_open(trigger_id=body["trigger_id"], view=task_blocks.reassign_modal(task.id))


def register(app: AsyncApp) -> None:
    app.action("journey_publish")(publish_draft)
    for name in ("claim", "snooze", "not_lead", "assign", "done"):
        app.action(f"task_{name}")(task_button(name))
    app.action("task_reassign")(reassign_button)
    app.action("quote_approve")(quote_approve)
    app.action("quote_edit")(quote_modal("edit"))
    app.action("quote_reject")(quote_modal("reject"))
