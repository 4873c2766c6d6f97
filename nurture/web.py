"""The whole HTTP surface: the webhook edges plus the Slack bot, on one aiohttp app."""

from __future__ import annotations

from aiohttp import web

from bot import app as slack_bot
from console import app as console_app
from core.services import Services
from webhooks import app as webhook_app


def build_app(services: Services) -> web.Application:
    app = webhook_app.build_app(services)
    slack_bot.register(app, services)
    console_app.register(app, services)
    return app
