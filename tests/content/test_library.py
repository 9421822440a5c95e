"""The template library in the store: saved only when clean, layouts guarded, versions."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine

from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.clock import FrozenClock
from sendwell.content.library import (
    TemplateDraft,
    add_template,
    attribute_samples,
    content_source,
    delete_template,
    get_template,
    list_templates,
    update_template,
)
from sendwell.errors import ConflictError, InvalidInput, NotFound, TemplateError

LAYOUT = TemplateDraft(
    "frame", kind="layout", body='<div>{{ content }}</div><a href="{{ unsubscribe_url }}">u</a>'
)
NEWS = TemplateDraft(
    "news",
    subject="News for {{ subscriber.email }}",
    format="markdown",
    body="# Hi {{ subscriber.first_name | default('you') }}",
    layout="frame",
)


def test_add_get_list_and_versions(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        add_template(conn, LAYOUT, now=clock.now())
        saved = add_template(conn, NEWS, now=clock.now())
        assert saved.warnings == ()
        t = saved.template
        assert (t.name, t.kind, t.format, t.layout, t.version) == (
            "news",
            "template",
            "markdown",
            "frame",
            1,
        )
        assert get_template(conn, str(t.id)) == get_template(conn, "news") == t
        clock.advance(60)
        edited = update_template(conn, "news", replace(t.draft(), body="# Hello"), now=clock.now())
        assert edited.template.version == 2 and edited.template.body == "# Hello"
        assert edited.template.updated_at > t.updated_at
        assert [x.name for x in list_templates(conn)] == ["news", "frame"]
        assert [x.name for x in list_templates(conn, kind="layout")] == ["frame"]
        source = content_source(conn, edited.template, subject="Override")
        assert source.subject == "Override" and source.layout is not None
        assert source.layout.body == LAYOUT.body


def test_errors_refuse_the_save_and_name_the_line(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        bad = TemplateDraft("bad", subject="Hi", body="<p>ok</p>\n<p>{{ unsubscribe_link }}</p>")
        with pytest.raises(TemplateError, match=r"body, line 2: 'unsubscribe_link' is undefined"):
            add_template(conn, bad, now=clock.now())
        assert list_templates(conn) == []


def test_warnings_come_back_with_the_saved_template(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        saved = add_template(
            conn, TemplateDraft("t", subject="s", body="Hi {{ subscriber.first_name }}"),
            now=clock.now(),
        )  # fmt: skip
    assert [p.line for p in saved.warnings] == [1]


def test_attributes_of_real_subscribers_are_known(engine: Engine, clock: FrozenClock) -> None:
    draft = TemplateDraft("t", subject="s", body="{{ subscriber.plan | upper }}")
    with engine.begin() as conn:
        with pytest.raises(TemplateError, match="no subscriber has 'plan'"):
            add_template(conn, draft, now=clock.now())
        ml = create_list(conn, "L", now=clock.now())
        add_subscribers(conn, [NewSubscriber("a@example.com", attributes={"plan": "pro"})],
                        mailing_list=ml, now=clock.now())  # fmt: skip
        assert attribute_samples(conn) == {"plan": "pro"}
        saved = add_template(conn, draft, now=clock.now())
    # Some subscribers might lack it: a warning, not an error.
    assert "'plan' is missing for some subscribers" in str(saved.warnings[0])


def test_layouts_in_use_are_kept_and_rechecked(engine: Engine, clock: FrozenClock) -> None:
    frame = TemplateDraft("mjframe", kind="layout", format="mjml",
                          body="<mjml><mj-body>{{ content }}</mj-body></mjml>")  # fmt: skip
    section = "<mj-section><mj-column><mj-text>x</mj-text></mj-column></mj-section>"
    with engine.begin() as conn:
        add_template(conn, frame, now=clock.now())
        add_template(conn, TemplateDraft("mjnews", subject="s", format="mjml", body=section,
                                         layout="mjframe"), now=clock.now())  # fmt: skip
        with pytest.raises(ConflictError, match="layout mjframe is used by mjnews"):
            delete_template(conn, "mjframe")
        as_html = replace(frame, format="html", body="<div>{{ content }}</div>")
        with pytest.raises(TemplateError, match="layout mjframe would break mjnews: MJML"):
            update_template(conn, "mjframe", as_html, now=clock.now())
        assert get_template(conn, "mjframe").version == 1
        delete_template(conn, "mjnews")
        delete_template(conn, "mjframe")
        with pytest.raises(NotFound):
            get_template(conn, "mjframe")


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (TemplateDraft("12", body="x"), "not only digits"),
        (TemplateDraft(" x", body="x"), "no surrounding spaces"),
        (TemplateDraft("x", body="  "), "the body is empty"),
        (TemplateDraft("x", body="a\x00b"), "NUL"),
        (TemplateDraft("x", kind="layout", format="markdown", body="{{ content }}"), "Markdown"),
        (TemplateDraft("x", kind="layout", subject="s", body="{{ content }}"), "no subject"),
        (TemplateDraft("x", body="x", layout="nope"), "no template nope"),
        (TemplateDraft("x", body="x" * 1_000_001), "longer than"),
    ],
)
def test_bad_drafts_are_refused(
    engine: Engine, clock: FrozenClock, draft: TemplateDraft, message: str
) -> None:
    with engine.begin() as conn, pytest.raises((InvalidInput, NotFound), match=message):
        add_template(conn, draft, now=clock.now())


def test_names_are_unique_and_kinds_fixed(engine: Engine, clock: FrozenClock) -> None:
    with engine.begin() as conn:
        add_template(conn, LAYOUT, now=clock.now())
        with pytest.raises(ConflictError, match="already exists"):
            add_template(conn, replace(LAYOUT, body="{{ content }}!"), now=clock.now())
        with pytest.raises(InvalidInput, match="kind cannot change"):
            update_template(conn, "frame", replace(LAYOUT, kind="template"), now=clock.now())
        add_template(conn, TemplateDraft("t", subject="s", body="x"), now=clock.now())
        not_a_layout = TemplateDraft("u", subject="s", body="x", layout="t")
        with pytest.raises(InvalidInput, match="is a template, not a layout"):
            add_template(conn, not_a_layout, now=clock.now())
