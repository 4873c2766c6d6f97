"""The SMTP transport and the embedded sink speak real SMTP to each other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from core.services import Services
from emails.models import OutboxMessage


async def test_transport_delivers_to_the_sink(
    services: Services, outbox: Callable[[], Awaitable[list[Any]]]
) -> None:
    message = EmailMessage()
    message["From"] = "Acme <hello@acme.example>"
    message["To"] = "ravi.kumar@example.com"
    message["Subject"] = "Welcome, Ravi"
    message["Message-ID"] = "<t1@nurture.test>"
    message.set_content("Plain text")
    message.add_alternative("<p>HTML</p>", subtype="html")
    await services.mailer.send(message)
    await services.mailer.send(message)  # reuses the pooled connection
    received = await outbox()
    assert len(received) == 2
    assert received[0]["Subject"] == "Welcome, Ravi"
    assert received[0]["Message-ID"] == "<t1@nurture.test>"
    assert received[0].get_content_type() == "multipart/alternative"
    assert services.sink is not None
    # This test's own two files (the outbox folder may hold other tests' mail).
    rows = await OutboxMessage.filter(message_id="<t1@nurture.test>")
    assert len(rows) == 2 and all(Path(r.path).suffix == ".eml" and Path(r.path).exists() for r in rows)
    assert all(Path(r.path).parent == services.settings.outbox_dir for r in rows)
