"""The template sandbox: Jinja2's immutable sandbox plus limits on time, memory and work.

Jinja2's sandbox stops templates from reaching Python internals (``__class__``,
``__globals__``, ``_TemplateReference__context`` ...), but not from exhausting the
machine: ``{{ 'x' * 10**9 }}``, ``{{ 9**9**9 }}``, ``{{ '%999999999s' % 1 }}``,
``{{ 'x' | center(10**9) }}``, nested ``range`` loops or a macro that calls itself
twice per level all run as long and as large as they like. Templates are written by
users and rendered per recipient inside the delivery worker, so every render here is
bounded:

* source: at most :data:`MAX_SOURCE` characters per template part;
* work: at most :data:`MAX_ITERATIONS` loop iterations and :data:`MAX_CALLS` calls
  (functions, methods, macros) per render, ``range()`` at most :data:`MAX_RANGE` items;
* memory: every string or sequence an operator, filter or string method would build is
  sized *before* it is built (at most :data:`MAX_VALUE`), integers stay under
  :data:`MAX_INT_BITS`, and all output produced inside loops and macros — including what
  ``{% set %}`` blocks capture — is counted against :data:`MAX_OUTPUT`;
* time: :data:`DEADLINE` seconds per render, checked at every loop iteration, call,
  operator and output chunk;
* recursion: too deep a template or macro recursion is an error, not a crash.

A limit hit raises :class:`jinja2.exceptions.SecurityError` naming it; the caller
(``content.templates``) turns it into a :class:`~sendwell.errors.TemplateError`. Every
``render`` of a template of this environment gets a fresh budget.

How: loop iterables and output chunks are wrapped, at compile time, in two internal
filters that count (``code_generator_class``); operators ``+ * ** %`` are intercepted
(``intercepted_binops``); calls go through :meth:`LimitedSandbox.call`; the filters
that take a size (``center``, ``indent``, ``format``, ``join``, ``replace``, ``batch``,
``slice``) are replaced by checked ones; ``lipsum`` (which makes text of any size) is
removed. Subscriber data is only ever *values* in the context: nothing renders it as a
template, so ``{{ 7*7 }}`` in a first name arrives as those characters.

Limits: sizes of values that come from the context itself (subscriber attributes) are
bounded by the import's own caps, not here; the deadline is wall-clock time, so a very
busy machine reaches it sooner.
"""

from __future__ import annotations

import math
import string
import time
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

MAX_SOURCE = 256 * 1024
MAX_OUTPUT = 2 * 1024 * 1024
MAX_VALUE = 1024 * 1024
MAX_ITERATIONS = 10_000
MAX_CALLS = 10_000
MAX_RANGE = 10_000
MAX_INT_BITS = 64 * 1024
MAX_WIDTH = 10_000  # widths and precisions in %-formats and format specs
DEADLINE = 1.0

_GUARD_LOOP = "sendwell_loop_guard"
_GUARD_OUTPUT = "sendwell_output_guard"


@dataclass
class _Budget:
    deadline: float
    iterations: int = 0
    calls: int = 0
    output: int = 0
    events: int = 0

    def tick(self) -> None:
        # Reading the clock costs more than the rest of a guard: every 32nd event is often
        # enough, since each event between two reads is bounded by the size limits.
        self.events += 1
        if self.events & 31 == 0 and time.monotonic() > self.deadline:
            raise SecurityError(f"rendering took longer than {DEADLINE:g} s")


_BUDGET: ContextVar[_Budget | None] = ContextVar("sendwell_template_budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:
        # Only reachable through Jinja APIs sendwell does not use (``Template.module``):
        # a budget of its own for this one step rather than none at all.
        budget = _Budget(time.monotonic() + DEADLINE)
    return budget


def _check_size(n: int, what: str) -> None:
    if n > MAX_VALUE:
        raise SecurityError(f"{what} would be {n:,} long, over the limit of {MAX_VALUE:,}")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def _check_int(value: Any) -> None:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise SecurityError(f"a number over {MAX_INT_BITS:,} bits")


def _widths_ok(spec: str) -> bool:
    """No width or precision in a format spec is over MAX_WIDTH."""
    digits = ""
    for ch in spec + " ":
        if ch.isdigit():
            digits += ch
            continue
        if digits and int(digits) > MAX_WIDTH:
            return False
        digits = ""
    return True


def _check_percent_format(fmt: str) -> None:
    """``'%999999999s' % x`` would build a string that wide; ``*`` takes it from the data."""
    i = 0
    while (i := fmt.find("%", i)) != -1:
        j = i + 1
        while j < len(fmt) and fmt[j] in "#0- +123456789.*(":
            if fmt[j] == "(":
                j = fmt.find(")", j)
                if j == -1:
                    return
            j += 1
        spec = fmt[i + 1 : j]
        if "*" in spec or not _widths_ok(spec):
            raise SecurityError(f"format width in {fmt[i : j + 1]!r} is over {MAX_WIDTH}")
        i = j + 1


def _check_brace_format(fmt: str) -> None:
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec and ("{" in spec or not _widths_ok(spec)):
            raise SecurityError(f"format spec {spec!r} is over the width limit of {MAX_WIDTH}")


def _binop(op: str, left: Any, right: Any) -> Any:
    if op == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(times, int) and _size(seq):
                _check_size(_size(seq) * max(times, 0), "a repeated value")
        ints = isinstance(left, int) and isinstance(right, int)
        if ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise SecurityError(f"a product over {MAX_INT_BITS:,} bits")
        return left * right
    if op == "**":
        ints = isinstance(left, int) and isinstance(right, int)
        if ints and abs(left) > 1 and right > 0 and right * math.log2(abs(left)) > MAX_INT_BITS:
            raise SecurityError(f"a power over {MAX_INT_BITS:,} bits")
        return left**right
    if op == "+":
        _check_size(_size(left) + _size(right), "a joined value")
        return left + right
    if op == "%":
        if isinstance(left, str):
            _check_percent_format(left)
        return left % right
    raise SecurityError(f"operator {op} is not intercepted")


# String methods that build a string sized by an argument, and how big it would be.
def _method_size(name: str, s: str | bytes, args: tuple[Any, ...]) -> int:
    if name in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
        return int(args[0])
    if name == "expandtabs":
        tab = args[0] if args and isinstance(args[0], int) else 8
        return len(s) * max(tab, 1)
    if name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        count = (len(s) + 1) if not old else s.count(old)
        if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
            count = min(count, args[2])
        return len(s) + count * max(_size(new) - _size(old), 0)
    if name == "join" and args and isinstance(args[0], list | tuple):
        items = args[0]
        return sum(_size(x) for x in items) + len(s) * max(len(items) - 1, 0)
    return 0


def _checked_call(obj: Any, args: tuple[Any, ...]) -> None:
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(owner, str | bytes):
        _check_size(_method_size(name, owner, args), f"str.{name}()")
        if name in ("format", "format_map") and isinstance(owner, str):
            _check_brace_format(owner)
    wrapped = getattr(obj, "__wrapped__", None)  # the sandbox's str.format wrapper
    if wrapped is not None and isinstance(getattr(wrapped, "__self__", None), str):
        _check_brace_format(wrapped.__self__)


def _filters() -> dict[str, Callable[..., Any]]:
    base = FILTERS

    def center(value: Any, width: int = 80) -> Any:
        _check_size(int(width), "center()")
        return base["center"](value, width)

    def indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> Any:
        n = len(width) if isinstance(width, str) else int(width)
        _check_size(len(str(s)) * (1 + max(n, 0)), "indent()")
        return base["indent"](s, width, first, blank)

    def format_(value: str, *args: Any, **kwargs: Any) -> str:
        _check_percent_format(str(value))
        return str(base["format"](value, *args, **kwargs))

    def join(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: Any = None) -> Any:
        items = list(value)
        _check_size(len(d) * max(len(items) - 1, 0) + sum(_size(x) for x in items), "join()")
        return base["join"](eval_ctx, items, d, attribute)

    join.jinja_pass_arg = base["join"].jinja_pass_arg  # type: ignore[attr-defined]

    def replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> Any:
        args = (old, new) if count is None else (old, new, count)
        _check_size(_method_size("replace", str(s), args), "replace()")
        return base["replace"](eval_ctx, s, old, new, count)

    replace.jinja_pass_arg = base["replace"].jinja_pass_arg  # type: ignore[attr-defined]

    def batch(value: Iterable[Any], linecount: int, fill_with: Any = None) -> Any:
        if fill_with is not None:
            _check_size(int(linecount), "batch()")
        return base["batch"](value, linecount, fill_with)

    def slice_(value: Any, slices: int, fill_with: Any = None) -> Any:
        _check_size(int(slices), "slice()")
        return base["slice"](value, slices, fill_with)

    return {"center": center, "indent": indent, "format": format_, "join": join,
            "replace": replace, "batch": batch, "slice": slice_}  # fmt: skip


# Both guards take the context so Jinja never folds them into constants at compile time:
# template text inside a loop must be counted each time it is produced.
@pass_context
def _loop_guard(context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    budget = _budget()
    for item in iterable:
        budget.iterations += 1
        if budget.iterations > MAX_ITERATIONS:
            raise SecurityError(f"more than {MAX_ITERATIONS:,} loop iterations")
        budget.tick()
        yield item


@pass_context
def _output_guard(context: Context, value: Any, literal: int = 0) -> Any:
    """Count ``value`` (and ``literal`` characters of template text beside it)."""
    budget = _budget()
    budget.output += literal + (len(value) if isinstance(value, str) else 0)
    if budget.output > MAX_OUTPUT:
        raise SecurityError(f"output over {MAX_OUTPUT:,} characters")
    budget.tick()
    return value


def _safe_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise SecurityError(f"range() of {len(r):,} items; the limit is {MAX_RANGE:,}")
    return r


class _LimitedNamespace(Namespace):
    """``namespace()``: values assigned in loops are sized, so doubling one is refused."""

    def __setitem__(self, name: str, value: Any) -> None:
        _check_size(_size(value), "a namespace value")
        _check_int(value)
        super().__setitem__(name, value)


def _guarded(expr: nodes.Expr, extra: int = 0, lineno: int | None = None) -> nodes.Filter:
    # The new nodes carry the line of what they wrap: Jinja maps errors back to template
    # lines through them, and save-time checks report those lines to the author.
    line = expr.lineno if lineno is None else lineno
    args: list[nodes.Expr] = [nodes.Const(extra, lineno=line)] if extra else []
    return nodes.Filter(expr, _GUARD_OUTPUT, args, [], None, None, lineno=line)


class _GuardingCodeGenerator(CodeGenerator):
    """Wraps every loop's iterable, and the output chunks that can repeat, in the guards.

    Output can only repeat inside a loop or a macro (or ``{% call %}``) body; output
    outside them runs once per render and is bounded by the source size, so it is left
    alone — most of a mail template, which keeps the guards' cost small.
    """

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for loop in node.find_all(nodes.For):
            loop.iter = nodes.Filter(
                loop.iter, _GUARD_LOOP, [], [], None, None, lineno=loop.iter.lineno
            )
        repeated: dict[int, nodes.Output] = {}
        for body in node.find_all((nodes.For, nodes.Macro, nodes.CallBlock)):
            for output in body.find_all(nodes.Output):
                repeated[id(output)] = output
        for output in repeated.values():
            # Literal text is counted once per Output node (one guard call with its total
            # length) and stays a compile-time constant; expressions are counted each.
            literal = sum(len(c.data) for c in output.nodes if isinstance(c, nodes.TemplateData))
            counted: list[nodes.Expr] = [
                c if isinstance(c, nodes.TemplateData) else _guarded(c) for c in output.nodes
            ]
            if literal:
                counted.insert(0, _guarded(nodes.Const("", lineno=output.lineno), literal))
            output.nodes = counted
        super().visit_Template(node, frame)


class _LimitedTemplate(Template):
    """A template whose every render (or generation) gets a fresh budget."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        token = _BUDGET.set(_Budget(time.monotonic() + DEADLINE))
        try:
            return super().render(*args, **kwargs)
        finally:
            _BUDGET.reset(token)

    def generate(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        token = _BUDGET.set(_Budget(time.monotonic() + DEADLINE))
        try:
            yield from super().generate(*args, **kwargs)
        finally:
            _BUDGET.reset(token)


_DICT_ATTRIBUTES = frozenset(dir(dict))


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox with the limits of this module."""

    code_generator_class = _GuardingCodeGenerator
    template_class = _LimitedTemplate
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.globals["range"] = _safe_range
        self.globals["namespace"] = _LimitedNamespace
        self.globals.pop("lipsum", None)
        self.filters.update(_filters())
        self.filters[_GUARD_LOOP] = _loop_guard
        self.filters[_GUARD_OUTPUT] = _output_guard

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # Jinja chains each template's globals to the environment's (a ChainMap), so that
        # globals added later still show; every render then copies and iterates that chain.
        # These environments never change their globals after construction, so each
        # template takes a plain copy: two fewer ChainMap walks per render.
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        # ``subscriber.first_name`` reads a plain dict. Jinja tries the attribute first,
        # which raises (and is caught) on every such read, then takes the item without
        # further checks; a key that is not also a dict attribute gives the same result
        # directly.
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _budget().tick()
        result = _binop(operator, left, right)
        _check_int(result)
        return result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.calls += 1
        if budget.calls > MAX_CALLS:
            raise SecurityError(f"more than {MAX_CALLS:,} calls")
        budget.tick()
        _checked_call(__obj, args)
        return super().call(__context, __obj, *args, **kwargs)


def check_source(source: str, part: str) -> None:
    """Refuse a template part bigger than MAX_SOURCE before compiling it."""
    if len(source) > MAX_SOURCE:
        raise SecurityError(
            f"the {part} template is {len(source):,} characters; the limit is {MAX_SOURCE:,}"
        )
