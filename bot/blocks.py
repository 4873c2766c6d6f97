"""Block Kit, built by pure functions: plain data in, Slack JSON out (no I/O, no ORM). The
primitives, command answers, journeys and the contact card live here; tasks and App Home in
bot/task_blocks.py.

Listeners and jobs gather the facts (views below) and hand them here, so every message,
modal and home tab can be unit-tested without Slack or a database. Facts are data: every
builder passes them through bot/mrkdwn.py, so a contact named `<!channel>` pings nobody.
The only markup that arrives here is a marketer's own task or notification text, rendered
with escaped data (bot.tasks.fill_text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.mrkdwn import escape, person, user
from journeys.outcomes import JourneyStats, Money

Block = dict[str, Any]

JOURNEY_USAGE = (
    "`/journey list` · `/journey templates` · `/journey new` · `/journey show KEY` · "
    "`/journey start KEY EMAIL` · `/journey pause KEY` · `/journey resume KEY` · `/journey stats KEY` · "
    "`/journey test KEY EMAIL` · `/journey help`"
)
CONTACT_USAGE = "`/contact EMAIL`, e.g. `/contact maria.rossi@example.com`"
MAX_TEXT = 2900  # Slack's section text limit is 3000 characters


MAX_BLOCKS = 50  # Slack's limit per message


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """At most `limit` characters, never cut inside a `<...>` sequence or an `&...;` entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def sections(text: str) -> list[Block]:
    """`text` as sections of whole lines (Slack cuts a section at 3,000 characters): a long list
    continues in the next section, up to a message's 50 blocks, then says how much is left."""
    packed: list[str] = []
    for line in text.splitlines() or [" "]:
        line = clip(line)
        if packed and len(packed[-1]) + 1 + len(line) <= MAX_TEXT:
            packed[-1] += "\n" + line
        else:
            packed.append(line)
    if len(packed) <= MAX_BLOCKS:
        return [section(part) for part in packed]
    kept, rest = packed[: MAX_BLOCKS - 1], packed[MAX_BLOCKS - 1:]
    more = sum(part.count("\n") + 1 for part in rest)
    return [*(section(part) for part in kept),
            context(f"…and {more} more lines: Slack shows at most {MAX_BLOCKS} blocks in one message.")]


def section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text or " ")}}
    if block_id:
        block["block_id"] = block_id
    return block


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text)}]}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:150], "emoji": True}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {"type": "button", "text": plain(text), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element


def actions(block_id: str, *elements: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def message(text: str, blocks: list[Block] | None = None) -> dict[str, Any]:
    """Arguments for chat.postMessage / chat.update / ack: a fallback text and blocks."""
    return {"text": clip(text, 3000), "blocks": blocks if blocks is not None else sections(text)}


def usage_error(problem: str, usage: str = JOURNEY_USAGE) -> dict[str, Any]:
    """`problem` is plain text (it echoes what the user typed), shown escaped."""
    return message(f":warning: {escape(problem)}\nUsage: {usage}")


def help_message() -> dict[str, Any]:
    lines = [
        "*Journeys from Slack*",
        "• `/journey list` - every journey and its status",
        "• `/journey templates` - ready-made journeys to start from",
        "• `/journey new` - create a draft from a template (then Publish)",
        "• `/journey show KEY` - the steps of a journey",
        "• `/journey start KEY EMAIL` - put one contact into a live journey",
        "• `/journey pause KEY` / `/journey resume KEY`",
        "• `/journey stats KEY` - the funnel: entered, steps, converted, exits",
        "• `/journey test KEY EMAIL` - a test run on a fast clock; nothing is delivered",
        "• `/contact EMAIL` - profile, score, tags, journeys, recent activity",
    ]
    return message("\n".join(lines))


# -- journeys -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JourneyRow:
    key: str
    name: str
    status: str
    version: int


STATUS_ICON = {"live": ":large_green_circle:", "paused": ":double_vertical_bar:", "draft": ":pencil2:",
               "archived": ":file_cabinet:"}


def journey_list(rows: Sequence[JourneyRow]) -> dict[str, Any]:
    if not rows:
        return message("No journeys yet. Start from a template with `/journey new`.")
    lines = [f"{STATUS_ICON.get(r.status, '')} *{escape(r.name)}* (`{escape(r.key)}`) - {r.status}, v{r.version}"
             for r in rows]
    return message("Journeys:\n" + "\n".join(lines))


def template_list(items: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    # One section per template: the whole library in one section overflows Slack's 3000-character
    # limit and the later templates were cut off. (A message holds up to 50 blocks.)
    header = "Templates (use `/journey new`):"
    lines = [f"• *{escape(name)}* (`{escape(key)}`): {escape(description)}" for key, name, description in items][:49]
    return message(header + "\n" + "\n".join(lines), [section(header)] + [section(line) for line in lines])


def journey_detail(row: JourneyRow, trigger: str, steps: Sequence[str]) -> dict[str, Any]:
    numbered = "\n".join(f"{i + 1}. {escape(step)}" for i, step in enumerate(steps)) or "(no steps)"
    return message(f"*{escape(row.name)}* (`{escape(row.key)}`) - {row.status}, v{row.version}\n"
                   f"*Trigger:* {escape(trigger)}\n{numbered}")


def _option(key: str, name: str) -> Block:
    return {"text": plain(name), "value": key}


def input_block(block_id: str, label: str, element: Block, *, optional: bool = False, hint: str = "") -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": plain(label), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = plain(hint)
    return block


@dataclass(frozen=True)
class WaitField:
    """One adjustable wait of the chosen template: block id `wait_{index}` names its step."""

    index: int  # position in the template's top-level steps (0-based)
    current: str
    before: str = ""  # the email that follows the wait, when one does


def wait_label(field: WaitField) -> str:
    then = f"before email {field.before}" if field.before else "before the next step"
    return f"Step {field.index + 1}: wait {then}"


def waitinput_block(field: WaitField) -> Block:
    element = {"type": "plain_text_input", "action_id": "wait_input", "initial_value": field.current}
    return input_block(f"wait_{field.index}", wait_label(field), element, hint="A duration, e.g. 2h, 1d, 1w")


def new_journey_modal(templates: Sequence[tuple[str, str]], channel: str = "", chosen: str = "",
                      waits: Sequence[WaitField] = ()) -> Block:
    """The /journey new form. Picking a template (dispatch_action) rebuilds it with that
    template's waits, so the delays can be adjusted before the draft exists."""
    select: Block = {"type": "static_select", "action_id": "template_select", "placeholder": plain("Pick a template"),
                     "options": [_option(key, name) for key, name in templates]}
    names = dict(templates)
    if chosen in names:
        select["initial_option"] = _option(chosen, names[chosen])
    picker = {**input_block("template", "Template", select), "dispatch_action": True}
    if waits:
        delays = [waitinput_block(w) for w in waits]
    else:
        hint = "This template has no waits to adjust." if chosen else "Pick a template to adjust its waits."
        delays = [context(hint)]
    return {
        "type": "modal", "callback_id": "journey_new", "private_metadata": channel,
        "title": plain("New journey"), "submit": plain("Create draft"), "close": plain("Cancel"),
        "blocks": [
            picker,
            input_block("name", "Name", {"type": "plain_text_input", "action_id": "name_input",
                                    "placeholder": plain("Spring cart recovery")}),
            input_block("trigger_event", "Trigger event", {"type": "plain_text_input", "action_id": "event_input"},
                   optional=True, hint="Leave empty to keep the template's trigger, e.g. checkout.abandoned"),
            *delays,
        ],
    }


def draft_created(key: str, name: str, version: int) -> dict[str, Any]:
    text = f":pencil2: Draft *{escape(name)}* (`{escape(key)}`) v{version} created. Publish it to make it live."
    return message(text, [section(text), actions("journey_actions", button("Publish", "journey_publish", key,
                                                                            "primary"))])


def journey_published(key: str, version: int, by: str) -> dict[str, Any]:
    return message(f":large_green_circle: `{escape(key)}` v{version} is live (published by {user(by)}).")


def _money(amounts: Sequence[Money]) -> str:
    return ", ".join(f"{m.amount} {m.currency}".strip() for m in amounts) or "0"


def stats_message(stats: JourneyStats) -> dict[str, Any]:
    """/journey stats: people per step, each email's clicks and revenue, the split's verdict."""
    lines = [f"*Results of `{escape(stats.journey)}`*",
             f"Entered {stats.entered} · in flight {stats.in_flight} · completed {stats.completed} · "
             f"converted {stats.converted} ({stats.goal_rate:.0%}) · attributed {stats.orders} orders, "
             f"{escape(_money(stats.revenue))}"]
    lines += [f"• {escape(step.label)}: {step.reached}" + (f" ({step.waiting} here now)" if step.waiting else "")
              for step in stats.steps]
    lines += [f"• exit _{escape(reason)}_: {count}" for reason, count in stats.exits.items()]
    if stats.emails:
        lines.append("*Per email* (opens are approximate; clicks and orders are what count)")
        lines += [f"• {escape(e.label)}: sent {e.sent}, clicked {e.clicked} ({e.click_rate:.1%}), opened "
                  f"~{e.opened}, unsubscribed {e.unsubscribed}, {e.orders} orders, {escape(_money(e.revenue))}"
                  for e in stats.emails]
    lines += [f"• arm *{escape(a.arm)}*: {a.converted}/{a.entered} converted ({a.conversion_rate:.1%}), "
              f"{escape(_money(a.revenue))}" for a in stats.arms]
    if stats.verdict is not None:
        lines.append(f":scales: {escape(stats.verdict.text)}")
    return message("\n".join(lines))


def test_report(key: str, email: str, sends: Sequence[str], tasks: Sequence[str], outcome: str) -> dict[str, Any]:
    lines = [f":test_tube: Test run of `{escape(key)}` for {escape(email)}: {escape(outcome)}. Nothing was delivered."]
    lines += [f"• would send {escape(s)}" for s in sends] or ["• no email would be sent"]
    lines += [f"• would create a {escape(t)} task" for t in tasks]
    return message("\n".join(lines))


# -- contacts -------------------------------------------------------------------------------------

def who(user_id: str | None) -> str:
    """A mention of a Slack user we stored, or "nobody"."""
    return user(user_id) if user_id else "nobody"


def contact_card(profile: dict[str, Any], journeys: Sequence[str], trace: Sequence[str]) -> dict[str, Any]:
    name = " ".join(str(p) for p in (profile.get("first_name"), profile.get("last_name")) if p)
    tags = ", ".join(escape(tag) for tag in profile.get("tags") or []) or "none"
    events = [f"• {escape(e['occurred_at'][:16])} {escape(e['type'])} {escape(_event_detail(e))}"
              for e in profile.get("events", [])[:5]]
    text = (f"*{person(name, profile['email'])}*\n"
            f"Stage *{escape(profile['lifecycle_stage'])}* · lead score *{profile['lead_score']}* · "
            f"owner {who(profile.get('owner'))}\n"
            f"Tags: {tags} · consent {escape(profile['consent'])}\n"
            f"Active journeys: {escape(', '.join(journeys)) or 'none'}")
    blocks = [section(text)]
    if events:
        blocks.append(section("*Last events*\n" + "\n".join(events)))
    if trace:
        blocks.append(context("\n".join(escape(line) for line in trace)))
    return message(text, blocks)


def _event_detail(event: dict[str, Any]) -> str:
    props = event.get("properties") or {}
    for name in ("path", "url", "form_key", "title", "score", "name"):
        if props.get(name) not in (None, ""):
            return str(props[name])
    return ""
