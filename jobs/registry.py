"""Every arq job and cron job the worker runs."""

from __future__ import annotations

from typing import Any

from arq import func
from arq.cron import cron

from bot import jobs as slack_jobs
from jobs.checkouts import scan_abandoned_checkouts
from jobs.deliveries import process_deliveries, process_delivery, sweep_pending_deliveries
from jobs.emails import send_email, sweep_queued_emails
from jobs.intelligence import refresh_intelligence
from jobs.journeys import scan_time_triggers_job, start_journey
from jobs.outbound import call_webhook
from jobs.scheduler import run_step_job, run_steps_job, sweep_pending_jobs_job

FUNCTIONS: list[Any] = [
    process_delivery,
    process_deliveries,
    func(run_steps_job, name="run_steps"),
    func(run_step_job, name="run_step"),
    start_journey,
    call_webhook,
    send_email,
    func(slack_jobs.post_task_job, name="post_task"), slack_jobs.post_notification, slack_jobs.journey_stats,
    slack_jobs.journey_test,
]
CRON_JOBS: list[Any] = [
    cron(sweep_pending_jobs_job, second={0, 10, 20, 30, 40, 50}, unique=True),
    cron(refresh_intelligence, hour={3}, minute={10}, second={0}, unique=True),
    cron(scan_time_triggers_job, minute=None, second={30}, unique=True),
    cron(sweep_pending_deliveries, second={15, 45}, unique=True),
    cron(scan_abandoned_checkouts, second={5}, unique=True),
    cron(sweep_queued_emails, minute=set(range(0, 60, 5)), second={25}, unique=True),
    *(cron(job, second={10}, unique=True) for job in slack_jobs.CRONS),
]
