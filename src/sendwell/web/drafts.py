"""Live checks and previews of content not saved yet, for editors (API and admin UI).

An editor sends what the author has typed so far; the answer is every problem the save
would find (errors and warnings, each with its part and line) and, when there is no
error, the content rendered for a subscriber: subject, HTML and text. Nothing is stored.
The preview frame's request only renders (``render_*``): the editor asks for it after
the check found no error, so checking again would double the cost of each round; only a
rendering that fails runs the check, to list why.

Every failure becomes a problem instead of an HTTP error — a malformed draft, a layout
or subscriber that does not exist, a render that fails for the chosen subscriber only —
because half-typed content is the normal case here, not an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

from sendwell.app import App
from sendwell.campaigns.preview import preview_campaign_source, preview_draft
from sendwell.campaigns.sender import campaign_sender
from sendwell.campaigns.service import get_campaign
from sendwell.content.compile import ContentSource
from sendwell.content.library import TemplateDraft, attribute_samples, check_draft
from sendwell.content.templates import RenderedContent
from sendwell.content.validate import Problem, check_content
from sendwell.errors import InvalidInput, NotFound, TemplateError


@dataclass(frozen=True)
class DraftResult:
    problems: tuple[Problem, ...]  # errors first, then warnings
    rendered: RenderedContent | None  # None while there is an error
    email: str | None  # whom it was rendered for (None: the sample subscriber)

    @property
    def ok(self) -> bool:
        return not any(p.level == "error" for p in self.problems)


def failed(message: str) -> DraftResult:
    """A result holding one error without a line (a draft that could not be checked)."""
    return DraftResult((Problem("error", "", None, message),), None, None)


def problems_of(exc: TemplateError) -> list[Problem]:
    """The errors a refused save found, each with its part and line."""
    found = exc.problems or (("", None, str(exc)),)
    return [Problem("error", part, line, message) for part, line, message in found]


def _ordered(problems: tuple[Problem, ...] | list[Problem]) -> tuple[Problem, ...]:
    return tuple(sorted(problems, key=lambda p: p.level != "error"))


def try_template_draft(a: App, draft: TemplateDraft, email: str | None) -> DraftResult:
    """Check ``draft`` as a save would, and render it for ``email`` (or the sample)."""
    try:
        with a.engine.connect() as conn:
            check = check_draft(conn, draft)
            if check.errors:
                return DraftResult(_ordered(check.problems), None, email)
            rendered = preview_draft(
                conn, draft, email_address=email, sender=a.sender_defaults(),
                public_url=a.settings.public_url, secret_key=a.secret_key(),
            )  # fmt: skip
    except (InvalidInput, NotFound) as exc:
        return failed(str(exc))
    return DraftResult(_ordered(check.problems), rendered, email)


def render_template_draft(a: App, draft: TemplateDraft, email: str | None) -> DraftResult:
    """Only the rendering, for the preview frame: the live check has judged the draft
    already, so the common case costs one render, not a second check. When rendering
    fails, the whole check runs to say why (every problem, with its line)."""
    try:
        with a.engine.connect() as conn:
            rendered = preview_draft(
                conn, draft, email_address=email, sender=a.sender_defaults(),
                public_url=a.settings.public_url, secret_key=a.secret_key(),
            )  # fmt: skip
    except (InvalidInput, NotFound):
        return try_template_draft(a, draft, email)
    return DraftResult((), rendered, email)


def try_campaign_draft(
    a: App, campaign_id: int, source: ContentSource, email: str | None
) -> DraftResult:
    """Check a campaign's unsaved content as an edit would, and render it for ``email``
    (default: the campaign's first confirmed subscriber). The campaign must exist."""
    with a.engine.connect() as conn:
        get_campaign(conn, campaign_id)  # NotFound here is the caller's error, not a problem
        sender = campaign_sender(conn, campaign_id, a.sender_defaults())
        try:
            if not source.subject.strip():
                raise InvalidInput("a campaign needs a subject")
            check = check_content(
                kind="template", fmt=source.format, subject=source.subject, body=source.body,
                text=source.text, layout=source.layout, attributes=attribute_samples(conn),
            )  # fmt: skip
            if check.errors:
                return DraftResult(_ordered(check.problems), None, email)
            rendered, whom = preview_campaign_source(
                conn, campaign_id, source, email_address=email, sender=sender,
                public_url=a.settings.public_url, secret_key=a.secret_key(),
            )  # fmt: skip
        except (InvalidInput, NotFound) as exc:
            return failed(str(exc))
    return DraftResult(_ordered(check.problems), rendered, whom)


def render_campaign_draft(
    a: App, campaign_id: int, source: ContentSource, email: str | None
) -> DraftResult:
    """:func:`render_template_draft` for a campaign's unsaved content."""
    with a.engine.connect() as conn:
        sender = campaign_sender(conn, campaign_id, a.sender_defaults())
        try:
            rendered, whom = preview_campaign_source(
                conn, campaign_id, source, email_address=email, sender=sender,
                public_url=a.settings.public_url, secret_key=a.secret_key(),
            )  # fmt: skip
        except (InvalidInput, NotFound):
            rendered, whom = None, None
    if rendered is None:
        return try_campaign_draft(a, campaign_id, source, email)
    return DraftResult((), rendered, whom)
