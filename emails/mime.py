"""The bytes of an outgoing email, written directly. Pure: no I/O, no settings.

The standard library's EmailMessage and its generator cost about a millisecond a message:
the header registry parses every header it stores and the generator walks every body line in
Python. Our messages have one fixed shape (a multipart/alternative of a text and an HTML part,
both quoted-printable, under headers we build ourselves), so they are written here as bytes:
a body is quoted-printable encoded in a few whole-buffer passes, or in pieces that each end
where a line begins (`quoted_printable_piece`: a template's fixed text once per version, a
recipient's values per message, see emails/tracked.py); the headers are formatted as strings,
the envelope comes with them. Tests parse every message back with the standard library's strict
parser and compare it with what the standard library builds.

Header values are expected to be one line already (see compose.one_line); this module folds
what may be long (subjects, encoded names) and refuses a line break anywhere else.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import secrets
from collections.abc import Iterable

from core.services import OutgoingEmail

CRLF = "\r\n"
FOLD = "\r\n "
LINE = 78  # RFC 5322's "SHOULD": folded headers stay within it where they can
MAX_DISPLAY_NAME = 200
_WORD_BYTES = 39  # UTF-8 bytes per encoded word: "=?utf-8?b?" + 52 base64 chars + "?=" = 64


def encoded_words(text: str) -> list[str]:
    """RFC 2047 base64 encoded words of at most 39 UTF-8 bytes each, never splitting a character."""
    chunks: list[bytes] = []
    current = b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > _WORD_BYTES:
            chunks.append(current)
            current = b""
        current += encoded
    chunks.append(current)
    return [f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=" for chunk in chunks]


def fold_words(name: str, words: Iterable[str]) -> str:
    """`Name: w1 w2 ...`, a new folded line (CRLF + space) whenever the next word would pass 78."""
    line, lines = f"{name}:", []
    for word in words:
        if len(line) + 1 + len(word) > LINE and line.strip() != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    return FOLD.join(part.lstrip(" ") if i else part for i, part in enumerate(lines)) + CRLF


def unstructured(name: str, value: str) -> str:
    """A free-text header (Subject): ASCII folded at spaces, anything else as encoded words."""
    _refuse_breaks(name, value)
    if value.isascii() and "=?" not in value and max(map(len, value.split(" "))) < 900:
        return fold_words(name, value.split(" ")) if len(value) + len(name) + 2 > LINE else f"{name}: {value}{CRLF}"
    return fold_words(name, encoded_words(value))


def mailbox(display_name: str, addr_spec: str) -> str:
    """`"Display Name" <user@host>`: one address whatever the name holds (a quoted string when it is
    ASCII, encoded words otherwise); the name is cut at 200 characters."""
    _refuse_breaks("address", display_name + addr_spec)
    name = display_name[:MAX_DISPLAY_NAME]
    if not name:
        return addr_spec
    if name.isascii() and "=?" not in name:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{addr_spec}>'
    return f"{' '.join(encoded_words(name))} <{addr_spec}>"


def address_header(name: str, display_name: str, addr_spec: str) -> str:
    value = mailbox(display_name, addr_spec)
    if len(name) + 2 + len(value) <= LINE:
        return f"{name}: {value}{CRLF}"
    return fold_words(name, value.split(" "))  # between encoded words, or inside the quoted name


def verbatim(name: str, value: str) -> str:
    """A header we built from ASCII parts (Message-ID, Date, List-Unsubscribe...), on one line."""
    _refuse_breaks(name, value)
    if not value.isascii():
        raise ValueError(f"the {name} header must be ASCII: {value!r}")
    return f"{name}: {value}{CRLF}"


def _refuse_breaks(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(f"a line break in the {name} header")


# Quoted-printable (RFC 2045 6.7) in a few whole-buffer passes instead of binascii.b2a_qp's
# byte-by-byte loop (~8 ns a byte): a 24 kB HTML part is mostly printable ASCII in long lines.
# Characters outside ASCII are escaped by a codec error handler, called once per run of them.
QP_ERRORS = "nurture-quoted-printable"
_PRINTABLE = bytes(range(32, 127)) + b"\t\n"
_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]+")
# The longest piece of at most 73 bytes that does not cut an "=XX" escape ("=" or "=X" at its end)
# nor a character: the next piece must not start with a UTF-8 continuation byte (=80 to =BF), so
# every line of a Japanese or Chinese text decodes on its own, even in a reader that goes line by line.
_PIECE = re.compile(rb".{1,73}(?<!=)(?<!=.)(?!=[89AB][0-9A-F])", re.DOTALL)
MAX_QP_LINE = 76


def _hex_escapes(raw: bytes) -> str:
    return "=" + binascii.hexlify(raw, "=").decode("ascii").upper()


def _escape_non_ascii(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeEncodeError)
    return _hex_escapes(error.object[error.start:error.end].encode("utf-8", "surrogatepass")), error.end


codecs.register_error(QP_ERRORS, _escape_non_ascii)


def _qp_line(line: bytes) -> bytes:
    if line[-1:] in (b" ", b"\t"):  # a blank at a line end must be encoded: relays strip them
        line = line[:-1] + (b"=20" if line[-1:] == b" " else b"=09")
    return line if len(line) <= MAX_QP_LINE else b"=\r\n".join(_PIECE.findall(line))


def quoted_printable(body: str) -> bytes:
    """The body as quoted-printable UTF-8 with CRLF line ends and lines of at most 76 characters:
    CR and CRLF in the text become line ends, "=" and bytes outside printable ASCII are escaped,
    long lines end in soft breaks ("=" CRLF)."""
    if "\r" in body:
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    data = body.replace("=", "=3D").encode("ascii", QP_ERRORS)
    if data.translate(None, _PRINTABLE):  # deleting every printable byte leaves control characters
        data = _CONTROL.sub(lambda match: _hex_escapes(match.group(0)).encode("ascii"), data)
    return b"\r\n".join(map(_qp_line, data.split(b"\n")))


def quoted_printable_piece(text: str) -> str:
    """`text` quoted-printable encoded as a piece of a body that ends where a line begins: with its
    own line break, or else a soft one ("=" CRLF, which decodes to nothing). Pieces can then be
    encoded apart (a template's fixed text once, a recipient's values per message) and joined."""
    if text.isprintable() and "=" not in text:  # the usual case: one line, at most characters to escape
        if not text.isascii():
            # binascii's byte loop is fine on a few bytes (and in C): "€24.00" -> "=E2=82=AC24.00"
            escaped = binascii.b2a_qp(text.encode("utf-8")) if len(text) < MAX_QP_LINE else b""
            if 0 < len(escaped) < MAX_QP_LINE:  # one line: binascii breaks lines only past 76
                return escaped.decode("ascii") + "=\r\n"
        elif len(text) < MAX_QP_LINE:
            return text + "=\r\n" if text else ""
        else:
            return "".join([text[at:at + MAX_QP_LINE - 1] + "=\r\n" for at in range(0, len(text), MAX_QP_LINE - 1)])
    encoded = quoted_printable(text).decode("ascii")
    start = encoded.rfind(CRLF) + 2 if CRLF in encoded else 0
    last = encoded[start:]
    if not last:  # the text ended with a line break
        return encoded
    if len(last) >= MAX_QP_LINE:  # the soft break's "=" must fit on the line too
        last = "=\r\n".join(piece.decode("ascii") for piece in _PIECE.findall(last.encode("ascii")))
    return encoded[:start] + last + "=\r\n"


def _part(subtype: str, body: bytes) -> bytes:
    head = (f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
            f"Content-Transfer-Encoding: quoted-printable{CRLF}{CRLF}")
    return head.encode("ascii") + body


def alternative(headers: str, text: bytes, html: bytes, *, message_id: str, mail_from: str,
                recipients: tuple[str, ...]) -> OutgoingEmail:
    """`headers` (each line ending in CRLF) over a multipart/alternative of `text` then `html`, both
    already quoted-printable (`quoted_printable`, or pieces joined)."""
    # "=_" never occurs in quoted-printable output ("=" is followed by hex digits or a line end),
    # so this boundary cannot occur inside a part.
    boundary = f"=_{secrets.token_hex(12)}"
    head = (f"{headers}MIME-Version: 1.0{CRLF}"
            f'Content-Type: multipart/alternative; boundary="{boundary}"{CRLF}{CRLF}')
    delimiter = f"{CRLF}--{boundary}{CRLF}".encode("ascii")
    data = b"".join((
        head.encode("utf-8"), f"--{boundary}{CRLF}".encode("ascii"), _part("plain", text),
        delimiter, _part("html", html), f"{CRLF}--{boundary}--{CRLF}".encode("ascii"),
    ))
    return OutgoingEmail(message_id=message_id, mail_from=mail_from, recipients=recipients, data=data)
