"""Template injection (SSTI) corpus: nothing escapes the sandbox, exhaustion is bounded,
and subscriber data is never evaluated as a template.

Each payload is compiled and rendered the way campaigns are (``compile_template`` +
``render`` with a subscriber context). Escapes must end in a TemplateError or render
without any trace of Python internals; exhaustion attempts must end in a TemplateError
within a bounded time and with bounded memory (measured with tracemalloc).
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest
from sqlalchemy import Engine

from sendwell.campaigns.builder import Person
from sendwell.clock import FrozenClock
from sendwell.content.sandbox import DEADLINE, MAX_OUTPUT, MAX_SOURCE
from sendwell.content.templates import compile_template, subscriber_context
from sendwell.errors import TemplateError
from tests.compose.test_message_injection import assert_no_injection
from tests.content.samples import FOOTER, build_sample

CONTEXT: dict[str, Any] = {
    "subscriber": subscriber_context(
        email="ann@example.org", first_name="Ann", last_name=None, attributes={"plan": "pro"}
    ),
    "campaign": {"id": 1, "name": "News", "subject": "News"},
    "sender": {"organization": "Example", "postal_address": "1 Main St"},
    "unsubscribe_url": "https://x.example/u/1",
}
# What output must never contain: traces of Python objects, modules or configuration.
LEAKS = ("<class", "<module", "<function", "<built-in", "__", "os.", "subprocess", "SECRET",
         "jinja2.", "environment", "Undefined")  # fmt: skip

OBJECT_REPRS = ("<class", "<module", "<function", "<built-in", "<bound", "root:x:0:0")

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ subscriber.__class__ }}",
    "{{ subscriber.attributes.__class__.__base__.__subclasses__() }}",
    "{{ subscriber['__class__'] }}",
    "{{ request }}",
    "{{ config }}",
    "{{ range.__self__ }}",
    "{{ '{0.__class__}'.format(subscriber) }}",
    "{{ '{0.__class__.__mro__}'.format_map({'0': 1}) }}",
    "{{ '%(a)s' | format(a=subscriber.__class__) }}",
    "{{ subscriber.attributes.update({'x': 1}) }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ dict.__init__ }}",
    "{% import 'os' as os %}{{ os }}",
    "{% include '/etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
    "{{ caller }}",
]

EXHAUSTION = [
    "{{ range(10**9) | list }}",
    "{{ 'x' * 10**9 }}",
    "{{ [0] * 10**9 }}",
    "{{ 9 ** 999999999 }}",
    "{{ 10**100000 }}",
    "{{ '%999999999s' % 1 }}",
    "{{ '%*s' % (999999999, 'x') }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ 'x'.center(999999999) }}",
    "{{ 'x'.ljust(999999999) }}",
    "{{ 'x'.zfill(999999999) }}",
    "{{ ('\t' * 100000).expandtabs(999999) }}",
    "{{ ('x' * 100000).replace('', 'y' * 100000) }}",
    "{{ 'x' | center(999999999) }}",
    "{{ 'x' | indent(999999999) }}",
    "{{ '%999999999d' | format(1) }}",
    "{{ range(10000) | join('y' * 100000) }}",
    "{{ range(10) | slice(999999999) | list }}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{{ i }}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    "{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}",
    "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s | length }}",
    "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}{{ ns.s | length }}",
    "{% set ns = namespace(n=2) %}{% for i in range(64) %}{% set ns.n = ns.n * ns.n %}"
    "{% endfor %}{{ ns.n }}",
    "{% set b %}{% for i in range(10000) %}" + "y" * 1000
    + "{% endfor %}{% endset %}{{ b | length }}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{% set x = 'y' * 1000000 %}"
    "{% endfor %}{% endfor %}",
    "{{ lipsum(10**6) }}",
    "{{" + "(" * 10000 + "1" + ")" * 10000 + "}}",
    "{% if 1 %}" * 2000 + "x" + "{% endif %}" * 2000,
    "x" * (MAX_SOURCE + 1),
]  # fmt: skip

TIME_LIMIT = DEADLINE + 2.0  # the deadline, plus headroom for a busy machine
MEMORY_LIMIT = 64 * 1024 * 1024


def _render(source: str, part: str = "html", context: dict[str, Any] = CONTEXT) -> str:
    sources = {"subject": "S", "html": "<p>x</p>", "text": None}
    sources[part] = source
    template = compile_template(sources["subject"], sources["html"], sources["text"])  # type: ignore[arg-type]
    content = template.render(context)
    return {"subject": content.subject, "html": content.html, "text": content.text or ""}[part]


@pytest.mark.parametrize("part", ["subject", "html", "text"])
@pytest.mark.parametrize("payload", ESCAPES)
def test_nothing_escapes_the_sandbox(payload: str, part: str) -> None:
    try:
        out = _render(payload, part)
        leaks = LEAKS
    except TemplateError as exc:
        # The error may name the refused attribute; never an object it reached.
        out, leaks = str(exc), OBJECT_REPRS
    assert not any(leak in out for leak in leaks), out


@pytest.mark.parametrize("payload", EXHAUSTION, ids=lambda p: p[:60])
def test_exhaustion_is_refused_within_bounded_time_and_memory(payload: str) -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(TemplateError) as caught:
            _render(payload)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < TIME_LIMIT, (payload[:60], elapsed)
    assert peak < MEMORY_LIMIT, (payload[:60], peak)
    assert "template" in str(caught.value)


def test_the_limits_leave_ordinary_templates_alone() -> None:
    source = (
        "{% set ns = namespace(total=0) %}"
        "{% for p in range(50) %}<li>{{ loop.index }}: {{ '%05.2f' | format(p / 3) }}</li>"
        "{% set ns.total = ns.total + p %}{% endfor %}{{ ns.total }} {{ 'ab' * 100 }}"
        "{{ 'x'.center(40) }}{{ range(200) | join(',') }}{{ 2 ** 64 }}"
    )
    out = _render(source)
    assert "<li>50: 16.33</li>" in out and "1225" in out and str(2**64) in out
    long_loop = "{% for i in range(9000) %}{{ i }}{% endfor %}"
    assert _render(long_loop).endswith("8999")


def test_output_inside_loops_is_counted_against_the_limit() -> None:
    chunk = "y" * 1000
    just_under = f"{{% for i in range({MAX_OUTPUT // 1000 - 10}) %}}{chunk}{{% endfor %}}"
    assert len(_render(just_under)) > MAX_OUTPUT - 20_000
    with pytest.raises(TemplateError, match="output over"):
        _render(f"{{% for i in range({MAX_OUTPUT // 1000 + 10}) %}}{chunk}{{% endfor %}}")


JINJA_DATA = [
    "{{ 7*7 }}",
    "{{ ''.__class__.__mro__ }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "${7*7}",
    "#{7*7}",
    "{{ config }}",
    "{% raw %}{{ x }}{% endraw %}",
    "{# comment #}",
]


@pytest.mark.parametrize("data", JINJA_DATA)
def test_subscriber_data_is_never_evaluated_as_a_template(data: str) -> None:
    context = {
        **CONTEXT,
        "subscriber": subscriber_context(
            email="ann@example.org", first_name=data, last_name=data, attributes={"city": data}
        ),
    }
    subject = "Hi {{ subscriber.first_name }} {{ subscriber.city }}"
    html = "<p>{{ subscriber.first_name }} {{ subscriber.attributes.city }}</p>"
    text = "{{ subscriber.last_name }}"
    content = compile_template(subject, html, text).render(context)
    assert content.subject == f"Hi {data} {data}"
    assert content.text == data
    escaped = data.replace("'", "&#39;")
    assert content.html == f"<p>{escaped} {escaped}</p>"
    assert "49" not in content.subject + content.html + content.text


def test_data_with_template_syntax_arrives_literally_in_the_sent_message(
    sqlite_engine: Engine, clock: FrozenClock
) -> None:
    person = Person("ann@example.org", "{{ 7*7 }}", "{% raw %}x", {"city": "{{ config }}"})
    data = build_sample(
        sqlite_engine, clock, subject="Hi {{ subscriber.first_name }}", person=person,
        html="<p>{{ subscriber.first_name }} from {{ subscriber.city }}</p>" + FOOTER,
    )  # fmt: skip
    msg = assert_no_injection(data)
    assert str(msg["Subject"]) == "Hi {{ 7*7 }}"
    html = msg.get_body(("html",))
    assert html is not None
    assert "{{ 7*7 }} from {{ config }}" in html.get_content()
    assert "49" not in str(msg["Subject"])


@pytest.mark.parametrize(
    "expression",
    [
        "subscriber.first_name",
        "subscriber.attributes.plan",
        "subscriber.missing | default('none')",
        "subscriber.items is defined",
        "subscriber.get('plan')",
        "subscriber['first_name']",
        "campaign.name ~ campaign.id",
    ],
)
def test_dict_reads_resolve_as_in_jinjas_own_sandbox(expression: str) -> None:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from sendwell.content.sandbox import LimitedSandbox

    source = "{{ " + expression + " }}"
    ours = LimitedSandbox(undefined=StrictUndefined).from_string(source).render(CONTEXT)
    reference = ImmutableSandboxedEnvironment(undefined=StrictUndefined).from_string(source)
    assert ours == reference.render(CONTEXT)


def test_a_missing_field_is_still_an_error() -> None:
    with pytest.raises(TemplateError, match="frist_name"):
        compile_template("{{ subscriber.frist_name }}", "x").render(CONTEXT)
