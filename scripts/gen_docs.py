"""Regenerate docs/settings.md and docs/cli.md from the settings table and the CLI.

Run after adding or changing a setting or a command:

    .venv/bin/python scripts/gen_docs.py

tests/cli/test_docs.py and tests/test_config.py fail when the committed files differ from
what this script generates, so the reference can never fall behind the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer.main
from typer.core import TyperArgument, TyperGroup, TyperOption

from sendwell.cli.main import app
from sendwell.config import setting_table

DOCS = Path(__file__).resolve().parents[1] / "docs"

SETTINGS_INTRO = """# Settings

Every setting is read from an environment variable `SENDWELL_<NAME>` or from a TOML file
(`./sendwell.toml`, or the file named by `SENDWELL_CONFIG`), at the top level or under a
`[sendwell]` table. The environment wins over the file, the file over the default. An
unknown name or a value of the wrong type is an error, never ignored. `sendwell config show`
prints the values in force and where each came from; secrets print as stars.

```toml
# sendwell.toml
data_dir = "/var/lib/sendwell"
dns_resolver = "127.0.0.1:10053"
smtp_port = 2525
```

| setting | environment variable | type | default | meaning |
| --- | --- | --- | --- | --- |
"""

CLI_INTRO = """# Command reference

Every command prints `error: ...` on one line and exits with status 1 when something is
wrong (a bad setting, an unreachable database, a missing list); Ctrl-C exits with 130.
Settings come from `SENDWELL_*` variables or `sendwell.toml` (see [settings](settings.md)).
"""


def settings_markdown() -> str:
    rows = []
    for info in setting_table():
        default = "*(empty)*" if str(info.default) == "" else f"`{info.default}`"
        kind = "secret" if info.secret else info.type_name
        rows.append(
            f"| `{info.name}` | `SENDWELL_{info.name.upper()}` | {kind} | {default} | {info.help} |"
        )
    return SETTINGS_INTRO + "\n".join(rows) + "\n"


def cli_markdown() -> str:
    lines = [CLI_INTRO]

    def walk(group: TyperGroup, prefix: str) -> None:
        for name, sub in group.commands.items():
            path = f"{prefix} {name}"
            if isinstance(sub, TyperGroup):
                lines.append(f"## `{path}`\n\n{(sub.help or '').strip()}\n")
                walk(sub, path)
                continue
            args = " ".join(
                (p.name or "").upper() for p in sub.params if isinstance(p, TyperArgument)
            )
            lines.append(
                f"### `{path}{' ' + args if args else ''}`\n\n{(sub.help or '').strip()}\n"
            )
            options = [p for p in sub.params if isinstance(p, TyperOption) and p.name != "help"]
            for option in options:
                lines.append(f"- `{' / '.join(option.opts)}`: {option.help}")
            if options:
                lines.append("")

    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    walk(root, "sendwell")
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    (DOCS / "settings.md").write_text(settings_markdown(), encoding="utf-8")
    (DOCS / "cli.md").write_text(cli_markdown(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
