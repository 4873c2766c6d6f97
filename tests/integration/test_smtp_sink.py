"""The SMTP transport and the embedded sink speak real SMTP to each other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from core.services import Services
from emails.compose import address, compose
from emails.models import OutboxMessage
from emails.render import RenderedEmail


async def test_transport_delivers_to_the_sink(
    services: Services, outbox: Callable[[], Awaitable[list[Any]]]
) -> None:
    message = compose(RenderedEmail(subject="Welcome, Ravi", html="<p>HTML</p>", text="Plain text"),
                      message_id="<t1@nurture.test>", to="ravi.kumar@example.com",
                      from_addr=address("Acme", "hello@acme.example"))
    await services.mailer.send(message)
    await services.mailer.send(message)  # reuses the pooled connection
    received = await outbox()
    assert len(received) == 2
    assert received[0]["Subject"] == "Welcome, Ravi"
    assert received[0]["Message-ID"] == "<t1@nurture.test>"
    assert received[0].get_content_type() == "multipart/alternative"
    assert received[0].get_body(("plain",)).get_content().strip() == "Plain text"
    assert services.sink is not None
    # This test's own two files (the outbox folder may hold other tests' mail).
    rows = await OutboxMessage.filter(message_id="<t1@nurture.test>")
    assert len(rows) == 2 and all(Path(r.path).suffix == ".eml" and Path(r.path).exists() for r in rows)
    assert all(Path(r.path).parent == services.settings.outbox_dir for r in rows)


async def test_an_address_outside_ascii_travels_with_smtputf8(
    services: Services, outbox: Callable[[], Awaitable[list[Any]]]
) -> None:
    message = compose(RenderedEmail(subject="Merhaba", html="<p>x</p>", text="x"), message_id="<t2@nurture.test>",
                      to=address("Çağla", "çağla@örnek.example"), from_addr=address("Acme", "hello@acme.example"))
    assert message.needs_smtputf8
    await services.mailer.send(message)
    rows = await OutboxMessage.filter(message_id="<t2@nurture.test>")
    assert [row.recipients for row in rows] == [["çağla@örnek.example"]]
