"""Checks at save time: syntax errors and undefined names, with the author's line numbers."""

from __future__ import annotations

from typing import Any

import pytest

from sendwell.content.compile import Layout
from sendwell.content.validate import TemplateCheck, check_content
from sendwell.errors import TemplateError

ATTRS = {"plan": "pro", "score": 3}


def _check(body: str, **kw: Any) -> TemplateCheck:
    kw.setdefault("kind", "template")
    kw.setdefault("fmt", "html")
    kw.setdefault("subject", "Hello")
    kw.setdefault("text", None)
    kw.setdefault("attributes", ATTRS)
    return check_content(body=body, **kw)


def _lines(check: TemplateCheck, level: str) -> list[str]:
    return [str(p) for p in check.problems if p.level == level]


def test_a_clean_template_has_no_problem() -> None:
    check = _check(
        '<p>Hi {{ subscriber.first_name | default("there") }}, {{ subscriber.plan }}</p>'
        "{% if subscriber.score is defined and subscriber.score > 2 %}vip{% endif %}"
        '<a href="{{ unsubscribe_url }}">u</a> {{ sender.organization }} {{ campaign.name }}'
        "{% for i in range(2) %}{{ loop.index }}{% endfor %}{% set x = 1 %}{{ x }}"
        '{{ subscriber.get("nickname", "") }}',
        text="Bye {{ subscriber.email }}",
    )
    assert check.errors == []
    assert _lines(check, "warning") == [
        "body, line 1: 'plan' is missing for some subscribers and has no fallback; write "
        '{{ subscriber.plan | default("...") }} or test it with "is defined"'
    ]


def test_syntax_errors_carry_the_line_of_each_part() -> None:
    check = _check("<p>ok</p>\n\n<p>{{ subscriber.email </p>", subject="Hi {% if %}")
    assert [(p.part, p.line) for p in check.errors] == [("subject", 1), ("body", 3)]
    with pytest.raises(TemplateError, match=r"subject, line 1: .*; body, line 3: "):
        check.raise_for_errors()


def test_markdown_and_mjml_report_lines_of_their_own_source() -> None:
    md = _check("# Title\n\nText\n\n{{ unsubscribe_link }}\n", fmt="markdown")
    assert _lines(md, "error") == [
        "body, line 5: 'unsubscribe_link' is undefined; did you mean 'unsubscribe_url'?"
    ]
    mjml = _check(
        "<mj-section>\n<mj-column>\n<mj-text>\n{{ subscriber.frist_name }}\n</mj-text>\n"
        "</mj-column>\n</mj-section>",
        fmt="mjml",
    )
    assert [p.line for p in mjml.errors] == [4]
    assert "did you mean 'first_name'?" in str(mjml.errors[0])


def test_undefined_names_are_found_in_branches_no_sample_takes() -> None:
    check = _check(
        "<p>\n{% if subscriber.plan == 'gold' %}\n{{ campaing.name }} {{ sender.adress }}"
        "\n{% endif %}\n{{ subscriber.attributes.sore }}</p>"
    )
    assert _lines(check, "error") == [
        "body, line 3: 'campaing' is undefined; did you mean 'campaign'?",
        "body, line 3: sender.adress does not exist",
        "body, line 5: no subscriber has 'sore'; did you mean 'score'? (or give a fallback: "
        '{{ subscriber.attributes.sore | default("...") }})',
    ]


def test_render_failures_report_the_template_line_from_the_traceback() -> None:
    check = _check("<p>a</p>\n<p>b</p>\n{{ subscriber.email + 1 }}\n{{ ''.__class__ }}")
    assert [(p.line, p.message) for p in check.errors] == [
        (3, 'can only concatenate str (not "int") to str')
    ]
    sandbox = _check("<p>a</p>\n{% macro m(x) %}\n{{ x.__class__ }}{% endmacro %}{{ m('') }}")
    assert [p.line for p in sandbox.errors] == [3]
    assert "unsafe" in sandbox.errors[0].message


def test_a_field_missing_for_some_subscribers_is_a_warning_not_an_error() -> None:
    check = _check("<p>Hi\n{{ subscriber.first_name }}</p>", subject="{{ subscriber.name }}")
    assert check.errors == []
    assert [(p.part, p.line) for p in check.warnings] == [("subject", 1), ("body", 2)]


def test_layouts_need_exactly_one_slot_and_may_use_content() -> None:
    ok = _check("<div>{{ content }}</div>", kind="layout", subject="")
    assert ok.problems == ()
    assert [str(p) for p in _check("<div></div>", kind="layout", subject="").errors] == [
        "body: a layout needs exactly one {{ content }} slot; found 0"
    ]
    two = _check("<div>{{ content }}{{content}}</div>", kind="layout", subject="",
                 text="{{ content }}")  # fmt: skip
    assert [p.part for p in two.errors] == ["body"]
    assert "'content' is undefined" in str(_check("<p>{{ content }}</p>").errors[0])


def test_content_is_checked_with_its_layout() -> None:
    layout = Layout("l", "html", "<div>{{ content }}</div>")
    check = _check("<mj-section></mj-section>", fmt="mjml", layout=layout)
    assert [str(p) for p in check.errors] == ["MJML content needs an MJML layout; layout l is html"]
