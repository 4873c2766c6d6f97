"""Every arq job and cron job the worker runs."""

from __future__ import annotations

from typing import Any

from arq.cron import cron

from jobs.checkouts import scan_abandoned_checkouts
from jobs.deliveries import process_deliveries, process_delivery, sweep_pending_deliveries

FUNCTIONS: list[Any] = [process_delivery, process_deliveries]
CRON_JOBS: list[Any] = [
    cron(sweep_pending_deliveries, second={15, 45}, unique=True),
    cron(scan_abandoned_checkouts, second={5}, unique=True),
]
