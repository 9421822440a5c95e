"""``sendwell templates``: the template library (templates and layouts)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import cast

import typer
from rich.markup import escape
from rich.table import Table

from sendwell.campaigns.preview import preview_template
from sendwell.cli import context
from sendwell.cli.content_options import print_warnings, read_source
from sendwell.cli.context import err, out
from sendwell.content.formats import Format, format_of_path, parse_format
from sendwell.content.library import (
    TemplateDraft,
    add_template,
    delete_template,
    get_template,
    list_templates,
    update_template,
)
from sendwell.content.shipped import examples, install_example
from sendwell.content.validate import TemplateKind
from sendwell.errors import InvalidInput

templates_app = typer.Typer(
    help="The template library: templates and layouts, checked when saved.",
    no_args_is_help=True,
)


def _format(given: str | None, path: Path) -> Format:
    if given is not None:
        return parse_format(given)
    found = format_of_path(path.name)
    if found is None:
        raise InvalidInput(f"cannot tell the format of {path.name}; give --format")
    return found


def _kind(value: str) -> TemplateKind:
    if value not in ("template", "layout"):
        raise InvalidInput(f"unknown kind {value!r}; use template or layout")
    return cast(TemplateKind, value)


@templates_app.command("add")
def add(
    name: str | None = typer.Argument(None, help="Name of the new template."),
    body: Path | None = typer.Option(
        None, help="Body file: HTML, Markdown or MJML (the format follows the extension)."
    ),
    fmt: str | None = typer.Option(None, "--format", help="html, markdown or mjml."),
    subject: str = typer.Option("", help="Subject line (a template)."),
    text: Path | None = typer.Option(None, help="Text version; made from the HTML if absent."),
    layout: str | None = typer.Option(None, help="Layout from the library to wrap it in."),
    kind: str = typer.Option("template", help="template, or layout (with one {{ content }} slot)."),
    description: str = typer.Option("", help="What the template is for."),
    example: str | None = typer.Option(
        None, help="Add a shipped example instead (see `sendwell templates examples`)."
    ),
) -> None:
    """Add a template or layout, checked first: errors (with line numbers) refuse it."""
    with context.opened() as a, a.engine.begin() as conn:
        if example is not None:
            if body is not None or text is not None or subject or layout or description:
                raise InvalidInput("--example takes only a NAME to add the example under")
            saved = install_example(conn, example, now=a.clock.now(), as_name=name)
        else:
            if name is None or body is None:
                raise InvalidInput("give a NAME and --body FILE (or --example NAME)")
            draft = TemplateDraft(
                name=name, kind=_kind(kind), format=_format(fmt, body), subject=subject,
                body=read_source(body), text=read_source(text) if text else None,
                layout=layout, description=description,
            )  # fmt: skip
            saved = [add_template(conn, draft, now=a.clock.now())]
    for s in saved:
        print_warnings(s.warnings)
        t = s.template
        out.print(f"{t.kind} {escape(t.name)} added ({t.format}, id {t.id})")


@templates_app.command("ls")
def ls(
    kind: str | None = typer.Option(None, help="Only templates, or only layouts."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (without the sources)."),
) -> None:
    """List the library."""
    with context.opened() as a, a.engine.connect() as conn:
        rows = list_templates(conn, kind=_kind(kind) if kind else None)
    if as_json:
        keep = ("id", "name", "kind", "format", "subject", "layout", "description", "version",
                "created_at", "updated_at")  # fmt: skip
        print(json.dumps([{k: v for k, v in t.as_json().items() if k in keep} for t in rows]))
        return
    table = Table("id", "name", "kind", "format", "layout", "version", "updated", "subject")
    for t in rows:
        table.add_row(
            str(t.id), escape(t.name), t.kind, t.format, escape(t.layout or ""), str(t.version),
            t.updated_at.isoformat(" ", "seconds"), escape(t.subject),
        )  # fmt: skip
    out.print(table)


@templates_app.command("show")
def show(
    name: str = typer.Argument(..., help="Template name or id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON, sources included."),
) -> None:
    """Show a template's details and sources."""
    with context.opened() as a, a.engine.connect() as conn:
        t = get_template(conn, name)
    if as_json:
        print(json.dumps(t.as_json()))
        return
    header = [
        f"{t.kind} {t.name} (id {t.id}, version {t.version}, {t.format})",
        f"subject: {t.subject}" if t.kind == "template" else "",
        f"layout: {t.layout}" if t.layout else "",
        f"description: {t.description}" if t.description else "",
    ]
    text = "\n".join(h for h in header if h) + f"\n\n--- body ---\n{t.body.rstrip()}\n"
    if t.text is not None:
        text += f"\n--- text ---\n{t.text.rstrip()}\n"
    sys.stdout.write(text)


@templates_app.command("edit")
def edit(
    name: str = typer.Argument(..., help="Template name or id."),
    body: Path | None = typer.Option(None, help="Replace the body with this file."),
    fmt: str | None = typer.Option(None, "--format", help="html, markdown or mjml."),
    subject: str | None = typer.Option(None, help="New subject line."),
    text: Path | None = typer.Option(None, help="Replace the text version with this file."),
    no_text: bool = typer.Option(False, "--no-text", help="Drop the text version."),
    layout: str | None = typer.Option(None, help="Use this layout."),
    no_layout: bool = typer.Option(False, "--no-layout", help="Use no layout."),
    description: str | None = typer.Option(None, help="New description."),
    rename: str | None = typer.Option(None, help="New name."),
) -> None:
    """Change a template (checked like a new one); campaigns made from it keep their copy."""
    if text is not None and no_text:
        raise InvalidInput("give --text or --no-text, not both")
    if layout is not None and no_layout:
        raise InvalidInput("give --layout or --no-layout, not both")
    with context.opened() as a, a.engine.begin() as conn:
        current = get_template(conn, name)
        draft = current.draft()
        if body is not None:
            draft = replace(draft, body=read_source(body), format=_format(fmt, body))
        elif fmt is not None:
            draft = replace(draft, format=parse_format(fmt))
        if text is not None or no_text:
            draft = replace(draft, text=read_source(text) if text is not None else None)
        if layout is not None or no_layout:
            draft = replace(draft, layout=layout)
        if subject is not None:
            draft = replace(draft, subject=subject)
        if description is not None:
            draft = replace(draft, description=description)
        if rename is not None:
            draft = replace(draft, name=rename)
        if draft == current.draft():
            raise InvalidInput("nothing to change; see --help")
        saved = update_template(conn, current.id, draft, now=a.clock.now())
    print_warnings(saved.warnings)
    t = saved.template
    out.print(f"{t.kind} {escape(t.name)} saved (version {t.version})")


@templates_app.command("rm")
def rm(name: str = typer.Argument(..., help="Template name or id.")) -> None:
    """Delete a template, or a layout no template uses (campaigns keep their copies)."""
    with context.opened() as a, a.engine.begin() as conn:
        t = delete_template(conn, name)
    out.print(f"{t.kind} {escape(t.name)} deleted")


@templates_app.command("preview")
def preview(
    name: str = typer.Argument(..., help="Template name or id."),
    as_email: str | None = typer.Option(
        None, "--as", help="Personalize for this subscriber (default: a sample subscriber)."
    ),
    html: bool = typer.Option(False, "--html", help="Print only the HTML."),
    text: bool = typer.Option(False, "--text", help="Print only the text."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file."),
) -> None:
    """Render a template with sample (or a subscriber's) data and the sender settings."""
    if html and text:
        raise InvalidInput("give --html or --text, not both")
    with context.opened() as a, a.engine.connect() as conn:
        rendered = preview_template(
            conn, get_template(conn, name), email_address=as_email,
            sender=a.sender_defaults(), public_url=a.settings.public_url,
            secret_key=a.secret_key(),
        )  # fmt: skip
    if html:
        result = rendered.html
    elif text:
        result = rendered.text or ""
    else:
        result = f"Subject: {rendered.subject}\n\n{rendered.text or ''}"
    if output is None:
        sys.stdout.write(result if result.endswith("\n") else result + "\n")
    else:
        output.write_text(result, encoding="utf-8")
        err.print(f"wrote {output}", markup=False)


@templates_app.command("examples")
def list_examples() -> None:
    """List the example templates shipped with sendwell (add one with --example)."""
    table = Table("name", "kind", "format", "layout", "description")
    for e in examples():
        d = e.draft
        table.add_row(e.name, d.kind, d.format, d.layout or "", escape(d.description))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(templates_app, name="templates")
