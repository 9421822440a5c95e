"""Link rewriting for click tracking and the open pixel (pure functions).

A campaign's *tracked links* are the literal ``http(s)`` URLs in ``href`` attributes of its
HTML template, numbered in order of first appearance. They are the click allow-list: a
click token carries only the link's number, and the redirect goes to the URL stored under
that number, so a redirect can never lead anywhere the campaign's author did not write.

Not tracked (left exactly as written): hrefs built by template expressions (``{{ ... }}``,
e.g. ``unsubscribe_url`` or personalized URLs — they differ per recipient and are not in
the allow-list), ``mailto:``/``tel:``/anchors, and links marked ``data-notrack``.

Limits: a regular-expression scan of ``<a ... href=...>`` attributes, not an HTML parser;
it handles quoted and unquoted attribute values and HTML entities in URLs (``&amp;``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping

_A_TAG = re.compile(r"<a\b[^>]*>", re.IGNORECASE | re.DOTALL)
_HREF = re.compile(
    r"""(\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE | re.DOTALL
)
_NOTRACK = re.compile(r"\bdata-notrack\b", re.IGNORECASE)
MAX_URL = 2000


def _trackable(url: str) -> bool:
    low = url.lower()
    return (
        low.startswith(("http://", "https://"))
        and "{{" not in url
        and "{%" not in url
        and len(url) <= MAX_URL
    )


def _hrefs(source: str) -> list[tuple[re.Match[str], re.Match[str]]]:
    found = []
    for tag in _A_TAG.finditer(source):
        if _NOTRACK.search(tag.group(0)):
            continue
        href = _HREF.search(tag.group(0))
        if href is not None:
            found.append((tag, href))
    return found


def _value(href: re.Match[str]) -> str:
    raw = next(g for g in (href.group(2), href.group(3), href.group(4)) if g is not None)
    return html.unescape(raw.strip())


def tracked_links(template_html: str) -> tuple[str, ...]:
    """The campaign's allow-list: distinct trackable URLs, in order of first appearance."""
    seen: dict[str, None] = {}
    for _, href in _hrefs(template_html):
        url = _value(href)
        if _trackable(url):
            seen.setdefault(url, None)
    return tuple(seen)


def rewrite(
    rendered_html: str,
    links: Mapping[str, int],
    click_url: Callable[[int], str],
    pixel_url: str | None = None,
) -> str:
    """``rendered_html`` with every allow-listed href replaced by ``click_url(number)`` and,
    when ``pixel_url`` is given, a 1x1 open pixel before ``</body>`` (or at the end)."""
    out: list[str] = []
    last = 0
    for tag, href in _hrefs(rendered_html):
        number = links.get(_value(href))
        if number is None:
            continue
        start = tag.start() + href.start()
        end = tag.start() + href.end()
        out.append(rendered_html[last:start])
        out.append(f'{href.group(1)}"{html.escape(click_url(number), quote=True)}"')
        last = end
    out.append(rendered_html[last:])
    result = "".join(out)
    if pixel_url is not None:
        pixel = (
            f'<img src="{html.escape(pixel_url, quote=True)}" width="1" height="1" alt="" '
            'style="display:block;border:0;width:1px;height:1px" />'
        )
        close = result.lower().rfind("</body>")
        result = result[:close] + pixel + result[close:] if close >= 0 else result + pixel
    return result
