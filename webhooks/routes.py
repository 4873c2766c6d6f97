"""Webhook routes: which provider module and which secret serve each URL."""

from __future__ import annotations

from aiohttp import web

from core.errors import NotFound
from core.settings import Settings
from webhooks import forms_endpoint
from webhooks.keys import SERVICES
from webhooks.providers import provider_for
from webhooks.receive import handle

SURVEY_PROVIDERS = {"generic": "survey-generic", "wootric": "survey-wootric"}
EMAIL_PROVIDERS = {
    "generic": "email-generic", "postmark": "email-postmark", "sendgrid": "email-sendgrid",
    "mailgun": "email-mailgun", "ses": "email-ses",
}


def _settings(request: web.Request) -> Settings:
    return request.app[SERVICES].settings


async def shopify(request: web.Request) -> web.Response:
    return await handle(request, provider_for("shopify"), _settings(request).shopify_webhook_secret)


async def typeform(request: web.Request) -> web.Response:
    return await handle(request, provider_for("typeform"), _settings(request).typeform_secret)


def _named(table: dict[str, str], name: str, what: str) -> str:
    if name not in table:
        raise NotFound(f"unknown {what} provider {name!r}: use one of {', '.join(sorted(table))}")
    return table[name]


async def survey(request: web.Request) -> web.Response:
    name = _named(SURVEY_PROVIDERS, request.match_info["provider"], "survey")
    return await handle(request, provider_for(name), _settings(request).survey_secret)


def _email_secret(settings: Settings, name: str) -> str:
    # Mailgun signs with its own webhook signing key; every other provider uses basic auth.
    return settings.mailgun_signing_key if name == "email-mailgun" else settings.email_webhook_secret


async def email_events(request: web.Request) -> web.Response:
    name = _named(EMAIL_PROVIDERS, request.match_info["provider"], "email")
    return await handle(request, provider_for(name), _email_secret(_settings(request), name))


def register(app: web.Application) -> None:
    app.router.add_post("/webhooks/shopify", shopify)
    app.router.add_post("/webhooks/typeform", typeform)
    app.router.add_post("/webhooks/surveys/{provider}", survey)
    app.router.add_post("/webhooks/email/{provider}", email_events)
    forms_endpoint.register(app)
