"""Typed domain errors. The HTTP layer maps them to status codes in one place."""

from __future__ import annotations


class NurtureError(Exception):
    """Base class: the message is safe to show to the caller."""


class InvalidSignature(NurtureError):
    """The request is not signed by who it claims to come from."""


class BadRequest(NurtureError):
    """The request is malformed (missing header, unreadable body...)."""


class NotFound(NurtureError):
    """The addressed thing does not exist."""


class PayloadTooLarge(NurtureError):
    """The body exceeds the configured limit."""


class UnprocessablePayload(NurtureError):
    """The payload verified but cannot be turned into events; stored as failed."""


class Forbidden(NurtureError):
    """Authenticated, but not allowed to do this."""


class ShopUnavailable(NurtureError):
    """The shop's Admin API did not answer usefully for now (network, 5xx, throttled too long): retry later."""


class ShopRefused(NurtureError):
    """The shop's Admin API refused what we asked (token, missing scope, invalid input): retrying will not help."""
