"""Block Kit builders are pure: checked here without Slack or a database."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bot import blocks, task_blocks
from bot.commands import parse
from bot.jobs import next_rep
from bot.task_blocks import TaskView
from bot.views import draft_document, spec_errors, values, wait_changes, wait_fields


def _view(**changes: object) -> TaskView:
    base = dict(id=7, kind="hot_lead", status="open", contact="Wei <mailto:w@x.example|w@x.example>",
                email="w@x.example", text="Wei is looking at Pricing", score=35, activity=("viewed /pricing",))
    return TaskView(**{**base, **changes})  # type: ignore[arg-type]


def _action_ids(message: dict[str, object]) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions"  # type: ignore[attr-defined]
            for e in b["elements"]]


def test_open_hot_lead_has_three_buttons_with_task_value() -> None:
    message = task_blocks.task_message(_view())
    assert _action_ids(message) == ["task_claim", "task_snooze", "task_not_lead"]
    assert "lead score *35*" in json.dumps(message) and "viewed /pricing" in json.dumps(message)
    assert all(e["value"] == "task:7" for b in message["blocks"] if b["type"] == "actions" for e in b["elements"])


def test_claimed_hot_lead_shows_who_and_only_the_reassign_button() -> None:
    message = task_blocks.task_message(_view(status="claimed", decided_by="UREP1", escalation="escalated to <@UREP2>"))
    assert _action_ids(message) == ["task_reassign"]
    assert _action_ids(task_blocks.task_message(_view(status="rejected", decided_by="UREP1"))) == []
    text = json.dumps(message)
    assert "Claimed by <@UREP1>" in text and "escalated to <@UREP2>" in text


def test_feedback_names_account_manager() -> None:
    message = task_blocks.task_message(_view(kind="feedback", nps_score=3, comment="late", owner="UAM"))
    assert "Account manager: <@UAM>" in json.dumps(message)
    assert _action_ids(message) == ["task_assign", "task_done"]


def test_approval_shows_email_and_decision() -> None:
    view = _view(kind="quote_approval", assignee="UREP1", quote_subject="Your quote", quote_text="Hi Maria")
    assert _action_ids(task_blocks.task_message(view)) == ["quote_approve", "quote_build", "quote_edit",
                                                           "quote_reject"]
    rejected = task_blocks.task_message(
        _view(kind="quote_approval", status="rejected", decided_by="U1", note="too low"))
    assert "Rejected by <@U1>: too low" in json.dumps(rejected)


def test_long_text_is_clipped_to_slack_limits() -> None:
    message = task_blocks.task_message(_view(text="x" * 5000))
    assert all(len(b["text"]["text"]) <= 3000 for b in message["blocks"] if b["type"] == "section")


def test_new_journey_modal_fields() -> None:
    modal = blocks.new_journey_modal([("abandoned-cart", "Abandoned cart")], "C1")
    assert [b.get("block_id") for b in modal["blocks"]] == ["template", "name", "trigger_event", None]
    assert modal["private_metadata"] == "C1" and modal["callback_id"] == "journey_new"
    assert modal["blocks"][0]["dispatch_action"] is True  # picking a template rebuilds the form


def test_new_journey_modal_offers_each_wait_of_the_chosen_template() -> None:
    waits = [blocks.WaitField(0, "1h", "cart-reminder"), blocks.WaitField(4, "3d")]
    modal = blocks.new_journey_modal([("abandoned-cart", "Abandoned cart")], "C1", "abandoned-cart", waits)
    inputs = modal["blocks"][3:]
    assert [b["block_id"] for b in inputs] == ["wait_0", "wait_4"]
    assert inputs[0]["label"]["text"] == "Step 1: wait before email cart-reminder"
    assert inputs[1]["label"]["text"] == "Step 5: wait before the next step"
    assert inputs[0]["element"]["initial_value"] == "1h"
    assert modal["blocks"][0]["element"]["initial_option"]["value"] == "abandoned-cart"


def test_wait_fields_and_changes() -> None:
    steps = [{"email": "a"}, {"wait": "1d"}, {"email": "b"}, {"wait": {"until": "x"}}, {"wait": "2d"}] + [
        {"wait": "1h"}] * 5
    fields = wait_fields(steps)
    assert [(f.index, f.current, f.before) for f in fields[:2]] == [(1, "1d", "b"), (4, "2d", "")]
    assert len(fields) == 5  # at most five inputs in the modal
    assert wait_changes({"wait_1": "3d", "wait_4": ""}, steps) == ({1: "3d"}, {})
    assert wait_changes({"wait_4": "soon"}, steps)[1]["wait_4"].startswith('"soon" is not a duration')
    assert "no wait step here" in wait_changes({"wait_2": "1d"}, steps)[1]["wait_2"]
    assert wait_changes({"first_delay": "5h"}, steps) == ({1: "5h"}, {})


def test_command_parsing_explains_mistakes() -> None:
    assert parse("start cart a@b.example") == ("start", ["cart", "a@b.example"])
    assert "takes 1 argument" in parse("show")["text"]  # type: ignore[index]
    assert "not an email address" in parse("test cart bob")["text"]  # type: ignore[index]
    assert "needs a subcommand" in parse("  ")["text"]  # type: ignore[index]


def test_draft_document_applies_name_trigger_and_first_wait() -> None:
    data, errors = draft_document({"template": "abandoned-cart", "name": "Spring Sale", "first_delay": "2h",
                                   "trigger_event": "checkout.abandoned"})
    assert errors == {} and data["key"] == "spring-sale" and data["steps"][0]["wait"] == "2h"
    assert draft_document({"template": "nope", "name": "x"})[1].keys() == {"template"}
    assert spec_errors(["steps[0].wait: '3x' is not a duration"]) == {"first_delay": "steps[0].wait: '3x' is not "
                                                                                     "a duration"}
    assert spec_errors(["steps[3].wait: too long"], {"wait_3"}) == {"wait_3": "steps[3].wait: too long"}


def test_modal_values_read_selects_and_inputs() -> None:
    view = {"state": {"values": {"template": {"t": {"selected_option": {"value": "win-back"}}},
                                 "name": {"n": {"value": " Hi "}}, "first_delay": {"d": {"value": None}}}}}
    assert values(view) == {"template": "win-back", "name": "Hi", "first_delay": ""}


def test_round_robin() -> None:
    assert next_rep(("A", "B"), "A") == "B" and next_rep(("A", "B"), "B") == "A"
    assert next_rep(("A", "B"), None) == "A" and next_rep((), "A") is None


def test_home_view_lists_tasks_and_journeys() -> None:
    home = task_blocks.home_view([_view()], [task_blocks.JourneyToday("cart", "Cart", 3, 2, 1)])
    assert home["type"] == "home"
    assert "entered 3 · sent 2 · converted 1" in json.dumps(home, ensure_ascii=False)


def test_manifest_declares_commands_scopes_and_urls() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[3] / "bot" / "manifest.yml").read_text())
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == {"/journey", "/contact", "/nurture"}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "im:write", "users:read", "users:read.email", "usergroups:read",
            "files:write"} <= scopes
    settings = manifest["settings"]
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["interactivity"]["message_menu_options_url"].endswith("/slack/events")  # the quote builder
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
