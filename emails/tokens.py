"""Compact, URL-safe, purpose-bound signed tokens for click, open, unsubscribe and confirmation links.

Format: ``<payload>.<signature>``, both unpadded base64url. The payload is compact JSON;
the signature is keyed BLAKE2b-128 over ``purpose NUL payload``, so a token minted for "open"
never verifies as "click" or "unsub" even though the payload bytes are identical. Keyed
BLAKE2b is a MAC by design (no HMAC construction needed) and one C call: a message signs a
dozen links, so this is on the sending hot path. Tokens signed earlier with HMAC-SHA256 (a
43-character signature) still verify: links in emails already sent keep working.
The key is passed in: this module never reads settings.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

PURPOSES = frozenset({"click", "open", "unsub", "confirm", "prefs", "quote", "console", "session"})


class TokenError(ValueError):
    """The token is malformed, tampered with, signed with another key or for another purpose."""


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64encode(raw: bytes) -> str:
    # base64.urlsafe_b64encode's own steps, without its two wrappers: this runs twice a link.
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError("token is not valid base64url") from exc


def _key_bytes(key: str | bytes) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else key
    if not raw:
        # An empty key would make every token forgeable: refuse loudly instead.
        raise ValueError("signing key must not be empty")
    return raw


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}; expected one of {sorted(PURPOSES)}")


LEGACY_SIGNATURE_LENGTH = 43  # base64url of a 32-byte HMAC-SHA256


def _signed_bytes(purpose: str, payload: str) -> bytes:
    return purpose.encode("ascii") + b"\x00" + payload.encode("ascii")


@functools.lru_cache(maxsize=32)
def _keyed(key: bytes, purpose: str) -> Any:
    """The keyed hash with the purpose already fed in: copying it is cheaper than keying anew, and
    an email signs about eight links."""
    # BLAKE2b keys are at most 64 bytes: a longer secret is hashed down first (as HMAC does).
    mac_key = key if len(key) <= 64 else hashlib.blake2b(key).digest()
    return hashlib.blake2b(_signed_bytes(purpose, ""), key=mac_key, digest_size=16)


def _signature(key: bytes, purpose: str, payload: str) -> str:
    mac = _keyed(key, purpose).copy()
    mac.update(payload.encode("ascii"))
    return _b64encode(mac.digest())


def _legacy_signature(key: bytes, purpose: str, payload: str) -> str:
    return _b64encode(hmac.new(key, _signed_bytes(purpose, payload), hashlib.sha256).digest())


def _body(data: dict[str, Any]) -> str:
    # Click and open tokens carry small integers only: written directly, as json.dumps would.
    fields = []
    for key in sorted(data):
        value = data[key]
        if type(value) is not int or not key.isalnum():
            return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        fields.append(f'"{key}":{value}')
    return "{" + ",".join(fields) + "}"


def sign(key: str | bytes, purpose: str, data: dict[str, Any]) -> str:
    """Return a token carrying `data` (JSON-serialisable) for `purpose`."""
    _check_purpose(purpose)
    payload = _b64encode(_body(data).encode("utf-8"))
    return f"{payload}.{_signature(_key_bytes(key), purpose, payload)}"


def click_signer(key: str | bytes, message: int) -> Callable[[int], str]:
    """sign(key, "click", {"i": index, "m": message}) for each index of one message's links, with
    what they share worked out once (a message signs a dozen)."""
    if type(message) is not int:
        return lambda index: sign(key, "click", {"i": index, "m": message})
    raw_key = _key_bytes(key)
    tail = f',"m":{message}}}'

    def token(index: int) -> str:
        if type(index) is not int:
            return sign(key, "click", {"i": index, "m": message})
        payload = _b64encode(f'{{"i":{index}{tail}'.encode("ascii"))
        return f"{payload}.{_signature(raw_key, 'click', payload)}"

    return token


def verify(key: str | bytes, purpose: str, token: str) -> dict[str, Any]:
    """Return the data of a token signed with `key` for `purpose`; raise TokenError otherwise."""
    _check_purpose(purpose)
    if not isinstance(token, str) or token.count(".") != 1:
        raise TokenError("token must have exactly two parts")
    payload, signature = token.split(".")
    if not payload.isascii() or not signature.isascii():
        raise TokenError("token must be ASCII")
    made = _legacy_signature if len(signature) == LEGACY_SIGNATURE_LENGTH else _signature
    expected = made(_key_bytes(key), purpose, payload)
    # Constant-time: the comparison must not leak how many leading characters matched.
    if not hmac.compare_digest(expected, signature):
        raise TokenError("bad signature")
    return _decode_payload(payload)


def _decode_payload(payload: str) -> dict[str, Any]:
    try:
        data = json.loads(_b64decode(payload).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TokenError("token payload is not JSON") from exc
    if not isinstance(data, dict):
        raise TokenError("token payload must be an object")
    return data
