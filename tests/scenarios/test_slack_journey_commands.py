"""/journey subcommands answered in the ack, and journey-editing rights granted by a Slack user group."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from slack_sdk.web.async_client import AsyncWebClient

from core.services import Services
from journeys.library import TEMPLATES, templates
from journeys.models import Journey, JourneyStatus
from journeys.permissions import clear_group_cache
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from tests.doubles.slack_api import SlackApiDouble
from tests.scenarios.slack_support import calls, click, command, eventually, interact
from tests.support import slack_headers

GROUP = "S0MARKETING"


async def _answer(client: TestClient, services: Services, text: str, user: str = "UADMIN") -> dict[str, Any]:
    """The ack's JSON: an ephemeral reply (Slack's default when no response_type is set)."""
    response = await command(client, services, "/journey", text, user=user)
    assert response.status == 200
    answer: dict[str, Any] = await response.json()
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    return answer


async def _welcome(live: bool = True) -> str:
    spec = load_spec((TEMPLATES / "welcome-series.yml").read_text())
    await import_spec(spec)
    if live:
        await publish(spec.key)
    return spec.key


@pytest.fixture
def editor_group(services: Services, slack: SlackApiDouble) -> Iterator[None]:
    """The workspace names a user group (not user ids) as journey editors; U0MARKETER is in it."""
    original = services.workspace
    slack_config = original.slack.model_copy(update={"journey_editor_groups": (GROUP,)})
    services.workspace = original.model_copy(update={"slack": slack_config})
    slack.groups[GROUP] = ["U0MARKETER", "U0DESIGNER"]
    clear_group_cache()
    yield
    services.workspace = original
    clear_group_cache()


async def test_group_member_creates_and_publishes(
    client: TestClient, services: Services, slack: SlackApiDouble, editor_group: None
) -> None:
    await command(client, services, "/journey", "new", user="U0MARKETER")
    assert (await eventually(calls(slack, "views.open")))[0].params["view"]["callback_id"] == "journey_new"
    key = await _welcome(live=False)
    await interact(client, services, click("journey_publish", key, "U0MARKETER", "DMARKETER"))
    update = (await eventually(calls(slack, "chat.update")))[0]
    assert "published by <@U0MARKETER>" in update.params["text"]
    assert (await Journey.get(key=key)).status == JourneyStatus.LIVE
    lookups = slack.called("usergroups.users.list")
    assert [c.params["usergroup"] for c in lookups] == [GROUP]  # the second check came from the cache


async def test_outsider_is_refused_with_an_ephemeral_answer(
    client: TestClient, services: Services, slack: SlackApiDouble, editor_group: None
) -> None:
    answer = await _answer(client, services, "new", user="U0STRANGER")
    assert "only journey editors and admins" in answer["text"]
    assert slack.called("views.open") == []
    key = await _welcome(live=False)
    await interact(client, services, click("journey_publish", key, "U0STRANGER", "C0MARKETING"))
    refusal = (await eventually(calls(slack, "chat.postEphemeral")))[0]
    assert refusal.params["user"] == "U0STRANGER" and "Only journey editors and admins" in refusal.params["text"]
    assert (await Journey.get(key=key)).status == JourneyStatus.DRAFT
    assert slack.called("chat.update") == []


async def test_unknown_group_grants_nothing(
    client: TestClient, services: Services, slack: SlackApiDouble, editor_group: None
) -> None:
    slack.groups.clear()  # Slack answers no_such_subteam
    answer = await _answer(client, services, "new", user="U0MARKETER")
    assert "only journey editors and admins" in answer["text"]
    assert len(slack.called("usergroups.users.list")) == 1


async def test_show_lists_trigger_and_steps(client: TestClient, services: Services) -> None:
    key = await _welcome()
    text = (await _answer(client, services, f"show {key}"))["text"]
    assert f"(`{key}`) - live, v1" in text and "*Trigger:*" in text
    assert "1. " in text and "email: " in text and "wait: " in text


async def test_show_posts_the_diagram_with_its_live_counts(client: TestClient, services: Services,
                                                           slack: SlackApiDouble, drive: Any) -> None:
    key = await _welcome()
    await _answer(client, services, f"show {key}")
    await drive()
    if not shutil.which("dot"):  # no Graphviz on this machine (`.ci/run` installs it): the answer says so
        said = slack.called("response_url")[-1].params
        assert "Graphviz is not installed" in json.dumps(said) and not slack.uploads
        return
    (complete,) = slack.called("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C0MARKETING" and "0 entered" in complete.params["initial_comment"]
    (picture,) = slack.uploads.values()
    assert picture.startswith(b"\x89PNG")
    await _answer(client, services, "show no-such-journey")
    await drive()
    assert len(slack.called("files.completeUploadExternal")) == 1  # nothing to draw: said in the answer


async def test_pause_and_resume(client: TestClient, services: Services) -> None:
    key = await _welcome()
    assert (await _answer(client, services, f"pause {key}"))["text"] == f"`{key}` is now paused."
    assert (await Journey.get(key=key)).status == JourneyStatus.PAUSED
    assert (await _answer(client, services, f"resume {key}"))["text"] == f"`{key}` is now live."
    assert (await Journey.get(key=key)).status == JourneyStatus.LIVE


async def test_pause_is_refused_to_non_editors(client: TestClient, services: Services) -> None:
    key = await _welcome()
    assert "only journey editors" in (await _answer(client, services, f"pause {key}", user="U0STRANGER"))["text"]
    assert (await Journey.get(key=key)).status == JourneyStatus.LIVE


async def test_templates_and_help(client: TestClient, services: Services, slack: SlackApiDouble) -> None:
    listed = json.dumps((await _answer(client, services, "templates", user="U0STRANGER"))["blocks"])
    assert all(f"(`{t.key}`)" in listed for t in templates())  # the whole library, none cut off
    help_text = (await _answer(client, services, "help", user="U0STRANGER"))["text"]
    assert "`/journey show KEY`" in help_text and "`/contact EMAIL`" in help_text
    assert not [c for c in slack.calls if c.method != "auth.test"]  # answered in the ack itself


@pytest.mark.parametrize(("text", "problem", "usage"), [
    ("show", "`show` takes 1 argument.", "`/journey show KEY`"),
    ("pause a b", "`pause` takes 1 argument.", "`/journey pause KEY`"),
    ("help me", "`help` takes no arguments.", "`/journey help`"),
    ("test welcome-series hana", "`hana` is not an email address.", "`/journey test KEY EMAIL`"),
    ("", "`/journey` needs a subcommand.", "`/journey list`"),
])
async def test_wrong_usage_names_problem_and_form(client: TestClient, services: Services, text: str, problem: str,
                                                  usage: str) -> None:
    answer = await _answer(client, services, text)
    assert answer["text"].startswith(f":warning: {problem}\nUsage: ")
    assert usage in answer["text"]


async def test_unknown_key_answers_with_the_form(client: TestClient, services: Services) -> None:
    text = (await _answer(client, services, "show no-such-journey"))["text"]
    assert "no-such-journey" in text and "Usage: `/journey show KEY`" in text


@pytest.mark.parametrize("timestamp", ["not-a-number", "", "1.5e9", "-1741446360", "١٧٤١٤٤٦٣٦٠"])
async def test_a_malformed_slack_timestamp_is_unauthenticated_not_a_crash(
    client: TestClient, services: Services, timestamp: str
) -> None:
    body = b"command=%2Fjourney&text=list&user_id=UADMIN"
    headers = slack_headers(body, services.settings.slack_signing_secret)
    headers["X-Slack-Request-Timestamp"] = timestamp
    response = await client.post("/slack/events", data=body, headers=headers)
    assert response.status == 401
    assert "X-Slack-Request-Timestamp" in await response.text()


@pytest.fixture
def unreachable_slack(services: Services) -> Iterator[None]:
    """Slack's Web API cannot be reached (nothing listens on the port): set before the app is built."""
    original = services.slack
    services.slack = AsyncWebClient(token=services.settings.slack_bot_token, base_url="http://127.0.0.1:9/",
                                    timeout=2)
    yield
    services.slack = original


async def test_commands_answer_within_slacks_time_when_slack_cannot_be_reached(
    unreachable_slack: None, client: TestClient, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    await import_spec(load_spec((TEMPLATES / "welcome-series.yml").read_text()))
    listed = await command(client, services, "/journey", "list")  # needs nothing from Slack
    assert listed.status == 200 and "welcome-series" in json.dumps(await listed.json())
    opened = await command(client, services, "/journey", "new")  # needs views.open
    assert opened.status == 200
    answer = await opened.json()
    assert "could not reach Slack" in answer["text"] and "try again" in answer["text"]
    assert not [r for r in caplog.records if r.exc_info or r.levelname in ("ERROR", "CRITICAL")]
