"""The template library: named templates and layouts, checked when they are saved.

Store functions take a ``Connection`` and ``now`` and return typed records, so the CLI
and the web API share them. Saving runs every check of ``content.validate`` against a
sample built from real subscribers (:func:`attribute_samples`): errors refuse the save
(:class:`TemplateError` listing each with its line), warnings come back with the saved
record. Saving a layout re-checks every template that uses it, so a layout change cannot
silently break them.

Campaigns never point at a library template: they copy its sources when created
(``campaigns.content``), so editing or deleting a template changes no campaign.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from sendwell.content.compile import ContentSource, Layout, compile_content
from sendwell.content.formats import FORMATS, Format
from sendwell.content.validate import Problem, TemplateCheck, TemplateKind, check_content
from sendwell.errors import ConflictError, InvalidInput, NotFound, TemplateError
from sendwell.store.schema import subscribers
from sendwell.store.schema_content import templates

MAX_SOURCE_CHARS = 1_000_000
SAMPLE_SUBSCRIBERS = 1000
KINDS: tuple[TemplateKind, ...] = ("template", "layout")


@dataclass(frozen=True)
class TemplateDraft:
    """A template as an author submits it (new, or the whole of an edited one)."""

    name: str
    kind: TemplateKind = "template"
    format: Format = "html"
    subject: str = ""
    body: str = ""
    text: str | None = None
    layout: str | None = None  # the name of a layout in the library
    description: str = ""


@dataclass(frozen=True)
class TemplateRecord:
    id: int
    name: str
    kind: TemplateKind
    format: Format
    subject: str
    body: str
    text: str | None
    layout: str | None
    description: str
    version: int
    created_at: datetime
    updated_at: datetime

    def draft(self) -> TemplateDraft:
        """This template as a draft, to change with ``dataclasses.replace`` and save."""
        return TemplateDraft(
            self.name, self.kind, self.format, self.subject, self.body, self.text,
            self.layout, self.description,
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["updated_at"] = self.updated_at.isoformat()
        return data


@dataclass(frozen=True)
class Saved:
    template: TemplateRecord
    warnings: tuple[Problem, ...]


def attribute_samples(conn: Connection, *, limit: int = SAMPLE_SUBSCRIBERS) -> dict[str, Any]:
    """Custom attributes of the newest subscribers, each with a value actually seen."""
    samples: dict[str, Any] = {}
    rows = conn.execute(
        select(subscribers.c.attributes).order_by(subscribers.c.id.desc()).limit(limit)
    )
    for (attributes,) in rows:
        for key, value in (attributes or {}).items():
            if value not in (None, "") and key not in samples:
                samples[key] = value
    return samples


def get_template(conn: Connection, ref: str | int) -> TemplateRecord:
    """A template or layout by name, or by id (an int, or a string of digits)."""
    cond = (
        templates.c.id == int(ref)
        if isinstance(ref, int) or ref.isdigit()
        else templates.c.name == ref.strip()
    )
    row = conn.execute(select(templates).where(cond)).first()
    if row is None:
        raise NotFound(f"no template {ref}")
    return _record(conn, row._mapping)


def list_templates(conn: Connection, *, kind: TemplateKind | None = None) -> list[TemplateRecord]:
    query = select(templates).order_by(templates.c.kind.desc(), templates.c.name)
    if kind is not None:
        query = query.where(templates.c.kind == kind)
    return [_record(conn, row._mapping) for row in conn.execute(query)]


def template_page(
    conn: Connection, *, limit: int, after: int = 0, kind: TemplateKind | None = None
) -> list[TemplateRecord]:
    """Templates and layouts by id after ``after``, at most ``limit`` (keyset pages)."""
    query = select(templates).where(templates.c.id > after).order_by(templates.c.id).limit(limit)
    if kind is not None:
        query = query.where(templates.c.kind == kind)
    return [_record(conn, row._mapping) for row in conn.execute(query)]


def layout_of(conn: Connection, template: TemplateRecord) -> Layout | None:
    """The sources of the layout a template names (None when it names none)."""
    if template.layout is None:
        return None
    return as_layout(get_template(conn, template.layout))


def as_layout(record: TemplateRecord) -> Layout:
    if record.kind != "layout":
        raise InvalidInput(f"{record.name} is a template, not a layout")
    return Layout(record.name, record.format, record.body, record.text)


def content_source(
    conn: Connection, template: TemplateRecord, *, subject: str | None = None
) -> ContentSource:
    """What a campaign made from ``template`` copies (``subject`` overrides its own)."""
    if template.kind != "template":
        raise InvalidInput(f"{template.name} is a layout; campaigns are made from templates")
    return ContentSource(
        format=template.format,
        subject=template.subject if subject is None else subject,
        body=template.body,
        text=template.text,
        layout=layout_of(conn, template),
    )


def add_template(conn: Connection, draft: TemplateDraft, *, now: datetime) -> Saved:
    """Check and store a new template or layout."""
    if conn.execute(select(templates.c.id).where(templates.c.name == draft.name)).first():
        raise ConflictError(f"a template named {draft.name} already exists")
    layout_id, warnings = _check(conn, draft, None)
    new_id = conn.execute(
        insert(templates).values(**_values(draft, layout_id), version=1, created_at=now,
                                 updated_at=now)
    ).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
    return Saved(get_template(conn, int(new_id)), warnings)


def update_template(
    conn: Connection, ref: str | int, draft: TemplateDraft, *, now: datetime
) -> Saved:
    """Replace a template's fields with ``draft`` (checked first); its version goes up."""
    current = get_template(conn, ref)
    if draft.kind != current.kind:
        raise InvalidInput(f"{current.name} is a {current.kind}; its kind cannot change")
    if (
        draft.name != current.name
        and conn.execute(select(templates.c.id).where(templates.c.name == draft.name)).first()
    ):
        raise ConflictError(f"a template named {draft.name} already exists")
    layout_id, warnings = _check(conn, draft, current.id)
    conn.execute(
        update(templates)
        .where(templates.c.id == current.id)
        .values(**_values(draft, layout_id), version=current.version + 1, updated_at=now)
    )
    return Saved(get_template(conn, current.id), warnings)


def delete_template(conn: Connection, ref: str | int) -> TemplateRecord:
    """Delete a template, or a layout no template uses; campaigns keep their copies."""
    record = get_template(conn, ref)
    users = _users_of(conn, record.id)
    if users:
        raise ConflictError(
            f"layout {record.name} is used by {', '.join(users)}; change or delete those first"
        )
    conn.execute(delete(templates).where(templates.c.id == record.id))
    return record


def _users_of(conn: Connection, layout_id: int) -> list[str]:
    return list(
        conn.execute(
            select(templates.c.name)
            .where(templates.c.layout_id == layout_id)
            .order_by(templates.c.name)
        ).scalars()
    )


def _values(draft: TemplateDraft, layout_id: int | None) -> dict[str, Any]:
    return {
        "name": draft.name, "kind": draft.kind, "format": draft.format,
        "subject": draft.subject, "body": draft.body, "text_body": draft.text,
        "layout_id": layout_id, "description": draft.description,
    }  # fmt: skip


def check_draft(conn: Connection, draft: TemplateDraft) -> TemplateCheck:
    """Every error and warning of ``draft``'s content, without saving it (an editor's live
    check). Its name is not judged; a malformed draft (no body, a layout in Markdown...)
    raises :class:`InvalidInput` and a layout it names must exist (:class:`NotFound`)."""
    _check_shape(draft)
    layout = as_layout(get_template(conn, draft.layout)) if draft.layout is not None else None
    return check_content(
        kind=draft.kind, fmt=draft.format, subject=draft.subject, body=draft.body,
        text=draft.text, layout=layout, attributes=attribute_samples(conn),
    )  # fmt: skip


def _check(
    conn: Connection, draft: TemplateDraft, self_id: int | None
) -> tuple[int | None, tuple[Problem, ...]]:
    """Refuse a draft with errors; the layout's id and the warnings otherwise."""
    _check_name(draft.name)
    check = check_draft(conn, draft)
    check.raise_for_errors()
    layout_id = get_template(conn, draft.layout).id if draft.layout is not None else None
    if draft.kind == "layout" and self_id is not None:
        _check_dependents(conn, self_id, Layout(draft.name, draft.format, draft.body, draft.text))
    return layout_id, tuple(check.warnings)


def _check_dependents(conn: Connection, layout_id: int, layout: Layout) -> None:
    broken = []
    for row in conn.execute(select(templates).where(templates.c.layout_id == layout_id)):
        m = row._mapping
        source = ContentSource(m["format"], m["subject"], m["body"], m["text_body"], layout)
        try:
            compile_content(source)
        except TemplateError as exc:
            broken.append(f"{m['name']}: {exc}")
    if broken:
        raise TemplateError(f"layout {layout.name} would break {'; '.join(broken)}")


def _check_name(name: str) -> None:
    if not name or name != name.strip() or len(name) > 200 or name.isdigit() or "\x00" in name:
        raise InvalidInput(
            f"template name {name!r}: 1 to 200 characters, no surrounding spaces, not only "
            "digits (numbers are ids)"
        )


def _check_shape(draft: TemplateDraft) -> None:
    name = draft.name or "the template"
    if draft.kind not in KINDS:
        raise InvalidInput(f"unknown kind {draft.kind!r}; use template or layout")
    if draft.format not in FORMATS:
        raise InvalidInput(f"unknown format {draft.format!r}; use {', '.join(FORMATS)}")
    for part, value in (("body", draft.body), ("text", draft.text or ""),
                        ("subject", draft.subject)):  # fmt: skip
        if len(value) > MAX_SOURCE_CHARS:
            raise InvalidInput(f"{name}: the {part} is longer than {MAX_SOURCE_CHARS} characters")
        if "\x00" in value:
            raise InvalidInput(f"{name}: the {part} contains a NUL character")
    if not draft.body.strip():
        raise InvalidInput(f"{name}: the body is empty")
    if draft.kind == "layout":
        if draft.format == "markdown":
            raise InvalidInput(f"{name}: a layout is written in HTML or MJML, not Markdown")
        if draft.layout is not None:
            raise InvalidInput(f"{name}: a layout cannot have a layout of its own")
        if draft.subject:
            raise InvalidInput(f"{name}: a layout has no subject (campaigns and templates do)")


def _record(conn: Connection, m: RowMapping) -> TemplateRecord:
    layout = None
    if m["layout_id"] is not None:
        layout = conn.execute(
            select(templates.c.name).where(templates.c.id == m["layout_id"])
        ).scalar_one()
    return TemplateRecord(
        id=int(m["id"]), name=m["name"], kind=cast(TemplateKind, m["kind"]),
        format=cast(Format, m["format"]), subject=m["subject"], body=m["body"],
        text=m["text_body"], layout=layout, description=m["description"],
        version=int(m["version"]), created_at=m["created_at"], updated_at=m["updated_at"],
    )  # fmt: skip
