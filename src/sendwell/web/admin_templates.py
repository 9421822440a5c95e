"""Admin pages for the template library: the list, the shipped examples, and the editor.

The editor checks and previews as the author types (``web.editor``): problems appear
beside the source, each with a button that moves the caret to its line, and the HTML
shows in a sandboxed frame (``web.preview_frame``), personalized for any subscriber.
Saving runs the same check as ``sendwell templates add|edit``; a save with errors comes
back with the form as it was typed. Warnings of the saved template are shown on its page.
"""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from sendwell.app import App
from sendwell.content.library import (
    TemplateDraft,
    TemplateRecord,
    add_template,
    delete_template,
    get_template,
    list_templates,
)
from sendwell.content.library import update_template as save_template
from sendwell.content.shipped import examples, install_example
from sendwell.content.templates import RenderedContent
from sendwell.content.validate import Problem, TemplateKind
from sendwell.errors import ConflictError, InvalidInput, NotFound, TemplateError
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import check_csrf, current_session, get_app
from sendwell.web.drafts import failed, problems_of, render_template_draft, try_template_draft
from sendwell.web.editor import ContentForm, check_response, choices, content_form
from sendwell.web.preview_frame import draft_frame, error_document
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
TemplateId = Path(ge=1, le=MAX_ID)
NOT_SAVED = "The template has errors; nothing was saved."

STARTERS = {
    "template": """<p>Hello {{ subscriber.first_name | default("there") }},</p>
<p>Write what you have to say here.</p>
<p>{{ sender.organization }}, {{ sender.postal_address }} ·
<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
""",
    "layout": """<html>
<body>
<h1>{{ sender.organization }}</h1>
{{ content }}
<p>You receive this because you subscribed. {{ sender.organization }},
{{ sender.postal_address }} · <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</body>
</html>
""",
}


def _kind(value: str) -> TemplateKind:
    if value not in ("template", "layout"):
        raise InvalidInput(f"unknown kind {value!r}; use template or layout")
    return cast(TemplateKind, value)


def _draft(name: str, kind: str, description: str, form: ContentForm) -> TemplateDraft:
    return TemplateDraft(
        name=name.strip(), kind=_kind(kind), format=form.fmt(), subject=form.subject,
        body=form.body, text=form.text_or_none, layout=form.layout_name,
        description=description,
    )  # fmt: skip


def _form_of(t: TemplateRecord) -> dict[str, Any]:
    return {
        "name": t.name, "kind": t.kind, "description": t.description, "format": t.format,
        "subject": t.subject, "layout": t.layout or "", "body": t.body, "text": t.text or "",
        "preview_as": "",
    }  # fmt: skip


def _editor(
    request: Request, session: Session, a: App, *, template: TemplateRecord | None,
    form: dict[str, Any], problems: list[Problem] | tuple[Problem, ...] = (), error: str = "",
    notice: str = "", rendered: RenderedContent | None = None, status: int = 200,
) -> Response:  # fmt: skip
    with a.engine.connect() as conn:
        offered = choices(conn)
    if template is not None:
        # A layout cannot use itself or another layout.
        offered["layouts"] = [(n, f) for n, f in offered["layouts"] if n != template.name]
    base = f"/admin/templates/{template.id}" if template is not None else "/admin/templates"
    return render(
        request, "template.html", session, status, template=template, form=form,
        problems=problems, error=error, notice=notice, action=base,
        preview_subject=rendered.subject if rendered else form["subject"],
        preview_text=(rendered.text or "") if rendered else "",
        frame_src=f"/admin/templates/{template.id}/preview.html" if template else "",
        **offered,
    )  # fmt: skip


@router.get("/templates")
def templates_page(
    request: Request, session: Session = Depends(current_session), a: App = Depends(get_app)
) -> Response:
    with a.engine.connect() as conn:
        rows = list_templates(conn)
    have = {t.name for t in rows}
    shipped = [(e, e.name in have) for e in examples()]
    return render(request, "templates.html", session, rows=rows, shipped=shipped)


@router.post("/templates/examples/{name}")
def install(
    name: str = Path(max_length=200),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.begin() as conn:
        added = install_example(conn, name, now=a.clock.now())
    return RedirectResponse(f"/admin/templates/{added[-1].template.id}", status_code=303)


@router.get("/templates/new")
def new_template(
    request: Request,
    kind: str = Query("template", max_length=20),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    chosen = _kind(kind)
    form = {"name": "", "kind": chosen, "description": "", "format": "html", "subject": "",
            "layout": "", "body": STARTERS[chosen], "text": "", "preview_as": ""}  # fmt: skip
    return _editor(request, session, a, template=None, form=form)


@router.post("/templates")
def create(
    request: Request,
    name: str = Form("", max_length=200),
    kind: str = Form("template", max_length=20),
    description: str = Form("", max_length=10_000),
    form: ContentForm = Depends(content_form),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    typed = {**vars(form), "name": name, "kind": kind, "description": description}
    try:
        with a.engine.begin() as conn:
            saved = add_template(conn, _draft(name, kind, description, form), now=a.clock.now())
    except TemplateError as exc:
        return _editor(request, session, a, template=None, form=typed, status=422,
                       problems=problems_of(exc), error=NOT_SAVED)  # fmt: skip
    except (InvalidInput, ConflictError, NotFound) as exc:
        return _editor(request, session, a, template=None, form=typed, error=str(exc), status=422)
    return RedirectResponse(f"/admin/templates/{saved.template.id}?saved=1", status_code=303)


@router.post("/templates/check")
def check(
    name: str = Form("", max_length=200),
    kind: str = Form("template", max_length=20),
    form: ContentForm = Depends(content_form),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    """The live check of the unsaved form (JSON for ``editor.js``)."""
    try:
        draft = _draft(name, kind, "", form)
    except InvalidInput as exc:
        return check_response(failed(str(exc)))
    return check_response(try_template_draft(a, draft, form.email))


@router.post("/templates/preview")
def preview(
    name: str = Form("", max_length=200),
    kind: str = Form("template", max_length=20),
    form: ContentForm = Depends(content_form),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    """The unsaved form's HTML, for the sandboxed preview frame."""
    try:
        draft = _draft(name, kind, "", form)
    except InvalidInput as exc:
        return error_document(str(exc))
    return draft_frame(render_template_draft(a, draft, form.email))


@router.get("/templates/{template_id}")
def edit(
    request: Request,
    template_id: int = TemplateId,
    saved: bool = Query(False),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.connect() as conn:
        t = get_template(conn, template_id)
    result = try_template_draft(a, t.draft(), None)
    return _editor(request, session, a, template=t, form=_form_of(t), problems=result.problems,
                   rendered=result.rendered, notice="Template saved." if saved else "")  # fmt: skip


@router.post("/templates/{template_id}")
def update(
    request: Request,
    template_id: int = TemplateId,
    name: str = Form("", max_length=200),
    description: str = Form("", max_length=10_000),
    form: ContentForm = Depends(content_form),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.connect() as conn:
        current = get_template(conn, template_id)
    typed = {**vars(form), "name": name, "kind": current.kind, "description": description}
    try:
        with a.engine.begin() as conn:
            draft = _draft(name, current.kind, description, form)
            save_template(conn, template_id, draft, now=a.clock.now())
    except TemplateError as exc:
        return _editor(request, session, a, template=current, form=typed, status=422,
                       problems=problems_of(exc), error=NOT_SAVED)  # fmt: skip
    except (InvalidInput, ConflictError, NotFound) as exc:
        return _editor(
            request, session, a, template=current, form=typed, error=str(exc), status=422
        )
    return RedirectResponse(f"/admin/templates/{template_id}?saved=1", status_code=303)


@router.get("/templates/{template_id}/preview.html")
def saved_preview(
    template_id: int = TemplateId,
    as_email: str = Query("", alias="as", max_length=320),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    """The saved template's HTML, for the preview frame before anything is typed."""
    with a.engine.connect() as conn:
        draft = get_template(conn, template_id).draft()
    return draft_frame(render_template_draft(a, draft, as_email.strip() or None))


@router.post("/templates/{template_id}/delete")
def delete(
    template_id: int = TemplateId,
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.begin() as conn:
        delete_template(conn, template_id)
    return RedirectResponse("/admin/templates", status_code=303)
