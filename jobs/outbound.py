"""The journey `webhook` step: POST a JSON body to a URL, retried with backoff until it answers 2xx."""

from __future__ import annotations

from typing import Any

import aiohttp
from arq import Retry

from contacts.models import Contact
from contacts.view import contact_view
from core.services import Services
from emails.errors import TemplateError
from emails.sandbox import render_string
from journeys.models import Enrollment
from journeys.runner import trace

MAX_TRIES = 8


def render_body(body: Any, context: dict[str, Any]) -> Any:
    """String values may use Jinja (sandboxed): {"email": "{{ contact.email }}"}."""
    if isinstance(body, dict):
        return {key: render_body(value, context) for key, value in body.items()}
    if isinstance(body, list):
        return [render_body(value, context) for value in body]
    if isinstance(body, str) and "{" in body:
        return render_string(body, context)
    return body


async def _post(url: str, payload: Any, key: str) -> int:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
        url, json=payload, headers={"Idempotency-Key": key, "User-Agent": "Nurture-Webhook/1"}
    ) as response:
        return response.status


async def call_webhook(ctx: dict[str, Any], *, enrollment_id: int, seq: int, url: str, body: dict[str, Any]) -> str:
    services: Services = ctx["services"]
    enrollment = await Enrollment.get_or_none(id=enrollment_id).prefetch_related("journey")
    if enrollment is None:
        return "enrollment gone"
    contact = await Contact.get(id=enrollment.contact_id)
    try:
        payload = render_body(body, {"contact": contact_view(contact), "event": enrollment.context.get("event", {})})
    except TemplateError as error:
        return await _record(services, enrollment, contact, f"webhook {url} not sent: {error}")
    try:
        status = await _post(url, payload, f"webhook:{enrollment_id}:{seq}")
    except (aiohttp.ClientError, TimeoutError) as error:
        status, detail = 0, f"{type(error).__name__}"
    else:
        detail = f"HTTP {status}"
    tries = ctx.get("job_try", 1)
    if (status == 0 or status >= 500 or status == 429) and tries < MAX_TRIES:
        raise Retry(defer=min(3600, 15 * 2 ** tries))
    outcome = "delivered" if 200 <= status < 300 else f"failed ({detail}, try {tries})"
    return await _record(services, enrollment, contact, f"webhook {url} {outcome}")


async def _record(services: Services, enrollment: Enrollment, contact: Contact, message: str) -> str:
    await trace(contact.id, enrollment, enrollment.journey.key, services.clock.now(), "webhook", message)
    return message
