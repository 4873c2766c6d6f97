"""Signed requests to /slack/events exactly as Slack sends them, and waiting for after-ack work."""

# modal_values (the state a modal submits) lives with the double: the demo fills modals too.

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from core.services import Services
from tests.doubles.slack_api import SlackApiDouble, SlackCall, modal_values
from tests.support import slack_headers


async def post_signed(client: TestClient, services: Services, body: bytes, *, json_body: bool = False,
                      timestamp: int | None = None, extra: dict[str, str] | None = None) -> ClientResponse:
    headers = slack_headers(body, services.settings.slack_signing_secret, timestamp)
    if json_body:
        headers["Content-Type"] = "application/json"
    return await client.post("/slack/events", data=body, headers={**headers, **(extra or {})})


async def command(client: TestClient, services: Services, name: str, text: str, user: str = "UADMIN",
                  channel: str = "C0MARKETING") -> ClientResponse:
    body = urlencode({"token": "x", "team_id": "T0ACME001", "channel_id": channel, "user_id": user,
                      "user_name": user.lower(), "command": name, "text": text, "api_app_id": "A0NURTURE01",
                      "response_url": SlackApiDouble.response_url(services.settings.slack_api_url),
                      "trigger_id": "1234567890123.7654321098.abcdef"}).encode()
    return await post_signed(client, services, body)


async def interact(client: TestClient, services: Services, payload: dict[str, Any]) -> ClientResponse:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return await post_signed(client, services, body)


def click(action_id: str, value: str, user: str, channel: str = "C0SALES", ts: str = "1.000001") -> dict[str, Any]:
    return {
        "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": "T0ACME001"},
        "api_app_id": "A0NURTURE01", "token": "x", "team": {"id": "T0ACME001", "domain": "acme"},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": "1234567890123.7654321098.fedcba", "channel": {"id": channel, "name": "c"},
        "message": {"type": "message", "ts": ts, "text": "", "blocks": []}, "state": {"values": {}},
        "response_url": "https://hooks.slack.com/actions/T0/1/x",
        "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button",
                     "action_ts": "1741446360.123456"}],
    }


def select_in_modal(action_id: str, value: str, user: str, view: dict[str, Any]) -> dict[str, Any]:
    """block_actions for a static_select with dispatch_action inside an open modal."""
    return {
        "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": "T0ACME001"},
        "api_app_id": "A0NURTURE01", "token": "x", "team": {"id": "T0ACME001", "domain": "acme"},
        "container": {"type": "view", "view_id": view["id"]}, "trigger_id": "1.2.4",
        "view": {"hash": "1.a", "state": {"values": {}}, "private_metadata": "", **view},
        "actions": [{"action_id": action_id, "block_id": "template", "type": "static_select",
                     "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
                     "action_ts": "1741446360.123456"}],
    }


def button_in_modal(action_id: str, value: str, user: str, view: dict[str, Any],
                    values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """block_actions for a button inside an open modal, with what is typed in the modal so far."""
    return {
        "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": "T0ACME001"},
        "api_app_id": "A0NURTURE01", "token": "x", "team": {"id": "T0ACME001", "domain": "acme"},
        "container": {"type": "view", "view_id": view["id"]}, "trigger_id": "1.2.5",
        "view": {"hash": "1.b", **view, "state": {"values": values}},
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value,
                     "action_ts": "1741446360.123456"}],
    }


def submission(callback_id: str, values: dict[str, dict[str, Any]], user: str, metadata: str = "") -> dict[str, Any]:
    return {
        "type": "view_submission", "team": {"id": "T0ACME001", "domain": "acme"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0ACME001"}, "api_app_id": "A0NURTURE01",
        "token": "x", "trigger_id": "1.2.3",
        "view": {"id": "V1", "team_id": "T0ACME001", "type": "modal", "callback_id": callback_id,
                 "private_metadata": metadata, "hash": "1.a", "blocks": [], "state": {"values": values}},
        "response_urls": [], "is_enterprise_install": False, "enterprise": None,
    }


async def eventually(check: Callable[[], Awaitable[Any]] | Callable[[], Any], timeout: float = 5.0) -> Any:
    """Listeners go on after the ack (process_before_response=False): poll for their effect."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):  # a coroutine, or a query such as Model.exists() (awaitable, not a coroutine)
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the expected effect did not happen in time")
        await asyncio.sleep(0.02)


def calls(slack: SlackApiDouble, method: str, n: int = 1) -> Callable[[], list[SlackCall] | None]:
    def check() -> list[SlackCall] | None:
        found = slack.called(method)
        return found if len(found) >= n else None

    return check


async def price_quote(client: TestClient, services: Services, slack: SlackApiDouble, task_id: int, ts: str,
                      answers: dict[str, str | tuple[str, str]], user: str = "UREP1") -> None:
    """The rep opens the quote builder on an approval, fills it in and saves it."""
    opened, updated = len(slack.called("views.open")), len(slack.called("chat.update"))
    await interact(client, services, click("quote_build", f"task:{task_id}", user, "DREP1", ts))
    view = {"id": "V1", **(await eventually(calls(slack, "views.open", opened + 1)))[-1].params["view"]}
    payload = submission("quote_build", modal_values(view, answers), user, view["private_metadata"])
    response = await interact(client, services, payload)
    assert response.status == 200 and not (await response.text()).strip(), await response.text()
    await eventually(calls(slack, "chat.update", updated + 1))
