"""The campaign wizard's second step and the tools around a campaign's message.

* **Content** (drafts): the editor of ``web.editor`` on the campaign's own copy — subject,
  format, layout, body, text version — with the live check and the sandboxed preview
  personalized for any subscriber, with the campaign's sender identity; saving checks it
  like ``sendwell campaigns edit``. The content can also be replaced with a copy of a
  library template. A layout the campaign already holds keeps its copy unless another
  layout is chosen (the library's may have changed since).
* **Preview**: the exact message a subscriber would receive, built by the workers'
  builder (``sendwell campaigns preview``), its HTML in the sandboxed frame.
* **Test send**: the message, marked ``[TEST]``, sent now to given addresses
  (``sendwell campaigns test``), with each address's SMTP outcome.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from sendwell.app import App
from sendwell.campaigns.content import campaign_content, content_from, edit_campaign_content
from sendwell.campaigns.preview import preview_message, sample_person
from sendwell.campaigns.service import get_campaign
from sendwell.campaigns.testsend import MAX_TEST_ADDRESSES
from sendwell.content.compile import ContentSource, Layout
from sendwell.content.library import as_layout, get_template, list_templates
from sendwell.content.templates import RenderedContent
from sendwell.content.validate import Problem
from sendwell.errors import ConflictError, InvalidInput, NotFound, TemplateError
from sendwell.web.api.common import MAX_ID
from sendwell.web.auth import check_csrf, current_session, get_app
from sendwell.web.drafts import failed, problems_of, render_campaign_draft, try_campaign_draft
from sendwell.web.editor import ContentForm, check_response, choices, content_form
from sendwell.web.preview_frame import draft_frame, error_document, frame_response
from sendwell.web.sessions import Session
from sendwell.web.templating import render

router = APIRouter()
CampaignId = Path(ge=1, le=MAX_ID)
NOT_SAVED = "The content has errors; nothing was saved."
_SEPARATORS = re.compile(r"[\s,;]+")


def _layout(conn: Connection, campaign_id: int, name: str | None) -> Layout | None:
    """The layout named in the form: the campaign's own copy when it is that one."""
    if name is None:
        return None
    kept = campaign_content(conn, campaign_id).layout
    if kept is not None and kept.name == name:
        return kept
    try:
        return as_layout(get_template(conn, name))
    except NotFound:
        raise InvalidInput(f"there is no layout {name!r} in the template library") from None


def _source(conn: Connection, campaign_id: int, form: ContentForm) -> ContentSource:
    return ContentSource(
        form.fmt(), form.subject, form.body, form.text_or_none,
        _layout(conn, campaign_id, form.layout_name),
    )  # fmt: skip


def _editor(
    request: Request, session: Session, a: App, campaign_id: int, *, form: dict[str, Any],
    problems: list[Problem] | tuple[Problem, ...] = (), error: str = "", notice: str = "",
    rendered: RenderedContent | None = None, status: int = 200,
) -> Response:  # fmt: skip
    with a.engine.connect() as conn:
        c = get_campaign(conn, campaign_id)
        content = campaign_content(conn, campaign_id)
        offered = choices(conn)
        templates = list_templates(conn, kind="template")
        person, _ = sample_person(conn, campaign_id)
    kept = content.layout
    if kept is not None and kept.name not in {name for name, _ in offered["layouts"]}:
        offered["layouts"].append((kept.name, f"{kept.format}, the campaign's copy"))
    return render(
        request, "campaign_content.html", session, status, c=c, content=content, form=form,
        problems=problems, error=error, notice=notice, templates=templates,
        preview_default=f"{person.email}, the first subscriber on its lists",
        default_email=person.email, preview_subject=rendered.subject if rendered else c.subject,
        preview_text=(rendered.text or "") if rendered else "", **offered,
    )  # fmt: skip


def _form_of(a: App, campaign_id: int) -> dict[str, Any]:
    with a.engine.connect() as conn:
        c = get_campaign(conn, campaign_id)
        content = campaign_content(conn, campaign_id)
    return {
        "kind": "template", "format": content.format, "subject": c.subject,
        "layout": content.layout.name if content.layout else "", "body": content.body,
        "text": content.text or "", "preview_as": "",
    }  # fmt: skip


@router.get("/campaigns/{campaign_id}/content")
def content_page(
    request: Request,
    campaign_id: int = CampaignId,
    saved: bool = Query(False),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    with a.engine.connect() as conn:
        source = campaign_content(conn, campaign_id).source(get_campaign(conn, campaign_id).subject)
    result = try_campaign_draft(a, campaign_id, source, None)
    return _editor(request, session, a, campaign_id, form=_form_of(a, campaign_id),
                   problems=result.problems, rendered=result.rendered,
                   notice="Content saved." if saved else "")  # fmt: skip


@router.post("/campaigns/{campaign_id}/content")
def save_content(
    request: Request,
    campaign_id: int = CampaignId,
    form: ContentForm = Depends(content_form),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    typed = {**vars(form), "kind": "template"}
    try:
        with a.engine.begin() as conn:
            edit_campaign_content(conn, campaign_id, _source(conn, campaign_id, form),
                                  now=a.clock.now())  # fmt: skip
    except TemplateError as exc:
        return _editor(request, session, a, campaign_id, form=typed, problems=problems_of(exc),
                       error=NOT_SAVED, status=422)  # fmt: skip
    except (InvalidInput, ConflictError) as exc:
        return _editor(request, session, a, campaign_id, form=typed, error=str(exc), status=422)
    return RedirectResponse(f"/admin/campaigns/{campaign_id}/content?saved=1", status_code=303)


@router.post("/campaigns/{campaign_id}/content/template")
def copy_template(
    request: Request,
    campaign_id: int = CampaignId,
    template: str = Form("", max_length=200),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    """Replace the content with a copy of a library template's (subject included)."""
    try:
        with a.engine.begin() as conn:
            source, origin = content_from(conn, template=template or None, body=None,
                                          subject=None)  # fmt: skip
            edit_campaign_content(conn, campaign_id, source, now=a.clock.now(), origin=origin)
    except (InvalidInput, ConflictError) as exc:
        return _editor(request, session, a, campaign_id, form=_form_of(a, campaign_id),
                       error=str(exc), status=422)  # fmt: skip
    return RedirectResponse(f"/admin/campaigns/{campaign_id}/content?saved=1", status_code=303)


@router.post("/campaigns/{campaign_id}/content/check")
def check(
    campaign_id: int = CampaignId,
    form: ContentForm = Depends(content_form),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    """The live check of the unsaved content (JSON for ``editor.js``)."""
    try:
        with a.engine.connect() as conn:
            source = _source(conn, campaign_id, form)
    except InvalidInput as exc:
        return check_response(failed(str(exc)))
    return check_response(try_campaign_draft(a, campaign_id, source, form.email))


@router.post("/campaigns/{campaign_id}/content/preview")
def preview_unsaved(
    campaign_id: int = CampaignId,
    form: ContentForm = Depends(content_form),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    """The unsaved content's HTML, for the sandboxed preview frame."""
    try:
        with a.engine.connect() as conn:
            source = _source(conn, campaign_id, form)
    except InvalidInput as exc:
        return error_document(str(exc))
    return draft_frame(render_campaign_draft(a, campaign_id, source, form.email))


@router.get("/campaigns/{campaign_id}/preview")
def preview_page(
    request: Request,
    campaign_id: int = CampaignId,
    as_email: str = Query("", alias="as", max_length=320),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    """The exact message a subscriber would receive (``sendwell campaigns preview``)."""
    email = as_email.strip() or None
    error = ""
    preview = None
    with a.engine.connect() as conn:
        c = get_campaign(conn, campaign_id)
        try:
            preview = preview_message(conn, a.message_builder(), campaign_id, email_address=email)
        except (NotFound, InvalidInput) as exc:
            error = str(exc)
    return render(request, "campaign_preview.html", session, 200 if not error else 422, c=c,
                  preview=preview, as_email=as_email, error=error)  # fmt: skip


@router.get("/campaigns/{campaign_id}/preview.html")
def preview_frame(
    campaign_id: int = CampaignId,
    as_email: str = Query("", alias="as", max_length=320),
    session: Session = Depends(current_session),
    a: App = Depends(get_app),
) -> Response:
    """The exact message's HTML, for the sandboxed frame."""
    with a.engine.connect() as conn:
        try:
            preview = preview_message(
                conn, a.message_builder(), campaign_id, email_address=as_email.strip() or None
            )
        except (NotFound, InvalidInput) as exc:
            return error_document(str(exc))
    return frame_response(preview.html)


@router.post("/campaigns/{campaign_id}/test")
def send_test(
    request: Request,
    campaign_id: int = CampaignId,
    to: str = Form("", max_length=10_000),
    as_email: str = Form("", max_length=320),
    session: Session = Depends(check_csrf),
    a: App = Depends(get_app),
) -> Response:
    """Send the message, marked [TEST], to the given addresses now; show each outcome."""
    addresses = [x for x in _SEPARATORS.split(to) if x]
    with a.engine.connect() as conn:
        c = get_campaign(conn, campaign_id)
    try:
        if len(addresses) > MAX_TEST_ADDRESSES:
            raise InvalidInput(f"send a test to at most {MAX_TEST_ADDRESSES} addresses")
        # FastAPI runs plain routes in a worker thread without an event loop.
        test, results = asyncio.run(
            a.send_test(campaign_id, to=addresses, as_email=as_email.strip() or None)
        )
    except (InvalidInput, NotFound) as exc:
        return render(request, "campaign_test.html", session, 422, c=c, error=str(exc),
                      results=[], personalized_for="", to=to, as_email=as_email)  # fmt: skip
    return render(request, "campaign_test.html", session, c=c, error="", results=results,
                  personalized_for=test.personalized_for, to=to, as_email=as_email)  # fmt: skip
