"""What the CLI and the demo print with, and the error that means "the user got something wrong"."""

from __future__ import annotations

from rich.console import Console

console = Console()


class CliError(Exception):
    """A user mistake: printed as one line, exit code 2, no traceback."""
