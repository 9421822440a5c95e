"""Every CLI command has help text and is documented in docs/cli.md."""

from __future__ import annotations

from pathlib import Path

import typer
import typer.main
from typer.core import TyperGroup, TyperOption

from sendwell.cli.main import app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands(group: object, prefix: str = "sendwell") -> list[tuple[str, object]]:
    found = []
    if isinstance(group, TyperGroup):
        for name, cmd in group.commands.items():
            path = f"{prefix} {name}"
            found.append((path, cmd))
            found.extend(_commands(cmd, path))
    return found


def test_every_command_has_help_and_is_documented() -> None:
    documented = DOCS.read_text(encoding="utf-8")
    commands = _commands(typer.main.get_command(app))
    assert len(commands) > 15
    for path, cmd in commands:
        assert hasattr(cmd, "help") and hasattr(cmd, "params")
        assert (cmd.help or "").strip(), f"{path} has no help text"
        assert f"`{path}" in documented, f"{path} is not documented in docs/cli.md"
        for param in cmd.params:
            if isinstance(param, TyperOption) and param.name != "help":
                assert (param.help or "").strip(), f"{path} option {param.opts} has no help"
