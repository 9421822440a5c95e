"""Authoring formats: Markdown and MJML to HTML.

* **Markdown** through markdown-it-py: CommonMark plus tables and strikethrough, raw HTML
  allowed (authors mix in a button or an image with a width). No typographic
  replacements and no bare-URL linking: what is written is what is sent.
* **MJML** through mrml, a Rust implementation of MJML 4. Includes (``mj-include``) are
  refused, so a template can never read a file of the server; web fonts are only imported
  when the template declares them with ``mj-font`` (MJML's default font list would
  otherwise pull Google Fonts into every message, a tracking request per open).

Both run once per campaign (and when a template is saved), never per recipient; the
caller protects Jinja markup first (see ``content.protect``).

Limits: mrml follows MJML 4 but not every component and attribute of the JavaScript
implementation (it accepts unknown elements and invalid attribute values silently);
``mj-style inline="inline"`` is served by sendwell's CSS inlining step instead.
"""

from __future__ import annotations

import re
from typing import Literal

import mrml
from markdown_it import MarkdownIt

from sendwell.errors import TemplateError

Format = Literal["html", "markdown", "mjml"]
FORMATS: tuple[Format, ...] = ("html", "markdown", "mjml")

_markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_MJML_POSITION = re.compile(r"\s*at position (\d+):(\d+)")


def parse_format(value: str) -> Format:
    """The format named ``value``; InvalidInput (a TemplateError) when there is none."""
    low = value.strip().lower()
    for fmt in FORMATS:
        if low == fmt:
            return fmt
    raise TemplateError(f"unknown format {value!r}; use one of {', '.join(FORMATS)}")


def format_of_path(name: str) -> Format | None:
    """The format a file name's extension implies, if any."""
    low = name.lower()
    if low.endswith((".md", ".markdown")):
        return "markdown"
    if low.endswith(".mjml"):
        return "mjml"
    if low.endswith((".html", ".htm")):
        return "html"
    return None


def markdown_to_html(source: str) -> str:
    return str(_markdown.render(source))


def is_mjml_document(source: str) -> bool:
    """True for a whole ``<mjml>`` document, False for a fragment of body elements."""
    return re.match(r"\s*(?:<!--.*?-->\s*)*<mjml[\s>]", source, re.DOTALL) is not None


def mjml_to_html(source: str) -> str:
    """Compile an MJML document; a fragment of body elements is wrapped in one first.

    Errors name the line mrml points at (placeholders keep line breaks out of the text,
    so the line is the author's unless a Jinja construct before it spans several lines).
    """
    if not is_mjml_document(source):
        source = f"<mjml><mj-body>{source}</mj-body></mjml>"
        offset = len("<mjml><mj-body>")
    else:
        offset = 0
    try:
        output = mrml.to_html(
            source,
            parser_options=mrml.ParserOptions(include_loader=mrml.noop_loader()),
            render_options=mrml.RenderOptions(fonts={}),
        )
    except (OSError, ValueError, RuntimeError) as exc:
        message = str(exc)
        where = ""
        m = _MJML_POSITION.search(message)
        if m is not None:
            message = message[: m.start()] + message[m.end() :]
            # mrml counts bytes; map back to characters, then to the author's line.
            char = len(source.encode("utf-8")[: int(m.group(1))].decode("utf-8", "ignore"))
            char = max(0, char - offset)
            where = f", line {source.count(chr(10), offset, offset + char) + 1}"
        raise TemplateError(f"MJML{where}: {message}") from None
    return str(output.content)
