"""Link rewriting: the allow-list comes from the template; only its URLs are rewritten."""

from __future__ import annotations

from sendwell.tracking.rewrite import rewrite, tracked_links

TEMPLATE = (
    "<html><body>"
    '<a href="https://example.com/a?x=1&amp;y=2">A</a>'
    "<a class='b' href='http://example.com/b'>B</a>"
    '<A HREF="https://example.com/a?x=1&amp;y=2">A again</A>'
    '<a href="{{ unsubscribe_url }}">unsubscribe</a>'
    '<a href="https://example.com/p?e={{ subscriber.email }}">personal</a>'
    '<a href="mailto:help@example.com">mail</a><a href="#top">top</a>'
    '<a data-notrack href="https://example.com/secret">not tracked</a>'
    "<a href=https://example.com/c>unquoted</a>"
    "</body></html>"
)


def test_allow_list_is_the_literal_web_links_in_order() -> None:
    assert tracked_links(TEMPLATE) == (
        "https://example.com/a?x=1&y=2",
        "http://example.com/b",
        "https://example.com/c",
    )


def test_rewrite_replaces_only_allow_listed_links_and_adds_a_pixel() -> None:
    links = {u: i for i, u in enumerate(tracked_links(TEMPLATE))}
    rendered = TEMPLATE.replace("{{ unsubscribe_url }}", "https://t.example/u/1-x").replace(
        "{{ subscriber.email }}", "ann@example.org"
    )
    out = rewrite(
        rendered, links, lambda n: f"https://t.example/c/{n}?a=1&b=2", "https://t.example/o/1.gif"
    )
    assert out.lower().count('href="https://t.example/c/0?a=1&amp;b=2"') == 2
    assert 'href="https://t.example/c/1?a=1&amp;b=2"' in out
    assert 'href="https://t.example/c/2?a=1&amp;b=2">unquoted' in out
    for kept in (
        "https://t.example/u/1-x",
        "https://example.com/p?e=ann@example.org",
        "mailto:help@example.com",
        "https://example.com/secret",
        "class='b'",
    ):
        assert kept in out
    assert out.endswith('style="display:block;border:0;width:1px;height:1px" /></body></html>')


def test_without_links_or_pixel_nothing_changes() -> None:
    assert rewrite(TEMPLATE, {}, lambda n: "x") == TEMPLATE
    assert rewrite("<p>no body</p>", {}, lambda n: "x", "https://t/o.gif").startswith(
        '<p>no body</p><img src="https://t/o.gif"'
    )
