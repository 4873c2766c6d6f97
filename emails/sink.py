"""Embedded SMTP sink: a real SMTP server (aiosmtpd) that keeps every message it receives.

Each message is written to `var/outbox/<n>.eml` and recorded as an `OutboxMessage`,
so the demo and the tests can read exactly what a real relay would have received.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from core.files import private_dir, write_private
from emails.models import OutboxMessage


class OutboxHandler:
    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir
        private_dir(outbox_dir)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        path = self.outbox_dir / f"{uuid.uuid4().hex}.eml"
        write_private(path, raw)
        await OutboxMessage.create(
            message_id=str(parsed.get("Message-ID", ""))[:300],
            mail_from=str(envelope.mail_from or "")[:320],
            recipients=[str(r) for r in envelope.rcpt_tos],
            subject=str(parsed.get("Subject", ""))[:500],
            path=str(path),
            size=len(raw),
        )
        return "250 Message accepted for delivery"


class SmtpSink:
    """Runs on the caller's event loop, so the handler can use the ORM directly."""

    def __init__(self, outbox_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler = OutboxHandler(outbox_dir)
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def factory() -> Any:
            return SMTP(self.handler, hostname="nurture-sink", enable_SMTPUTF8=True)

        self._server = await loop.create_server(factory, host=self.host, port=self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
