"""A campaign's content: a snapshot of what it was made from, editable only as a draft."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine, select

from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.content import (
    campaign_content,
    create_campaign_with_content,
    edit_campaign_content,
)
from sendwell.campaigns.service import create_campaign, get_campaign, start_campaign
from sendwell.clock import FrozenClock
from sendwell.content.compile import ContentSource
from sendwell.content.library import (
    TemplateDraft,
    add_template,
    as_layout,
    content_source,
    delete_template,
    get_template,
    update_template,
)
from sendwell.errors import ConflictError, InvalidInput, TemplateError
from sendwell.store.schema import campaigns

LAYOUT = TemplateDraft(
    "frame",
    kind="layout",
    body="<html><head><style>p { color: #222 }</style></head><body>{{ content }}"
    '<p>{{ sender.organization }} <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
    "</body></html>",
)
NEWS = TemplateDraft(
    "news",
    subject="News for {{ subscriber.first_name | default('you') }}",
    format="markdown",
    body="Hello {{ subscriber.first_name | default('there') }}\n\nVersion one.",
    layout="frame",
)


def _setup(engine: Engine, clock: FrozenClock) -> int:
    with engine.begin() as conn:
        ml = create_list(conn, "News", now=clock.now())
        add_subscribers(conn, [NewSubscriber("ann@example.com", "Ann")], mailing_list=ml,
                        now=clock.now())  # fmt: skip
        add_template(conn, LAYOUT, now=clock.now())
        add_template(conn, NEWS, now=clock.now())
    return ml.id


def _create(engine: Engine, clock: FrozenClock, list_id: int) -> int:
    with engine.begin() as conn:
        template = get_template(conn, "news")
        saved = create_campaign_with_content(
            conn, content_source(conn, template), name="", from_email="news@example.com",
            from_name="News", list_ids=[list_id], now=clock.now(), origin=template,
        )  # fmt: skip
    return saved.campaign.id


def test_a_campaign_keeps_a_snapshot_of_its_template(engine: Engine, clock: FrozenClock) -> None:
    list_id = _setup(engine, clock)
    campaign_id = _create(engine, clock, list_id)
    with engine.begin() as conn:
        campaign = get_campaign(conn, campaign_id)
        assert campaign.name == "news"  # the template's name by default
        assert campaign.subject == NEWS.subject
        assert '<p style="color: #222;">Version one.</p>' in campaign.html_template
        content = campaign_content(conn, campaign_id)
        assert (content.format, content.template_name, content.template_version) == (
            "markdown",
            "news",
            1,
        )
        assert content.layout is not None and content.layout.body == LAYOUT.body
        before = campaign.html_template
        # The library moves on; the campaign does not.
        news = get_template(conn, "news")
        update_template(conn, "news", replace(news.draft(), body="Version two."),
                        now=clock.now())  # fmt: skip
        frame = get_template(conn, "frame")
        update_template(conn, "frame", replace(frame.draft(), body="<div>{{ content }}</div>"),
                        now=clock.now())  # fmt: skip
        delete_template(conn, "news")
        assert get_campaign(conn, campaign_id).html_template == before
        content = campaign_content(conn, campaign_id)
        assert "Version one." in content.body and content.template_name == "news"
        assert content.layout is not None and content.layout.body == LAYOUT.body


def test_drafts_are_edited_and_started_campaigns_are_not(
    engine: Engine, clock: FrozenClock
) -> None:
    list_id = _setup(engine, clock)
    campaign_id = _create(engine, clock, list_id)
    with engine.begin() as conn:
        current = campaign_content(conn, campaign_id)
        source = replace(current.source("Edited {{ campaign.name }}"), text="Plain {{ view_url }}")
        saved = edit_campaign_content(conn, campaign_id, source, now=clock.now(), name="renamed")
        assert saved.warnings == ()
        c = saved.campaign
        assert (c.name, c.subject) == ("renamed", "Edited {{ campaign.name }}")
        # The content's text goes inside a text made from the layout's HTML.
        assert c.text_template is not None and c.text_template.startswith("Plain {{ view_url }}")
        assert "Unsubscribe ({{ unsubscribe_url }})" in c.text_template
        edited = campaign_content(conn, campaign_id)
        assert (edited.text, edited.template_name) == ("Plain {{ view_url }}", "news")
        no_layout = replace(source, layout=None, format="html", body="<p>{{ x }}</p>")
        with pytest.raises(TemplateError, match="body, line 1: 'x' is undefined"):
            edit_campaign_content(conn, campaign_id, no_layout, now=clock.now())
        assert get_campaign(conn, campaign_id).subject == "Edited {{ campaign.name }}"
        start_campaign(conn, campaign_id, now=clock.now())
        with pytest.raises(ConflictError, match="content changes only in a draft"):
            edit_campaign_content(conn, campaign_id, source, now=clock.now())


def test_campaigns_from_files_and_from_the_plain_service(
    engine: Engine, clock: FrozenClock
) -> None:
    list_id = _setup(engine, clock)
    with engine.begin() as conn:
        layout = as_layout(get_template(conn, "frame"))
        saved = create_campaign_with_content(
            conn,
            ContentSource("mjml", "Hi", "<mj-section><mj-column><mj-text>Hi {{ subscriber.name }}"
                          "</mj-text></mj-column></mj-section>",
                          layout=None),
            name="", from_email="n@example.com", from_name="", list_ids=[list_id],
            now=clock.now(),
        )  # fmt: skip
        assert saved.campaign.name == "Hi"
        assert [str(w) for w in saved.warnings] == [
            "body, line 1: 'name' is missing for some subscribers and has no fallback; write "
            '{{ subscriber.name | default("...") }} or test it with "is defined"'
        ]
        content = campaign_content(conn, saved.campaign.id)
        assert (content.format, content.template_name, content.layout) == ("mjml", None, None)
        assert saved.campaign.html_template.lstrip().lower().startswith("<!doctype html>")
        with pytest.raises(InvalidInput, match="needs a subject"):
            create_campaign_with_content(
                conn, ContentSource("html", " ", "<p>x</p>", layout=layout), name="",
                from_email="n@example.com", from_name="", list_ids=[list_id], now=clock.now(),
            )  # fmt: skip
        plain = create_campaign(
            conn, name="p", subject="s", from_email="n@example.com", from_name="",
            html_template="<p>{{ subscriber.email }}</p>", text_template=None,
            list_ids=[list_id], now=clock.now(),
        )  # fmt: skip
        content = campaign_content(conn, plain.id)
        assert (content.format, content.body) == ("html", "<p>{{ subscriber.email }}</p>")
        count = len(conn.execute(select(campaigns.c.id)).all())
        with pytest.raises(TemplateError):
            create_campaign_with_content(
                conn, ContentSource("html", "s", "{% if %}"), name="", from_email="n@example.com",
                from_name="", list_ids=[list_id], now=clock.now(),
            )  # fmt: skip
        assert len(conn.execute(select(campaigns.c.id)).all()) == count
