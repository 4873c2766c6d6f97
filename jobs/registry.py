"""Every arq job and cron job the worker runs."""

from __future__ import annotations

from typing import Any

from arq import func
from arq.cron import cron

from jobs.checkouts import scan_abandoned_checkouts
from jobs.deliveries import process_deliveries, process_delivery, sweep_pending_deliveries
from jobs.emails import send_email, sweep_queued_emails
from jobs.journeys import scan_time_triggers_job, start_journey
from jobs.scheduler import run_step_job

FUNCTIONS: list[Any] = [
    process_delivery,
    process_deliveries,
    func(run_step_job, name="run_step"),
    start_journey,
    send_email,
]
CRON_JOBS: list[Any] = [
    cron(scan_time_triggers_job, minute=None, second={30}, unique=True),
    cron(sweep_pending_deliveries, second={15, 45}, unique=True),
    cron(scan_abandoned_checkouts, second={5}, unique=True),
    cron(sweep_queued_emails, minute=set(range(0, 60, 5)), second={25}, unique=True),
]
