"""CSS inlining with css-inline, once per campaign on the compiled HTML template.

Many mail clients ignore ``<style>`` blocks (or strip them when forwarding), so every rule
that can be is copied into the ``style`` attribute of the elements it matches. Rules that
cannot be inlined stay in a ``<style>`` in the head: at-rules (``@media`` queries for
small screens, ``@font-face``), and whole ``<style media="...">`` blocks, whose rules
apply only to some screens and would be wrong on every element. Styles inside Outlook's
conditional comments are not touched (comments are opaque to the inliner), and remote
stylesheets are never fetched (``<link>`` tags are left as they are).

HTML without any ``<style>`` is returned exactly as given: nothing to inline, and the
inliner's re-serialization (adding ``<html>``/``<body>``) would only change the bytes.

The input is a template source whose Jinja markup the caller has replaced with
placeholders (``content.protect``); the inliner sees plain HTML.
"""

from __future__ import annotations

import re

import css_inline

from sendwell.errors import TemplateError

_STYLE = re.compile(r"<style\b", re.IGNORECASE)
# <style media="..."> blocks are kept whole: their rules are conditional. They are set
# aside behind a comment while the inliner runs (comments pass through it untouched).
_MEDIA_STYLE = re.compile(
    r"<style\b[^>]*\bmedia\s*=[^>]*>.*?</style\s*>", re.IGNORECASE | re.DOTALL
)
_ASIDE = re.compile(r"<!--sendwell-media-(\d+)-->")
_inliner = css_inline.CSSInliner(
    keep_at_rules=True, keep_link_tags=True, load_remote_stylesheets=False
)


def needs_inlining(html: str) -> bool:
    return _STYLE.search(html) is not None


def inline_css(html: str) -> str:
    """``html`` with its stylesheet rules copied into ``style`` attributes."""
    if not needs_inlining(html):
        return html
    aside: list[str] = []

    def set_aside(m: re.Match[str]) -> str:
        aside.append(m.group())
        return f"<!--sendwell-media-{len(aside) - 1}-->"

    marked = _MEDIA_STYLE.sub(set_aside, html)
    try:
        inlined = str(_inliner.inline(marked))
    except (css_inline.InlineError, ValueError) as exc:
        raise TemplateError(f"CSS inlining failed: {exc}") from None
    return _ASIDE.sub(lambda m: aside[int(m.group(1))], inlined)
