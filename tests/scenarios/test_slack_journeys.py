"""Slack front door: request verification, retries, and /journey from command to live journey."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from contacts.models import Consent, Contact
from core.services import Services
from emails.models import Message, MessageStatus
from journeys.models import Journey, JourneyStatus, JourneyVersion
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from tests.doubles.slack_api import SlackApiDouble
from tests.scenarios.slack_support import (
    calls,
    click,
    command,
    eventually,
    interact,
    post_signed,
    select_in_modal,
    submission,
)
from tests.support import sample

Drive = Callable[[], Awaitable[int]]


async def test_bad_signature_and_stale_timestamp_are_401(client: TestClient, services: Services) -> None:
    body = sample("slack/slash-command-journey-start.urlencoded")
    bad = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(int(time.time())),
           "X-Slack-Signature": "v0=" + "0" * 64}
    assert (await client.post("/slack/events", data=body, headers=bad)).status == 401
    stale = await post_signed(client, services, body, timestamp=int(time.time()) - 6 * 60)
    assert stale.status == 401


async def test_url_verification_echoes_the_challenge(client: TestClient, services: Services) -> None:
    body = sample("real/slack/url-verification.json")
    response = await post_signed(client, services, body, json_body=True)
    assert response.status == 200
    assert json.loads(body)["challenge"] in await response.text()


async def test_retried_event_is_handled_once(client: TestClient, services: Services, slack: SlackApiDouble) -> None:
    event = json.loads(sample("real/slack/app-home-opened.json"))
    event["event"]["tab"] = "home"
    body = json.dumps(event).encode()
    assert (await post_signed(client, services, body, json_body=True)).status == 200
    await eventually(calls(slack, "views.publish"))
    retry = await post_signed(client, services, body, json_body=True,
                              extra={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status == 200
    await asyncio.sleep(0.2)  # time for a (wrong) second handling to show up
    assert len(slack.called("views.publish")) == 1
    assert slack.called("views.publish")[0].params["user_id"] == "W111"


async def test_wrong_usage_says_what_is_wrong(client: TestClient, services: Services) -> None:
    response = await command(client, services, "/journey", "start abandoned-cart")
    text = await response.text()
    assert response.status == 200
    assert "takes 2 arguments" in text and "/journey start KEY EMAIL" in text
    assert "not a /journey subcommand" in await (await command(client, services, "/journey", "fly")).text()
    assert "one email address" in await (await command(client, services, "/contact", "")).text()


async def test_real_slash_command_body_with_plus_spaces(client: TestClient, services: Services) -> None:
    # Captured body: '+' for spaces; '/journey' percent-encoded. Parsed as `start KEY EMAIL`, then
    # refused: U0MARKETER1 is no journey editor.
    response = await post_signed(client, services, sample("slack/slash-command-journey-start.urlencoded"))
    assert response.status == 200
    assert "only journey editors and admins" in await response.text()


async def test_new_journey_modal_to_live(client: TestClient, services: Services, slack: SlackApiDouble) -> None:
    response = await command(client, services, "/journey", "new")
    assert response.status == 200
    opened = await eventually(calls(slack, "views.open"))
    view = opened[0].params["view"]
    assert view["callback_id"] == "journey_new"
    options = view["blocks"][0]["element"]["options"]
    assert "abandoned-cart" in [o["value"] for o in options]
    bad = submission("journey_new", {
        "template": {"template_select": {"type": "static_select", "selected_option": {"value": "abandoned-cart"}}},
        "name": {"name_input": {"type": "plain_text_input", "value": "Spring cart recovery"}},
        "first_delay": {"delay_input": {"type": "plain_text_input", "value": "3x"}},
    }, user="UADMIN")
    answer = await (await interact(client, services, bad)).json()
    assert answer["response_action"] == "errors" and "first_delay" in answer["errors"]
    good = json.loads(sample("slack/view-submission-new-journey.json"))
    good["user"]["id"] = "UADMIN"
    response = await interact(client, services, good)
    assert response.status == 200
    journey = await Journey.get(key="spring-cart-recovery")
    assert journey.status == JourneyStatus.DRAFT and journey.template_key == "abandoned-cart"
    version = await JourneyVersion.get(journey=journey)
    assert version.spec["steps"][0]["wait"] == "2h"
    confirmation = (await eventually(calls(slack, "chat.postMessage")))[0]
    button = confirmation.params["blocks"][-1]["elements"][0]
    assert button["action_id"] == "journey_publish"
    await interact(client, services, click("journey_publish", button["value"], "UADMIN", "DUADMIN"))
    await eventually(calls(slack, "chat.update"))
    await journey.refresh_from_db()
    assert journey.status == JourneyStatus.LIVE


async def test_only_editors_create_journeys(client: TestClient, services: Services, slack: SlackApiDouble) -> None:
    response = await command(client, services, "/journey", "new", user="U0STRANGER")
    assert "only journey editors and admins" in await response.text()
    assert slack.called("views.open") == []
    assert "No journeys yet" in await (await command(client, services, "/journey", "list", user="U0STRANGER")).text()


async def test_journey_test_run_reports_and_sends_nothing(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive
) -> None:
    spec = load_spec((__import__("journeys.library", fromlist=["TEMPLATES"]).TEMPLATES
                      / "welcome-series.yml").read_text())
    await import_spec(spec)
    await Contact.create(email="hana.sato@example.com", first_name="Hana", consent=Consent.SUBSCRIBED)
    response = await command(client, services, "/journey", f"test {spec.key} hana.sato@example.com")
    assert "Working on" in await response.text()
    await drive()
    # Through the command's response_url, which works in any channel or DM (no chat.postEphemeral).
    (reply,) = slack.called("response_url")
    report = reply.params["text"]
    assert "Test run of" in report and "would send" in report and reply.params["response_type"] == "ephemeral"
    assert slack.called("chat.postEphemeral") == []
    messages = await Message.filter(is_test=True)
    assert messages and all(m.status == MessageStatus.SKIPPED and m.error == "test run" for m in messages)


async def test_stats_and_contact(client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive) -> None:
    spec = load_spec((__import__("journeys.library", fromlist=["TEMPLATES"]).TEMPLATES
                      / "welcome-series.yml").read_text())
    await import_spec(spec)
    await publish(spec.key)
    await Contact.create(email="leo.martin@example.com", first_name="Leo", lead_score=42, tags=["vip"])
    started = await command(client, services, "/journey", f"start {spec.key} leo.martin@example.com")
    assert "entered" in await started.text()
    await command(client, services, "/journey", f"stats {spec.key}")
    await drive()
    text = slack.called("response_url")[-1].params["text"]
    assert "Entered 1" in text
    assert text.index("• Email: welcome 1:") < text.index("• Wait 2 days:")  # labelled, in flow order
    card = await (await command(client, services, "/contact", "leo.martin@example.com")).text()
    assert "42" in card and "vip" in card and spec.key in card


def _typed(block: str, value: str) -> dict[str, dict[str, str]]:
    return {block: {"type": "plain_text_input", "value": value}}


async def test_new_journey_modal_adjusts_every_wait(
    client: TestClient, services: Services, slack: SlackApiDouble
) -> None:
    await command(client, services, "/journey", "new")
    opened = (await eventually(calls(slack, "views.open")))[0].params["view"]
    assert not [b for b in opened["blocks"] if b.get("block_id", "").startswith("wait_")]  # no template yet
    await interact(client, services, select_in_modal("template_select", "new-customer-onboarding", "UADMIN",
                                                     {**opened, "id": "V0NEW"}))
    update = (await eventually(calls(slack, "views.update")))[0].params
    assert update["view_id"] == "V0NEW"
    waits = [b for b in update["view"]["blocks"] if b.get("block_id", "").startswith("wait_")]
    assert [(b["block_id"], b["element"]["initial_value"]) for b in waits] == [
        ("wait_1", "1d"), ("wait_3", "4d"), ("wait_5", "7d"), ("wait_7", "10d")]
    assert waits[0]["label"]["text"] == "Step 2: wait before email new-customer-onboarding-1"
    form = {"template": {"template_select": {"type": "static_select",
                                             "selected_option": {"value": "new-customer-onboarding"}}},
            "name": {"name_input": {"type": "plain_text_input", "value": "Onboarding fast"}},
            "wait_1": _typed("wait_input", "2h"), "wait_3": _typed("wait_input", "two days"),
            "wait_5": _typed("wait_input", "7d"), "wait_7": _typed("wait_input", "10d")}
    answer = await (await interact(client, services, submission("journey_new", form, "UADMIN"))).json()
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["wait_3"]
    assert "not a duration" in answer["errors"]["wait_3"]
    assert not await Journey.exists(key="onboarding-fast")
    # Absurd or negative waits are mistakes shown in the modal, never a 500.
    form["wait_3"], form["wait_5"] = _typed("wait_input", "1" + "0" * 30 + "d"), _typed("wait_input", "-3d")
    response = await interact(client, services, submission("journey_new", form, "UADMIN"))
    assert response.status == 200
    answer = await response.json()
    assert answer["response_action"] == "errors" and sorted(answer["errors"]) == ["wait_3", "wait_5"]
    assert "longer than ten years" in answer["errors"]["wait_3"] and "negative" in answer["errors"]["wait_5"]
    form["wait_5"] = _typed("wait_input", "7d")
    form["wait_3"] = _typed("wait_input", "2d")
    assert (await interact(client, services, submission("journey_new", form, "UADMIN"))).status == 200
    version = await JourneyVersion.get(journey__key="onboarding-fast")
    assert [version.spec["steps"][i]["wait"] for i in (1, 3, 5, 7)] == ["2h", "2d", "7d", "10d"]
    assert (await eventually(calls(slack, "chat.postMessage")))[0].params["channel"] == "UADMIN"


@pytest.mark.parametrize("name", ["block-actions-button.form", "shortcut-global.json", "shortcut-message.json",
                                  "view-submission.json", "slash-command-build.form"])
async def test_real_slack_payloads_we_do_not_handle_are_answered_never_a_crash(
    client: TestClient, services: Services, slack: SlackApiDouble, name: str
) -> None:
    """Payloads captured from real workspaces (Enterprise Grid ids, auto-generated action ids, other
    apps' shortcuts and commands): each verified and answered without a 5xx, and nothing done."""
    raw = sample(f"real/slack/{name}")
    body = raw.strip() if name.endswith(".form") else urlencode({"payload": raw.decode()}).encode()
    response = await post_signed(client, services, body)
    assert response.status < 500, await response.text()
    assert response.status in (200, 404)
    await asyncio.sleep(0.1)
    assert [c.method for c in slack.calls] == []
