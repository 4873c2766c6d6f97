"""Dynamic segments: named expressions over the contact; membership changes become events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.expressions import evaluate


def members_of(segments: Mapping[str, str], contact: Mapping[str, Any]) -> list[str]:
    """The names of the segments whose expression holds for this contact view (an error counts as false)."""
    return sorted(name for name, source in segments.items() if evaluate(source, {"contact": contact})[0])


def membership_changes(before: Sequence[str], after: Sequence[str],
                       known: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(entered, exited); a segment removed from the config is left silently, not 'exited'."""
    entered = sorted(set(after) - set(before))
    exited = sorted(name for name in set(before) - set(after) if name in known)
    return entered, exited
