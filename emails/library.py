"""The template library a process renders from: one per templates search path, compiled lazily.

A TemplateLibrary is a cache of compiled templates (no connection, no I/O beyond reading
template files), so one per process is what makes per-recipient cost Jinja only. The store's
own templates folder (settings `templates_dir`) comes first in the search path: the composition
root sets it once at start (`use_store_templates`), before anything renders or validates.
"""

from __future__ import annotations

import functools
from pathlib import Path

from emails.render import TemplateLibrary

TEMPLATES = Path(__file__).with_name("templates")
_search: list[tuple[Path, ...]] = [(TEMPLATES,)]  # the process's search path: set by the composition root


def use_store_templates(directory: Path | None) -> None:
    """Put the store's folder (when it exists) before the built-in templates, for this process."""
    _search[0] = (directory, TEMPLATES) if directory is not None and directory.is_dir() else (TEMPLATES,)


@functools.lru_cache(maxsize=8)
def _library(directories: tuple[Path, ...]) -> TemplateLibrary:
    return TemplateLibrary(directories)


def shared_library(directory: Path | None = None) -> TemplateLibrary:
    return _library((directory,) if directory is not None else _search[0])
