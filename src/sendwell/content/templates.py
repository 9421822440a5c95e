"""Campaign templates: sandboxed Jinja2, compiled once per campaign, rendered per recipient.

Templates are written by users, so they run in Jinja2's immutable sandbox: no attribute
starting with an underscore, no access to Python internals, no mutation of the context —
with limits on time, memory and work per render (``content.sandbox``).
HTML templates autoescape, so a subscriber's name containing ``<script>`` arrives as text;
subject and text templates do not (they are not HTML).

Undefined names are errors (:class:`jinja2.StrictUndefined`) rather than empty strings,
so ``{{ subscriber.frist_name }}`` is caught when the campaign is checked, not silently
sent as "Hi ,". Missing subscriber fields are left *out* of the context instead of being
``None``, so the documented fallback idiom works::

    Hi {{ subscriber.first_name | default("there") }},
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sendwell.content.protect import CONSTRUCT
from sendwell.content.sandbox import LimitedSandbox, check_source
from sendwell.content.text import html_to_text, tidy
from sendwell.errors import TemplateError

# The sandbox bounds time, memory and work per render (content.sandbox).
_html_env = LimitedSandbox(autoescape=True, undefined=StrictUndefined)
_text_env = LimitedSandbox(autoescape=False, undefined=StrictUndefined)


@dataclass(frozen=True)
class RenderedContent:
    subject: str
    html: str
    text: str | None


@dataclass(frozen=True)
class CompiledTemplate:
    """A campaign's subject, HTML and optional text templates, compiled."""

    subject: Template
    html: Template
    text: Template | None
    text_derived: bool = False  # text was made from the HTML template: tidy after render

    def render(self, context: Mapping[str, Any]) -> RenderedContent:
        """Render for one recipient; raises :class:`TemplateError` naming part and line."""
        return RenderedContent(
            subject=_render(self.subject, context, "subject"),
            html=_render(self.html, context, "HTML"),
            text=None
            if self.text is None
            else (
                tidy(_render(self.text, context, "text"))
                if self.text_derived
                else _render(self.text, context, "text")
            ),
        )


def compile_template(
    subject: str, html: str, text: str | None = None, *, derive_text: bool = False
) -> CompiledTemplate:
    """Compile the three parts; syntax errors raise :class:`TemplateError` with the line.

    With ``derive_text`` and no text template, a text template is derived from the HTML
    *template* once (see :func:`derive_text_template`), so each recipient's text part is a
    cheap render rather than an HTML-to-text conversion of their personalized HTML.
    """
    text_template = _compile(_text_env, text, "text") if text is not None else None
    derived = False
    if text_template is None and derive_text:
        text_template = derive_text_template(html)
        derived = text_template is not None
    return CompiledTemplate(
        subject=_compile(_text_env, subject, "subject"),
        html=_compile(_html_env, html, "HTML"),
        text=text_template,
        text_derived=derived,
    )


def derive_text_template(html_source: str) -> Template | None:
    """A text template made from an HTML template, or None when that is not safe.

    Converting the *source* keeps Jinja markup intact (``{{ ... }}`` is text to the HTML
    parser, and a link ``href="{{ url }}"`` becomes ``({{ url }})``), so rendering the
    result equals converting each rendered message — but only when rendered values carry
    no markup of their own. Templates that insert raw HTML (``safe``, ``autoescape``)
    or put Jinja markup inside tags other than attribute values return None; the caller
    then converts per message.
    """
    source = derive_text_source(html_source)
    if source is None:
        return None
    try:
        return _text_env.from_string(source)
    except TemplateSyntaxError:
        return None


def derive_text_source(html_source: str) -> str | None:
    """The text template source :func:`derive_text_template` compiles, or None."""
    if any(re.search(r"\bsafe\b|autoescape", m.group()) for m in CONSTRUCT.finditer(html_source)):
        return None  # rendered values may carry markup of their own
    if re.search(r"<[^>]*\{[{%#]", re.sub(r'"[^"]*"', '""', html_source)):
        return None
    return html_to_text(html_source)


def _compile(env: ImmutableSandboxedEnvironment, source: str, part: str) -> Template:
    try:
        check_source(source, part)
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"{part} template, line {exc.lineno}: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateError(f"{part} template: not allowed: {exc}") from None
    except RecursionError:
        raise TemplateError(f"{part} template: nested too deeply") from None


def _render(template: Template, context: Mapping[str, Any], part: str) -> str:
    try:
        return template.render(context)
    except UndefinedError as exc:
        raise TemplateError(f"{part} template: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateError(f"{part} template: not allowed: {exc}") from None
    except TemplateSyntaxError as exc:  # raised lazily by some constructs
        raise TemplateError(f"{part} template, line {exc.lineno}: {exc.message}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise TemplateError(f"{part} template: {type(exc).__name__}: {exc}") from None
    except RecursionError:
        raise TemplateError(f"{part} template: recursion too deep") from None
    except MemoryError:
        raise TemplateError(f"{part} template: not allowed: out of memory") from None


def subscriber_context(
    *,
    email: str,
    first_name: str | None,
    last_name: str | None,
    attributes: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``subscriber`` object templates see; empty fields are absent, not ``None``."""
    ctx: dict[str, Any] = {k: v for k, v in attributes.items() if v not in (None, "")}
    ctx["email"] = email
    if first_name:
        ctx["first_name"] = first_name
    if last_name:
        ctx["last_name"] = last_name
    full = " ".join(p for p in (first_name, last_name) if p)
    if full:
        ctx["name"] = full
    ctx["attributes"] = dict(attributes)
    return ctx


def environment(*, html: bool) -> ImmutableSandboxedEnvironment:
    """The sandboxed environment the HTML part (autoescaping) or the subject and text
    parts are compiled in; for checks that parse templates without rendering them."""
    return _html_env if html else _text_env
