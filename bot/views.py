"""Modal submissions: a new journey draft, an edited quote, a rejection reason.

Validation problems come back on the modal's own fields (response_action: errors)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks, slackio
from bot.context import services_of
from bot.decide import decide_quote
from bot.tasks import refresh_message
from core.errors import NurtureError
from journeys.decisions import reassign
from journeys.durations import parse_span
from journeys.library import slug, template, templates
from journeys.models import Journey
from journeys.permissions import may_edit_journeys
from journeys.store import import_spec, latest_version
from journeys.validation import SpecError, parse_spec

Ack = Callable[..., Awaitable[None]]
FIELD_OF = {"trigger": "trigger_event", "steps": "first_delay", "key": "name", "name": "name"}
MAX_WAITS = 5  # a modal stays short; journeys with more waits are tuned in YAML (`nurture journeys`)


def values(view: dict[str, Any]) -> dict[str, str]:
    """block_id -> the value typed or picked (state.values[block_id][action_id])."""
    found: dict[str, str] = {}
    for block_id, inputs in (view.get("state") or {}).get("values", {}).items():
        for element in inputs.values():
            option = element.get("selected_option") or {}
            found[block_id] = str(option.get("value") or element.get("selected_user")
                                  or element.get("value") or "").strip()
    return found


def wait_fields(steps: list[dict[str, Any]]) -> list[blocks.WaitField]:
    """The template's top-level plain waits (up to MAX_WAITS), each with the email that follows it."""
    found: list[blocks.WaitField] = []
    for index, step in enumerate(steps):
        if isinstance(step.get("wait"), str):
            following = next((s for s in steps[index + 1:] if "email" in s or "wait" in s), {})
            found.append(blocks.WaitField(index, step["wait"], str(following.get("email") or "")))
    return found[:MAX_WAITS]


def wait_changes(form: dict[str, str], steps: list[dict[str, Any]]) -> tuple[dict[int, str], dict[str, str]]:
    """step index -> new wait from the modal's wait_N fields (and the older single first_delay field),
    or errors by block id so Slack shows each one under its own field."""
    indexes = [w.index for w in wait_fields(steps)]
    wanted = {block: value for block, value in form.items() if block.startswith("wait_") and value}
    if form.get("first_delay"):  # modals opened before per-step waits carried just this field
        wanted["first_delay"] = form["first_delay"]
    changes: dict[int, str] = {}
    errors: dict[str, str] = {}
    for block, value in wanted.items():
        index = indexes[0] if block == "first_delay" and indexes else _index(block)
        if index not in indexes:
            errors[block] = "The template has no wait step here; leave this empty."
            continue
        try:
            parse_span(value)
        except ValueError as error:
            errors[block] = str(error)
            continue
        changes[index] = value
    return changes, errors


def _index(block: str) -> int:
    number = block.removeprefix("wait_")
    return int(number) if number.isdigit() else -1


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
    changes, wait_errors = wait_changes(form, data["steps"])
    for index, value in changes.items():
        data["steps"][index]["wait"] = value
    return data, {**errors, **wait_errors}


def spec_errors(problems: list[str], fields: Collection[str] = ()) -> dict[str, str]:
    """Validation problems by modal field: `steps[3]...` lands on wait_3 when the modal has it."""
    errors: dict[str, str] = {}
    for problem in problems:
        head = problem.split(".")[0].split(":")[0]
        step = f"wait_{head[6:-1]}" if head.startswith("steps[") else ""
        field = step if step in fields else FIELD_OF.get(head.split("[")[0], "name")
        errors.setdefault(field, problem[:150])
    return errors


async def journey_new(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext,
                      client: AsyncWebClient) -> None:
    services, user = services_of(context), body["user"]["id"]
    if not await may_edit_journeys(services, user):
        await ack(response_action="errors", errors={"name": "Only journey editors and admins may create journeys."})
        return
    data, errors = draft_document(values(view))
    if not errors and await Journey.exists(key=data["key"]):
        errors["name"] = f"A journey `{data['key']}` exists already: pick another name."
    if not errors:
        try:
            spec = parse_spec(data)
        except SpecError as error:
            errors = spec_errors(error.problems, values(view))
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


async def template_picked(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
    """A template was picked in the open modal: rebuild it with one input per wait of that template.
    Slack keeps what was typed in blocks whose ids stay the same (name, trigger)."""
    await ack()
    view, key = body["view"], action["selected_option"]["value"]
    chosen = template(key).spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    modal = blocks.new_journey_modal([(t.key, t.name) for t in templates()], view.get("private_metadata", ""),
                                     key, wait_fields(chosen["steps"]))
    await client.views_update(view_id=view["id"], hash=view.get("hash"), view=modal)


async def task_reassign(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext) -> None:
    services, to_user = services_of(context), values(view).get("owner", "")
    if not to_user:
        await ack(response_action="errors", errors={"owner": "Pick who takes it over."})
        return
    try:
        task = await reassign(services, int(view["private_metadata"]), body["user"]["id"], to_user)
    except NurtureError as error:
        await ack(response_action="errors", errors={"owner": str(error)})
        return
    await ack()
    await refresh_message(services, task)


def register(app: AsyncApp) -> None:
    app.action("template_select")(template_picked)
    app.view("task_reassign")(task_reassign)
    app.view("journey_new")(journey_new)
    app.view("quote_edit")(quote_edit)
    app.view("quote_reject")(quote_reject)


__all__ = ["register", "slackio"]
