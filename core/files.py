"""Private files: what Nurture keeps on disk (database, outbox, exports, keys) is readable by its own
user only: folders 0700, files 0600, set when they are created rather than fixed afterwards."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create one of our own folders (var, outbox, exports) as 0700; an existing one is narrowed to 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path.chmod(DIR_MODE)
    return path


def _write_temporary(path: Path, data: bytes) -> Path:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def write_private(path: Path, data: bytes) -> None:
    """Write `data` atomically: a 0600 temporary file beside `path`, renamed over it once complete."""
    temporary = _write_temporary(path, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def create_private_once(path: Path, data: bytes) -> bytes:
    """Create `path` holding `data`, unless it exists: then its content. Processes starting together
    agree on one content (a hard link never replaces an existing file), and no reader ever sees a
    half-written or world-readable file."""
    if path.exists():
        return path.read_bytes()
    temporary = _write_temporary(path, data)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return path.read_bytes()
    finally:
        temporary.unlink(missing_ok=True)
    return data


def create_private(path: Path) -> None:
    """Make sure `path` exists as a 0600 file (before SQLite opens it: its -wal and -shm take its mode).
    A new parent folder is 0700; an existing one (the user's choice) is left as it is."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
