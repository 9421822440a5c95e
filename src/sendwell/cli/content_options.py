"""What the content commands share: reading source files, and turning the content options
of ``campaigns create`` / ``campaigns edit`` into a :class:`ContentSource`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from sendwell.campaigns.content import content_from
from sendwell.cli.context import err
from sendwell.content.compile import ContentSource
from sendwell.content.formats import Format
from sendwell.content.library import TemplateRecord
from sendwell.content.validate import Problem
from sendwell.errors import InvalidInput


def read_source(path: Path) -> str:
    """A template file's text; a clear error when it is missing or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"template file {path} does not exist") from None
    except IsADirectoryError:
        raise InvalidInput(f"template file {path} is a directory") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"template file {path} is not UTF-8 text") from None


def body_option(
    html: Path | None, markdown: Path | None, mjml: Path | None
) -> tuple[Format, str] | None:
    """The one body file given (with its format), or None when none is."""
    options: list[tuple[Format, Path | None]] = [
        ("html", html), ("markdown", markdown), ("mjml", mjml)
    ]  # fmt: skip
    given = [(fmt, path) for fmt, path in options if path is not None]
    if len(given) > 1:
        raise InvalidInput("give one of --html, --markdown, --mjml")
    if not given:
        return None
    fmt, path = given[0]
    assert path is not None
    return fmt, read_source(path)


def new_content(
    conn: Connection,
    *,
    subject: str | None,
    body: tuple[Format, str] | None,
    template: str | None,
    text: Path | None,
    layout: str | None,
) -> tuple[ContentSource, TemplateRecord | None]:
    """Content for a new campaign: from a library template, or from files."""
    if (body is None) == (template is None):
        raise InvalidInput(
            "give the content with exactly one of --template, --html, --markdown, --mjml"
        )
    return content_from(
        conn, template=template, body=body, subject=subject,
        text=read_source(text) if text is not None else None, layout=layout,
    )  # fmt: skip


def print_warnings(warnings: tuple[Problem, ...] | list[Problem]) -> None:
    for problem in warnings:
        err.print(f"warning: {problem}", markup=False)
