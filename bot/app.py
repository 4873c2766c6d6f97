"""The slack-bolt app: built from Services, mounted at POST /slack/events on our aiohttp server.

Bolt verifies every request (HMAC-SHA256 of `v0:{timestamp}:{body}`, 5-minute window; 401
otherwise), answers url_verification and ssl_check, and acks within 3 s: with
process_before_response=False the HTTP answer goes out as soon as a listener calls ack(),
and the rest of the listener runs after it. Slow work goes to arq.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import actions, commands, home, quote_builder, slackio, views
from bot.context import SERVICES
from core.services import Services

log = logging.getLogger(__name__)
SLACK_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# Slack retries an event it thinks we missed (X-Slack-Retry-Num); one handling per event_id.
EVENT_SEEN_TTL = 24 * 3600


def _services_middleware(services: Services) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def attach_services(context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        context[SERVICES] = services
        return await next()

    return attach_services


def _dedupe_middleware(services: Services) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def once_per_event(body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            fresh = await services.redis.set(f"nurture:slack:event:{event_id}", "1", nx=True, ex=EVENT_SEEN_TTL)
            if not fresh:
                return BoltResponse(status=200, body="")
        return await next()

    return once_per_event


def _authorize(services: Services) -> Callable[..., Awaitable[AuthorizeResult]]:
    """One workspace, its bot token from settings: no auth.test before each request, which made
    every request a 500 while Slack's Web API could not be reached."""
    async def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id,
                               bot_token=services.settings.slack_bot_token)

    return authorize


async def _on_error(error: Exception, body: dict[str, Any]) -> None:
    """Listener failures: Slack being unreachable is an outage, logged in one line, not a bug."""
    if isinstance(error, slackio.UNREACHABLE):
        log.warning("Slack could not be reached while handling a %s: %s", body.get("type") or "request", error)
    else:
        log.error("Slack listener failed on a %s", body.get("type") or "request", exc_info=error)


def build_bolt_app(services: Services) -> AsyncApp:
    app = AsyncApp(
        # The token comes from _authorize; the client carries only where the Web API is.
        client=AsyncWebClient(base_url=services.slack.base_url, timeout=services.slack.timeout),
        authorize=_authorize(services),
        signing_secret=services.settings.slack_signing_secret,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    app.error(_on_error)
    app.use(_services_middleware(services))
    app.use(_dedupe_middleware(services))
    for surface in (commands, actions, quote_builder, views, home):
        surface.register(app)
    return app


def slack_configured(services: Services) -> bool:
    return bool(services.settings.slack_signing_secret and services.settings.slack_bot_token)


def register(app: web.Application, services: Services) -> None:
    """Add POST /slack/events (a 503 saying what is missing when Slack is not configured)."""
    if not slack_configured(services):
        async def not_configured(request: web.Request) -> web.Response:
            return web.json_response({"error": "Slack is not configured: set NURTURE_SLACK_BOT_TOKEN and "
                                               "NURTURE_SLACK_SIGNING_SECRET"}, status=503)
        app.router.add_post("/slack/events", not_configured)
        return
    bolt = build_bolt_app(services)

    async def slack_events(request: web.Request) -> web.Response:
        # Bolt's verifier reads the timestamp with int() and would fail on anything else (a 500):
        # a request without a usable timestamp is simply not signed.
        if not SLACK_TIMESTAMP.fullmatch(request.headers.get("X-Slack-Request-Timestamp", "")):
            return web.json_response({"error": "missing or malformed X-Slack-Request-Timestamp"}, status=401)
        try:
            # Bolt decodes and parses the body before it checks the signature: a body that is not
            # UTF-8, or JSON nested too deep to parse, is the sender's error (400), never a 500.
            bolt_request = await to_bolt_request(request)
        except (UnicodeDecodeError, ValueError, RecursionError):
            return web.json_response({"error": "unreadable Slack request body"}, status=400)
        response = await bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    app.router.add_post("/slack/events", slack_events)
