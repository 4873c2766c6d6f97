"""Suppression list: addresses we must never send marketing email to again."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Iterable

from tortoise.exceptions import IntegrityError

from contacts.models import Suppression, SuppressionReason
from core.addresses import fold_address


def email_hash(secret_key: str, email: str) -> str:
    """Keyed so an erased address cannot be recovered by hashing a list of guesses."""
    return hmac.new(secret_key.encode(), fold_address(email).encode(), hashlib.sha256).hexdigest()


async def suppress(secret_key: str, email: str, reason: SuppressionReason, detail: str = "") -> None:
    digest = email_hash(secret_key, email)
    if await Suppression.exists(email_hash=digest):
        return
    # IntegrityError: suppressed concurrently, so the row we wanted exists.
    with contextlib.suppress(IntegrityError):
        await Suppression.create(email_hash=digest, email=fold_address(email), reason=reason, detail=detail[:500])


async def is_suppressed(secret_key: str, email: str) -> Suppression | None:
    return await Suppression.get_or_none(email_hash=email_hash(secret_key, email))


async def suppressions_of(secret_key: str, emails: Iterable[str]) -> dict[str, Suppression]:
    """The suppressions of these addresses, by their keyed hash (`email_hash`), in one query."""
    hashes = sorted({email_hash(secret_key, email) for email in emails if email})
    return {row.email_hash: row for row in await Suppression.filter(email_hash__in=hashes)} if hashes else {}


async def lift(secret_key: str, email: str, reason: SuppressionReason) -> None:
    """Remove a suppression of this reason only (a confirmed re-subscription lifts an unsubscribe,
    never a hard bounce or a complaint)."""
    await Suppression.filter(email_hash=email_hash(secret_key, email), reason=reason).delete()
