"""Journey models: definitions, immutable versions, enrollments (durable timers), steps, tasks."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class JourneyStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Journey(Model):
    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=100, unique=True)
    name = fields.CharField(max_length=200)
    status = fields.CharEnumField(JourneyStatus, default=JourneyStatus.DRAFT)
    priority = fields.IntField(default=0)
    exclusive = fields.BooleanField(default=False)
    template_key = fields.CharField(max_length=100, default="")
    # The version new enrollments start on (0: never published).
    live_version_number = fields.IntField(default=0)
    created_by = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "journeys"


class InFlightPolicy(StrEnum):
    STAY = "stay"
    MOVE = "move"
    EXIT = "exit"


class JourneyVersion(Model):
    journey_id: int
    id = fields.BigIntField(primary_key=True)
    journey: fields.ForeignKeyRelation[Journey] = fields.ForeignKeyField(
        "nurture.Journey", related_name="versions", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    spec: dict = fields.JSONField()
    checksum = fields.CharField(max_length=64)
    in_flight_policy = fields.CharEnumField(InFlightPolicy, default=InFlightPolicy.STAY)
    created_by = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    published_at = fields.DatetimeField(null=True)
    # Splits whose `winner_after` rule decided (node id -> arm): kept, so the newcomers sent to the
    # winner (who have not had time to convert yet) cannot undo the decision.
    split_winners: dict = fields.JSONField(default=dict, db_default={})

    class Meta:
        table = "journey_versions"
        unique_together = (("journey", "number"),)


class EnrollmentState(StrEnum):
    ACTIVE = "active"
    WAITING = "waiting"
    PAUSED = "paused"
    COMPLETED = "completed"
    EXITED = "exited"
    FAILED = "failed"


class Enrollment(Model):
    contact_id: int
    journey_id: int
    version_id: int
    id = fields.BigIntField(primary_key=True)
    contact: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "nurture.Contact", related_name="enrollments", on_delete=fields.CASCADE
    )
    journey: fields.ForeignKeyRelation[Journey] = fields.ForeignKeyField(
        "nurture.Journey", related_name="enrollments", on_delete=fields.CASCADE
    )
    version: fields.ForeignKeyRelation[JourneyVersion] = fields.ForeignKeyField(
        "nurture.JourneyVersion", related_name="enrollments", on_delete=fields.CASCADE
    )
    # Entry policy is enforced by this key (journey, contact, object, period bucket).
    entry_key = fields.CharField(max_length=300, unique=True)
    object_key = fields.CharField(max_length=200, default="")
    state = fields.CharEnumField(EnrollmentState, default=EnrollmentState.ACTIVE)
    cursor = fields.CharField(max_length=200, default="")
    seq = fields.IntField(default=0)
    next_run_at = fields.DatetimeField(null=True)
    wait_event = fields.CharField(max_length=64, null=True)
    wait_deadline = fields.DatetimeField(null=True)
    variant = fields.CharField(max_length=32, default="")
    context: dict = fields.JSONField(default=dict)
    paused_by = fields.BigIntField(null=True)
    is_test = fields.BooleanField(default=False)
    entered_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    exit_reason = fields.CharField(max_length=200, default="")

    class Meta:
        table = "enrollments"
        # journey_id first: funnels group one journey's rows; the time-trigger scan asks per contact.
        indexes = (("state", "next_run_at"), ("contact_id", "state"), ("wait_event", "state"),
                   ("journey_id", "state", "exit_reason", "variant"), ("contact_id", "journey_id", "entered_at"))


class StepRun(Model):
    enrollment_id: int
    id = fields.BigIntField(primary_key=True)
    enrollment: fields.ForeignKeyRelation[Enrollment] = fields.ForeignKeyField(
        "nurture.Enrollment", related_name="step_runs", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    # The enrollment's journey, copied so a journey's funnel is one indexed GROUP BY, not a join.
    journey_ref = fields.BigIntField(null=True)
    step_id = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=32, default="")
    outcome = fields.CharField(max_length=64, default="")
    variant = fields.CharField(max_length=32, default="")
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    error = fields.TextField(default="")

    class Meta:
        table = "step_runs"
        unique_together = (("enrollment", "seq"),)
        indexes = (("journey_ref", "step_id", "kind"),)


# Why something did or did not happen to a contact, in words.
class TraceEntry(Model):
    contact_id: int

    id = fields.BigIntField(primary_key=True)
    contact: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "nurture.Contact", related_name="trace", on_delete=fields.CASCADE
    )
    enrollment_id_ref = fields.BigIntField(null=True)
    journey_key = fields.CharField(max_length=100, default="")
    at = fields.DatetimeField()
    kind = fields.CharField(max_length=32)
    message = fields.TextField()
    data: dict = fields.JSONField(default=dict)

    class Meta:
        table = "trace_entries"
        indexes = (("contact_id", "at"),)


class TaskKind(StrEnum):
    HOT_LEAD = "hot_lead"
    FEEDBACK = "feedback"
    QUOTE_APPROVAL = "quote_approval"
    CALL = "call"


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"
    SNOOZED = "snoozed"
    REJECTED = "rejected"
    APPROVED = "approved"


class Task(Model):
    contact_id: int
    enrollment_id: int | None
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(TaskKind)
    contact: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "nurture.Contact", related_name="tasks", on_delete=fields.CASCADE
    )
    enrollment: fields.ForeignKeyNullableRelation[Enrollment] = fields.ForeignKeyField(
        "nurture.Enrollment", related_name="tasks", null=True, on_delete=fields.SET_NULL
    )
    # One task per journey step or rule firing, however often it is retried.
    dedupe_key = fields.CharField(max_length=300, unique=True)
    assignee = fields.CharField(max_length=32, null=True)
    status = fields.CharEnumField(TaskStatus, default=TaskStatus.OPEN)
    payload: dict = fields.JSONField(default=dict)
    slack_channel = fields.CharField(max_length=32, null=True)
    slack_ts = fields.CharField(max_length=32, null=True)
    due_at = fields.DatetimeField(null=True)
    escalated_at = fields.DatetimeField(null=True)
    decided_by = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "tasks"
        indexes = (("status", "due_at"), ("assignee", "status"))


class CouponPool(Model):
    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=100, unique=True)
    description = fields.CharField(max_length=300, default="")
    # Pools with a prefix generate codes when no uploaded code is left.
    generate_prefix = fields.CharField(max_length=32, default="")
    # "codes": uploaded or generated strings the store loads into its shop itself; "shopify": each code
    # is created in the shop (Admin API) for the one customer it is assigned to, as `discount` says.
    source = fields.CharField(max_length=16, default="codes", db_default="codes")
    # {"kind": "percentage"|"fixed_amount", "value": "10", "minimum": "50.00", "expires_days": 14}
    discount: dict = fields.JSONField(default=dict, db_default={})
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "coupon_pools"


class Coupon(Model):
    pool_id: int
    id = fields.BigIntField(primary_key=True)
    pool: fields.ForeignKeyRelation[CouponPool] = fields.ForeignKeyField(
        "nurture.CouponPool", related_name="coupons", on_delete=fields.CASCADE
    )
    code = fields.CharField(max_length=64)
    assignment_key = fields.CharField(max_length=300, unique=True, null=True)
    contact_ref = fields.BigIntField(null=True)
    assigned_at = fields.DatetimeField(null=True)
    # Shopify pools: "pending" until the shop has the code, then "created" (or "failed" with shop_error).
    shop_state = fields.CharField(max_length=16, default="", db_default="")
    shop_error = fields.CharField(max_length=500, default="", db_default="")
    redeemed_at = fields.DatetimeField(null=True)
    redeemed_order = fields.BigIntField(null=True)

    class Meta:
        table = "coupons"
        unique_together = (("pool", "code"),)
        indexes = (("pool_id", "assigned_at"), ("code",))  # ("code",): orders name the codes they used


# Jobs a committed step still owes the world (send this email, post that task): written in the
# step's transaction, enqueued after commit and deleted; a sweeper enqueues any a crash left.
class PendingJob(Model):
    id = fields.BigIntField(primary_key=True)
    job_id = fields.CharField(max_length=200, unique=True)
    name = fields.CharField(max_length=64)
    kwargs: dict = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pending_jobs"


class Attribution(Model):
    """The email an order is credited to (journeys/attribution.py): one per order, kept as decided."""

    order_id: int
    contact_id: int
    id = fields.BigIntField(primary_key=True)
    order: fields.OneToOneRelation = fields.OneToOneField(
        "nurture.Order", related_name="attribution", on_delete=fields.CASCADE)
    contact: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "nurture.Contact", related_name="attributions", on_delete=fields.CASCADE)
    message_ref = fields.BigIntField()
    journey_ref = fields.BigIntField(null=True)
    step_ref = fields.CharField(max_length=200, default="")
    variant = fields.CharField(max_length=32, default="")
    template = fields.CharField(max_length=200, default="")
    touch = fields.CharField(max_length=8)  # click | open
    touched_at = fields.DatetimeField()
    placed_at = fields.DatetimeField()
    amount = fields.DecimalField(max_digits=14, decimal_places=2)
    currency = fields.CharField(max_length=8, default="")
    # The windows it was decided with: a later change of settings moves nothing until a recompute.
    click_window_s = fields.IntField()
    open_window_s = fields.IntField()
    attributed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attributions"
        indexes = (("journey_ref", "placed_at"),)
