"""What the periodic jobs did: one row per run, with the cursor a long run resumes from."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class JobRun(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64)
    # The period the run covers (the nightly refresh: its date), so each period runs once to the end.
    period = fields.CharField(max_length=32, default="")
    status = fields.CharEnumField(RunStatus, default=RunStatus.RUNNING)
    # Where the next chunk starts (the last contact id done); committed with each chunk's work.
    cursor = fields.BigIntField(default=0)
    processed = fields.BigIntField(default=0)
    changed = fields.BigIntField(default=0)
    chunks = fields.IntField(default=0)
    started_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    error = fields.TextField(default="")
    # What else a resumable run needs besides its cursor (the Shopify import: its bulk operation and window).
    state: dict = fields.JSONField(default=dict, db_default={})

    class Meta:
        table = "job_runs"
        unique_together = (("name", "period"),)
        indexes = (("name", "started_at"),)
