"""The one way an email address is folded for matching: the same person whatever their keyboard.

Python's str.lower() is locale-independent, which is what address matching wants (ASCII `I`
becomes `i` even for a Turkish user). Only the Turkish dotted capital `İ` needs care: lowered it
becomes `i` plus a combining dot (two code points), so `İLKAY@...` would never match `ilkay@...`;
it is folded to a plain `i`. The dotless i (U+0131) is a letter of its own and stays as it is.
"""

from __future__ import annotations

import unicodedata

_DOTTED_I = "i\u0307"


def fold_address(value: str) -> str:
    """NFC (one way to write `é`), trimmed, lower-cased; `İ` as `i`."""
    folded = unicodedata.normalize("NFC", value).strip().replace("\u0130", "I").lower()
    return folded.replace(_DOTTED_I, "i")
