"""What every layer receives from the composition root: settings, connections and ports.

`nurture.bootstrap.open_services` builds one `Services` per process and hands it to the
aiohttp app, the arq ctx and the bolt context. The parts that belong to a layer above the
kernel (the SMTP pool, the inbox writer, the embedded SMTP sink) appear here as small
protocols, so the kernel imports none of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from arq.connections import ArqRedis, RedisSettings
from slack_sdk.web.async_client import AsyncWebClient

from core.clock import Clock, RealClock
from core.metrics import Metrics
from core.settings import Settings
from core.workspace import Workspace


@dataclass(frozen=True)
class OutgoingEmail:
    """A message ready for the relay: its envelope and its RFC 5322 bytes (CRLF line ends)."""

    message_id: str
    mail_from: str  # envelope sender, an addr-spec
    recipients: tuple[str, ...]
    data: bytes

    @property
    def needs_smtputf8(self) -> bool:
        """An address outside ASCII can only travel to a relay that speaks SMTPUTF8 (RFC 6531)."""
        return not all(addr.isascii() for addr in (self.mail_from, *self.recipients))


class Mailer(Protocol):
    """Sends messages over SMTP (emails.transport.SmtpTransport)."""

    # Answers whether a Message-ID already reached the relay (the embedded sink can tell).
    receipts: Callable[[str], Awaitable[bool]] | None

    async def send(self, message: OutgoingEmail) -> str: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class RawDelivery:
    """A verified webhook delivery as an edge hands it to the inbox."""

    provider: str
    external_id: str
    topic: str
    headers: dict[str, str]
    body: bytes

    @property
    def key(self) -> tuple[str, str]:
        return self.provider, self.external_id


class Inbox(Protocol):
    """Stores raw deliveries durably (inbox.writer.InboxWriter)."""

    async def submit(self, delivery: RawDelivery) -> tuple[int, bool]:
        """(row id, created): created is False for a duplicate of a stored delivery."""
        ...

    async def settle(self) -> None: ...


class MailSink(Protocol):
    """The embedded SMTP server (emails.sink.SmtpSink), when mail stays on this machine."""

    host: str
    port: int


class ShopAdmin(Protocol):
    """The shop's GraphQL Admin API (shopify.admin.AdminClient). `query` returns the `data` object;
    it raises core.errors.ShopUnavailable (try later) or ShopRefused (will not work as asked)."""

    async def query(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]: ...

    async def close(self) -> None: ...


@dataclass
class RedisEndpoint:
    settings: RedisSettings
    # Keeps the embedded server alive for as long as this process needs it.
    embedded: Any = None

    def describe(self) -> str:
        if self.settings.unix_socket_path:
            return f"unix://{self.settings.unix_socket_path}"
        return f"redis://{self.settings.host}:{self.settings.port}/{self.settings.database}"

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.connection_pool.disconnect()
            self.embedded = None


@dataclass
class Services:
    settings: Settings
    redis: ArqRedis
    redis_endpoint: RedisEndpoint
    mailer: Mailer
    slack: AsyncWebClient
    inbox: Inbox
    workspace: Workspace = field(default_factory=Workspace)
    metrics: Metrics = field(default_factory=Metrics)
    sink: MailSink | None = None
    # None when no Admin API token is set: features that need the shop say so instead of guessing.
    shop: ShopAdmin | None = None
    clock: Clock = field(default_factory=RealClock)
