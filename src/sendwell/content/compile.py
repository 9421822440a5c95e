"""Campaign content compiled once: format → HTML, layout applied, CSS inlined.

The order of operations is what keeps the per-recipient cost where it was::

    body (html | markdown | mjml) ──protect Jinja──► Markdown → HTML
          └── spliced into the layout's {{ content }} slot (textually, before anything
              else, so the layout's styles reach the content) ──► MJML → HTML
              ──► CSS inlined ──► Jinja put back ──► one HTML *Jinja template*

All of that runs when content is saved (a campaign created or edited), never per
recipient: each message is then one Jinja render of plain HTML, as before. Because Jinja
runs *after* conversion, personal data is never parsed as Markdown or MJML (a subscriber
named ``*Ann*`` stays ``*Ann*``), and Jinja output is HTML-escaped as usual.

A layout is a template of kind ``layout`` (HTML or MJML) with exactly one
``{{ content }}`` slot; MJML content needs an MJML layout and is then a fragment of body
elements (``mj-section``...), not a whole ``<mjml>`` document. HTML and Markdown content
can fill an MJML layout whose slot sits inside ``mj-text`` or ``mj-raw``.

The text part: the content's own text version, placed in the layout's text version (or,
when the layout has none, in a text made from the layout's HTML); with no text version at
all, ``None`` — the builder then derives one from the compiled HTML once per campaign.

Limits: Jinja markup must sit in text, in attribute values or between elements (see
``content.protect``); ``{% include %}``/``{% extends %}`` are not available (templates are
self-contained strings).
"""

from __future__ import annotations

from dataclasses import dataclass

from sendwell.content.formats import Format, is_mjml_document, markdown_to_html, mjml_to_html
from sendwell.content.inline import inline_css, needs_inlining
from sendwell.content.protect import SLOT, Placeholders
from sendwell.content.templates import compile_template, derive_text_source
from sendwell.errors import TemplateError


@dataclass(frozen=True)
class Layout:
    """A layout's sources, as a campaign keeps them."""

    name: str
    format: Format
    body: str
    text: str | None = None


@dataclass(frozen=True)
class ContentSource:
    """What an author wrote: the subject, the body in its format, an optional text
    version and an optional layout."""

    format: Format
    subject: str
    body: str
    text: str | None = None
    layout: Layout | None = None


@dataclass(frozen=True)
class CompiledContent:
    """Jinja templates ready for per-recipient rendering (``content.templates``)."""

    subject: str
    html: str
    text: str | None


def compile_content(source: ContentSource) -> CompiledContent:
    """Compile ``source``; raises :class:`TemplateError` naming the part and line."""
    html = compile_html(source.format, source.body, source.layout)
    text = compile_text(source.text, source.layout)
    compile_template(source.subject, html, text)  # the result must compile as Jinja
    return CompiledContent(subject=source.subject, html=html, text=text)


def compile_html(fmt: Format, body: str, layout: Layout | None = None) -> str:
    """The HTML Jinja template for ``body`` (in its format) inside ``layout``."""
    ph = Placeholders()
    steps: list[str] = []
    if fmt == "markdown":
        protected = markdown_to_html(ph.protect_markdown(body, "body"))
        steps.append("Markdown conversion")
    else:
        protected = ph.protect_html(body, "body")
    doc_format: Format = "mjml" if fmt == "mjml" else "html"
    if layout is not None:
        _check_pairing(fmt, body, layout)
        protected = ph.splice(
            ph.protect_html(layout.body, f"layout {layout.name}", slot=True), protected
        )
        doc_format = layout.format
    if doc_format == "mjml":
        protected = mjml_to_html(protected)
        steps.append("MJML compilation")
    if needs_inlining(protected):
        protected = inline_css(protected)
        steps.append("CSS inlining")
    return ph.restore(protected, step=" and ".join(steps) or "conversion")


def compile_text(text: str | None, layout: Layout | None) -> str | None:
    """The text Jinja template: the content's text inside the layout's, or None."""
    if text is None or layout is None:
        return text
    if layout.text is not None:
        if len(SLOT.findall(layout.text)) != 1:
            raise TemplateError(
                f"layout {layout.name}: its text version needs exactly one {{{{ content }}}}"
            )
        return SLOT.sub(lambda _: text, layout.text, count=1)
    frame = layout_text_frame(layout)
    if frame is None:
        raise TemplateError(
            f"layout {layout.name} has no text version and one cannot be made from its "
            "HTML (Jinja markup inside tags); give the layout a text version"
        )
    before, after = frame
    return before + text + after


def layout_text_frame(layout: Layout) -> tuple[str, str] | None:
    """The text made from a layout's HTML, split at its slot (None when not possible)."""
    ph = Placeholders()
    protected = ph.protect_html(layout.body, f"layout {layout.name}", slot=True)
    if protected.count(ph.slot) != 1:
        raise TemplateError(f"layout {layout.name}: it needs exactly one {{{{ content }}}} slot")
    if layout.format == "mjml":
        protected = mjml_to_html(protected)
    html = ph.restore(protected, step="MJML compilation")
    source = derive_text_source(html)
    if source is None or source.count(ph.slot) != 1:
        return None
    before, _, after = source.partition(ph.slot)
    return before, after


def _check_pairing(fmt: Format, body: str, layout: Layout) -> None:
    if fmt == "mjml" and layout.format != "mjml":
        raise TemplateError(
            f"MJML content needs an MJML layout; layout {layout.name} is {layout.format}"
        )
    if fmt == "mjml" and is_mjml_document(body):
        raise TemplateError(
            "MJML content inside a layout is a fragment of body elements (mj-section, "
            "mj-wrapper...), not a whole <mjml> document"
        )
