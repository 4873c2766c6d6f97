"""Email models: every send is a Message row first (idempotency), the sink keeps what it received."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    SKIPPED = "skipped"


class Message(Model):
    id = fields.BigIntField(primary_key=True)
    # enrollment:seq for journey sends, test:<uuid> for manual sends: one send per key.
    send_key = fields.CharField(max_length=300, unique=True)
    enrollment_ref = fields.BigIntField(null=True, db_index=True)
    # The enrollment's journey, copied so a journey's email count is an index lookup, not a join.
    journey_ref = fields.BigIntField(null=True)
    # The email step that sent it and the split arm the enrollment was on: results per email and arm.
    step_ref = fields.CharField(max_length=200, default="", db_default="")
    variant = fields.CharField(max_length=32, default="", db_default="")
    contact: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "nurture.Contact", related_name="messages", null=True, on_delete=fields.CASCADE
    )
    to_email = fields.CharField(max_length=320)
    template = fields.CharField(max_length=200)
    subject = fields.CharField(max_length=500, default="")
    marketing = fields.BooleanField(default=True)
    from_name = fields.CharField(max_length=200, default="")
    reply_to = fields.CharField(max_length=320, default="")
    context: dict = fields.JSONField(default=dict)
    links: list = fields.JSONField(default=list)
    status = fields.CharEnumField(MessageStatus, default=MessageStatus.QUEUED)
    message_id = fields.CharField(max_length=300, default="", db_index=True)
    provider_id = fields.CharField(max_length=300, default="", db_index=True)
    attempts = fields.IntField(default=0)
    error = fields.TextField(default="")
    is_test = fields.BooleanField(default=False)
    # The language it is written in: the journey's when it sets one, else decided when it is sent
    # (the contact's locale, the workspace default, English; emails/i18n.py).
    locale = fields.CharField(max_length=16, default="", db_default="")
    # Clock time of the decision to send (virtual in simulations and fast demos).
    queued_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    opened_at = fields.DatetimeField(null=True)
    clicked_at = fields.DatetimeField(null=True)
    unsubscribed_at = fields.DatetimeField(null=True)  # through this message's link
    complained_at = fields.DatetimeField(null=True)

    class Meta:
        table = "messages"
        indexes = (("contact_id", "sent_at"), ("status", "queued_at"), ("journey_ref", "is_test"))


# A message received by the embedded SMTP sink (the .eml file lives under var/outbox/).
class OutboxMessage(Model):

    id = fields.BigIntField(primary_key=True)
    message_id = fields.CharField(max_length=300, default="", db_index=True)
    mail_from = fields.CharField(max_length=320)
    recipients: list = fields.JSONField(default=list)
    subject = fields.CharField(max_length=500, default="")
    path = fields.CharField(max_length=500)
    size = fields.IntField()
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox"
