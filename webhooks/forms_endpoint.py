"""`POST /webhooks/forms/{form_key}`: plain HTML form posts and JSON, per-form secret or origin."""

from __future__ import annotations

import hmac
from urllib.parse import urlparse

from aiohttp import web

from core.errors import InvalidSignature, NotFound
from core.workspace import FormConfig
from webhooks.keys import SERVICES
from webhooks.providers import forms
from webhooks.receive import accept, lower_headers, read_body


def _origin(headers: dict[str, str]) -> str:
    raw = headers.get("origin") or headers.get("referer") or ""
    parsed = urlparse(raw)
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.scheme and parsed.netloc else ""


def check_sender(form: FormConfig, headers: dict[str, str]) -> None:
    """A server that knows the secret, or a browser on one of the form's sites."""
    given = headers.get("x-nurture-form-secret", "")
    if form.secret and given and hmac.compare_digest(given.encode(), form.secret.encode()):
        return
    if _origin(headers) and _origin(headers) in form.allowed_origins:
        return
    raise InvalidSignature("form secret or origin not accepted for this form")


def _cors(response: web.StreamResponse, headers: dict[str, str], form: FormConfig) -> None:
    origin = _origin(headers)
    if origin and origin in form.allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"


def _form(request: web.Request) -> tuple[str, FormConfig]:
    key = request.match_info["form_key"]
    form = request.app[SERVICES].workspace.forms.get(key)
    if form is None:
        raise NotFound(f"unknown form {key!r}: add it under `forms:` in the workspace file")
    return key, form


async def submit(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    key, form = _form(request)
    body = await read_body(request, services.settings.max_body_bytes)
    headers = lower_headers(request)
    check_sender(form, headers)
    # The form's rules travel with the stored delivery, so a replay parses it the same way.
    headers.update(forms.rule_headers(key, form.consent_field, form.honeypot_field, form.tags))
    response = await accept(services, forms, headers, body, secret="")
    if form.thank_you_url and "text/html" in headers.get("accept", ""):
        raise web.HTTPSeeOther(form.thank_you_url)
    _cors(response, headers, form)
    return response


async def preflight(request: web.Request) -> web.Response:
    _, form = _form(request)
    response = web.Response(status=204)
    _cors(response, lower_headers(request), form)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    return response


def register(app: web.Application) -> None:
    app.router.add_post("/webhooks/forms/{form_key}", submit)
    app.router.add_route("OPTIONS", "/webhooks/forms/{form_key}", preflight)
