"""The composition root: builds every connection once and hands them to the edges.

`open_services(settings)` is used by the HTTP server, the arq worker, the CLI and
the tests alike; nothing else opens a database, Redis, SMTP or Slack connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq import create_pool
from arq.connections import ArqRedis

from core.files import private_dir
from core.services import Services
from core.settings import Settings
from core.workspace import load_workspace
from emails.library import use_store_templates
from emails.models import OutboxMessage
from emails.sink import SmtpSink
from emails.transport import SmtpTarget, SmtpTransport
from inbox.dispatch import enqueue_batches
from inbox.writer import InboxWriter
from nurture.db import close_database, open_database
from nurture.redis import start_redis
from nurture.slack import build_slack_client
from shopify.admin import build_admin


def inbox_for(redis: ArqRedis) -> InboxWriter:
    """The group-commit inbox; each written batch is enqueued on `redis`."""

    async def dispatch(batches: list[list[int]]) -> None:
        await enqueue_batches(redis, batches)

    return InboxWriter(dispatch)


async def _start_mail(settings: Settings) -> tuple[SmtpTransport, SmtpSink | None]:
    if settings.smtp_url != "embedded":
        return SmtpTransport(SmtpTarget.from_url(settings.smtp_url)), None
    sink = SmtpSink(settings.outbox_dir)
    await sink.start()
    return SmtpTransport(SmtpTarget(host=sink.host, port=sink.port), receipts=sink_received), sink


async def sink_received(message_id: str) -> bool:
    return await OutboxMessage.exists(message_id=message_id)


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    workspace = load_workspace(settings.config_file)
    use_store_templates(settings.store_templates)
    private_dir(settings.var_dir)  # database, outbox, exports and keys: readable by this user only
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
        inbox=inbox_for(redis),
        workspace=workspace,
        sink=sink,
        shop=build_admin(settings),
    )
    try:
        yield services
    finally:
        await services.inbox.settle()  # accepted deliveries reach the queue before Redis closes
        await mailer.close()
        if services.shop is not None:
            await services.shop.close()
        if sink is not None:
            await sink.stop()
        await redis.aclose()
        endpoint.close()
        await close_database()
