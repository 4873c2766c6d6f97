"""SMTP transport over aiosmtplib with a small pool of reused connections."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import aiosmtplib

from core.services import OutgoingEmail


class TransientSendError(Exception):
    """Try again later: connection trouble or a 4xx answer."""


class PermanentSendError(Exception):
    """The relay refused the message for good (5xx)."""

    def __init__(self, message: str, code: int, bad_mailbox: bool) -> None:
        super().__init__(message)
        self.code = code
        self.bad_mailbox = bad_mailbox


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = False

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parsed = urlparse(url)
        implicit = parsed.scheme == "smtps"
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (465 if implicit else 25),
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            use_tls=implicit,
            # smtp:// upgrades when the server offers STARTTLS; smtp+starttls:// insists.
            start_tls=True if parsed.scheme == "smtp+starttls" else None if not implicit else False,
        )


# Codes that say the mailbox itself is bad (RFC 3463 enhanced codes 5.1.x).
_BAD_MAILBOX_CODES = {550, 551, 553}


Receipts = Callable[[str], Awaitable[bool]]


class SmtpTransport:
    """`receipts`, when the relay can tell, answers "did you already accept this Message-ID?".

    Only the embedded sink can (it records what it accepted in our database). It closes the
    one gap SMTP leaves: a worker killed between the relay's 250 and our commit. With an
    external relay a retry then resends under the same Message-ID (at-least-once there).
    """

    def __init__(self, target: SmtpTarget, pool_size: int = 4, timeout: float = 30.0,
                 receipts: Receipts | None = None) -> None:
        self.target = target
        self.timeout = timeout
        self.receipts = receipts
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        self._slots = asyncio.Semaphore(pool_size)

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.target.host,
            port=self.target.port,
            use_tls=self.target.use_tls,
            start_tls=self.target.start_tls,
            username=self.target.username,
            password=self.target.password,
            timeout=self.timeout,
        )
        await client.connect()
        return client

    async def _checkout(self) -> aiosmtplib.SMTP:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                return client
        return await self._connect()

    async def send(self, message: OutgoingEmail) -> str:
        """Send one message's bytes as they are; returns the relay's answer. Raises
        Transient/PermanentSendError."""
        async with self._slots:
            client: aiosmtplib.SMTP | None = None
            try:
                client = await self._checkout()
                options = ["SMTPUTF8"] if message.needs_smtputf8 else None
                _, answer = await client.sendmail(message.mail_from, list(message.recipients), message.data,
                                                  mail_options=options)
            except aiosmtplib.SMTPResponseException as exc:
                self._discard(client)
                raise self._classify(exc) from exc
            except aiosmtplib.SMTPRecipientsRefused as exc:
                # Every recipient refused at RCPT (e.g. 550 5.1.1): the answer is the refusal's code,
                # not a connection problem. The connection itself is still good.
                self._idle.put_nowait(client)  # type: ignore[arg-type]
                refusals = exc.recipients or []
                if not refusals:
                    raise TransientSendError(f"recipients refused: {exc}") from exc
                raise self._classify(refusals[0]) from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                self._discard(client)
                raise TransientSendError(f"SMTP connection failed: {exc}") from exc
            self._idle.put_nowait(client)
            return answer

    @staticmethod
    def _classify(exc: aiosmtplib.SMTPResponseException) -> Exception:
        if 400 <= exc.code < 500:
            return TransientSendError(f"{exc.code} {exc.message}")
        return PermanentSendError(
            f"{exc.code} {exc.message}", exc.code, bad_mailbox=exc.code in _BAD_MAILBOX_CODES
        )

    @staticmethod
    def _discard(client: aiosmtplib.SMTP | None) -> None:
        if client is not None and client.is_connected:
            client.close()

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                try:
                    await client.quit()
                except aiosmtplib.SMTPException:
                    client.close()
