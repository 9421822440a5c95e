"""The shipped examples: each checks clean, installs (layout first) and compiles."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from sendwell.clock import FrozenClock
from sendwell.content.compile import Layout, compile_content
from sendwell.content.library import as_layout, content_source, get_template, list_templates
from sendwell.content.shipped import example, examples, install_example
from sendwell.content.validate import check_content
from sendwell.errors import ConflictError, NotFound

NAMES = [e.name for e in examples()]


def test_the_three_formats_are_shown() -> None:
    assert {e.draft.format for e in examples()} == {"html", "markdown", "mjml"}
    assert {e.draft.kind for e in examples()} == {"template", "layout"}
    assert NAMES[0] == "house-layout"  # layouts first


@pytest.mark.parametrize("name", NAMES)
def test_each_example_checks_without_a_problem(name: str) -> None:
    draft = example(name).draft
    layout = None
    if draft.layout is not None:
        d = example(draft.layout).draft
        layout = Layout(d.name, d.format, d.body, d.text)
    check = check_content(
        kind=draft.kind, fmt=draft.format, subject=draft.subject, body=draft.body,
        text=draft.text, layout=layout, attributes={},
    )  # fmt: skip
    assert check.problems == ()
    assert draft.description
    for marker in ("{{ unsubscribe_url }}", "{{ sender.postal_address }}", "sender.organization"):
        assert marker in draft.body or (layout is not None and marker in layout.body), marker


def test_installing_adds_the_layout_once(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        added = install_example(conn, "newsletter", now=clock.now())
        assert [s.template.name for s in added] == ["house-layout", "newsletter"]
        again = install_example(conn, "newsletter", now=clock.now(), as_name="newsletter-2")
        assert [s.template.name for s in again] == ["newsletter-2"]
        assert get_template(conn, "newsletter-2").layout == "house-layout"
        for name in ("newsletter", "announcement"):
            if name == "announcement":
                install_example(conn, name, now=clock.now())
            compiled = compile_content(content_source(conn, get_template(conn, name)))
            assert "{{ unsubscribe_url }}" in compiled.html
        assert as_layout(get_template(conn, "house-layout")).text is not None
        assert len(list_templates(conn)) == 4
        with pytest.raises(ConflictError):
            install_example(conn, "announcement", now=clock.now())
    with pytest.raises(NotFound, match="the examples are house-layout, announcement, news"):
        example("nope")
