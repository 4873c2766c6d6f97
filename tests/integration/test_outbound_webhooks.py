"""The journey `webhook` step: a templated JSON body POSTed with an idempotency key, retried on
429 and 5xx (and on a connection failure) until its tries run out, recorded in the trace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from arq import Retry

from contacts.models import Consent, Contact
from core.services import Services
from jobs.outbound import MAX_TRIES, call_webhook
from journeys.manual import start_for_contact
from journeys.models import Enrollment, TraceEntry
from journeys.store import import_spec, publish
from journeys.validation import load_spec

Drive = Callable[[], Awaitable[int]]


class Receiver:
    """A CRM endpoint: answers the scripted statuses in order (then 200) and keeps every request."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.requests: list[tuple[dict[str, str], Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.json()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    crm = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/lead", crm.handle)
    server = TestServer(app)
    await server.start_server()
    yield crm, str(server.make_url("/hooks/lead"))
    await server.close()


def _journey(url: str) -> str:
    return f"""
key: crm-sync
name: CRM sync
trigger: {{manual: true}}
steps:
  - webhook:
      url: "{url}"
      body:
        email: "{{{{ contact.email }}}}"
        name: "{{{{ contact.first_name }}}}"
        score: 5
        tags: ["{{{{ contact.lead_score }}}}"]
"""


async def _enrolled(services: Services, url: str) -> Enrollment:
    await import_spec(load_spec(_journey(url)))
    await publish("crm-sync")
    await Contact.create(email="maria.rossi@example.com", first_name="Maria", lead_score=42,
                         consent=Consent.SUBSCRIBED)
    return await start_for_contact(services, "crm-sync", "maria.rossi@example.com", started_by="UADMIN")


async def test_the_step_posts_its_templated_body_once_with_an_idempotency_key(
    services: Services, drive: Drive, receiver: tuple[Receiver, str]
) -> None:
    crm, url = receiver
    enrollment = await _enrolled(services, url)
    await drive()
    ((headers, body),) = crm.requests
    assert body == {"email": "maria.rossi@example.com", "name": "Maria", "score": 5, "tags": ["42"]}
    assert headers["Idempotency-Key"].startswith(f"webhook:{enrollment.id}:")  # per run and step
    assert await TraceEntry.filter(kind="webhook", message=f"webhook {url} delivered").count() == 1


@pytest.mark.parametrize(("status", "retried"), [(503, True), (500, True), (429, True), (400, False), (404, False)])
async def test_transient_answers_retry_and_others_are_recorded(
    services: Services, receiver: tuple[Receiver, str], status: int, retried: bool
) -> None:
    crm, url = receiver
    enrollment = await _enrolled(services, url)
    crm.statuses = [status]
    ctx = {"services": services, "job_try": 1}
    body = {"email": "{{ contact.email }}"}
    if retried:
        with pytest.raises(Retry):
            await call_webhook(ctx, enrollment_id=enrollment.id, seq=7, url=url, body=body)
        assert not await TraceEntry.filter(kind="webhook", message__startswith=f"webhook {url} ").exists()
        assert await call_webhook(ctx, enrollment_id=enrollment.id, seq=7, url=url, body=body) == \
            f"webhook {url} delivered"
        first, again = crm.requests
        assert first[0]["Idempotency-Key"] == again[0]["Idempotency-Key"] == f"webhook:{enrollment.id}:7"
    else:
        outcome = await call_webhook(ctx, enrollment_id=enrollment.id, seq=7, url=url, body=body)
        assert outcome == f"webhook {url} failed (HTTP {status}, try 1)"
        assert len(crm.requests) == 1


async def test_the_last_try_records_the_failure_instead_of_retrying(
    services: Services, receiver: tuple[Receiver, str]
) -> None:
    crm, url = receiver
    enrollment = await _enrolled(services, url)
    crm.statuses = [503]
    outcome = await call_webhook({"services": services, "job_try": MAX_TRIES}, enrollment_id=enrollment.id, seq=1,
                                 url=url, body={})
    assert outcome == f"webhook {url} failed (HTTP 503, try {MAX_TRIES})"
    # An unreachable endpoint is transient too.
    with pytest.raises(Retry):
        await call_webhook({"services": services, "job_try": 1}, enrollment_id=enrollment.id, seq=2,
                           url="http://127.0.0.1:9/hooks", body={})
