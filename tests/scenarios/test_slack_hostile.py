"""Slack markup from outside is inert: names, page titles, comments and addresses that reach Slack
through public doors (forms, tracking, surveys) never ping a channel, mention a user or render a link."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from contacts.models import Contact
from core.services import Services
from journeys.library import TEMPLATES
from journeys.models import Task, TaskKind
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from tests.doubles.slack_api import SlackApiDouble
from tests.support import sample_json, shopify_headers, survey_headers

Drive = Callable[[], Awaitable[int]]
PING = "<!channel>"
PHISH = "<https://evil.example|Reset your password>"
MENTION = "<@UADMIN>"


async def _publish(name: str) -> None:
    spec = load_spec((TEMPLATES / f"{name}.yml").read_text())
    await import_spec(spec)
    await publish(spec.key)


def _mrkdwn_texts(params: dict[str, Any]) -> list[str]:
    """Every string Slack would read as mrkdwn: the fallback text and every text of the blocks."""
    found = [str(params.get("text", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(params.get("blocks") or [])
    return found


def _control_sequences(texts: list[str]) -> set[str]:
    return {match for text in texts for match in re.findall(r"<[^<>]*>", text)}


async def test_hostile_names_and_page_titles_are_inert_in_a_hot_lead_alert(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive
) -> None:
    await _publish("hot-lead-alert")
    customer = sample_json("shopify/customers-create.json") | {
        "email": "mallory@example.com", "first_name": f"{PING} {MENTION}", "last_name": "<b>&"}
    body = json.dumps(customer).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "customers/create")
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200
    await drive()
    contact = await Contact.get(email="mallory@example.com")
    page = {"type": "page", "anonymous_id": "anon-mallory", "url": "https://acme-audio.example/pricing",
            "title": PHISH, "timestamp": "2026-03-10T08:59:00Z"}
    await Contact.filter(id=contact.id).update(anonymous_id="anon-mallory")
    headers = {"X-Nurture-Write-Key": services.settings.tracking_write_key, "Content-Type": "application/json"}
    assert (await client.post("/track", data=json.dumps(page), headers=headers)).status == 200
    await drive()
    posted = slack.called("chat.postMessage")
    assert posted, "the hot lead was alerted"
    texts = [text for call in posted for text in _mrkdwn_texts(call.params)]
    assert _control_sequences(texts) <= {"<mailto:mallory@example.com|mallory@example.com>"}
    joined = "\n".join(texts)
    assert "&lt;!channel&gt;" in joined and "&lt;@UADMIN&gt;" in joined  # shown, as text
    assert "&lt;https://evil.example|Reset your password&gt;" in joined


async def test_a_multi_line_nps_comment_stays_inside_its_quote(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive
) -> None:
    await _publish("nps-follow-up")
    await Contact.create(email="eve@example.com", first_name="Eve", owner="UREP2")
    comment = f"first line\n{PING} second line\n\n*bold* {PHISH}"
    body = json.dumps({"email": "eve@example.com", "score": 2, "comment": comment, "survey": "nps",
                       "answered_at": "2026-03-10T08:00:00Z", "response_id": "hostile-1"}).encode()
    response = await client.post("/webhooks/surveys/generic", data=body,
                                 headers=survey_headers(body, services.settings.survey_secret))
    assert response.status == 200
    await drive()
    await Task.get(kind=TaskKind.FEEDBACK)
    (call,) = slack.called("chat.postMessage")
    texts = _mrkdwn_texts(call.params)
    assert _control_sequences(texts) <= {"<mailto:eve@example.com|eve@example.com>", "<@UREP2>"}
    (quoted,) = [text for text in texts if "first line" in text]
    assert all(line.startswith(">") for line in quoted.splitlines()), quoted
    assert "&lt;!channel&gt; second line" in quoted
