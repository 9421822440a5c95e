"""Compilation once per campaign: formats, layouts and CSS inlining keep Jinja intact."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sendwell.content.compile import (
    ContentSource,
    Layout,
    compile_content,
    compile_html,
    compile_text,
)
from sendwell.content.templates import compile_template, subscriber_context
from sendwell.errors import TemplateError

STYLE = "<style>p { color: #111 } td { padding: 4px } .foot { font-size: 12px }</style>"
HTML_LAYOUT = Layout(
    "house",
    "html",
    f"<!doctype html><html><head><title>{{{{ campaign.subject }}}}</title>{STYLE}</head>"
    '<body><div class="main">{{ content }}</div>'
    '<p class="foot">{{ sender.organization }} <a href="{{ unsubscribe_url }}">Unsubscribe</a>'
    "</p></body></html>",
    "{{ content }}\n--\n{{ sender.organization }}: {{ unsubscribe_url }}\n",
)
MJML_LAYOUT = Layout(
    "mj",
    "mjml",
    "<mjml><mj-head><mj-title>{{ campaign.subject }}</mj-title></mj-head><mj-body>"
    "{{ content }}<mj-section><mj-column><mj-text>{{ sender.organization }} "
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text></mj-column></mj-section>'
    "</mj-body></mjml>",
)


def _ctx(first: str | None = "Ann", **attrs: Any) -> dict[str, Any]:
    return {
        "subscriber": subscriber_context(
            email="ann@example.com", first_name=first, last_name=None, attributes=attrs
        ),
        "campaign": {"id": 1, "name": "n", "subject": "Subject"},
        "sender": {"organization": "Acme", "postal_address": "1 Road", "name": "", "email": ""},
        "unsubscribe_url": "https://x.example/u/1",
        "preferences_url": "https://x.example/p/1",
        "view_url": "https://x.example/v/1",
    }


def _render(source: ContentSource, ctx: dict[str, Any]) -> tuple[str, str | None]:
    compiled = compile_content(source)
    rendered = compile_template(compiled.subject, compiled.html, compiled.text).render(ctx)
    return rendered.html, rendered.text


def test_html_without_styles_or_layout_is_unchanged() -> None:
    body = '<p>Hi {{ subscriber.first_name | default("there") }}</p>'
    assert compile_html("html", body) == body


def test_jinja_survives_css_inlining_everywhere_it_may_stand() -> None:
    body = (
        f"<html><head><title>{{{{ campaign.subject }}}}</title>{STYLE}</head><body>"
        '<p title="{{ subscriber.first_name }}">Hi {{ subscriber.first_name }} & '
        '{{ "<b>" }}</p><table><tbody>'
        "{% for n in range(3) %}<tr><td>row {{ n }}{% if n > 1 %} last{% endif %}</td></tr>"
        "{% endfor %}</tbody></table>"
        '<p style="{% if subscriber.vip is defined %}font-weight: bold{% endif %}">v</p>'
        "</body></html>"
    )
    html = compile_html("html", body)
    assert '<td style="padding: 4px;">row {{ n }}{% if n > 1 %} last{% endif %}</td>' in html
    assert html.index("{% for n in range(3) %}") < html.index("<tr>") < html.index("{% endfor")
    rendered = compile_template("s", html).render(_ctx(vip=True))
    assert rendered.html.count("<tr>") == 3 and rendered.html.count(" last") == 1
    assert '<p title="Ann" style="color: #111;">Hi Ann &amp; &lt;b&gt;</p>' in rendered.html
    assert "<title>Subject</title>" in rendered.html
    assert "font-weight: bold" in rendered.html


def test_markdown_with_jinja_inside_an_html_layout() -> None:
    body = (
        '# Hello {{ subscriber.first_name | default("there") }}\n\n'
        "Read [the news]({{ view_url }}) and [more](https://example.com/a?b=1&c=2).\n\n"
        '{% if subscriber.plan is defined and subscriber.plan == "pro" %}\n'
        "Pro **only** & {{ 1 < 2 }}.\n"
        "{% endif %}\n"
    )
    html, text = _render(ContentSource("markdown", "s", body, None, HTML_LAYOUT), _ctx(plan="pro"))
    assert "<h1>Hello Ann</h1>" in html
    assert '<a href="https://x.example/v/1">the news</a>' in html
    assert 'href="https://example.com/a?b=1&amp;c=2"' in html
    assert '<p style="color: #111;">Pro <strong>only</strong> &amp; True.</p>' in html
    assert '<p class="foot" style="color: #111;font-size: 12px;">Acme' in html
    assert text is None  # no text version: the builder makes one from the HTML
    other, _ = _render(ContentSource("markdown", "s", body, None, HTML_LAYOUT), _ctx(None))
    assert "Hello there" in other and "Pro" not in other


def test_personal_data_is_never_parsed_as_markdown_or_jinja() -> None:
    html, _ = _render(
        ContentSource("markdown", "s", "Hi {{ subscriber.first_name }}", None), _ctx("*{{ 7*7 }}*")
    )
    assert html.strip() == "<p>Hi *{{ 7*7 }}*</p>"


def test_mjml_content_in_an_mjml_layout() -> None:
    body = (
        "<mj-section><mj-column><mj-text>Hi {{ subscriber.first_name }}"
        "{% if 1 < 2 %}!{% endif %}</mj-text>"
        '<mj-button href="{{ view_url }}">Read</mj-button></mj-column></mj-section>'
    )
    html, _ = _render(ContentSource("mjml", "s", body, None, MJML_LAYOUT), _ctx())
    assert "Hi Ann!" in html
    assert 'href="https://x.example/v/1"' in html
    assert html.index("Hi Ann") < html.index("Acme")  # content sits where the slot was
    assert "<title>Subject</title>" in html


def test_markdown_content_fills_an_mjml_layout_slot_inside_mj_text() -> None:
    layout = Layout(
        "mjtext",
        "mjml",
        "<mjml><mj-body><mj-section><mj-column><mj-text>{{ content }}</mj-text>"
        "</mj-column></mj-section></mj-body></mjml>",
    )
    html, _ = _render(ContentSource("markdown", "s", "## Hi {{ subscriber.first_name }}", None,
                                    layout), _ctx())  # fmt: skip
    assert "<h2>Hi Ann</h2>" in html


def test_mjml_pairing_rules() -> None:
    fragment = "<mj-section><mj-column><mj-text>x</mj-text></mj-column></mj-section>"
    with pytest.raises(TemplateError, match="MJML content needs an MJML layout"):
        compile_content(ContentSource("mjml", "s", fragment, None, HTML_LAYOUT))
    with pytest.raises(TemplateError, match="fragment of body elements"):
        compile_content(
            ContentSource("mjml", "s", f"<mjml><mj-body>{fragment}</mj-body></mjml>", None,
                          MJML_LAYOUT)
        )  # fmt: skip


def test_text_versions_combine_with_the_layout() -> None:
    assert compile_text("Hi {{ x }}", None) == "Hi {{ x }}"
    assert compile_text(None, HTML_LAYOUT) is None
    assert compile_text("Body", HTML_LAYOUT) == (
        "Body\n--\n{{ sender.organization }}: {{ unsubscribe_url }}\n"
    )
    # A layout without a text version: its HTML around the slot, as text.
    text = compile_text("Body text", MJML_LAYOUT)
    assert text is not None
    assert re.search(r"Body text\s+\{\{ sender.organization \}\} Unsubscribe "
                     r"\(\{\{ unsubscribe_url \}\}\)", text)  # fmt: skip


def test_a_lost_construct_is_an_error_with_its_line() -> None:
    # MJML drops comments from its head, so a statement there cannot be kept in place:
    # it is reported rather than silently lost.
    body = "<mjml>\n<mj-head>\n{% if x %}<mj-title>t</mj-title>{% endif %}\n</mj-head>\n</mjml>"
    with pytest.raises(TemplateError, match=r"body, line 3: \{% if x %\} was lost in MJML"):
        compile_html("mjml", body)


def test_jinja_in_attribute_names_and_unquoted_values_survives_inlining() -> None:
    html = compile_html(
        "html",
        "<style>a { color: red }</style><a href={{ url }} {{ extra }}>x</a><table><tr>"
        '<td {% if v %}class="v"{% endif %}>y</td></tr></table>',
    )
    assert '<a href="{{ url }}" {{ extra }} style="color: red;">x</a>' in html
    assert '<td {% if v %}class="v" {% endif %}>y</td>' in html
