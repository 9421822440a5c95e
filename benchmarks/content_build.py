"""Benchmark: what authoring formats cost, once per campaign and per recipient.

For three campaigns — the demo's plain HTML newsletter (the cost before formats existed),
the shipped Markdown newsletter in the HTML house layout, and the shipped MJML
announcement — it measures:

* **compile**: checking and compiling the content once (format → HTML, layout, CSS
  inlining), as done when a campaign is created or edited;
* **build**: CPU time per message through the delivery workers' own builder
  (``CampaignMessageBuilder.build``: render, tracking links, MIME, RSA-2048 DKIM), on a
  real SQLite database, in batches of 500 like a worker's lease;
* **naive**: what converting per recipient would cost instead (Jinja, then Markdown or
  MJML, then CSS inlining, for every message), for comparison.

The last row sends the MJML campaign's compiled HTML as a plain HTML campaign: equal
per-message cost shows that the format itself costs nothing per recipient — only the size
of the HTML it produces does (quoted-printable, DKIM body hash, link rewriting).

Prints a table, then one JSON line last:
``{"benchmark": "content_build", "metrics": {...}}``. CPU time (``process_time``) is
used, so other processes on the machine disturb the figures less than wall time would.

    .venv/bin/python benchmarks/content_build.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, select

from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.builder import CampaignMessageBuilder
from sendwell.campaigns.content import check_and_compile, create_campaign_with_content
from sendwell.campaigns.sender import SenderDefaults
from sendwell.campaigns.service import start_campaign
from sendwell.cli.demo import HTML as DEMO_HTML
from sendwell.clock import FrozenClock
from sendwell.content.compile import ContentSource, Layout, compile_content
from sendwell.content.context import sample_context
from sendwell.content.formats import markdown_to_html, mjml_to_html
from sendwell.content.inline import inline_css
from sendwell.content.shipped import example
from sendwell.content.templates import environment
from sendwell.delivery.jobs import OutboxJob
from sendwell.domains.store import add_domain
from sendwell.store.engine import create_db_engine
from sendwell.store.migrate import upgrade
from sendwell.store.schema import outbox

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KEY = b"benchmark-key-0123456789abcdef01"


def _sources() -> dict[str, ContentSource]:
    layout = example("house-layout").draft
    news = example("newsletter").draft
    announcement = example("announcement").draft
    house = Layout(layout.name, layout.format, layout.body, layout.text)
    demo_subject = "Hello {{ subscriber.first_name | default('') }}"
    mjml = ContentSource("mjml", announcement.subject, announcement.body)
    return {
        "html (demo)": ContentSource("html", demo_subject, DEMO_HTML),
        "markdown + layout": ContentSource("markdown", news.subject, news.body, None, house),
        "mjml": mjml,
        # The MJML campaign's compiled HTML, given as HTML: same bytes, no format at all.
        "html = mjml output": ContentSource("html", mjml.subject, compile_content(mjml).html),
    }


def _cpu(fn: Callable[[], object], repeat: int) -> float:
    """Best CPU seconds per call over three runs of ``repeat`` calls."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(repeat):
            fn()
        best = min(best, (time.process_time() - start) / repeat)
    return best


def _build_cost(directory: Path, source: ContentSource, messages: int) -> tuple[float, int]:
    """CPU µs per message through the worker's builder, and the size of one message."""
    engine = create_db_engine(f"sqlite:///{directory / 'bench.db'}")
    upgrade(engine)
    clock = FrozenClock(NOW)
    with engine.begin() as conn:
        ml = create_list(conn, "L", now=NOW)
        people = [NewSubscriber(f"reader{i}@example.org", f"Reader{i}") for i in range(messages)]
        add_subscribers(conn, people, mailing_list=ml, now=NOW)
        add_domain(conn, "example.com", selector="s1", ed25519=False, secret_key=KEY, now=NOW)
        campaign = create_campaign_with_content(
            conn, source, name="bench", from_email="news@example.com", from_name="News",
            list_ids=[ml.id], now=NOW,
        ).campaign  # fmt: skip
        start_campaign(conn, campaign.id, now=NOW)
        jobs = [OutboxJob(r.id, r.campaign_id, r.subscriber_id, r.email, r.domain, 0, None)
                for r in conn.execute(select(outbox).order_by(outbox.c.id))]  # fmt: skip
    defaults = SenderDefaults(organization="Example Ltd", postal_address="1 Main St")
    best = float("inf")
    size = 0
    for _ in range(3):
        builder = CampaignMessageBuilder(
            engine, clock=clock, secret_key=KEY, public_url="https://mail.example.com",
            sender_defaults=defaults,
        )  # fmt: skip
        builder.build(jobs[:1])  # campaign preparation, once per worker: not per message
        start = time.process_time()
        built = []
        for i in range(0, len(jobs), 500):
            built.extend(builder.build(jobs[i : i + 500]))
        best = min(best, (time.process_time() - start) / len(jobs))
        size = len(getattr(built[0], "data", b""))
    engine.dispose()
    return best * 1e6, size


def _naive_cost(source: ContentSource) -> float:
    """CPU µs per recipient if the format were converted for every message."""
    context = sample_context(full=True, attributes={})
    body = environment(html=False).from_string(source.body)
    layout = (
        environment(html=False).from_string(source.layout.body)
        if source.layout is not None
        else None
    )

    def one() -> str:
        rendered = body.render(context)
        if source.format == "markdown":
            rendered = markdown_to_html(rendered)
        if layout is not None:
            rendered = layout.render({**context, "content": rendered})
        if source.format == "mjml":
            rendered = mjml_to_html(rendered)
        return inline_css(rendered)

    return _cpu(one, 200) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages built per run")
    args = parser.parse_args()
    metrics: dict[str, dict[str, float]] = {}
    print(f"{'campaign':<20} {'compile ms':>11} {'build µs/msg':>13} {'naive µs/msg':>13} "
          f"{'message bytes':>14}")  # fmt: skip
    for name, source in _sources().items():
        with tempfile.TemporaryDirectory() as tmp:
            engine = create_db_engine(f"sqlite:///{Path(tmp) / 'c.db'}")
            upgrade(engine)
            with engine.connect() as conn:

                def check(conn: Connection = conn, source: ContentSource = source) -> object:
                    return check_and_compile(conn, source)

                compile_ms = _cpu(check, 20) * 1e3
            engine.dispose()
            compile_content(source)
            build_us, size = _build_cost(Path(tmp), source, args.messages)
        naive_us = _naive_cost(source) + build_us
        metrics[name] = {"compile_ms": round(compile_ms, 2), "build_us_per_msg": round(build_us),
                         "naive_us_per_msg": round(naive_us), "message_bytes": size}  # fmt: skip
        print(f"{name:<20} {compile_ms:>11.2f} {build_us:>13.0f} {naive_us:>13.0f} {size:>14}")
    print(json.dumps({"benchmark": "content_build", "metrics": metrics}))


if __name__ == "__main__":
    main()
