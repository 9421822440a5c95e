"""A readable plain-text part generated from HTML, for when the author wrote none.

Every message carries a text part (spam filters and text-only clients expect one). This
converter keeps what a reader needs — paragraphs, line breaks, list items and link
targets — and drops markup, styles, scripts and hidden elements (``display:none``, such as
the preview text at the top of a designed mail, which is meant for the inbox list only).
It is deliberately simple; authors who care about the text version write it themselves.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "tr",
    "ul",
    "ol",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
}
_SKIP = {"style", "script", "head", "title"}
_HIDDEN = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0
        self._href: list[str | None] = []
        self._hidden = ""  # the tag of the hidden element we are inside, if any
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden:
            self._hidden_depth += tag == self._hidden
            return
        if tag not in _VOID and _HIDDEN.search(dict(attrs).get("style") or ""):
            self._hidden, self._hidden_depth = tag, 1
            return
        if tag in _SKIP:
            self._skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag in _BLOCK:
            self.out.append("\n\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "a":
            self._href.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            if tag == self._hidden:
                self._hidden_depth -= 1
                if self._hidden_depth == 0:
                    self._hidden = ""
            return
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.out.append("\n\n")
        elif tag == "a" and self._href:
            href = self._href.pop()
            if href and not href.startswith(("#", "mailto:")):
                self.out.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self._skip and not self._hidden:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    conv = _Converter()
    conv.feed(html)
    conv.close()
    return tidy("".join(conv.out))


_BLANK_RUN = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Trim every line, keep at most one blank line in a row, end with one newline."""
    text = "\n".join([line.strip() for line in text.split("\n")])
    if "\n\n\n" in text:  # a substring test is far cheaper than the regex's scan
        text = _BLANK_RUN.sub("\n\n", text)
    return text.strip() + "\n"
