"""Small wrappers around Web API calls the bot makes from jobs and listeners.

In jobs, `call` turns Slack's 429 (with Retry-After) and 5xx answers into arq's Retry so
the job runs again later; the jobs themselves are idempotent (a stored slack_ts means
"already posted"), so an alert arrives exactly once.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import aiohttp
from arq import Retry
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

DEFAULT_RETRY_SECONDS = 5.0
# Slack's Web API out of reach (DNS, refused, reset, timeout): an outage, not a Slack answer.
UNREACHABLE = (aiohttp.ClientConnectionError, TimeoutError, OSError)
UNREACHABLE_TEXT = (":warning: Nurture could not reach Slack just now, so this did not go through. "
                    "Please try again in a minute.")


def retry_after(error: SlackApiError) -> float | None:
    """Seconds to wait before retrying, or None when the error is not transient."""
    status = error.response.status_code
    if status != 429 and status < 500:
        return None
    headers = error.response.headers or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(1.0, float(raw)) if raw is not None else DEFAULT_RETRY_SECONDS
    except ValueError:
        return DEFAULT_RETRY_SECONDS


async def call(request: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    """Await a Web API call inside a job: rate limits and server errors become arq Retry."""
    try:
        return await request
    except SlackApiError as error:
        delay = retry_after(error)
        if delay is None:
            raise
        raise Retry(defer=delay) from error


async def reply(response_url: str, content: dict[str, Any]) -> None:
    """Answer a command later through its response_url: works in any channel or DM, where
    chat.postEphemeral needs the bot in the channel. Rate limits and server errors become Retry."""
    answer = await AsyncWebhookClient(response_url).send(response_type="ephemeral", **content)
    if answer.status_code == 429 or answer.status_code >= 500:
        raise Retry(defer=DEFAULT_RETRY_SECONDS)
    if answer.status_code >= 400:
        raise SlackApiError(f"response_url answered {answer.status_code}: {answer.body[:200]}", answer)  # type: ignore[arg-type]


async def dm_channel(client: AsyncWebClient, user: str) -> str:
    opened = await call(client.conversations_open(users=user))
    return str(opened["channel"]["id"])


async def post(client: AsyncWebClient, channel: str, content: dict[str, Any]) -> tuple[str, str]:
    """chat.postMessage; returns (channel, ts) as Slack reports them."""
    posted = await call(client.chat_postMessage(channel=channel, **content))
    return str(posted["channel"]), str(posted["ts"])


async def tell(client: AsyncWebClient, channel: str | None, user: str, text: str) -> None:
    """An ephemeral note to `user` (refusals, errors); a DM when there is no usable channel."""
    try:
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
    except SlackApiError:
        pass
    await client.chat_postMessage(channel=user, text=text)
