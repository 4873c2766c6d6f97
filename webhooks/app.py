"""The aiohttp application of the HTTP edges: webhooks, tracking, email links, health.

The composition root (nurture/web.py) adds the Slack bot's route to it."""

from __future__ import annotations

from aiohttp import web

from core.services import Services
from webhooks import email_links, health, preferences, quotes, routes, tracking
from webhooks.errors import error_middleware
from webhooks.keys import SERVICES


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
    preferences.register(app)
    quotes.register(app)
    return app
