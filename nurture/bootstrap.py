"""The composition root: builds every connection once and hands them to the edges.

`open_services(settings)` is used by the HTTP server, the arq worker, the CLI and
the tests alike; nothing else opens a database, Redis, SMTP or Slack connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from arq import create_pool
from arq.connections import ArqRedis
from slack_sdk.web.async_client import AsyncWebClient

from emails.sink import SmtpSink
from emails.transport import SmtpTarget, SmtpTransport
from nurture.clock import Clock, RealClock
from nurture.db import close_database, open_database
from nurture.metrics import Metrics
from nurture.redis import RedisEndpoint, start_redis
from nurture.settings import Settings
from nurture.slack import build_slack_client
from nurture.workspace import Workspace, load_workspace
from webhooks.batching import InboxWriter


@dataclass
class Services:
    settings: Settings
    redis: ArqRedis
    redis_endpoint: RedisEndpoint
    mailer: SmtpTransport
    slack: AsyncWebClient
    workspace: Workspace = field(default_factory=Workspace)
    metrics: Metrics = field(default_factory=Metrics)
    sink: SmtpSink | None = None
    clock: Clock = field(default_factory=RealClock)
    inbox: InboxWriter = field(init=False)

    def __post_init__(self) -> None:
        from webhooks.receive import enqueue_batches

        async def dispatch(batches: list[list[int]]) -> None:
            await enqueue_batches(self, batches)

        self.inbox = InboxWriter(dispatch)


async def _start_mail(settings: Settings) -> tuple[SmtpTransport, SmtpSink | None]:
    if settings.smtp_url != "embedded":
        return SmtpTransport(SmtpTarget.from_url(settings.smtp_url)), None
    sink = SmtpSink(settings.outbox_dir)
    await sink.start()
    return SmtpTransport(SmtpTarget(host=sink.host, port=sink.port), receipts=sink_received), sink


async def sink_received(message_id: str) -> bool:
    from emails.models import OutboxMessage

    return await OutboxMessage.exists(message_id=message_id)


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    workspace = load_workspace(settings.config_file)
    await open_database(settings)
    endpoint = start_redis(settings)
    redis = await create_pool(endpoint.settings)
    mailer, sink = await _start_mail(settings)
    services = Services(
        settings=settings,
        redis=redis,
        redis_endpoint=endpoint,
        mailer=mailer,
        slack=build_slack_client(settings),
        workspace=workspace,
        sink=sink,
    )
    try:
        yield services
    finally:
        await services.inbox.settle()  # accepted deliveries reach the queue before Redis closes
        await mailer.close()
        if sink is not None:
            await sink.stop()
        await redis.aclose()
        endpoint.close()
        await close_database()
