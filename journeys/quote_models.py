"""Quotes a rep prices in Slack and a customer accepts by a signed link (journeys/quotes.py)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


def quote_number(quote_id: int) -> str:
    """What a customer and a rep call a quote: Q-00042."""
    return f"Q-{quote_id:05d}"


class QuoteStatus(StrEnum):
    DRAFT = "draft"  # being priced in Slack
    SENT = "sent"  # approved: the email went out, the accept link works until valid_until
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # the rep rejected the request


class Quote(Model):
    contact_id: int
    task_id: int | None
    id = fields.BigIntField(primary_key=True)
    contact: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "nurture.Contact", related_name="quotes", on_delete=fields.CASCADE
    )
    # The approval task it is priced for: one quote per task.
    task: fields.OneToOneNullableRelation = fields.OneToOneField(
        "nurture.Task", related_name="quote", null=True, on_delete=fields.SET_NULL
    )
    enrollment_ref = fields.BigIntField(null=True)
    status = fields.CharEnumField(QuoteStatus, default=QuoteStatus.DRAFT)
    currency = fields.CharField(max_length=3)
    lines: list = fields.JSONField(default=list)  # emails.quotes.QuoteLine.as_json() each
    tax_rate = fields.DecimalField(max_digits=6, decimal_places=3, default=0)
    tax_label = fields.CharField(max_length=32, default="Tax")
    tax_included = fields.BooleanField(default=False)
    valid_until = fields.DateField()
    note = fields.TextField(default="")
    company = fields.CharField(max_length=255, default="")
    # What the customer is asked to pay, kept for reports (null while a line is unpriced).
    total = fields.DecimalField(max_digits=18, decimal_places=3, null=True)
    priced_by = fields.CharField(max_length=32, default="")
    sent_at = fields.DatetimeField(null=True)
    accepted_at = fields.DatetimeField(null=True)
    # The Shopify draft order made when it is accepted (journeys/shop_drafts.py).
    draft_order_id = fields.CharField(max_length=100, default="")
    invoice_url = fields.CharField(max_length=1000, default="")
    shop_error = fields.TextField(default="")
    # When what follows an acceptance (draft order, invoice email, the rep told) was done.
    completed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "quotes"
        indexes = (("contact_id", "created_at"),)

    @property
    def number(self) -> str:
        return quote_number(self.id)
