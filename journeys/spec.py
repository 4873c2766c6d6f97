"""The journey document: one pydantic schema for YAML files, the Slack modal and templates.

Steps are written as one-key mappings (`- wait: 1h`, `- email: cart-reminder`);
`_tag_kind` turns each into a tagged model so that errors point at the step and
field that is wrong (`steps[2].wait: "3x" is not a duration, e.g. 3d, 12h`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contacts.models import LifecycleStage
from core.expressions import validate_expression
from emails.errors import TemplateError
from emails.library import shared_library
from emails.sandbox import string_template
from journeys.durations import parse_duration, parse_span

KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$")
STEP_KINDS = (
    "wait", "wait_for", "email", "branch", "split", "update", "slack_notify", "slack_task",
    "approval", "coupon", "webhook", "start_journey", "stop_journeys", "exit",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _duration(value: Any) -> str:
    """An offset (signed: -7d is a week before)."""
    parse_duration(value)
    return str(value)


def _span(value: Any) -> str:
    """A wait, timeout or period (never negative)."""
    parse_span(value)
    return str(value)


def _expression(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be an expression in quotes, e.g. \"contact.lead_score >= 50\"")
    return validate_expression(value)


Duration = Annotated[str, Field(description="e.g. 30m, 12h, 3d, 2w")]
Expression = Annotated[str, Field(description="sandboxed Jinja expression, e.g. contact.lead_score >= 50")]


class WaitUntil(Strict):
    until: Expression | None = Field(
        None, description="a date of the contact or event, e.g. contact.attributes.birthday"
    )
    offset: Duration = "0s"
    at: str | None = Field(None, description="time of day in the contact's timezone, HH:MM")
    best_hour: bool = Field(False, description="wait for the contact's learned best send hour")

    _u = field_validator("until")(lambda v: v if v is None else _expression(v))
    _o = field_validator("offset")(lambda v: _duration(v))

    @field_validator("at")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", value):
            raise ValueError(f"{value!r} is not a time of day, e.g. 09:00")
        return value


class WaitStep(Strict):
    kind: Literal["wait"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    wait: Duration | WaitUntil = Field(description="a duration (3d), or until a date / time / best hour")

    @field_validator("wait")
    @classmethod
    def _check(cls, value: Any) -> Any:
        return _span(value) if isinstance(value, str) else value


class WaitForSpec(Strict):
    event: str = Field(description="event type to wait for, e.g. email.clicked")
    timeout: Duration = Field(description="how long to wait before taking on_timeout")
    where: Expression | None = None
    same_key: bool = Field(True, description="in keyed journeys, only an event about the same object counts")

    _t = field_validator("timeout")(lambda v: _span(v))
    _w = field_validator("where")(lambda v: v if v is None else _expression(v))


def _known_template(name: str) -> str:
    # A typo in a template name is a validation error, not a failure at the first send.

    known = shared_library().names()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else " (`nurture emails list` shows them)"
        raise ValueError(f"no email template named {name!r}{hint}")
    return name


class EmailStep(Strict):
    kind: Literal["email"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    email: str = Field(description="template name under emails/templates (without .mjml.j2)")

    _e = field_validator("email")(lambda v: _known_template(v))
    subject: str | None = Field(None, description="overrides the template's subject; Jinja allowed")
    sender: Literal["brand", "owner"] = "brand"
    transactional: bool = Field(False, description="not marketing: ignores caps, quiet hours and consent")
    recommend: int = Field(0, ge=0, le=8, description="this many catalog products related to the order or cart "
                           "(shared collections, then tags; in stock) as `recommendations.line_items`")
    topic: str | None = Field(None, description="the email topic (workspace `topics`) when not the journey's: "
                                                "contacts who switched it off are skipped")

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str | None) -> str | None:
        # Compiled in the email sandbox now, so `{{ ''.__class__ }}` is refused when the journey
        # is loaded rather than when the first recipient's email is rendered.

        if value is not None:
            try:
                string_template(value, html=False)
            except TemplateError as error:
                raise ValueError(str(error)) from None
        return value


class BranchSpec(Strict):
    if_: Expression = Field(alias="if")
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")

    _i = field_validator("if_")(lambda v: _expression(v))


class BranchStep(Strict):
    kind: Literal["branch"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    branch: BranchSpec


class Arm(Strict):
    name: str
    weight: int = Field(1, ge=0)
    steps: list[Step] = Field(default_factory=list)


class SplitSpec(Strict):
    arms: list[Arm] = Field(min_length=2)
    winner_after: str | None = Field(
        None, description="e.g. 14d: from this long after the version went live, once one arm converts better "
                          "with 95 % certainty (`journeys stats` verdict), everyone takes that arm")

    _w = field_validator("winner_after")(lambda v: v if v is None else _span(v))

    @model_validator(mode="after")
    def _weights(self) -> SplitSpec:
        if sum(arm.weight for arm in self.arms) <= 0:
            raise ValueError("at least one arm needs a weight above 0")
        if len({arm.name for arm in self.arms}) != len(self.arms):
            raise ValueError("arm names must be unique")
        return self


class SplitStep(Strict):
    kind: Literal["split"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    split: SplitSpec


class UpdateSpec(Strict):
    add_tags: list[str] = Field(default_factory=list)
    remove_tags: list[str] = Field(default_factory=list)
    set: dict[str, Any] = Field(default_factory=dict, description="contact attributes to set")
    score: int = Field(0, description="added to the lead score")
    engagement: int = Field(0, description="added to the engagement score")
    points: int = Field(0, description="loyalty points to add")
    lifecycle: LifecycleStage | None = None
    owner: str | None = None
    unsubscribe: bool = Field(False, description="mark the contact unsubscribed (e.g. the end of a win-back)")


class UpdateStep(Strict):
    kind: Literal["update"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    update: UpdateSpec


class NotifySpec(Strict):
    to: str = Field("owner", description="owner, sales (the sales channel) or a Slack channel/user id")
    text: str


class SlackNotifyStep(Strict):
    kind: Literal["slack_notify"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    slack_notify: NotifySpec


class TaskSpec(Strict):
    kind: Literal["hot_lead", "feedback", "call"]
    to: str = "owner"
    text: str = ""


class SlackTaskStep(Strict):
    kind: Literal["slack_task"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    slack_task: TaskSpec


class ApprovalSpec(Strict):
    email: str = Field(description="the email the rep approves, edits or rejects")
    to: str = "owner"

    _e = field_validator("email")(lambda v: _known_template(v))
    timeout: Duration = "2d"
    remind_after: Duration | None = "1d"

    _t = field_validator("timeout")(lambda v: _span(v))
    _r = field_validator("remind_after")(lambda v: v if v is None else _span(v))


class ApprovalStep(Strict):
    kind: Literal["approval"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    approval: ApprovalSpec
    on_reject: list[Step] = Field(default_factory=list)
    on_timeout: list[Step] = Field(default_factory=list)


class CouponStep(Strict):
    kind: Literal["coupon"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    coupon: str = Field(description="coupon pool key; the code lands in `coupon.code` for later emails")


class WebhookSpec(Strict):
    url: str = Field(pattern=r"^https?://")
    body: dict[str, Any] = Field(default_factory=dict)


class WebhookStep(Strict):
    kind: Literal["webhook"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    webhook: WebhookSpec


class StartJourneyStep(Strict):
    kind: Literal["start_journey"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    start_journey: str


class StopJourneysStep(Strict):
    kind: Literal["stop_journeys"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    stop_journeys: list[str] = Field(description="journey keys, or [all] for every other journey")


class ExitStep(Strict):
    kind: Literal["exit"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    exit: str = "exited"


class WaitForStep(Strict):
    kind: Literal["wait_for"]
    id: str | None = None
    name: str | None = Field(None, max_length=80, description="a label for reports, e.g. \"Cart reminder\"")
    wait_for: WaitForSpec
    then: list[Step] = Field(default_factory=list)
    on_timeout: list[Step] = Field(default_factory=list)


def _tag_kind(value: Any) -> Any:
    if not isinstance(value, dict) or "kind" in value:
        return value
    kinds = [k for k in STEP_KINDS if k in value]
    # Left untagged when ambiguous: the union then reports it at this step's own path.
    return {"kind": kinds[0], **value} if len(kinds) == 1 else value


Step = Annotated[
    WaitStep | WaitForStep | EmailStep | BranchStep | SplitStep | UpdateStep | SlackNotifyStep
    | SlackTaskStep | ApprovalStep | CouponStep | WebhookStep | StartJourneyStep | StopJourneysStep | ExitStep,
    Field(discriminator="kind"),
]


class DateTrigger(Strict):
    # A plain name: the time-trigger scan reads it inside SQL (contacts' attributes JSON).
    attribute: str = Field(description="birthday, anniversary, first_order_at, or any attribute holding a date",
                           pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    offset: Duration = "0s"
    annual: bool = True

    _o = field_validator("offset")(lambda v: _duration(v))


class InactivityTrigger(Strict):
    days: int | None = Field(None, ge=1, description="no activity for this many days")
    unopened: int | None = Field(None, ge=1, description="this many marketing emails in a row unopened")

    @model_validator(mode="after")
    def _one(self) -> InactivityTrigger:
        if (self.days is None) == (self.unopened is None):
            raise ValueError("give exactly one of days or unopened")
        return self


class Trigger(Strict):
    event: str | None = Field(None, description="enter when this event arrives, e.g. checkout.abandoned")
    where: Expression | None = Field(None, description="filter on the event and contact")
    segment: Expression | None = Field(None, description="entered when this becomes true for a contact")
    date: DateTrigger | None = None
    inactivity: InactivityTrigger | None = None
    manual: bool = Field(False, description="only started by hand (CLI, Slack /journey start)")
    keyed: bool = Field(False, description="one run per object (cart, order, quote) instead of per contact")

    _w = field_validator("where", "segment")(lambda v: v if v is None else _expression(v))

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        given = [n for n in ("event", "segment", "date", "inactivity") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"a trigger has one of event, segment, date, inactivity (got {', '.join(given)})")
        if not given and not self.manual:
            raise ValueError("a trigger needs event, segment, date, inactivity or manual: true")
        if self.where and not self.event:
            raise ValueError("`where` filters an event trigger: add `event`")
        return self


class Entry(Strict):
    policy: Literal["once", "once_per", "every_time"] = Field(
        default="once", description="once ever, once per period, always"
    )
    period: Duration | None = Field(default=None, description="with once_per, e.g. 30d")

    @model_validator(mode="after")
    def _period(self) -> Entry:
        if self.period is not None:
            _span(self.period)
        if (self.policy == "once_per") != (self.period is not None):
            raise ValueError("`period` goes with policy once_per (and only with it)")
        return self


class Goal(Strict):
    event: str | list[str] = Field(description="an event type, or a list of them (any one counts)")
    where: Expression | None = None
    same_key: bool = True

    _w = field_validator("where")(lambda v: v if v is None else _expression(v))


class QuietHours(Strict):
    start: str = "21:00"
    end: str = "08:00"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", value):
            raise ValueError(f"{value!r} is not a time of day, e.g. 21:00")
        return value

    def window(self) -> tuple[dt.time, dt.time]:
        return dt.time.fromisoformat(self.start), dt.time.fromisoformat(self.end)


class JourneySpec(Strict):
    key: str = Field(description="unique id: lower-case letters, digits and dashes")
    name: str = Field(description="shown in Slack and reports")
    description: str = Field("", description="when to use it and what to adjust")
    trigger: Trigger = Field(description="who enters, and when")
    entry: Entry = Field(Entry(), description="how often one contact (or object) may enter")
    goal: Goal | None = Field(None, description="an event that ends the run as converted")
    exit_when: list[Expression] = Field(
        default_factory=list, description="expressions checked before every step and on every event"
    )
    topic: str | None = Field(None, description="the email topic (workspace `topics`) of its marketing emails: "
                                                "contacts who switched it off on the preferences page are skipped")
    exit_on: list[str] = Field(
        default_factory=list, description="event types that end the run without counting as the goal "
                                          "(e.g. email.opened for a re-engagement series)"
    )
    priority: int = Field(0, description="higher wins when an exclusive journey pauses others")
    exclusive: bool = Field(False, description="pauses lower-priority journeys for the contact while it runs")
    quiet_hours: QuietHours | None = Field(None, description="marketing email waits out these hours, local time")
    locale: str | None = Field(None, description="the language of all its emails (e.g. ja, tr, zh), whatever the "
                                                 "contact's locale: a journey for one market")
    steps: list[Step] = Field(min_length=1, description="what happens, in order")

    _x = field_validator("exit_when")(lambda v: [_expression(e) for e in v])

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is not None and not LOCALE.match(value):
            raise ValueError(f"{value!r} is not a language tag, e.g. ja, tr, zh-CN")
        return value

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY.match(value):
            raise ValueError(f"{value!r} is not a key: use lower-case letters, digits and dashes")
        return value

    @field_validator("steps", mode="before")
    @classmethod
    def _tag(cls, value: Any) -> Any:
        return tag_steps(value)


def tag_steps(value: Any) -> Any:
    """Tag one-key step mappings with their kind, recursively through nested step lists."""
    if not isinstance(value, list):
        return value
    tagged = []
    for raw in value:
        step = _tag_kind(raw)
        if isinstance(step, dict):
            step = _tag_nested(step)
        tagged.append(step)
    return tagged


def _tag_nested(step: dict[str, Any]) -> dict[str, Any]:
    step = dict(step)
    for key in ("then", "on_timeout", "on_reject"):
        if key in step:
            step[key] = tag_steps(step[key])
    kind = step.get("kind")
    # A missing or malformed `kind` (a list, a dict...) is pydantic's to report, with its path.
    inner = step.get(kind) if isinstance(kind, str) and kind else None
    if isinstance(inner, dict):
        inner = dict(inner)
        for key in ("then", "else"):
            if key in inner:
                inner[key] = tag_steps(inner[key])
        if isinstance(inner.get("arms"), list):
            inner["arms"] = [
                {**arm, "steps": tag_steps(arm.get("steps", []))} if isinstance(arm, dict) else arm
                for arm in inner["arms"]
            ]
        step[kind] = inner  # type: ignore[index]
    return step


for _model in (BranchSpec, Arm, WaitForStep, ApprovalStep, JourneySpec):
    _model.model_rebuild()
