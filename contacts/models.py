"""Contacts domain models: people, their timeline, the Shopify mirror, suppression."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class LifecycleStage(StrEnum):
    SUBSCRIBER = "subscriber"
    LEAD = "lead"
    MQL = "mql"
    SQL = "sql"
    CUSTOMER = "customer"
    EVANGELIST = "evangelist"


class Consent(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    PENDING = "pending"
    UNKNOWN = "unknown"


class Contact(Model):
    id = fields.BigIntField(primary_key=True)
    email = fields.CharField(max_length=320, unique=True, null=True)
    anonymous_id = fields.CharField(max_length=64, unique=True, null=True)
    shopify_customer_id = fields.BigIntField(unique=True, null=True)
    phone = fields.CharField(max_length=40, null=True)
    first_name = fields.CharField(max_length=100, default="")
    last_name = fields.CharField(max_length=100, default="")
    timezone = fields.CharField(max_length=64, default="UTC")
    locale = fields.CharField(max_length=16, default="")
    lifecycle_stage = fields.CharEnumField(LifecycleStage, default=LifecycleStage.SUBSCRIBER)
    owner = fields.CharField(max_length=32, null=True)
    attributes: dict = fields.JSONField(default=dict)
    tags: list = fields.JSONField(default=list)
    lead_score = fields.IntField(default=0)
    engagement_score = fields.IntField(default=0)
    loyalty_points = fields.IntField(default=0)
    loyalty_tier = fields.CharField(max_length=32, default="")
    consent = fields.CharEnumField(Consent, default=Consent.UNKNOWN)
    consent_source = fields.CharField(max_length=64, default="")
    consent_at = fields.DatetimeField(null=True)
    first_order_at = fields.DatetimeField(null=True)
    last_order_at = fields.DatetimeField(null=True)
    orders_count = fields.IntField(default=0)
    total_spent = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    last_activity_at = fields.DatetimeField(null=True, db_index=True)
    consecutive_unopened = fields.IntField(default=0)
    best_send_hour = fields.SmallIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "contacts"
        indexes = (("lifecycle_stage",), ("owner",))

    def __str__(self) -> str:
        return self.email or f"anonymous:{self.anonymous_id}"


class Event(Model):
    contact_id: int
    id = fields.BigIntField(primary_key=True)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "nurture.Contact", related_name="events", on_delete=fields.CASCADE
    )
    type = fields.CharField(max_length=64, db_index=True)
    properties: dict = fields.JSONField(default=dict)
    occurred_at = fields.DatetimeField()
    source = fields.CharField(max_length=32)
    idempotency_key = fields.CharField(max_length=200, unique=True)
    object_key = fields.CharField(max_length=200, default="", db_index=True)
    recorded_at = fields.DatetimeField(auto_now_add=True)
    # The inbound delivery the event came from: erasure finds a person's raw deliveries through
    # it, whatever their encoding (no FK: deliveries and events are kept and pruned apart).
    delivery_id = fields.BigIntField(null=True, db_index=True)

    class Meta:
        table = "events"
        indexes = (("contact_id", "occurred_at"), ("contact_id", "type", "occurred_at"))


class Order(Model):
    contact_id: int | None
    id = fields.BigIntField(primary_key=True)
    shopify_id = fields.BigIntField(unique=True)
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "nurture.Contact", related_name="orders", null=True, on_delete=fields.SET_NULL
    )
    name = fields.CharField(max_length=64, default="")
    email = fields.CharField(max_length=320, default="")
    currency = fields.CharField(max_length=8, default="")
    total_price = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    line_items: list = fields.JSONField(default=list)
    financial_status = fields.CharField(max_length=32, default="")
    checkout_token = fields.CharField(max_length=128, null=True, db_index=True)
    placed_at = fields.DatetimeField()
    paid_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    # Money refunded so far (never above total_price): what a later cancel still takes back.
    # Nullable so the column can be added to a store's existing orders; None reads as nothing refunded.
    refunded_total = fields.DecimalField(max_digits=14, decimal_places=2, default=0, null=True)
    fulfilled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "orders"
        # A buyer's orders in a time range: attribution of a late-reported open or click.
        indexes = (("contact_id", "placed_at"),)

    def still_counted(self) -> Decimal:
        """What the order still counts for in total spent and points: its total less what refunds took."""
        return max(Decimal(0), Decimal(self.total_price) - Decimal(self.refunded_total or 0))


class Checkout(Model):
    id = fields.BigIntField(primary_key=True)
    token = fields.CharField(max_length=128, unique=True)
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "nurture.Contact", related_name="checkouts", null=True, on_delete=fields.SET_NULL
    )
    email = fields.CharField(max_length=320, default="")
    currency = fields.CharField(max_length=8, default="")
    total_price = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    line_items: list = fields.JSONField(default=list)
    recovery_url = fields.CharField(max_length=1000, default="")
    started_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)
    abandoned_at = fields.DatetimeField(null=True)

    class Meta:
        table = "checkouts"
        indexes = (("completed_at", "abandoned_at", "updated_at"),)


class ProductInterest(Model):
    contact_id: int
    id = fields.BigIntField(primary_key=True)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "nurture.Contact", related_name="interests", on_delete=fields.CASCADE
    )
    product_key = fields.CharField(max_length=200)
    title = fields.CharField(max_length=300, default="")
    views = fields.IntField(default=0)
    purchases = fields.IntField(default=0)
    last_seen_at = fields.DatetimeField()

    class Meta:
        table = "product_interests"
        unique_together = (("contact", "product_key"),)


class SuppressionReason(StrEnum):
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    ERASED = "erased"
    MANUAL = "manual"


# Checked before every send. `email` is cleared on erasure; the hash remains.
class Suppression(Model):

    id = fields.BigIntField(primary_key=True)
    email_hash = fields.CharField(max_length=64, unique=True)
    email = fields.CharField(max_length=320, null=True)
    reason = fields.CharEnumField(SuppressionReason)
    detail = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "suppressions"


class Erasure(Model):
    """That an erasure happened, and how much it removed: no personal data (the contact is gone)."""

    id = fields.BigIntField(primary_key=True)
    erased_at = fields.DatetimeField(auto_now_add=True)
    # The privacy request's key (Shopify's request id or a digest of its body), never an address.
    request = fields.CharField(max_length=200, default="")
    contact_ref = fields.BigIntField()
    removed: dict = fields.JSONField(default=dict)

    class Meta:
        table = "erasures"
