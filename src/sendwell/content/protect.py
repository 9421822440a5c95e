"""Jinja markup kept intact through Markdown, MJML and CSS inlining.

The Markdown converter, the MJML compiler and the CSS inliner all parse and re-serialize
what they are given. Jinja markup inside would not survive them: Markdown escapes the
quotes of ``default("there")``, MJML's parser rejects ``{% if a < b %}``, and an HTML
parser moves text that sits between table rows out of the table ("foster parenting"),
which would take a ``{% for %}`` away from the rows it repeats. So before conversion every
Jinja construct is swapped for an opaque placeholder, and swapped back afterwards:

* a *word* (lowercase letters and digits) for expressions, and for any construct inside a
  tag, an attribute, an HTML comment or a raw-text element (``<style>``, ``<title>``,
  ``<mj-title>``...): a word survives as text, as an attribute value or name, as a CSS
  value and as a Markdown link destination;
* an HTML *comment* for statements (``{% ... %}``, ``{# ... #}``) in the content of an
  HTML or MJML document, where comments keep their place and text would not; in Markdown
  for statements that stand alone on their line, which then form an HTML block of their
  own instead of a paragraph.

:meth:`Placeholders.restore` puts the markup back and checks that every construct
survived and that statements kept their order, raising :class:`TemplateError` with the
construct's line otherwise. A layout's ``{{ content }}`` slot becomes a marker word of its
own that :meth:`Placeholders.splice` replaces with the content.

Limits: the HTML context is found by a small scanner (tags, quoted attribute values,
comments, raw-text elements), not a full HTML tokenizer; Jinja markup inside MJML
attributes that MJML itself interprets (sizes, paddings) is passed through untouched but
MJML may reformat it.
"""

from __future__ import annotations

import itertools
import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Literal

from sendwell.errors import TemplateError

# One Jinja construct: a raw block (kept whole), a comment, a statement or an expression.
# Strings inside statements and expressions may contain the closing delimiter.
_STRING = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
CONSTRUCT = re.compile(
    r"\{%[-+]?\s*raw\s*[-+]?%\}.*?\{%[-+]?\s*endraw\s*[-+]?%\}"
    r"|\{\#.*?\#\}"
    rf"|\{{%(?:[^%'\"]|%(?!\}})|{_STRING})*%\}}"
    rf"|\{{\{{(?:[^}}'\"]|\}}(?!\}})|{_STRING})*\}}\}}",
    re.DOTALL,
)
SLOT = re.compile(r"\{\{[-+]?\s*content\s*[-+]?\}\}")

# Elements whose content an HTML (or MJML) parser does not read as markup.
_RAW_TEXT = frozenset(
    {"style", "script", "title", "textarea", "xmp", "mj-style", "mj-title", "mj-preview"}
)
_TAG_OPEN = re.compile(r"<(/?)([A-Za-z!?][^\s/>]*)")
_IN_TAG = re.compile(r"[\"'>]")

Kind = Literal["expression", "statement"]


@dataclass(frozen=True)
class Construct:
    source: str  # the Jinja markup exactly as written
    kind: Kind
    part: str  # which source it came from ("body", "layout"...), for error messages
    line: int


class _HtmlScanner:
    """Tracks whether the next character of an HTML/MJML source is content (``data``)."""

    def __init__(self) -> None:
        self.mode: Literal["data", "tag", "comment", "raw"] = "data"
        self.quote = ""
        self.tag = ""
        self.closing = False

    def feed(self, text: str) -> None:
        i = 0
        while i < len(text):
            if self.mode == "data":
                j = text.find("<", i)
                if j < 0:
                    return
                if text.startswith("<!--", j):
                    self.mode, i = "comment", j + 4
                    continue
                m = _TAG_OPEN.match(text, j)
                if m is None:
                    i = j + 1
                    continue
                self.mode, self.closing, self.tag = "tag", bool(m.group(1)), m.group(2).lower()
                i = m.end()
            elif self.mode == "tag":
                if self.quote:
                    j = text.find(self.quote, i)
                    if j < 0:
                        return
                    self.quote, i = "", j + 1
                    continue
                m = _IN_TAG.search(text, i)
                if m is None:
                    return
                i = m.end()
                if m.group() != ">":
                    # Only a quote right after "=" opens an attribute value.
                    if text[: m.start()].rstrip().endswith("="):
                        self.quote = m.group()
                    continue
                self_closing = text[: m.start()].endswith("/")
                raw = not self.closing and not self_closing and self.tag in _RAW_TEXT
                self.mode = "raw" if raw else "data"
            elif self.mode == "comment":
                j = text.find("-->", i)
                if j < 0:
                    return
                self.mode, i = "data", j + 3
            else:  # raw text: until the element's end tag
                end = re.compile(rf"</{re.escape(self.tag)}\b", re.IGNORECASE).search(text, i)
                if end is None:
                    return
                self.mode, self.closing, i = "tag", True, end.end()


@dataclass
class Placeholders:
    """One set of placeholders, shared by every source that ends up in one template."""

    constructs: list[Construct] = field(default_factory=list)
    nonce: str = field(
        default_factory=lambda: "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))
    )

    @property
    def slot(self) -> str:
        """The marker word standing for a layout's ``{{ content }}``."""
        return f"sw{self.nonce}slotz"

    def _word(self, index: int) -> str:
        return f"sw{self.nonce}{index}z"

    def _add(self, source: str, text: str, start: int, part: str) -> int:
        kind: Kind = "expression" if source.startswith("{{") else "statement"
        line = text.count("\n", 0, start) + 1
        self.constructs.append(Construct(source, kind, part, line))
        return len(self.constructs) - 1

    def protect_html(self, text: str, part: str, *, slot: bool = False) -> str:
        """``text`` (HTML or MJML) with its Jinja markup replaced by placeholders."""
        scanner = _HtmlScanner()
        out: list[str] = []
        pos = 0
        for m in CONSTRUCT.finditer(text):
            literal = text[pos : m.start()]
            scanner.feed(literal)
            out.append(literal)
            pos = m.end()
            if slot and SLOT.fullmatch(m.group()):
                out.append(self.slot)
                continue
            index = self._add(m.group(), text, m.start(), part)
            if scanner.mode == "data" and self.constructs[index].kind == "statement":
                out.append(f"<!--{self._word(index)}-->")
            else:
                out.append(self._word(index))
        out.append(text[pos:])
        return "".join(out)

    def protect_markdown(self, text: str, part: str) -> str:
        """``text`` (Markdown) with its Jinja markup replaced by placeholders."""
        out: list[str] = []
        pos = 0
        matches = list(CONSTRUCT.finditer(text))
        k = 0
        while k < len(matches):
            m = matches[k]
            line_start = text.rfind("\n", 0, m.start()) + 1
            # The statements that, with whitespace, make up whole lines from here.
            group = [m]
            end = m.end()
            while k + len(group) < len(matches):
                nxt = matches[k + len(group)]
                if text[end : nxt.start()].strip(" \t"):
                    break
                group.append(nxt)
                end = nxt.end()
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
            alone = (
                not text[line_start : m.start()].strip()
                and not text[end:line_end].strip()
                and all(not g.group().startswith("{{") for g in group)
                and line_start >= pos
            )
            if alone:
                out.append(text[pos:line_start])
                for g in group:
                    out.append(f"<!--{self._word(self._add(g.group(), text, g.start(), part))}-->")
                pos = line_end
                k += len(group)
                continue
            out.append(text[pos : m.start()])
            out.append(self._word(self._add(m.group(), text, m.start(), part)))
            pos = m.end()
            k += 1
        out.append(text[pos:])
        return "".join(out)

    def splice(self, layout: str, content: str) -> str:
        """The protected layout with its slot marker replaced by the protected content."""
        if layout.count(self.slot) != 1:
            raise TemplateError(
                "layout: the {{ content }} slot did not survive conversion; put it where "
                "content may go (in MJML, inside mj-text, mj-raw or between sections)"
            )
        return layout.replace(self.slot, content)

    def restore(self, text: str, *, step: str) -> str:
        """Put the Jinja markup back; raise when a construct was lost or reordered."""
        pattern = re.compile(rf"<!--sw{self.nonce}(\d+)z-->|sw{self.nonce}(\d+)z(?:=\"\")?")
        first: dict[int, int] = {}

        def put_back(m: re.Match[str]) -> str:
            index = int(m.group(1) or m.group(2))
            first.setdefault(index, m.start())
            return self.constructs[index].source

        restored = pattern.sub(put_back, text)
        for index, construct in enumerate(self.constructs):
            if index not in first:
                raise TemplateError(
                    f"{construct.part}, line {construct.line}: {_show(construct.source)} was "
                    f"lost in {step}; Jinja markup must sit in text, an attribute value or "
                    "between elements"
                )
        # Order is checked within each source: a layout's statements legitimately
        # surround the content spliced into it.
        by_part: dict[str, list[int]] = {}
        for i, c in enumerate(self.constructs):
            if c.kind == "statement":
                by_part.setdefault(c.part, []).append(i)
        pairs = [p for ids in by_part.values() for p in itertools.pairwise(ids)]
        for a, b in pairs:
            if first[a] > first[b]:
                c = self.constructs[b]
                raise TemplateError(
                    f"{c.part}, line {c.line}: {_show(c.source)} was moved by {step} (an "
                    "HTML parser moves text out of tables); keep statements between "
                    "elements and tags balanced inside each branch"
                )
        return restored


def _show(source: str) -> str:
    one_line = " ".join(source.split())
    return one_line if len(one_line) <= 40 else one_line[:37] + "..."
