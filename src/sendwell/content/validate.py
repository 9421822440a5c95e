"""Template checks at save time: syntax errors and undefined names, each with its line.

Each part (subject, body, text) is checked in the author's own source, so line numbers
are the ones in their file, whatever the format:

1. **Syntax**: Jinja's parser reports the line of a syntax error.
2. **Names, statically**: the parsed template is walked for names the context does not
   have (``{{ unsubscribe_link }}``), unknown keys of ``campaign`` and ``sender``, and
   subscriber fields or attributes that no subscriber has (``subscriber.frist_name``) —
   in every branch, including those a sample would not take. A field read through
   ``default(...)``, tested with ``is defined`` or called as a method (``.get``) is fine.
3. **Rendering**: the part is rendered against the *full* sample (``content.context``);
   anything that still fails (a type error, a sandbox violation) is an error, with the
   line taken from the template frames Jinja puts in the traceback. It is then rendered
   against the *minimal* sample: a failure there is a **warning** — the template works
   for subscribers who have every field, and fails for those who lack one it uses
   without a fallback.
4. **Conversion**: the whole content is compiled (format, layout, CSS inlining).

Errors stop a save; warnings are shown and the save goes ahead.

Limits: rendering follows one path through the template per sample; the static walk
covers the rest only for names and keys (not, e.g., type errors in an untaken branch).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from jinja2 import Template, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sendwell.content.compile import (
    ContentSource,
    Layout,
    compile_content,
    compile_html,
    layout_text_frame,
)
from sendwell.content.context import (
    CONTEXT_NAMES,
    FIXED_KEYS,
    LAYOUT_NAMES,
    SUBSCRIBER_FIELDS,
    sample_context,
)
from sendwell.content.formats import Format
from sendwell.content.protect import SLOT
from sendwell.content.templates import environment
from sendwell.errors import TemplateError

Level = Literal["error", "warning"]
TemplateKind = Literal["template", "layout"]
_GUARD_FILTERS = frozenset({"default", "d"})
_GUARD_TESTS = frozenset({"defined", "undefined"})
_NO_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'")


@dataclass(frozen=True)
class Problem:
    level: Level
    part: str  # "subject", "body", "text", or "" for the content as a whole
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.part + (f", line {self.line}" if self.line is not None else "")
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class TemplateCheck:
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]

    def raise_for_errors(self) -> None:
        """Raise :class:`TemplateError` listing every error (one line)."""
        if self.errors:
            raise TemplateError(
                "; ".join(str(p) for p in self.errors),
                [(p.part, p.line, p.message) for p in self.errors],
            )


def check_content(
    *,
    kind: TemplateKind,
    fmt: Format,
    subject: str,
    body: str,
    text: str | None,
    layout: Layout | None = None,
    attributes: Mapping[str, Any],
) -> TemplateCheck:
    """Every problem of a template (or layout) about to be saved."""
    names = LAYOUT_NAMES if kind == "layout" else CONTEXT_NAMES
    parts: list[tuple[str, str, bool]] = [("body", body, True)]
    if kind == "template":
        parts.insert(0, ("subject", subject, False))
    if text is not None:
        parts.append(("text", text, False))
    problems: list[Problem] = []
    for part, source, html in parts:
        problems.extend(
            check_part(part, source, environment(html=html), names=names, attributes=attributes)
        )
    if kind == "layout":
        problems.extend(_check_slots(body, text))
    if not any(p.level == "error" for p in problems):
        try:
            if kind == "layout":
                probe = Layout("", fmt, body, text)
                compile_html("html", "", probe)
                if text is None:
                    layout_text_frame(probe)
            else:
                compile_content(ContentSource(fmt, subject, body, text, layout))
        except TemplateError as exc:
            problems.append(Problem("error", "", None, str(exc)))
    return TemplateCheck(tuple(problems))


def _check_slots(body: str, text: str | None) -> list[Problem]:
    problems = []
    for part, source in (("body", body), ("text", text)):
        if source is None:
            continue
        found = len(SLOT.findall(source))
        if found != 1:
            problems.append(
                Problem("error", part, None, f"a layout needs exactly one {{{{ content }}}} "
                        f"slot; found {found}")
            )  # fmt: skip
    return problems


def check_part(
    part: str,
    source: str,
    env: ImmutableSandboxedEnvironment,
    *,
    names: frozenset[str],
    attributes: Mapping[str, Any],
) -> list[Problem]:
    """Syntax, names and sample renders of one part."""
    try:
        ast = env.parse(source)
        template = env.from_string(source)
    except TemplateSyntaxError as exc:
        return [Problem("error", part, exc.lineno, exc.message or "syntax error")]
    problems = _static(part, ast, names, attributes)
    seen = {p.line for p in problems}
    layout = "content" in names
    failure = _render(template, sample_context(full=True, attributes=attributes, layout=layout))
    if failure is not None:
        if failure[0] not in seen:
            problems.append(Problem("error", part, *failure))
        return problems
    failure = _render(template, sample_context(full=False, attributes={}, layout=layout))
    if failure is not None and failure[0] not in seen:
        line, message = failure
        missing = _NO_ATTRIBUTE.search(message)
        if missing is not None:
            name = missing.group(1)
            message = (
                f"{name!r} is missing for some subscribers and has no fallback; write "
                f'{{{{ subscriber.{name} | default("...") }}}} or test it with "is defined"'
            )
        problems.append(Problem("warning", part, line, message))
    return problems


def _render(template: Template, context: Mapping[str, Any]) -> tuple[int | None, str] | None:
    """None when ``template`` renders; else the template line and the reason."""
    try:
        template.render(context)
    except Exception as exc:  # anything a user's template raises is a finding, not a crash
        line = None
        tb = exc.__traceback__
        while tb is not None:
            # Jinja rewrites tracebacks so that template frames carry template lines.
            if tb.tb_frame.f_code.co_filename == "<template>":
                line = tb.tb_lineno
            tb = tb.tb_next
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return line, str(message)
    return None


def _walk(node: nodes.Node, parent: nodes.Node | None = None) -> Iterator[tuple[Any, Any]]:
    yield node, parent
    for child in node.iter_child_nodes():
        yield from _walk(child, node)


def _key(node: Any) -> str | None:
    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return node.arg.value if isinstance(node.arg.value, str) else None
    return None


def _label(node: Any) -> str | None:
    """``subscriber.attributes.plan`` for a chain of lookups on a name, else None."""
    keys = []
    while (key := _key(node)) is not None:
        keys.append(key)
        node = node.node
    if not isinstance(node, nodes.Name) or not keys:
        return None
    return ".".join([node.name, *reversed(keys)])


def _guarded(node: Any, parent: Any) -> bool:
    if isinstance(parent, nodes.Filter) and parent.node is node:
        return parent.name in _GUARD_FILTERS
    if isinstance(parent, nodes.Test) and parent.node is node:
        return parent.name in _GUARD_TESTS
    return isinstance(parent, nodes.Call) and parent.node is node  # a method: .get(...)


def _hint(name: str, candidates: set[str] | frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


def _static(
    part: str, ast: nodes.Template, names: frozenset[str], attributes: Mapping[str, Any]
) -> list[Problem]:
    problems: list[Problem] = []
    undeclared = meta.find_undeclared_variables(ast)
    first_line: dict[str, int] = {}
    for node, _ in _walk(ast):
        if isinstance(node, nodes.Name) and node.ctx == "load":
            first_line.setdefault(node.name, node.lineno)
    for name in sorted(undeclared - names, key=lambda n: first_line.get(n, 0)):
        problems.append(
            Problem("error", part, first_line.get(name), f"{name!r} is undefined"
                    f"{_hint(name, names)}")
        )  # fmt: skip
    # A field tested with "is defined" anywhere (or read with a default) is taken as
    # handled everywhere: "x is defined and x == 1" reads it twice.
    guarded = {_label(node) for node, parent in _walk(ast) if _guarded(node, parent)}
    reported: set[str] = set()
    fields = SUBSCRIBER_FIELDS | set(attributes)
    for node, parent in _walk(ast):
        key = _key(node)
        if key is None or _guarded(node, parent) or _label(node) in guarded:
            continue
        owner = node.node
        if isinstance(owner, nodes.Name) and owner.name in undeclared:
            root = owner.name
            if root in FIXED_KEYS and key not in FIXED_KEYS[root]:
                known: set[str] | frozenset[str] = FIXED_KEYS[root]
            elif root == "subscriber" and key not in fields:
                known = fields
            else:
                continue
            label = f"{root}.{key}"
        elif (
            isinstance(owner, nodes.Getattr | nodes.Getitem)
            and _key(owner) == "attributes"
            and isinstance(owner.node, nodes.Name)
            and owner.node.name == "subscriber"
            and "subscriber" in undeclared
            and key not in attributes
        ):
            known, label = set(attributes), f"subscriber.attributes.{key}"
        else:
            continue
        if label in reported:
            continue
        reported.add(label)
        if root_is_subscriber := label.startswith("subscriber."):
            reason = f"no subscriber has {key!r}{_hint(key, known)}"
        else:
            reason = f"{label} does not exist{_hint(key, known)}"
        fix = f' (or give a fallback: {{{{ {label} | default("...") }}}})'
        problems.append(
            Problem("error", part, node.lineno, reason + (fix if root_is_subscriber else ""))
        )
    return problems
