"""The generated reference docs are current (run `nurture docs` after changing the schema or CLI)."""

from nurture.cli import cli
from nurture.docs import documents


def test_generated_docs_are_current() -> None:
    for path, text in documents(cli).items():
        assert path.exists(), f"{path} is missing: run `nurture docs`"
        assert path.read_text() == text, f"{path} is out of date: run `nurture docs`"


def test_reference_covers_every_step_kind_and_command() -> None:
    from journeys.spec import STEP_KINDS

    texts = {path.name: text for path, text in documents(cli).items()}
    for kind in STEP_KINDS:
        assert f"### `{kind}`" in texts["journeys.md"]
    for command in ("nurture journeys validate", "nurture simulate", "nurture inbox replay", "nurture emails preview"):
        assert f"## `{command}`" in texts["cli.md"]
