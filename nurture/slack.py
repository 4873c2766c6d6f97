"""Slack Web API client, pointed at `NURTURE_SLACK_API_URL` (a local double in tests)."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from core.settings import Settings


def build_slack_client(settings: Settings) -> AsyncWebClient:
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return AsyncWebClient(token=settings.slack_bot_token or None, base_url=base_url)
