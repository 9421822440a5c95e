"""Responses that show a message's HTML in the admin UI: the one place template HTML renders.

Template HTML is the author's (or an imported template's) markup; it must never run
script in the admin origin, where it could act with the signed-in user's session. The
admin pages show it in ``<iframe sandbox>`` (no ``allow-scripts``, no
``allow-same-origin``: an opaque origin that cannot script) and the document itself is
served with a policy of its own:

* ``Content-Security-Policy: sandbox`` — the same opaque, script-less origin even when the
  URL is opened directly rather than in the frame;
* ``default-src 'none'`` with inline styles allowed (mail HTML is CSS-inlined) and images
  and fonts from ``https:`` and ``data:`` only — no script, no forms, no plugins, no
  connections; plain-``http`` images are not loaded;
* ``frame-ancestors 'self'`` / ``X-Frame-Options: SAMEORIGIN`` — only sendwell's own pages
  may frame it (the admin pages themselves stay ``DENY``);
* ``Cache-Control: no-store`` — personal data of the previewed subscriber is not cached.

Why not ``srcdoc``: an ``about:srcdoc`` document inherits the admin page's policy, whose
``style-src 'self'`` would strip every inline style and show mail unstyled; loosening the
admin pages' own policy to allow it would weaken the whole UI. A separate document
carries its own, stricter-where-it-matters policy instead.

Remote images load from the admin's browser when a preview is shown, as in a mail client
that shows images.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from fastapi.responses import HTMLResponse

from sendwell.content.validate import Problem
from sendwell.web.drafts import DraftResult

FRAME_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline' https:; img-src https: data:; "
    "font-src https: data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
FRAME_HEADERS = {
    "Content-Security-Policy": FRAME_POLICY,
    "X-Frame-Options": "SAMEORIGIN",
    "Cache-Control": "no-store",
}


def frame_response(html: str, status: int = 200) -> HTMLResponse:
    """A message's HTML as a document for the preview frame."""
    return HTMLResponse(html, status_code=status, headers=FRAME_HEADERS)


def problems_document(problems: Iterable[Problem]) -> HTMLResponse:
    """What the frame shows instead of a preview while the content has errors (escaped)."""
    items = "".join(f"<li>{escape(str(p))}</li>" for p in problems if p.level == "error")
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Preview</title>'
        '</head><body style="font-family: system-ui, sans-serif; color: #a40e26">'
        f"<p>No preview while the content has errors:</p><ul>{items}</ul></body></html>"
    )
    return frame_response(page, 422)


def error_document(message: str) -> HTMLResponse:
    """The frame's error page for one problem that is not the content's (bad input)."""
    return problems_document([Problem("error", "", None, message)])


def draft_frame(result: DraftResult) -> HTMLResponse:
    """A rendered draft's HTML, or its errors while it has some."""
    if result.rendered is None:
        return problems_document(result.problems)
    return frame_response(result.rendered.html)
