"""The example templates shipped in ``content/examples/``, and installing them.

``examples.toml`` lists each example (kind, format, subject, layout, description) and
names its files. They are starting points that pass preflight as they are: every one
carries the compliance footer (who sends, why you get it, an unsubscribe link, the
postal address), reads as plain, calm prose (no capitals, no exclamation marks, no
image-only blocks) and has a text part.
"""

from __future__ import annotations

import importlib.resources
import tomllib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, select

from sendwell.content.formats import Format
from sendwell.content.library import Saved, TemplateDraft, add_template
from sendwell.content.validate import TemplateKind
from sendwell.errors import ConflictError, NotFound
from sendwell.store.schema_content import templates

_FOLDER = "examples"


@dataclass(frozen=True)
class Example:
    name: str
    draft: TemplateDraft

    @property
    def description(self) -> str:
        return self.draft.description


def _read(name: str) -> str:
    resource = importlib.resources.files("sendwell.content") / _FOLDER / name
    return resource.read_text(encoding="utf-8")


def examples() -> list[Example]:
    """Every shipped example, layouts first."""
    manifest: dict[str, Any] = tomllib.loads(_read("examples.toml"))
    found = []
    for name, entry in manifest.items():
        draft = TemplateDraft(
            name=name,
            kind=cast(TemplateKind, entry.get("kind", "template")),
            format=cast(Format, entry["format"]),
            subject=entry.get("subject", ""),
            body=_read(entry["body"]),
            text=_read(entry["text"]) if "text" in entry else None,
            layout=entry.get("layout"),
            description=entry.get("description", ""),
        )
        found.append(Example(name, draft))
    return sorted(found, key=lambda e: (e.draft.kind != "layout", e.name))


def example(name: str) -> Example:
    for candidate in examples():
        if candidate.name == name:
            return candidate
    names = ", ".join(e.name for e in examples())
    raise NotFound(f"no example template {name!r}; the examples are {names}")


def install_example(
    conn: Connection, name: str, *, now: datetime, as_name: str | None = None
) -> list[Saved]:
    """Add an example to the library (first its layout, unless a layout of that name is
    there already); returns what was added."""
    chosen = example(name)
    added = []
    layout = chosen.draft.layout
    if layout is not None:
        kind = conn.execute(select(templates.c.kind).where(templates.c.name == layout)).scalar()
        if kind is None:
            added.append(add_template(conn, example(layout).draft, now=now))
        elif kind != "layout":
            raise ConflictError(f"{layout} exists and is not a layout; rename it first")
    draft = chosen.draft
    if as_name is not None:
        draft = replace(draft, name=as_name)
    added.append(add_template(conn, draft, now=now))
    return added
