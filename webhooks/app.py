"""The aiohttp application: every HTTP route of Nurture is registered here."""

from __future__ import annotations

from aiohttp import web

from bot import app as slack_bot
from nurture.bootstrap import Services
from nurture.keys import SERVICES
from webhooks import email_links, health, routes, tracking
from webhooks.errors import error_middleware


def build_app(services: Services) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware],
        client_max_size=services.settings.max_body_bytes,
    )
    app[SERVICES] = services
    health.register(app)
    routes.register(app)
    tracking.register(app)
    email_links.register(app)
    slack_bot.register(app, services)
    return app
