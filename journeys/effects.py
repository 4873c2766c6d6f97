"""Apply the engine's actions. Database effects happen inside the step's transaction;
outside effects (SMTP, Slack, webhooks) become jobs enqueued after it commits.

Every row an action creates carries a key made of the enrollment and step sequence
(`send_key`, `dedupe_key`, `assignment_key`), so a retried step never doubles it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from catalog.products import dress_line_items, related_products
from catalog.shops import store_url
from contacts.derived import promote
from contacts.models import Consent, Contact, LifecycleStage
from core.workspace import QuoteConfig
from emails.models import Message
from emails.quotes import quote_from_request
from journeys.engine import Action
from journeys.models import Coupon, CouponPool, Enrollment, Task, TaskKind, TaskStatus
from journeys.store import exit_in_flight

# How long an unpriced request's "quote" says it holds: the workspace's default (the step has no
# workspace at hand; a priced quote says what the rep set).
REQUEST_VALID_FOR: dt.timedelta = QuoteConfig().valid_for


@dataclass
class StepEffects:
    """Collected while a step runs: jobs to enqueue after commit, and words for the trace."""

    jobs: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    context_updates: dict[str, Any] = field(default_factory=dict)
    contact_changed: bool = False


@dataclass(frozen=True)
class StepScope:
    enrollment: Enrollment
    contact: Contact
    journey_key: str
    seq: int
    now: dt.datetime
    step_id: str = ""  # the step that runs (its node id): an email's results are counted per step

    @property
    def key(self) -> str:
        return f"{self.enrollment.id}:{self.seq}"


def message_context(scope: StepScope, extra: dict[str, Any]) -> dict[str, Any]:
    event = dict(scope.enrollment.context.get("event", {}))
    properties = event.get("properties", {})
    context: dict[str, Any] = {"journey": scope.journey_key, "event": properties, **extra}
    if str(event.get("type", "")).startswith("checkout."):
        context["cart"] = properties
    if str(event.get("type", "")).startswith("order."):
        context["order"] = properties
    if "coupon" in scope.enrollment.context:
        context["coupon"] = scope.enrollment.context["coupon"]
    if "quote" in extra:  # the quote a rep approved, as priced
        context["quote"] = extra["quote"]
    elif "quote" in scope.enrollment.context:
        context["quote"] = scope.enrollment.context["quote"]
    elif event.get("type") == "form.submitted":  # a quote request: what was asked for, until a rep prices it
        context["quote"] = quote_from_request(properties, (scope.enrollment.entered_at or scope.now).date()
                                              + REQUEST_VALID_FOR)
    edited = (extra.get("custom") or {}).get("intro")
    if edited:  # send_email files an approving rep's edited text here: it replaces the template's copy
        context["custom"] = {"body": str(edited).splitlines()}
    return context


async def with_catalog(context: dict[str, Any], recommend: int) -> dict[str, Any]:
    """The cart's or order's line items with their pictures, variants and product pages from the
    catalog, and `recommend` related products when the step asks for them."""
    base: str | None = None  # read only when there are items to dress: most emails have none
    for key in ("cart", "order"):
        items = context.get(key, {}).get("line_items") if isinstance(context.get(key), dict) else None
        if items:
            base = await store_url() if base is None else base
            context[key] = {**context[key], "line_items": await dress_line_items(list(items), base)}
            if recommend:
                picks = await related_products(context[key]["line_items"], base, recommend)
                context["recommendations"] = {"line_items": picks, "currency": context[key].get("currency", "")}
    return context


async def send_email(scope: StepScope, params: dict[str, Any], effects: StepEffects) -> None:
    existing = await Message.get_or_none(send_key=scope.key)
    if existing is None:
        sender = params.get("sender", "brand")
        owner = params.get("approved_by") or (scope.contact.owner if sender == "owner" else None)
        extra: dict[str, Any] = {"owner_id": owner or ""}
        if params.get("body"):
            extra["custom"] = {"intro": params["body"]}  # a rep's edited text, rendered in the sandbox
        if isinstance(params.get("quote"), dict):
            extra["quote"] = params["quote"]
        existing = await Message.create(
            send_key=scope.key, enrollment_ref=scope.enrollment.id, journey_ref=scope.enrollment.journey_id,
            step_ref=scope.step_id, variant=scope.enrollment.variant, contact=scope.contact,
            to_email=scope.contact.email or "", template=params["template"], subject=params.get("subject", ""),
            marketing=params.get("marketing", True),
            context=await with_catalog(message_context(scope, extra), int(params.get("recommend") or 0)),
            from_name=str(params.get("from_name", "")), reply_to=str(params.get("reply_to", "")),
            is_test=scope.enrollment.is_test, queued_at=scope.now, locale=str(params.get("locale") or ""),
        )
        if params.get("marketing", True):
            scope.contact.consecutive_unopened += 1
            effects.contact_changed = True
    if isinstance(params.get("quote"), dict):  # the follow-ups show the quote the customer holds
        effects.context_updates["quote"] = params["quote"]
    effects.jobs.append(("send_email", {"message_id": existing.id}, f"email:{existing.id}"))


async def update_contact(scope: StepScope, params: dict[str, Any], effects: StepEffects) -> None:
    contact = scope.contact
    effects.contact_changed = True
    contact.tags = sorted((set(contact.tags) | set(params.get("add_tags", []))) - set(params.get("remove_tags", [])))
    if params.get("set"):
        contact.attributes = {**contact.attributes, **params["set"]}
    # Scores and points never go below zero: a large negative value is how a journey resets one.
    contact.lead_score = max(0, contact.lead_score + int(params.get("score", 0)))
    contact.engagement_score = max(0, contact.engagement_score + int(params.get("engagement", 0)))
    contact.loyalty_points = max(0, contact.loyalty_points + int(params.get("points", 0)))
    if params.get("lifecycle"):
        promote(contact, LifecycleStage(params["lifecycle"]))
    if params.get("owner"):
        contact.owner = params["owner"]
    if params.get("unsubscribe"):
        contact.consent = Consent.UNSUBSCRIBED
        contact.consent_source = f"journey:{scope.journey_key}"
        contact.consent_at = scope.now


async def assign_coupon(scope: StepScope, params: dict[str, Any], effects: StepEffects) -> None:
    pool = await CouponPool.get_or_none(key=params["pool"])
    if pool is None:
        effects.notes.append(f"coupon pool {params['pool']!r} does not exist: no coupon assigned")
        return
    coupon = await Coupon.get_or_none(assignment_key=scope.key)
    if coupon is None:
        coupon = await _free_code(pool)
        if coupon is None:
            effects.notes.append(f"coupon pool {pool.key!r} has no codes left: no coupon assigned")
            return
        coupon.assignment_key, coupon.contact_ref, coupon.assigned_at = scope.key, scope.contact.id, scope.now
        await coupon.save()
    details: dict[str, Any] = {"code": coupon.code, "pool": pool.key, "description": pool.description}
    if pool.source == "shopify":
        # Created in the shop after commit; an email showing the code waits until the shop has it.
        details["shop_coupon_id"] = coupon.id
        effects.jobs.append(("create_discount_code", {"coupon_id": coupon.id}, f"discount:{coupon.id}"))
    effects.context_updates["coupon"] = details


async def _free_code(pool: CouponPool) -> Coupon | None:
    if pool.source == "shopify":  # every code is new: made for this customer, created in the shop
        return await Coupon.create(pool=pool, code=f"{pool.generate_prefix}{secrets.token_hex(5).upper()}",
                                   shop_state="pending")
    coupon = await Coupon.filter(pool=pool, assigned_at=None).order_by("id").select_for_update().first()
    if coupon is None and pool.generate_prefix:
        coupon = await Coupon.create(pool=pool, code=f"{pool.generate_prefix}{secrets.token_hex(4).upper()}")
    return coupon


async def create_task(scope: StepScope, params: dict[str, Any], effects: StepEffects, kind: TaskKind) -> Task:
    assignee = scope.contact.owner if params.get("to", "owner") == "owner" else None
    task, _ = await Task.get_or_create(
        dedupe_key=f"task:{scope.key}",
        defaults={"kind": kind, "contact": scope.contact, "enrollment": scope.enrollment, "assignee": assignee,
                  "status": TaskStatus.OPEN, "payload": {**params, "journey": scope.journey_key,
                                                         "context": message_context(scope, {})}},
    )
    effects.jobs.append(("post_task", {"task_id": task.id}, f"task:{task.id}"))
    return task


async def slack_task(scope: StepScope, params: dict[str, Any], effects: StepEffects) -> None:
    await create_task(scope, params, effects, TaskKind(params.get("kind", "call")))


async def request_approval(scope: StepScope, params: dict[str, Any], effects: StepEffects) -> None:
    await create_task(scope, params, effects, TaskKind.QUOTE_APPROVAL)


async def notify(scope: StepScope, params: dict[str, Any], effects: StepEffects) -> None:
    effects.jobs.append(("post_notification", {"enrollment_id": scope.enrollment.id, "seq": scope.seq,
                                               "to": params.get("to", "owner"), "text": params.get("text", "")},
                         f"notify:{scope.key}"))


async def webhook(scope: StepScope, params: dict[str, Any], effects: StepEffects) -> None:
    effects.jobs.append(("call_webhook", {"enrollment_id": scope.enrollment.id, "seq": scope.seq,
                                          "url": params["url"], "body": params.get("body", {})},
                         f"webhook:{scope.key}"))


async def start_journey(scope: StepScope, params: dict[str, Any], effects: StepEffects) -> None:
    effects.jobs.append(("start_journey", {"key": params["key"], "contact_id": scope.contact.id,
                                           "reason": f"started by {scope.journey_key}"}, f"start:{scope.key}"))


async def stop_journeys(scope: StepScope, params: dict[str, Any], effects: StepEffects) -> None:
    keys = params["keys"]
    query = Enrollment.filter(contact_id=scope.contact.id).exclude(id=scope.enrollment.id)
    if keys != ["all"]:
        query = query.filter(journey__key__in=keys)
    stopped = await exit_in_flight(query, f"stopped by {scope.journey_key}", scope.now)
    effects.notes.append(f"stopped {stopped} enrollment(s)")


APPLIERS = {
    "send_email": send_email,
    "update_contact": update_contact,
    "coupon": assign_coupon,
    "create_task": slack_task,
    "request_approval": request_approval,
    "notify": notify,
    "webhook": webhook,
    "start_journey": start_journey,
    "stop_journeys": stop_journeys,
}


# A test run (`/journey test`, is_test) reports what would happen and changes nothing real:
# these actions touch the contact, coupon codes, other journeys or the outside world.
TEST_RUN_SKIPS = {"update_contact", "coupon", "stop_journeys", "start_journey", "webhook"}


async def apply_actions(scope: StepScope, actions: tuple[Action, ...], effects: StepEffects) -> None:
    for action in actions:
        if scope.enrollment.is_test and action.kind in TEST_RUN_SKIPS:
            pretend(scope, action, effects)
            continue
        await APPLIERS[action.kind](scope, action.params, effects)


def pretend(scope: StepScope, action: Action, effects: StepEffects) -> None:
    shown = ", ".join(f"{k}={v!r}" for k, v in action.params.items())
    effects.notes.append(f"test run: would {action.kind.replace('_', ' ')} ({shown}); nothing changed")
    if action.kind == "coupon":  # later emails of the run still show where the code goes
        effects.context_updates["coupon"] = {"code": "TEST-CODE", "pool": action.params.get("pool", ""),
                                             "description": "(a code from the pool)"}
