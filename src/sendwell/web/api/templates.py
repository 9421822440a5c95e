"""``/api/v1/templates``: the template library (``sendwell templates``) over HTTP.

Templates and layouts in HTML, Markdown or MJML, checked when saved exactly as the CLI
checks them (``content.library``): a save with errors is refused with 422
``template_error`` whose ``problems`` list each error with its part and line; a save that
goes through answers with the template and its ``warnings`` in the same shape.

``POST /templates/preview`` checks and renders content that is not saved (for editors
that show a live preview); ``POST /templates/{id}/preview`` renders a saved template for
a named subscriber or the sample one. Shipped examples are listed under
``/templates/examples`` and added with ``POST /templates/examples/{name}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from sendwell.app import App
from sendwell.campaigns.preview import preview_template
from sendwell.content.library import (
    Saved,
    TemplateDraft,
    TemplateRecord,
    add_template,
    delete_template,
    get_template,
    template_page,
    update_template,
)
from sendwell.content.shipped import examples, install_example
from sendwell.content.templates import RenderedContent
from sendwell.errors import InvalidInput, NotFound
from sendwell.web.api.common import (
    ERRORS,
    MAX_ID,
    NO_NUL,
    Page,
    Paging,
    ProblemOut,
    next_cursor,
    paging,
    problems_out,
)
from sendwell.web.auth import get_app, require_scope
from sendwell.web.drafts import try_template_draft

router = APIRouter(tags=["templates"], responses=ERRORS)
READ = [Depends(require_scope("templates:read"))]
WRITE = [Depends(require_scope("templates:write"))]
TemplateId = Path(ge=1, le=MAX_ID)
Kind = Literal["template", "layout"]
Format = Literal["html", "markdown", "mjml"]
MAX_SOURCE = 1_000_000


class TemplateSummary(BaseModel):
    id: int
    name: str
    kind: Kind
    format: Format
    subject: str
    layout: str | None = Field(description="The name of the layout it is wrapped in.")
    description: str
    version: int = Field(description="Counts saves; campaigns record the version they copied.")
    created_at: datetime
    updated_at: datetime


class TemplateOut(TemplateSummary):
    body: str
    text: str | None = Field(description="The text version; null: made from the HTML.")


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    kind: Kind = "template"
    format: Format = "html"
    subject: str = Field("", max_length=998, pattern=NO_NUL, description="Templates only.")
    body: str = Field(min_length=1, max_length=MAX_SOURCE, pattern=NO_NUL)
    text: str | None = Field(None, max_length=MAX_SOURCE, pattern=NO_NUL)
    layout: str | None = Field(
        None, min_length=1, max_length=200, pattern=NO_NUL, description="A layout's name."
    )
    description: str = Field("", max_length=10_000, pattern=NO_NUL)

    def draft(self) -> TemplateDraft:
        return TemplateDraft(
            name=self.name, kind=self.kind, format=self.format, subject=self.subject,
            body=self.body, text=self.text, layout=self.layout, description=self.description,
        )  # fmt: skip


class SavedOut(BaseModel):
    template: TemplateOut
    warnings: list[ProblemOut] = Field(
        description="Problems that do not stop the save (a field without a fallback...)."
    )


class RenderedOut(BaseModel):
    subject: str
    html: str
    text: str


class PreviewIn(BaseModel):
    email: str | None = Field(
        None, min_length=3, max_length=320, pattern=NO_NUL,
        description="A subscriber to personalize for; default: a sample subscriber.",
    )  # fmt: skip


class DraftIn(PreviewIn):
    name: str = Field("", max_length=200, pattern=NO_NUL)
    kind: Kind = "template"
    format: Format = "html"
    subject: str = Field("", max_length=998, pattern=NO_NUL)
    body: str = Field(max_length=MAX_SOURCE, pattern=NO_NUL)
    text: str | None = Field(None, max_length=MAX_SOURCE, pattern=NO_NUL)
    layout: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)


class DraftOut(BaseModel):
    ok: bool = Field(description="False when there is an error (then preview is null).")
    problems: list[ProblemOut] = Field(description="Errors first, then warnings.")
    preview: RenderedOut | None


class ExampleOut(BaseModel):
    name: str
    kind: Kind
    format: Format
    subject: str
    layout: str | None
    description: str


class InstallIn(BaseModel):
    as_name: str | None = Field(
        None, min_length=1, max_length=200, pattern=NO_NUL,
        description="Add the example under this name (its layout keeps its own).",
    )  # fmt: skip


class InstalledOut(BaseModel):
    added: list[SavedOut] = Field(description="The example, after its layout when that was added.")


def summary(t: TemplateRecord) -> TemplateSummary:
    return TemplateSummary(
        id=t.id, name=t.name, kind=t.kind, format=t.format, subject=t.subject, layout=t.layout,
        description=t.description, version=t.version, created_at=t.created_at,
        updated_at=t.updated_at,
    )  # fmt: skip


def template_out(t: TemplateRecord) -> TemplateOut:
    return TemplateOut(**summary(t).model_dump(), body=t.body, text=t.text)


def saved_out(saved: Saved) -> SavedOut:
    return SavedOut(template=template_out(saved.template), warnings=problems_out(saved.warnings))


def rendered_out(r: RenderedContent) -> RenderedOut:
    return RenderedOut(subject=r.subject, html=r.html, text=r.text or "")


def _require_layout(a: App, name: str | None) -> None:
    """A layout named in a body that does not exist is bad input (422), not a 404."""
    if name is None:
        return
    with a.engine.connect() as conn:
        try:
            get_template(conn, name)
        except NotFound:
            raise InvalidInput(f"there is no layout named {name!r}") from None


@router.get("/templates", dependencies=READ)
def list_templates(
    page: Paging = Depends(paging),
    kind: Kind | None = Query(None, description="Only templates, or only layouts."),
    a: App = Depends(get_app),
) -> Page[TemplateSummary]:
    """The library by id, without sources (ask one template for those)."""
    with a.engine.connect() as conn:
        rows = template_page(conn, limit=page.limit, after=page.after, kind=kind)
    return Page(
        items=[summary(t) for t in rows], next_cursor=next_cursor([t.id for t in rows], page.limit)
    )


@router.post("/templates", status_code=201, dependencies=WRITE)
def post_template(body: TemplateIn, a: App = Depends(get_app)) -> SavedOut:
    """Add a template or layout; errors (each with its line) refuse it."""
    _require_layout(a, body.layout)
    with a.engine.begin() as conn:
        saved = add_template(conn, body.draft(), now=a.clock.now())
    return saved_out(saved)


@router.get("/templates/examples", dependencies=READ)
def list_examples() -> list[ExampleOut]:
    """The examples shipped with sendwell (``sendwell templates examples``)."""
    found = []
    for e in examples():
        d = e.draft
        found.append(ExampleOut(name=e.name, kind=d.kind, format=d.format, subject=d.subject,
                                layout=d.layout, description=e.description))  # fmt: skip
    return found


@router.post("/templates/examples/{name}", status_code=201, dependencies=WRITE)
def install(
    name: str = Path(max_length=200, pattern=NO_NUL),
    body: InstallIn | None = None,
    a: App = Depends(get_app),
) -> InstalledOut:
    """Add a shipped example to the library, first its layout unless one of that name is
    there (``sendwell templates add --example``)."""
    with a.engine.begin() as conn:
        added = install_example(
            conn, name, now=a.clock.now(), as_name=body.as_name if body else None
        )
    return InstalledOut(added=[saved_out(s) for s in added])


@router.post("/templates/preview", dependencies=READ)
def preview_unsaved(body: DraftIn, a: App = Depends(get_app)) -> DraftOut:
    """Check content that is not saved and, when it has no error, render it for a
    subscriber (default: a sample subscriber). Stores nothing."""
    draft = TemplateDraft(
        name=body.name, kind=body.kind, format=body.format, subject=body.subject,
        body=body.body, text=body.text, layout=body.layout,
    )  # fmt: skip
    result = try_template_draft(a, draft, body.email)
    return DraftOut(
        ok=result.ok, problems=problems_out(result.problems),
        preview=rendered_out(result.rendered) if result.rendered is not None else None,
    )  # fmt: skip


@router.get("/templates/{template_id}", dependencies=READ)
def get_one(template_id: int = TemplateId, a: App = Depends(get_app)) -> TemplateOut:
    with a.engine.connect() as conn:
        return template_out(get_template(conn, template_id))


@router.put("/templates/{template_id}", dependencies=WRITE)
def put_template(
    body: TemplateIn, template_id: int = TemplateId, a: App = Depends(get_app)
) -> SavedOut:
    """Replace a template's fields (checked like a new one); its version goes up.
    Campaigns made from it keep their copy. Its kind cannot change."""
    _require_layout(a, body.layout)
    with a.engine.begin() as conn:
        saved = update_template(conn, template_id, body.draft(), now=a.clock.now())
    return saved_out(saved)


@router.delete("/templates/{template_id}", status_code=204, dependencies=WRITE)
def delete(template_id: int = TemplateId, a: App = Depends(get_app)) -> Response:
    """Delete a template, or a layout no template uses (409 while one does)."""
    with a.engine.begin() as conn:
        delete_template(conn, template_id)
    return Response(status_code=204)


@router.post("/templates/{template_id}/preview", dependencies=READ)
def preview_saved(
    body: PreviewIn | None = None, template_id: int = TemplateId, a: App = Depends(get_app)
) -> RenderedOut:
    """A saved template rendered for a subscriber (or the sample one), with the sender
    settings and placeholder links (``sendwell templates preview``)."""
    with a.engine.connect() as conn:
        template = get_template(conn, template_id)
        rendered = preview_template(
            conn, template, email_address=body.email if body else None,
            sender=a.sender_defaults(), public_url=a.settings.public_url,
            secret_key=a.secret_key(),
        )  # fmt: skip
    return rendered_out(rendered)
