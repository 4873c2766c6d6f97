"""The inbox: every delivery a provider sends is stored here before anything else happens."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"
    IGNORED = "ignored"


class InboundDelivery(Model):
    id = fields.BigIntField(primary_key=True)
    provider = fields.CharField(max_length=32)
    external_id = fields.CharField(max_length=200)
    topic = fields.CharField(max_length=100, default="")
    headers: dict = fields.JSONField(default=dict)
    body = fields.BinaryField()
    status = fields.CharEnumField(DeliveryStatus, default=DeliveryStatus.PENDING)
    error = fields.TextField(default="")
    attempts = fields.IntField(default=0)
    received_at = fields.DatetimeField()
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbound_deliveries"
        unique_together = (("provider", "external_id"),)
        indexes = (("status", "received_at"),)
