"""Prometheus metrics, one registry per process (no module-level globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "nurture_webhook_deliveries",
            "Webhook deliveries by provider and result",
            ["provider", "result"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "nurture_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            registry=self.registry,
        )
        self.jobs = Counter(
            "nurture_jobs", "Jobs run by name and result", ["job", "result"], registry=self.registry
        )
        self.emails = Counter(
            "nurture_emails", "Emails by result", ["result"], registry=self.registry
        )
        self.cron_runs = Counter(
            "nurture_cron_runs", "Periodic job runs by job and outcome", ["job", "outcome"], registry=self.registry,
        )
        self.cron_seconds = Histogram(
            "nurture_cron_seconds", "How long each periodic job ran", ["job"], registry=self.registry,
            buckets=(0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300),
        )
        self.refreshed = Counter(
            "nurture_intelligence_refreshed", "Contacts the nightly refresh went through", registry=self.registry,
        )
        self.refresh_failures = Counter(
            "nurture_intelligence_refresh_skipped", "Contacts the nightly refresh skipped (their data broke it)",
            registry=self.registry,
        )

        # Per journey (label: its key): what `journeys stats` reports, as counters for dashboards.
        self.journey_emails = Counter(
            "nurture_journey_emails_sent", "Journey emails accepted by the mail server", ["journey"],
            registry=self.registry,
        )
        self.journey_engagement = Counter(
            "nurture_journey_engagement", "Opens and clicks reported on journey emails", ["journey", "kind"],
            registry=self.registry,
        )
        self.journey_conversions = Counter(
            "nurture_journey_conversions", "Runs that reached the journey's goal", ["journey"], registry=self.registry,
        )
        self.attributed_orders = Counter(
            "nurture_journey_attributed_orders", "Orders attributed to the journey's emails", ["journey"],
            registry=self.registry,
        )
        self.attributed_revenue = Counter(
            "nurture_journey_attributed_revenue", "Value of the orders attributed to the journey's emails when "
            "placed (refunds are not taken off a counter: journeys stats reports the net)", ["journey", "currency"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
