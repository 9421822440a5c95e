"""The text part made from HTML: readable, with link targets, without hidden text."""

from __future__ import annotations

from sendwell.content.text import html_to_text


def test_paragraphs_lists_and_links() -> None:
    text = html_to_text(
        '<h1>Title</h1><p>Read <a href="https://x.example/a">this</a>.</p><ul><li>one</li>'
        "<li>two</li></ul><style>p{}</style>"
    )
    assert text == "Title\n\nRead this (https://x.example/a).\n\n- one\n- two\n"


def test_hidden_elements_are_left_out() -> None:
    text = html_to_text(
        '<div style="display:none;font-size:1px">Preview text for the inbox list</div>'
        '<div style="color: red; DISPLAY: None"><div>nested</div>still hidden</div>'
        "<p>Visible</p><img style='display:none' src=x><p>after</p>"
    )
    assert text == "Visible\n\nafter\n"
