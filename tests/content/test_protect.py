"""Jinja placeholders: every construct comes back exactly, in order, or the loss is named."""

from __future__ import annotations

import pytest

from sendwell.content.protect import CONSTRUCT, Placeholders
from sendwell.errors import TemplateError


@pytest.mark.parametrize(
    "construct",
    [
        "{{ x }}",
        '{{ subscriber.first_name | default("there") }}',
        "{{ '}}' ~ \"%}\" }}",
        "{% if a < b and c > d %}",
        "{%- for i in range(3) -%}",
        "{# a comment with }} inside #}",
        "{% raw %}{{ not jinja }}{% endraw %}",
        "{{\n  multi\n}}",
    ],
)
def test_constructs_are_found_whole(construct: str) -> None:
    text = f"<p>before {construct} after</p>"
    assert [m.group() for m in CONSTRUCT.finditer(text)] == [construct]


def test_html_round_trip_is_exact() -> None:
    source = (
        '<table><tr><td title="{{ t }}">x</td></tr>{% for r in rows %}<tr><td>{{ r }}</td>'
        "</tr>{% endfor %}</table><style>p { color: {{ c }} }</style>"
    )
    ph = Placeholders()
    protected = ph.protect_html(source, "body")
    assert "{{" not in protected and "{%" not in protected
    assert ph.restore(protected, step="nothing") == source


def test_statements_in_content_become_comments_and_the_rest_words() -> None:
    ph = Placeholders()
    protected = ph.protect_html(
        '<p class="{% if vip %}vip{% endif %}">{% if x %}{{ y }}{% endif %}</p>'
        "<title>{% if t %}T{% endif %}</title>",
        "body",
    )
    # Inside a tag or a title: words. Statements in content: comments. Expressions: words.
    assert protected.count("<!--") == 2
    assert '<p class="sw' in protected
    assert "<title>sw" in protected


def test_markdown_statement_lines_become_html_blocks() -> None:
    ph = Placeholders()
    protected = ph.protect_markdown(
        "Hi {{ name }}\n\n  {% if a %}{# note #}\nText\n{% endif %}\n", "body"
    )
    lines = protected.splitlines()
    assert lines[0].startswith("Hi sw") and "<!--" not in lines[0]
    assert lines[2].startswith("<!--sw") and lines[2].count("<!--") == 2
    assert lines[4].startswith("<!--sw")


def test_a_lost_construct_is_named_with_its_line() -> None:
    ph = Placeholders()
    protected = ph.protect_html("<p>a</p>\n<p>{{ gone }}</p>", "body")
    with pytest.raises(TemplateError, match=r"body, line 2: \{\{ gone \}\} was lost in CSS"):
        ph.restore(protected.replace(protected[protected.index("sw") :], "</p>"), step="CSS")


def test_reordered_statements_are_refused() -> None:
    ph = Placeholders()
    protected = ph.protect_html("{% if a %}<p>x</p>{% endif %}", "body")
    first, rest = protected.split("<p>x</p>")
    with pytest.raises(TemplateError, match="was moved"):
        ph.restore(rest + "<p>x</p>" + first, step="a parser")


def test_the_layout_slot_is_spliced() -> None:
    ph = Placeholders()
    layout = ph.protect_html("<div>{{ content }}</div><p>{{ footer }}</p>", "layout", slot=True)
    content = ph.protect_html("<p>{{ body }}</p>", "body")
    spliced = ph.splice(layout, content)
    assert ph.restore(spliced, step="x") == "<div><p>{{ body }}</p></div><p>{{ footer }}</p>"
    with pytest.raises(TemplateError, match="slot"):
        ph.splice(layout.replace(ph.slot, ""), content)
