"""Markdown and MJML conversion: safe defaults, errors with lines."""

from __future__ import annotations

import pytest

from sendwell.content.formats import (
    format_of_path,
    is_mjml_document,
    markdown_to_html,
    mjml_to_html,
    parse_format,
)
from sendwell.errors import TemplateError


def test_markdown_is_commonmark_with_tables_and_raw_html() -> None:
    html = markdown_to_html(
        '# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ <b>raw</b> "quotes" -- x\n'
    )
    assert "<h1>Title</h1>" in html
    assert "<table>" in html and "<td>1</td>" in html
    assert "<s>old</s>" in html and "<b>raw</b>" in html
    assert "&quot;quotes&quot; -- x" in html  # no typographic replacements
    assert "<a" not in markdown_to_html("see https://example.com")  # no bare-URL linking


def test_mjml_compiles_a_document_and_wraps_a_fragment() -> None:
    section = "<mj-section><mj-column><mj-text>Hello</mj-text></mj-column></mj-section>"
    assert is_mjml_document(f"<!-- c -->\n<mjml><mj-body>{section}</mj-body></mjml>")
    assert not is_mjml_document(section)
    for source in (section, f"<mjml><mj-body>{section}</mj-body></mjml>"):
        html = mjml_to_html(source)
        assert html.lstrip().lower().startswith("<!doctype html>")
        assert "Hello" in html


def test_mjml_imports_no_web_font_unless_declared() -> None:
    text = "<mj-section><mj-column><mj-text>x</mj-text></mj-column></mj-section>"
    assert "fonts.googleapis.com" not in mjml_to_html(text)
    declared = mjml_to_html(
        '<mjml><mj-head><mj-font name="Inter" href="https://fonts.example/inter.css"/>'
        '</mj-head><mj-body><mj-section><mj-column><mj-text font-family="Inter, Arial">x'
        "</mj-text></mj-column></mj-section></mj-body></mjml>"
    )
    assert "https://fonts.example/inter.css" in declared


@pytest.mark.parametrize("path", ["/etc/hostname", "../../secret.mjml"])
def test_mjml_includes_are_refused(path: str) -> None:
    with pytest.raises(TemplateError, match="MJML, line 1: unable to load included"):
        mjml_to_html(f'<mjml><mj-body><mj-include path="{path}"/></mj-body></mjml>')


def test_mjml_errors_are_template_errors_with_the_line() -> None:
    with pytest.raises(TemplateError, match="MJML: unexpected end of stream"):
        mjml_to_html("<mjml>\n<mj-body>\n<mj-section><mj-column>\n<mj-text>x</mj-column>")
    with pytest.raises(TemplateError, match=r"MJML, line 3: unexpected token"):
        mjml_to_html("<mjml>\n<mj-body>\n</mj-section></mj-body></mjml>")


def test_formats_from_names_and_extensions() -> None:
    assert parse_format(" Markdown ") == "markdown"
    with pytest.raises(TemplateError, match="unknown format 'docx'"):
        parse_format("docx")
    assert format_of_path("a.MD") == "markdown"
    assert format_of_path("a.mjml") == "mjml"
    assert format_of_path("a.htm") == "html"
    assert format_of_path("a.txt") is None
