"""Property-based tests through the real app (hypothesis, bounded).

- The journey spec validator: any YAML or JSON document gives a JourneySpec or a SpecError whose
  problems all name a path, never another exception.
- Every provider route: any body with a valid signature is answered 200 (stored, then processed,
  ignored or failed with a reason, never an internal error) or 4xx; never a 5xx.

The parsers also have unit-level fuzzing (tests/unit/webhooks); here the bodies go through HTTP,
the inbox writer, the worker and contacts.ingest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from core.services import Services
from inbox.models import DeliveryStatus, InboundDelivery
from journeys.library import TEMPLATES
from journeys.spec import JourneySpec
from journeys.validation import SpecError, load_spec, parse_spec
from tests.support import (
    SAMPLES,
    basic_auth,
    mailgun_signed,
    sample,
    sample_json,
    shopify_headers,
    shopify_topic_for,
    survey_headers,
    typeform_headers,
)

Worker = Callable[[], Awaitable[int]]
EXAMPLES = int(os.environ.get("NURTURE_FUZZ_EXAMPLES", "40"))  # raise it for a longer hunt

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), st.text(max_size=30),
    st.sampled_from(["", "0", "10", "-1", "2026-03-10T08:00:00Z", "nope", "a@b.example", "49.90", "1e400",
                     "{{ 7*7 }}", "'; DROP TABLE contacts; --", "\r\nBcc: x@evil.example", "\x00", "NaN"]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)), max_leaves=25)


def _mutate(document: Any, draw: st.DrawFn) -> Any:
    """Replace, drop or keep each node of a real payload: reaches deep into the parsers."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(json_values)
    if isinstance(document, dict):
        out = {}
        for key, value in document.items():
            if draw(st.integers(0, 9)) == 0:
                continue
            out[key] = _mutate(value, draw)
        return out
    if isinstance(document, list):
        return [_mutate(v, draw) for v in document]
    return document


@st.composite
def bodies(draw: st.DrawFn, samples: tuple[str, ...]) -> bytes:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.binary(max_size=200))
    if kind == 1:
        return json.dumps(draw(json_values)).encode()
    document = sample_json(draw(st.sampled_from(samples)))
    return json.dumps(_mutate(document, draw), default=str).encode()


def _examples(strategy: st.SearchStrategy[Any], count: int = EXAMPLES) -> list[Any]:
    """Draw `count` examples outside the event loop (the app is async, hypothesis is not)."""
    found: list[Any] = []

    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(example: Any) -> None:
        found.append(example)

    collect()
    return found


SHOPIFY_TOPICS = ["orders/create", "orders/paid", "checkouts/create", "checkouts/update", "customers/create",
                  "customers/update", "customers_email_marketing_consent/update", "customers/data_request",
                  "customers/redact", "shop/redact", "products/update", "x" * 300, "", "orders/créate"]
SHOPIFY_SAMPLES = tuple(f"shopify/{n}" for n in ("orders-create.json", "checkouts-create.json", "customers-create.json",
                                                 "customers-email-marketing-consent-update.json",
                                                 "customers-data-request.json", "customers-redact.json"))


def _signed_for_mailgun(body: bytes, key: str) -> bytes:
    """Mailgun's signature lives in the body: a fuzzed object gets a valid one (else nothing is accepted)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return body
    return mailgun_signed(body, key) if isinstance(document, dict) else body


def _route(services: Services, provider: str, body: bytes, extra: Any) -> tuple[str, dict[str, str]]:
    s = services.settings
    if provider == "shopify":
        return "/webhooks/shopify", shopify_headers(body, s.shopify_webhook_secret, extra)
    if provider == "typeform":
        return "/webhooks/typeform", typeform_headers(body, s.typeform_secret)
    if provider in ("survey-generic", "survey-wootric"):
        return f"/webhooks/surveys/{provider.split('-')[1]}", survey_headers(body, s.survey_secret)
    if provider.startswith("email-"):
        return (f"/webhooks/email/{provider.split('-')[1]}",
                {**basic_auth(s.email_webhook_secret), "Content-Type": "application/json"})
    if provider == "forms":
        return "/webhooks/forms/contact-sales", {"X-Nurture-Form-Secret": "form-secret-contact-sales",
                                                 "Content-Type": extra}
    return "/track", {"X-Nurture-Write-Key": s.tracking_write_key, "Content-Type": extra}


PROVIDERS: dict[str, tuple[tuple[str, ...], st.SearchStrategy[Any]]] = {
    "shopify": (SHOPIFY_SAMPLES, st.sampled_from(SHOPIFY_TOPICS)),
    "typeform": (("typeform/form-response-nps.json", "typeform/form-response-quote.json"), st.none()),
    "survey-generic": (("surveys/generic-nps.json",), st.none()),
    "survey-wootric": (("real/survey/wootric-nps-response-created.json",), st.none()),
    "email-generic": (("email-generic/events.json",), st.none()),
    "email-postmark": (("email-events/postmark-bounce.json", "email-events/postmark-spam-complaint.json"),
                       st.none()),
    "email-sendgrid": (("real/email/sendgrid-event-dropped.json",), st.none()),
    "email-mailgun": (("real/email/mailgun-failed-permanent.json",), st.none()),
    "email-ses": (("real/email/ses-complaint-simulator.json", "real/email/ses-sns-bounce-suppression-list.json"),
                  st.none()),
    "forms": (("forms/contact-sales.json",), st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                                              "text/plain"])),
    "tracking": (("tracking/page-views.json",), st.sampled_from(["application/json", "text/plain"])),
}


EXACT_EXTRA = {"forms": "application/json", "tracking": "application/json"}


def _exact(provider: str, samples: tuple[str, ...]) -> list[tuple[bytes, Any]]:
    """Every sample as it is, with the topic or content type it really comes with."""
    if provider == "shopify":
        return [(sample(name), shopify_topic_for(SAMPLES / name)) for name in samples]
    return [(sample(name), EXACT_EXTRA.get(provider)) for name in samples]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_any_signed_body_is_stored_and_handled_or_4xx_never_5xx(
    client: TestClient, services: Services, run_worker: Worker, provider: str
) -> None:
    samples, extras = PROVIDERS[provider]
    assert all((SAMPLES / name).exists() for name in samples), samples  # fuzz what the provider really sends
    exact = _exact(provider, samples)
    cases = exact + _examples(st.tuples(bodies(samples), extras))
    accepted, sent = 0, []
    for body, extra in cases:
        if provider == "email-mailgun":
            body = _signed_for_mailgun(body, services.settings.mailgun_signing_key)
        path, headers = _route(services, provider, body, extra)
        response = await client.post(path, data=body, headers=headers)
        text = await response.text()
        assert response.status == 200 or 400 <= response.status < 500, (response.status, text, body[:300])
        accepted += response.status == 200
        sent.append((body, response.status))
    await run_worker()
    rows = await InboundDelivery.all()
    assert 1 <= len(rows) <= accepted
    # The unchanged samples were accepted and really processed: the fuzzing reached the parsers.
    for body, status in sent[: len(exact)]:
        assert status == 200, body[:200]
    processed = {bytes(r.body) for r in rows if r.status == DeliveryStatus.PROCESSED}
    assert sum(body in processed for body, _ in sent[: len(exact)]) >= 1, "no real sample was processed"
    for row in rows:
        assert row.status in (DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED, DeliveryStatus.FAILED), row.status
        assert not row.error.startswith("internal error"), (row.error, bytes(row.body)[:300])


# --- the journey spec validator -------------------------------------------------------------------

STEP_KEYS = ["wait", "wait_for", "email", "branch", "split", "update", "slack_notify", "slack_task", "approval",
             "coupon", "webhook", "start_journey", "stop_journeys", "exit", "subject", "if", "then", "else",
             "timeout", "on_timeout", "event", "where", "to", "text", "kind", "id"]
spec_values = st.recursive(
    scalars | st.sampled_from(["1h", "3d", "0s", "-1d", "contact.lead_score >= 50", "{{ ''.__class__ }}",
                               "event.__class__", "{% for %}", "owner", "test-email", "hot_lead"]),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(STEP_KEYS) | st.text(max_size=8), inner, max_size=4)),
    max_leaves=30,
)


def _library_documents() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(TEMPLATES.glob("*.yml"))]


@st.composite
def spec_documents(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(spec_values)
    document = draw(st.sampled_from(_library_documents()))
    return _mutate_spec(document, draw)


def _mutate_spec(node: Any, draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 7)) == 0:
        return draw(spec_values)
    if isinstance(node, dict):
        return {k: _mutate_spec(v, draw) for k, v in node.items() if draw(st.integers(0, 9))}
    if isinstance(node, list):
        return [_mutate_spec(v, draw) for v in node]
    return node


def _check_outcome(run: Callable[[], JourneySpec]) -> None:
    try:
        spec = run()
    except SpecError as error:
        assert error.problems and all(": " in p for p in error.problems), error.problems
        return
    assert isinstance(spec, JourneySpec)


@settings(max_examples=EXAMPLES * 2, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_documents())
def test_any_document_is_a_spec_or_a_spec_error_with_paths(document: Any) -> None:
    _check_outcome(lambda: parse_spec(document))
    _check_outcome(lambda: load_spec(json.dumps(document, default=str)))
    _check_outcome(lambda: load_spec(yaml.safe_dump(document, allow_unicode=True)))


@settings(max_examples=EXAMPLES * 3, deadline=None, database=None)
@given(st.text(max_size=300) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_text_is_a_spec_or_a_spec_error(text: str) -> None:
    _check_outcome(lambda: load_spec(text))
