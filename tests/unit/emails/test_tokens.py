import pytest

from emails.tokens import TokenError, sign, verify

KEY = "test-key-0123456789"


def test_round_trip_keeps_data() -> None:
    token = sign(KEY, "click", {"m": 42, "i": 3})
    assert verify(KEY, "click", token) == {"m": 42, "i": 3}


def test_token_is_compact_and_url_safe() -> None:
    token = sign(KEY, "open", {"m": 123456})
    assert len(token) < 80
    assert all(c.isalnum() or c in "-_." for c in token)


def test_tampered_payload_is_rejected() -> None:
    payload, signature = sign(KEY, "click", {"m": 1}).split(".")
    forged = sign("other", "click", {"m": 2}).split(".")[0]
    with pytest.raises(TokenError):
        verify(KEY, "click", f"{forged}.{signature}")
    with pytest.raises(TokenError):
        verify(KEY, "click", f"{payload}.{signature[:-2]}xx")


def test_wrong_purpose_is_rejected() -> None:
    token = sign(KEY, "open", {"m": 1})
    with pytest.raises(TokenError):
        verify(KEY, "unsub", token)


def test_wrong_key_is_rejected() -> None:
    with pytest.raises(TokenError):
        verify("another-key", "click", sign(KEY, "click", {"m": 1}))


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "!!!.???", "é.é", "eyJtIjoxfQ.é", "é.abc"])
def test_malformed_tokens_are_rejected(token: str) -> None:
    with pytest.raises(TokenError):
        verify(KEY, "click", token)


def test_signed_non_object_payload_is_rejected() -> None:
    # A correctly signed payload that is not a JSON object still must not reach callers.
    import base64
    import hashlib
    import hmac

    payload = base64.urlsafe_b64encode(b"[1,2]").rstrip(b"=").decode()
    mac = hmac.new(KEY.encode(), b"click\x00" + payload.encode(), hashlib.sha256).digest()
    token = payload + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(TokenError):
        verify(KEY, "click", token)


def test_unknown_purpose_and_empty_key_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        sign(KEY, "login", {})
    with pytest.raises(ValueError):
        sign("", "click", {})


@pytest.mark.parametrize("size", range(1, 9))
def test_every_payload_length_round_trips(size: int) -> None:
    # base64url without padding: each length modulo 4 needs its own padding back on decoding.
    data = {"m": "x" * size}
    assert verify(KEY, "click", sign(KEY, "click", data)) == data


def test_many_tokens_round_trip() -> None:
    # Payloads of every length modulo 3, and MACs of every possible last character.
    for number in range(400):
        data = {"m": number, "c": number * 7}
        token = sign(KEY, "unsub", data)
        assert verify(KEY, "unsub", token) == data
        assert len(token.split(".")[1]) == 22  # all 128 bits of the MAC, whatever its last characters


def test_a_key_given_as_bytes_signs_the_same() -> None:
    assert verify(KEY.encode(), "click", sign(KEY, "click", {"m": 1})) == {"m": 1}


# A click token as signed before the switch to keyed BLAKE2b (HMAC-SHA256 over "click NUL payload"),
# computed independently here: links in emails already sent must keep working.
def _hmac_token(key: str, purpose: str, body: bytes) -> str:
    import base64
    import hashlib
    import hmac

    payload = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    mac = hmac.new(key.encode(), purpose.encode() + b"\x00" + payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_tokens_signed_the_earlier_way_still_verify_and_are_still_bound() -> None:
    legacy = _hmac_token(KEY, "click", b'{"i":3,"m":42}')
    assert verify(KEY, "click", legacy) == {"i": 3, "m": 42}
    with pytest.raises(TokenError):
        verify(KEY, "open", legacy)
    with pytest.raises(TokenError):
        verify("another-key", "click", legacy)


def test_new_tokens_carry_a_short_keyed_blake2b_signature() -> None:
    import base64
    import hashlib

    token = sign(KEY, "click", {"m": 42, "i": 3})
    payload, signature = token.split(".")
    assert base64.urlsafe_b64decode(payload + "==") == b'{"i":3,"m":42}'  # the same JSON as before
    expected = hashlib.blake2b(b"click\x00" + payload.encode(), key=KEY.encode(), digest_size=16).digest()
    assert signature == base64.urlsafe_b64encode(expected).rstrip(b"=").decode()


@pytest.mark.parametrize("data", [{"m": 1, "i": 0}, {"c": 7, "m": -3}, {"m": True}, {"m": "x"}, {"é": 1},
                                  {"m": 10**20}])
def test_every_payload_is_the_compact_sorted_json_it_always_was(data: dict) -> None:
    import base64
    import json

    payload = sign(KEY, "unsub", data).split(".")[0]
    expected = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    assert base64.urlsafe_b64decode(payload + "==").decode() == expected
    assert verify(KEY, "unsub", sign(KEY, "unsub", data)) == data


def test_a_very_long_key_signs_and_verifies() -> None:
    key = "k" * 200
    assert verify(key, "open", sign(key, "open", {"m": 1})) == {"m": 1}
    with pytest.raises(TokenError):
        verify("k" * 199, "open", sign(key, "open", {"m": 1}))
