"""CSS inlining: rules into style attributes, conditional rules kept, nothing fetched."""

from __future__ import annotations

from sendwell.content.inline import inline_css


def test_rules_are_inlined_and_at_rules_kept_in_the_head() -> None:
    html = inline_css(
        "<html><head><style>p { color: #333 } .big { font-size: 20px }"
        "@media (max-width: 480px) { p { color: #000 } }</style></head>"
        '<body><p class="big">x</p></body></html>'
    )
    assert '<p class="big" style="color: #333;font-size: 20px;">x</p>' in html
    assert "@media (max-width: 480px)" in html  # cannot be inlined: kept
    assert "p { color: #333 }" not in html  # inlined: removed from the head


def test_media_specific_style_blocks_are_kept_whole_not_inlined() -> None:
    html = inline_css(
        '<html><head><style media="screen and (min-width:480px)">.col { width: 50% }</style>'
        '</head><body><div class="col">x</div></body></html>'
    )
    assert '<div class="col">x</div>' in html
    assert '<style media="screen and (min-width:480px)">.col { width: 50% }</style>' in html


def test_outlook_conditional_comments_and_links_are_untouched() -> None:
    source = (
        '<html><head><link rel="stylesheet" href="https://fonts.example/x.css">'
        "<style>td { padding: 0 }</style><!--[if mso]><style>td { padding: 1px }</style>"
        "<![endif]--></head><body><table><tr><td>x</td></tr></table></body></html>"
    )
    html = inline_css(source)
    assert '<link rel="stylesheet" href="https://fonts.example/x.css">' in html
    assert "<!--[if mso]><style>td { padding: 1px }</style><![endif]-->" in html
    assert '<td style="padding: 0;">x</td>' in html


def test_html_without_styles_is_returned_byte_for_byte() -> None:
    source = "<p>Hi {{ name }} &amp; <b>welcome</b></p>\n<img src=x alt=y>"
    assert inline_css(source) is source
