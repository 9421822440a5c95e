"""Benchmark: what one round of the template editor's live preview costs the server.

While an author types, the editor sends, after each pause, two requests with the unsaved
form: the live check (``POST /admin/templates/check``: every save-time check, then a
render for the chosen subscriber) and the preview frame (``POST /admin/templates/
preview``: the same again, answering with the HTML document). This measures one such
round for each shipped example (Markdown in an HTML layout, MJML), in process over
Starlette's test client, against the same work done directly with the library:
``check_draft`` and ``preview_draft`` (the check), then ``preview_draft`` again (the
frame, which only renders: the check has judged the content already). Both run in this
process on the same database (1,000 subscribers with attributes), so the ratio is
measured under the same load; CPU time, not wall time, since the machine may be shared.

Reported per example: CPU milliseconds per round through HTTP and directly, and the
ratio. The last line is JSON: ``{"benchmark": "web_preview", "metrics": {...}}``.

Usage: ``python benchmarks/web_preview.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from sendwell.accounts.users import create_user
from sendwell.app import App
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.campaigns.preview import preview_draft
from sendwell.clock import SystemClock
from sendwell.config import Secret, Settings
from sendwell.content.library import TemplateDraft, check_draft, get_template
from sendwell.content.shipped import install_example
from sendwell.store.engine import create_db_engine
from sendwell.store.migrate import upgrade
from sendwell.web.app import create_app

PASSWORD = "benchmark password"


def per_round(run: Callable[[], None], rounds: int) -> float:
    """CPU milliseconds per call of ``run`` (after one warm-up call)."""
    run()
    started = time.process_time()
    for _ in range(rounds):
        run()
    return (time.process_time() - started) * 1000 / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="Rounds per example.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine = create_db_engine(f"sqlite:///{root / 'bench.db'}")
        upgrade(engine)
        settings = Settings().replace(
            data_dir=root / "data", secret_key=Secret("b" * 32), spamd_address="",
            sender_organization="Example Inc.", sender_postal_address="1 Main St",
        )  # fmt: skip
        app = App(settings=settings, engine=engine, clock=SystemClock())
        now = app.clock.now()
        with engine.begin() as conn:
            ml = create_list(conn, "News", now=now)
            people = [NewSubscriber(f"p{i}@example.org", f"P{i}", None,
                                    {"plan": "pro" if i % 3 else "free", "age": i % 80})
                      for i in range(1000)]  # fmt: skip
            add_subscribers(conn, people, mailing_list=ml, now=now)
            create_user(conn, "bench@example.com", PASSWORD, now=now)
            install_example(conn, "newsletter", now=now)
            install_example(conn, "announcement", now=now)
        metrics: dict[str, float] = {}
        rows = []
        with TestClient(create_app(app), base_url="https://bench") as client:
            client.get("/admin/login")
            token = str(client.cookies.get("sendwell_login_csrf"))
            login = {"email": "bench@example.com", "password": PASSWORD, "csrf_token": token}
            client.post("/admin/login", data=login)
            html = client.get("/admin/").text
            marker = 'name="csrf_token" value="'
            csrf = html[html.index(marker) + len(marker) :].split('"')[0]
            for name in ("newsletter", "announcement"):
                with engine.connect() as conn:
                    draft = get_template(conn, name).draft()
                form = {"csrf_token": csrf, "name": name, "kind": "template",
                        "format": draft.format, "subject": draft.subject,
                        "layout": draft.layout or "", "body": draft.body,
                        "text": draft.text or "", "preview_as": "p7@example.org"}  # fmt: skip

                def through_http(form: dict[str, str] = form) -> None:
                    checked = client.post("/admin/templates/check", data=form)
                    framed = client.post("/admin/templates/preview", data=form)
                    assert checked.json()["ok"] and framed.status_code == 200

                def direct(draft: TemplateDraft = draft) -> None:
                    with engine.connect() as conn:
                        assert not check_draft(conn, draft).errors
                        for _ in range(2):  # the check's rendering, then the frame's
                            preview_draft(conn, draft, email_address="p7@example.org",
                                          sender=app.sender_defaults(), public_url="https://x",
                                          secret_key=b"k")  # fmt: skip

                web = per_round(through_http, args.rounds)
                base = per_round(direct, args.rounds)
                metrics[f"{name}_http_ms"] = round(web, 2)
                metrics[f"{name}_direct_ms"] = round(base, 2)
                metrics[f"{name}_ratio"] = round(web / base, 2)
                rows.append((name, draft.format, web, base))
        engine.dispose()
    print(f"{'example':14} {'format':9} {'http ms/round':>14} {'direct ms':>10} {'ratio':>6}")
    for name, fmt, web, base in rows:
        print(f"{name:14} {fmt:9} {web:14.1f} {base:10.1f} {web / base:6.2f}")
    print(json.dumps({"benchmark": "web_preview", "metrics": metrics}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
