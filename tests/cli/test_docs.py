"""The command and settings references are generated from the code and kept current."""

from __future__ import annotations

from pathlib import Path

import typer.main
from typer.core import TyperGroup, TyperOption

from scripts.gen_docs import cli_markdown, settings_markdown
from sendwell.cli.main import app

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "run `.venv/bin/python scripts/gen_docs.py`"


def _commands(group: TyperGroup, prefix: str = "sendwell") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name, cmd in group.commands.items():
        path = f"{prefix} {name}"
        found.append((path, cmd))
        if isinstance(cmd, TyperGroup):
            found.extend(_commands(cmd, path))
    return found


def test_every_command_and_option_has_help() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    commands = _commands(root)
    assert len(commands) > 15
    for path, cmd in commands:
        assert (getattr(cmd, "help", "") or "").strip(), f"{path} has no help text"
        for param in getattr(cmd, "params", []):
            if isinstance(param, TyperOption) and param.name != "help":
                assert (param.help or "").strip(), f"{path} option {param.opts} has no help"


def test_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == cli_markdown(), REGENERATE


def test_settings_reference_is_current() -> None:
    assert (DOCS / "settings.md").read_text(encoding="utf-8") == settings_markdown(), REGENERATE
