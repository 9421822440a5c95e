"""Line numbers for keys of a TOML document, so shaping errors can name file, line and key.

``tomllib`` reports syntax errors with positions but forgets them once parsed; a value
that parses but makes no sense (``max_message_rate = "fast"``) would otherwise be reported
without a line. This scanner maps each ``key = value`` line to its table path, e.g.
``("provider", 1, "automation", 0)`` for the first ``[[provider.automation]]`` of the
second ``[[provider]]``. It handles the TOML this project writes (tables, arrays of
tables, one key per line); for anything fancier the error simply has no line number.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_ARRAY = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"^\s*(\"[^\"]+\"|[A-Za-z0-9_\-]+)\s*=")


def key_lines(text: str) -> dict[tuple[Path, str], int]:
    """``{(table path, key): line number}`` (1-based) for every key line of ``text``."""
    lines: dict[tuple[Path, str], int] = {}
    counters: dict[Path, int] = {}
    current: Path = ()

    def resolve(dotted: str, *, new_element: bool) -> Path:
        path: Path = ()
        parts = [p.strip().strip('"') for p in dotted.split(".")]
        for i, part in enumerate(parts):
            path = (*path, part)
            last = i == len(parts) - 1
            if last and new_element:
                counters[path] = counters.get(path, 0) + 1
                path = (*path, counters[path] - 1)
            elif path in counters:  # an array of tables: refer to its latest element
                path = (*path, counters[path] - 1)
        return path

    for number, line in enumerate(text.splitlines(), start=1):
        if match := _ARRAY.match(line):
            current = resolve(match.group(1), new_element=True)
        elif match := _TABLE.match(line):
            current = resolve(match.group(1), new_element=False)
        elif match := _KEY.match(line):
            lines[(current, match.group(1).strip('"'))] = number
    return lines
