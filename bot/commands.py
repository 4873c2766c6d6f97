"""Slash commands: /journey and /contact. Quick answers go back in the ack (ephemeral);
slow ones (stats, test runs) are acked at once and answered by an arq job."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks, slackio
from bot.context import services_of
from bot.mrkdwn import escape
from contacts.export import contact_profile
from contacts.models import Contact
from core.addresses import fold_address
from core.errors import NurtureError
from core.services import Services
from emails.signin import LINK_TTL, console_link
from journeys.library import templates
from journeys.manual import start_for_contact
from journeys.models import Enrollment, Journey, JourneyStatus, TraceEntry
from journeys.permissions import may_edit_journeys
from journeys.store import get_journey, latest_version, loaded, set_status

Ack = Callable[..., Awaitable[None]]
Reply = dict[str, Any]
Listener = Callable[..., Awaitable[None]]
log = logging.getLogger(__name__)


def answers_outages(listener: Listener) -> Listener:
    """A command that could not reach Slack's Web API (for a permission lookup, a modal) still gets
    its answer within Slack's 3 s: a message to try again, instead of a 500 and a traceback."""
    @functools.wraps(listener)  # bolt reads the listener's own arguments through the wrapper
    async def answered(*, ack: Ack, **kwargs: Any) -> None:
        acked = False

        async def ack_once(*args: Any, **fields: Any) -> None:
            nonlocal acked
            acked = True
            await ack(*args, **fields)

        try:
            await listener(ack=ack_once, **kwargs)
        except slackio.UNREACHABLE as error:
            if acked:
                raise  # answered already: the app's error handler logs the outage
            log.warning("Slack could not be reached during a command: %s", error)
            await ack(**blocks.message(slackio.UNREACHABLE_TEXT))

    return answered

# subcommand -> (number of arguments, usage)
USAGE = {
    "list": (0, "`/journey list`"), "templates": (0, "`/journey templates`"), "new": (0, "`/journey new`"),
    "help": (0, "`/journey help`"), "show": (1, "`/journey show KEY`"), "pause": (1, "`/journey pause KEY`"),
    "resume": (1, "`/journey resume KEY`"), "stats": (1, "`/journey stats KEY`"),
    "start": (2, "`/journey start KEY EMAIL`"), "test": (2, "`/journey test KEY EMAIL`"),
}
EDITS = {"new", "pause", "resume", "start"}
REFUSAL = "only journey editors and admins may do that; you can list, show and stats."


def parse(text: str) -> tuple[str, list[str]] | Reply:
    """('show', ['cart']) or the ephemeral usage message explaining what is wrong."""
    words = text.split()
    if not words:
        return blocks.usage_error("`/journey` needs a subcommand.")
    name, args = words[0].lower(), words[1:]
    if name not in USAGE:
        return blocks.usage_error(f"`{name}` is not a /journey subcommand.")
    count, usage = USAGE[name]
    if len(args) != count:
        return blocks.usage_error(f"`{name}` takes {count or 'no'} argument{'s' if count != 1 else ''}.", usage)
    if name in ("start", "test") and "@" not in args[1]:
        return blocks.usage_error(f"`{args[1]}` is not an email address.", usage)
    return name, args


async def _row(journey: Journey) -> blocks.JourneyRow:
    version = journey.live_version_number or (await latest_version(journey)).number
    return blocks.JourneyRow(journey.key, journey.name, journey.status.value, version)


async def list_journeys() -> Reply:
    journeys = await Journey.exclude(status=JourneyStatus.ARCHIVED).order_by("key")
    return blocks.journey_list([await _row(j) for j in journeys])


def list_templates() -> Reply:
    return blocks.template_list([(t.key, t.name, t.description) for t in templates()])


def _step_line(step: Any) -> str:
    data = step.model_dump(mode="json", by_alias=True, exclude_none=True)
    kind = data.pop("kind")
    data.pop("id", None)
    return f"{kind}: {data.get(kind)}"


async def show_journey(key: str) -> Reply:
    journey = await get_journey(key)
    spec = loaded(await latest_version(journey)).spec
    trigger = spec.trigger.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    return blocks.journey_detail(await _row(journey), str(trigger), [_step_line(s) for s in spec.steps])


async def change_status(key: str, status: JourneyStatus) -> Reply:
    journey = await set_status(key, status)
    return blocks.message(f"`{escape(journey.key)}` is now {journey.status.value}.")


async def start(services: Services, key: str, email: str, user: str) -> Reply:
    enrollment = await start_for_contact(services, key, email, started_by=user)
    return blocks.message(f":arrow_forward: {escape(email)} entered `{escape(key)}` (run {enrollment.id}).")


async def enqueue(services: Services, job: str, key: str, user: str, channel: str, **extra: Any) -> Reply:
    """The answer follows through the command's response_url (extra), which works in DMs too."""
    await services.redis.enqueue_job(job, key=key, user=user, channel=channel, **extra)
    return blocks.message(f":hourglass_flowing_sand: Working on `{escape(key)}`… the answer follows here.")


async def dispatch(services: Services, name: str, args: list[str], command: dict[str, Any]) -> Reply:
    user, channel = command["user_id"], command.get("channel_id", "")
    if name in EDITS and not await may_edit_journeys(services, user):
        return blocks.usage_error(REFUSAL)
    if name == "list":
        return await list_journeys()
    if name == "templates":
        return list_templates()
    if name == "show":  # the words now, the diagram with its live counts as a picture right after
        await services.redis.enqueue_job("journey_diagram", key=args[0], user=user, channel=channel,
                                         response_url=str(command.get("response_url") or ""))
        return await show_journey(args[0])
    if name in ("pause", "resume"):
        return await change_status(args[0], JourneyStatus.PAUSED if name == "pause" else JourneyStatus.LIVE)
    if name == "start":
        return await start(services, args[0], args[1], user)
    reply_to = str(command.get("response_url") or "")
    if name == "stats":
        return await enqueue(services, "journey_stats", args[0], user, channel, response_url=reply_to)
    if name == "test":
        return await enqueue(services, "journey_test", args[0], user, channel, email=args[1], response_url=reply_to)
    return blocks.help_message()


async def open_new_modal(client: AsyncWebClient, command: dict[str, Any]) -> None:
    options = [(t.key, t.name) for t in templates()]
    await client.views_open(trigger_id=command["trigger_id"],
                            view=blocks.new_journey_modal(options, command.get("channel_id", "")))


async def new_command(ack: Ack, services: Services, client: AsyncWebClient, command: dict[str, Any]) -> None:
    """The modal for editors; everyone else gets the refusal (one permission lookup, not two)."""
    if not await may_edit_journeys(services, command["user_id"]):
        await ack(**blocks.usage_error(REFUSAL))
        return
    # The modal first (its trigger is good for 3 s): if Slack cannot be reached, the answer says so.
    await open_new_modal(client, command)
    await ack()


@answers_outages
async def journey_command(ack: Ack, command: dict[str, Any], context: AsyncBoltContext,
                          client: AsyncWebClient) -> None:
    services = services_of(context)
    parsed = parse(command.get("text") or "")
    if isinstance(parsed, dict):
        await ack(**parsed)
        return
    name, args = parsed
    if name == "new":
        await new_command(ack, services, client, command)
        return
    try:
        reply = await dispatch(services, name, args, command)
    except NurtureError as error:
        reply = blocks.usage_error(str(error), USAGE[name][1])
    await ack(**reply)


async def contact_reply(email: str) -> Reply:
    contact = await Contact.get_or_none(email=fold_address(email))
    if contact is None:
        return blocks.usage_error(f"no contact with email {email!r}.", blocks.CONTACT_USAGE)
    profile = await contact_profile(contact, events=5)
    active = await Enrollment.filter(contact=contact, state__in=["active", "waiting", "paused"], is_test=False
                                     ).prefetch_related("journey")
    trace = await TraceEntry.filter(contact=contact).order_by("-at", "-id").limit(5)
    lines = [f"{t.at:%d %b %H:%M} {t.journey_key}: {t.message}" for t in trace]
    return blocks.contact_card(profile, sorted({e.journey.key for e in active}), lines)


@answers_outages
async def contact_command(ack: Ack, command: dict[str, Any]) -> None:
    words = (command.get("text") or "").split()
    if len(words) != 1 or "@" not in words[0]:
        await ack(**blocks.usage_error("`/contact` takes one email address.", blocks.CONTACT_USAGE))
        return
    await ack(**await contact_reply(words[0]))


def console_reply(services: Services, user: str) -> Reply:
    link = console_link(services.settings.secret_key, services.settings.public_url, user,
                        services.clock.now().timestamp())
    return {"response_type": "ephemeral", "text": f":link: <{link}|Open the Nurture console> (a sign-in link for you "
                                                  f"alone: it works once, for {LINK_TTL // 60} minutes)",
            "unfurl_links": False}


@answers_outages
async def nurture_command(ack: Ack, command: dict[str, Any], context: AsyncBoltContext) -> None:
    """`/nurture console`: a single-use sign-in link, shown to the one who asked (ephemeral)."""
    if (command.get("text") or "").strip().lower() != "console":
        await ack(**blocks.usage_error("`/nurture` knows `console` so far.", "`/nurture console`"))
        return
    await ack(**console_reply(services_of(context), command["user_id"]))


def register(app: AsyncApp) -> None:
    app.command("/journey")(journey_command)
    app.command("/contact")(contact_command)
    app.command("/nurture")(nurture_command)
