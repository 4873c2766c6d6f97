"""What a journey achieved, per email and per split arm: the numbers `journeys stats` prints and
`--json` returns (the models below are its documented schema, docs/stats.md).

People, not runs: funnels count enrollments; an email's opens and clicks count each message once;
orders and revenue are the attributed ones (journeys/attribution.py), net of refunds and cancels.
Opens are marked unreliable: privacy proxies (Apple Mail) fetch every image, so clicks are the
signal to decide on.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from tortoise.expressions import Q
from tortoise.functions import Count

from emails.models import Message, MessageStatus
from journeys.analytics import Funnel
from journeys.durations import parse_span
from journeys.labels import in_flow_order, labelled_counts, step_label
from journeys.models import Attribution, Enrollment
from journeys.program import Program
from journeys.spec import SplitSpec

SENT = (MessageStatus.SENT, MessageStatus.BOUNCED)
CERTAIN = 0.95  # how likely better an arm must be to be called the winner
MIN_PER_ARM = 30  # fewer people per arm than this: too early to say anything


class Money(BaseModel):
    currency: str = Field(description="ISO code the orders were placed in")
    amount: str = Field(description="net of refunds and cancellations, as a decimal string")


class StepStats(BaseModel):
    id: str = Field(description="the step's id (its path in the document unless the YAML names it)")
    label: str = Field(description="readable label: the step's `name`, else derived (`Email: cart reminder`)")
    reached: int = Field(description="people who reached the step (each once, however often it ran)")
    waiting: int = Field(description="people at this step now (waiting or about to run)")


class EmailStats(BaseModel):
    step: str = Field(description="the email step's id")
    label: str = Field(description="the step's readable label")
    template: str = Field(description="the email template")
    sent: int = Field(description="messages handed to the mail server (test sends excluded)")
    delivered: int = Field(description="sent less bounced")
    bounced: int = Field(description="messages that bounced")
    opened: int = Field(description="messages opened at least once (unreliable: see opens_reliable)")
    clicked: int = Field(description="messages with at least one link followed")
    unsubscribed: int = Field(description="unsubscribes through this email's link")
    complained: int = Field(description="spam complaints about this email")
    orders: int = Field(description="orders attributed to this email")
    revenue: list[Money] = Field(description="attributed revenue, per currency")
    open_rate: float = Field(description="opened / delivered")
    click_rate: float = Field(description="clicked / delivered: the primary signal")
    unsubscribe_rate: float = Field(description="unsubscribed / delivered")
    opens_reliable: bool = Field(False, description="always false: privacy proxies open every image")


class ArmStats(BaseModel):
    arm: str = Field(description="the split arm's name")
    entered: int = Field(description="people sent down this arm")
    converted: int = Field(description="people who reached the goal on this arm")
    conversion_rate: float = Field(description="converted / entered")
    sent: int = Field(description="emails sent to people on this arm")
    clicked: int = Field(description="of those, emails with a link followed")
    click_rate: float = Field(description="clicked / sent")
    orders: int = Field(description="orders attributed to this arm's emails")
    revenue: list[Money] = Field(description="attributed revenue, per currency")


class Verdict(BaseModel):
    leader: str = Field(description="the arm converting best so far")
    runner_up: str = Field(description="the next best arm")
    difference_pts: float = Field(description="leader's conversion rate less the runner-up's, in points")
    probability_better: float = Field(description="how likely the leader truly converts better (0-1)")
    decided: bool = Field(description=f"true when that is at least {CERTAIN:.0%}")
    text: str = Field(description='the verdict in plain words, e.g. "B converts 2.1 pts better, 94 % likely '
                                  'better; keep running"')


class JourneyStats(BaseModel):
    journey: str = Field(description="the journey's key")
    since: str | None = Field(description="start of the period (ISO 8601), null for all time: people who entered, "
                                          "emails sent and orders placed from then on")
    entered: int = Field(description="people who entered")
    in_flight: int = Field(description="people still in the journey (active, waiting or paused)")
    completed: int = Field(description="people who reached the end")
    converted: int = Field(description="people who reached the journey's goal")
    goal_rate: float = Field(description="converted / entered")
    exits: dict[str, int] = Field(description="people who left early, by reason")
    steps: list[StepStats] = Field(description="every step in flow order")
    emails: list[EmailStats] = Field(description="every email step that sent, in flow order")
    arms: list[ArmStats] = Field(description="split arms (empty without a split)")
    verdict: Verdict | None = Field(description="which arm is winning and how sure that is (null without arms)")
    orders: int = Field(description="orders attributed to the journey's emails")
    revenue: list[Money] = Field(description="attributed revenue, per currency")


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _money(totals: dict[str, Decimal]) -> list[Money]:
    return [Money(currency=c, amount=str(a.quantize(Decimal("0.01")))) for c, a in sorted(totals.items())]


def probability_better(leader: tuple[int, int], other: tuple[int, int]) -> float:
    """How likely the leader's true conversion rate is above the other's ((entered, converted) each):
    the normal approximation of the difference of two proportions."""
    (n1, c1), (n2, c2) = leader, other
    p1, p2 = c1 / n1, c2 / n2
    spread = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    if spread == 0:
        return 0.5 if p1 == p2 else 1.0
    return 0.5 * (1 + math.erf((p1 - p2) / spread / math.sqrt(2)))


def verdict(arms: dict[str, tuple[int, int]]) -> Verdict | None:
    """The leading arm against the runner-up, in plain words."""
    if len(arms) < 2:
        return None
    ranked = sorted(arms, key=lambda a: (arms[a][1] / arms[a][0] if arms[a][0] else 0.0, a), reverse=True)
    leader, runner_up = ranked[0], ranked[1]
    if min(arms[leader][0], arms[runner_up][0]) < MIN_PER_ARM:
        return Verdict(leader=leader, runner_up=runner_up, difference_pts=0.0, probability_better=0.5, decided=False,
                       text=f"too early to tell: fewer than {MIN_PER_ARM} people on an arm so far; keep running")
    rate = {a: arms[a][1] / arms[a][0] for a in (leader, runner_up)}
    points = round((rate[leader] - rate[runner_up]) * 100, 1)
    chance = probability_better(arms[leader], arms[runner_up])
    decided = chance >= CERTAIN
    if decided:
        text = f"{leader} converts {points} pts better than {runner_up}, {chance:.0%} likely better: {leader} wins"
    else:
        text = (f"no clear difference: {leader} converts {points} pts better than {runner_up}, only "
                f"{chance:.0%} likely better; keep running")
    return Verdict(leader=leader, runner_up=runner_up, difference_pts=points, probability_better=round(chance, 4),
                   decided=decided, text=text)


async def _email_rows(journey_id: int, since: dt.datetime | None) -> list[tuple[Any, ...]]:
    """(step, template, sent, bounced, opened, clicked, unsubscribed, complained) per email step:
    one GROUP BY, counted by the database."""
    query = Message.filter(journey_ref=journey_id, is_test=False)
    if since is not None:
        query = query.filter(queued_at__gte=since)
    return list(await query.annotate(
        sent=Count("id", _filter=Q(status__in=SENT)),
        bounced=Count("id", _filter=Q(status=MessageStatus.BOUNCED)),
        opened=Count("id", _filter=Q(opened_at__isnull=False)),
        clicked=Count("id", _filter=Q(clicked_at__isnull=False)),
        unsubscribed=Count("id", _filter=Q(unsubscribed_at__isnull=False)),
        complained=Count("id", _filter=Q(complained_at__isnull=False)),
    ).group_by("step_ref", "template").values_list("step_ref", "template", "sent", "bounced", "opened", "clicked",
                                                   "unsubscribed", "complained"))


async def _attributed(journey_id: int, since: dt.datetime | None) -> list[tuple[str, str, Decimal, str]]:
    """(email: step and template, arm, net amount, currency) of each attributed order."""
    query = Attribution.filter(journey_ref=journey_id)
    if since is not None:
        query = query.filter(placed_at__gte=since)
    rows = await query.values_list("step_ref", "template", "variant", "amount", "currency", "order__refunded_total",
                                   "order__cancelled_at")
    # An email is its step and template (a step id can come back in a later version with another email).
    return [(f"{step}\0{template}", str(arm), net(Decimal(amount), Decimal(refunded or 0), cancelled is not None),
             str(currency)) for step, template, arm, amount, currency, refunded, cancelled in rows]


def net(amount: Decimal, refunded: Decimal, cancelled: bool) -> Decimal:
    """What an attributed order still brings in: nothing once cancelled, less what refunds took back."""
    return Decimal(0) if cancelled else max(Decimal(0), amount - refunded)


class _Sums:
    def __init__(self) -> None:
        self.orders: dict[str, int] = defaultdict(int)
        self.money: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))

    def add(self, key: str, amount: Decimal, currency: str) -> None:
        self.orders[key] += 1
        self.money[key][currency] += amount


def _emails(rows: list[tuple[Any, ...]], by_step: _Sums, program: Program | None) -> list[EmailStats]:
    nodes = list(in_flow_order(program)) if program else []
    order = {node.id: i for i, node in enumerate(nodes)}
    labels = {node.id: step_label(node) for node in nodes}
    out = []
    for step, template, sent, bounced, opened, clicked, unsubscribed, complained in rows:
        delivered = int(sent) - int(bounced)
        out.append(EmailStats(
            step=str(step), label=labels.get(str(step), f"Email: {template}"), template=str(template), sent=int(sent),
            delivered=delivered, bounced=int(bounced), opened=int(opened), clicked=int(clicked),
            unsubscribed=int(unsubscribed), complained=int(complained), orders=by_step.orders[f"{step}\0{template}"],
            revenue=_money(by_step.money[f"{step}\0{template}"]), open_rate=_rate(int(opened), delivered),
            click_rate=_rate(int(clicked), delivered), unsubscribe_rate=_rate(int(unsubscribed), delivered),
            opens_reliable=False))
    return sorted(out, key=lambda e: (order.get(e.step, len(order)), e.step))


async def _arm_emails(journey_id: int, since: dt.datetime | None) -> dict[str, tuple[int, int]]:
    """(sent, clicked) per split arm."""
    query = Message.filter(journey_ref=journey_id, is_test=False).exclude(variant="")
    if since is not None:
        query = query.filter(queued_at__gte=since)
    rows = await query.annotate(sent=Count("id", _filter=Q(status__in=SENT)),
                                clicked=Count("id", _filter=Q(clicked_at__isnull=False))).group_by(
        "variant").values_list("variant", "sent", "clicked")
    return {str(arm): (int(sent), int(clicked)) for arm, sent, clicked in rows}


def _arms(result: Funnel, by_arm: _Sums, emails: dict[str, tuple[int, int]]) -> list[ArmStats]:
    arms = []
    for arm, entered in sorted(result.arms.items()):
        converted, (sent, clicked) = result.arm_conversions[arm], emails.get(arm, (0, 0))
        arms.append(ArmStats(arm=arm, entered=entered, converted=converted, conversion_rate=_rate(converted, entered),
                             sent=sent, clicked=clicked, click_rate=_rate(clicked, sent), orders=by_arm.orders[arm],
                             revenue=_money(by_arm.money[arm])))
    return arms


async def journey_stats(result: Funnel, journey_id: int, program: Program | None,
                        since: dt.datetime | None = None) -> JourneyStats:
    """Everything `journeys stats` reports, from the journey's funnel (counted over the same period)."""
    by_step, by_arm, total = _Sums(), _Sums(), _Sums()
    for step, arm, amount, currency in await _attributed(journey_id, since):
        for sums, key in ((by_step, step), (by_arm, arm), (total, "")):
            sums.add(key, amount, currency)
    arms = _arms(result, by_arm, await _arm_emails(journey_id, since) if result.arms else {})
    return JourneyStats(
        journey=result.key, since=since.isoformat() if since else None, entered=result.entered,
        in_flight=result.active, completed=result.completed, converted=result.converted,
        goal_rate=round(result.goal_rate, 4), exits=dict(result.exits.most_common()),
        steps=[StepStats(id=step_id, label=label, reached=count, waiting=result.waiting[step_id])
               for label, step_id, count in labelled_counts(result.steps, program)],
        emails=_emails(await _email_rows(journey_id, since), by_step, program), arms=arms,
        verdict=verdict({a.arm: (a.entered, a.converted) for a in arms}),
        orders=total.orders[""], revenue=_money(total.money[""]))


async def split_winner(journey_id: int, published_at: dt.datetime | None, split: SplitSpec,
                       now: dt.datetime) -> str | None:
    """The arm everyone takes now under the split's `winner_after` rule: none before that long after
    the version went live, nor while the verdict is undecided."""
    if split.winner_after is None or published_at is None or now - published_at < parse_span(split.winner_after):
        return None
    names = [arm.name for arm in split.arms]
    rows = await Enrollment.filter(journey_id=journey_id, is_test=False, variant__in=names).annotate(
        n=Count("id")).group_by("variant", "exit_reason").values_list("variant", "exit_reason", "n")
    entered: dict[str, int] = defaultdict(int)
    converted: dict[str, int] = defaultdict(int)
    for variant, reason, n in rows:
        entered[str(variant)] += int(n)
        converted[str(variant)] += int(n) if reason == "converted" else 0
    decision = verdict({name: (entered[name], converted[name]) for name in names})
    return decision.leader if decision is not None and decision.decided else None
