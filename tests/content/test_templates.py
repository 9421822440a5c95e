"""Templates: personalization with fallbacks, escaping, sandboxing, errors with lines."""

from __future__ import annotations

import pytest

from sendwell.content.templates import compile_template, subscriber_context
from sendwell.content.text import html_to_text
from sendwell.errors import TemplateError

GREETING = 'Hi {{ subscriber.first_name | default("there") }}'


def _ctx(first: str | None = None, **attrs: object) -> dict[str, object]:
    return {
        "subscriber": subscriber_context(
            email="a@x.com", first_name=first, last_name=None, attributes=attrs
        ),
        "campaign": {"id": 1, "name": "News"},
    }


@pytest.mark.parametrize(
    ("first", "expected"), [("Ann", "Hi Ann"), (None, "Hi there"), ("", "Hi there")]
)
def test_first_name_with_fallback(first: str | None, expected: str) -> None:
    t = compile_template(GREETING, f"<p>{GREETING}</p>")
    rendered = t.render(_ctx(first))
    assert rendered.subject == expected
    assert rendered.html == f"<p>{expected}</p>"
    assert rendered.text is None


def test_attributes_and_campaign_fields() -> None:
    t = compile_template(
        "{{ campaign.name }}",
        "{{ subscriber.plan }} {{ subscriber.email }}",
        "{{ subscriber.attributes.plan }}",
    )
    r = t.render(_ctx("Ann", plan="pro"))
    assert (r.subject, r.html, r.text) == ("News", "pro a@x.com", "pro")


def test_html_escapes_subscriber_data_but_text_does_not() -> None:
    t = compile_template(
        "{{ subscriber.first_name }}",
        "<b>{{ subscriber.first_name }}</b>",
        "{{ subscriber.first_name }}",
    )
    r = t.render(_ctx("<script>alert(1)</script>"))
    assert r.html == "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>"
    assert r.text == "<script>alert(1)</script>"


def test_undefined_names_are_errors_not_blanks() -> None:
    t = compile_template("s", "Hi {{ subscriber.frist_name }}")
    with pytest.raises(TemplateError, match="frist_name"):
        t.render(_ctx("Ann"))


def test_syntax_errors_name_part_and_line() -> None:
    with pytest.raises(TemplateError, match=r"HTML template, line 3"):
        compile_template("s", "a\nb\n{{ x ")
    with pytest.raises(TemplateError, match=r"subject template, line 1"):
        compile_template("{% for %}", "x")


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ subscriber.__class__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ self._TemplateReference__context }}",
        "{% set x = subscriber.update({'email': 'evil'}) %}{{ x }}",
    ],
)
def test_template_injection_cannot_reach_internals(payload: str) -> None:
    with pytest.raises(TemplateError):
        compile_template("s", payload).render(_ctx("Ann"))


def test_html_to_text_keeps_structure_and_links() -> None:
    text = html_to_text(
        "<html><head><style>p{color:red}</style></head><body><h1>Title</h1>"
        "<p>Hello <b>Ann</b>,<br>welcome.</p><ul><li>one</li><li>two</li></ul>"
        '<p><a href="https://x.example/a">Read</a></p><script>x()</script></body></html>'
    )
    assert text == "Title\n\nHello Ann,\nwelcome.\n\n- one\n- two\n\nRead (https://x.example/a)\n"


@pytest.mark.parametrize(
    "html",
    [
        '<h1>Hi {{ subscriber.first_name | default("there") }}</h1><p>News for '
        '{{ subscriber.email }}.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
        "<ul>{% for i in range(3) %}<li>item {{ i }} &amp; more</li>{% endfor %}</ul>",
        "<p>{% if subscriber.plan == 'pro' %}Thanks, pro!{% else %}Upgrade?{% endif %}</p>",
    ],
)
def test_text_derived_from_the_template_equals_converting_each_message(html: str) -> None:
    derived = compile_template("s", html, derive_text=True)
    assert derived.text is not None
    for first in ("Ann", None, "Zoë <b>&"):
        ctx = {**_ctx(first, plan="pro"), "unsubscribe_url": "https://x.example/u/abc"}
        rendered = derived.render(ctx)
        assert rendered.text == html_to_text(rendered.html)


@pytest.mark.parametrize(
    "html",
    [
        "<p>{{ subscriber.bio | safe }}</p>",
        "<p {{ attrs }}>x</p>",
        "{% autoescape false %}{{ x }}{% endautoescape %}",
    ],
)
def test_templates_that_insert_markup_are_converted_per_message(html: str) -> None:
    assert compile_template("s", html, derive_text=True).text is None
