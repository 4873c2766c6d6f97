"""The template library a process renders from: one per templates directory, compiled lazily.

A TemplateLibrary is a cache of compiled templates (no connection, no I/O beyond reading
template files), so one per process is what makes per-recipient cost Jinja only.
"""

from __future__ import annotations

import functools
from pathlib import Path

from emails.render import TemplateLibrary

TEMPLATES = Path(__file__).with_name("templates")


@functools.lru_cache(maxsize=8)
def shared_library(directory: Path = TEMPLATES) -> TemplateLibrary:
    return TemplateLibrary(directory)
