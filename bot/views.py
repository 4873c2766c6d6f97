"""Modal submissions: a new journey draft, an edited quote, a rejection reason.

Validation problems come back on the modal's own fields (response_action: errors)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks, slackio
from bot.app import may_edit_journeys, services_of
from bot.decide import decide_quote
from journeys.library import slug, template
from journeys.models import Journey
from journeys.store import import_spec, latest_version
from journeys.validation import SpecError, parse_spec
from nurture.errors import NurtureError

Ack = Callable[..., Awaitable[None]]
FIELD_OF = {"trigger": "trigger_event", "steps": "first_delay", "key": "name", "name": "name"}


def values(view: dict[str, Any]) -> dict[str, str]:
    """block_id -> the value typed or picked (state.values[block_id][action_id])."""
    found: dict[str, str] = {}
    for block_id, inputs in (view.get("state") or {}).get("values", {}).items():
        for element in inputs.values():
            option = element.get("selected_option") or {}
            found[block_id] = str(option.get("value") or element.get("value") or "").strip()
    return found


def _first_wait(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((s for s in steps if "wait" in s and isinstance(s["wait"], str)), None)


def draft_document(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The journey document the form describes, or errors by block id."""
    errors: dict[str, str] = {}
    try:
        chosen = template(form.get("template", ""))
    except NurtureError as error:
        return {}, {"template": str(error)}
    name = form.get("name", "")
    if not name:
        errors["name"] = "Give the journey a name."
    data = chosen.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.update(key=slug(name), name=name)
    if form.get("trigger_event"):
        data["trigger"] = {**data["trigger"], "event": form["trigger_event"]}
    if form.get("first_delay"):
        wait = _first_wait(data["steps"])
        if wait is None:
            errors["first_delay"] = f"{chosen.name} has no wait step to adjust; leave this empty."
        else:
            wait["wait"] = form["first_delay"]
    return data, errors


def spec_errors(problems: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in problems:
        field = FIELD_OF.get(problem.split(".")[0].split("[")[0].split(":")[0], "name")
        errors.setdefault(field, problem[:150])
    return errors


async def journey_new(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext,
                      client: AsyncWebClient) -> None:
    services, user = services_of(context), body["user"]["id"]
    if not may_edit_journeys(services, user):
        await ack(response_action="errors", errors={"name": "Only journey editors and admins may create journeys."})
        return
    data, errors = draft_document(values(view))
    if not errors and await Journey.exists(key=data["key"]):
        errors["name"] = f"A journey `{data['key']}` exists already: pick another name."
    if not errors:
        try:
            spec = parse_spec(data)
        except SpecError as error:
            errors = spec_errors(error.problems)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    journey, _ = await import_spec(spec, created_by=user, template_key=values(view)["template"])
    await ack()
    version = await latest_version(journey)
    await client.chat_postMessage(channel=user, **blocks.draft_created(journey.key, journey.name, version.number))


async def quote_edit(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext) -> None:
    form = values(view)
    if not form.get("subject") or not form.get("body"):
        await ack(response_action="errors", errors={"subject" if not form.get("subject") else "body": "Required."})
        return
    await ack()
    await decide_quote(services_of(context), int(view["private_metadata"]), body["user"]["id"], None,
                       approved=True, subject=form["subject"], text=form["body"])


async def quote_reject(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext) -> None:
    reason = values(view).get("reason", "")
    if not reason:
        await ack(response_action="errors", errors={"reason": "Say why, for the record."})
        return
    await ack()
    await decide_quote(services_of(context), int(view["private_metadata"]), body["user"]["id"], None,
                       approved=False, reason=reason)


def register(app: AsyncApp) -> None:
    app.view("journey_new")(journey_new)
    app.view("quote_edit")(quote_edit)
    app.view("quote_reject")(quote_reject)


__all__ = ["register", "slackio"]
