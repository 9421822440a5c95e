"""What the two content editors of the admin UI share (library templates, campaign content).

Both are one form: format, subject, layout, body and text version, plus "preview as" —
the subscriber the live preview is personalized for. ``editor.js`` posts the unsaved
form to the editor's check URL (JSON: every problem with its part and line, the subject
and text as rendered) and, when there is no error, submits it to the preview frame
(``web.preview_frame``). Without script the *Preview* button does the second part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Form
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, select

from sendwell.content.formats import FORMATS, Format, parse_format
from sendwell.content.library import list_templates
from sendwell.store.schema import subscribers
from sendwell.web.drafts import DraftResult

MAX_SOURCE = 1_000_000
PEOPLE_SHOWN = 50  # subscribers offered in the "preview as" list (any address can be typed)


@dataclass(frozen=True)
class ContentForm:
    format: str
    subject: str
    layout: str  # "" for none
    body: str
    text: str  # "" for none: made from the HTML
    preview_as: str

    def fmt(self) -> Format:
        """The format; InvalidInput for one that does not exist."""
        return parse_format(self.format)

    @property
    def layout_name(self) -> str | None:
        return self.layout.strip() or None

    @property
    def text_or_none(self) -> str | None:
        return self.text if self.text.strip() else None

    @property
    def email(self) -> str | None:
        return self.preview_as.strip() or None


def content_form(
    format: str = Form("html", max_length=20),
    subject: str = Form("", max_length=998),
    layout: str = Form("", max_length=200),
    body: str = Form("", max_length=MAX_SOURCE),
    text: str = Form("", max_length=MAX_SOURCE),
    preview_as: str = Form("", max_length=320),
) -> ContentForm:
    # Browsers send textarea line breaks as CRLF; authors count lines the same either way,
    # and stored sources keep the author's own newlines.
    return ContentForm(format, subject, layout, body.replace("\r\n", "\n"),
                       text.replace("\r\n", "\n"), preview_as)  # fmt: skip


def choices(conn: Connection) -> dict[str, Any]:
    """The layouts, formats and subscribers an editor offers."""
    layouts = [(t.name, t.format) for t in list_templates(conn, kind="layout")]
    people = list(
        conn.execute(select(subscribers.c.email).order_by(subscribers.c.id).limit(PEOPLE_SHOWN))
        .scalars()
        .all()
    )
    return {"layouts": layouts, "formats": FORMATS, "people": people}


def check_response(result: DraftResult) -> JSONResponse:
    """The live check's answer: problems (errors first), and the subject and text as
    rendered when there is no error."""
    rendered = result.rendered
    return JSONResponse(
        {
            "ok": result.ok,
            "problems": [
                {"level": p.level, "part": p.part, "line": p.line, "message": p.message}
                for p in result.problems
            ],
            "subject": rendered.subject if rendered is not None else None,
            "text": (rendered.text or "") if rendered is not None else None,
            "email": result.email,
        }
    )
