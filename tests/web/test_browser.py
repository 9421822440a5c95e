"""A marketer's path through the admin UI in a real browser (Debian's Chromium).

Sign in → dashboard → import a CSV (upload, map columns, progress to done) → a segment
with its live count → new campaign → preflight → start → live progress while a real
worker delivers to the sandbox's provider MX servers on loopback → the report page with
its charts, with a screenshot of each step in ``test-artifacts/web/``. Playwright drives
the system Chromium (``executable_path``); no browser is downloaded. Skips, saying why,
where Playwright or Chromium is not installed (fails instead in CI).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

import sendwell.cli.demo
from sendwell.accounts.users import create_user
from sendwell.app import App
from sendwell.clock import SystemClock
from sendwell.web.server import ServerThread
from tests.conftest import require_tool
from tests.web.conftest import ADMIN, PASSWORD, make_settings, sandboxed, seed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
# The demo's shaping: the sandbox's providers as a warmed-up sender may send to them.
SHAPING = Path(sendwell.cli.demo.__file__).with_name("demo_shaping.toml")
LIST = "Weekly <b>news</b>"
PEOPLE = (
    "E-Mail,Vorname,plan\n"
    "ann@gmail.sandbox,Ann,pro\n"
    "bob@outlook.sandbox,Bob,free\n"
    "not an address,X,free\n"
    "cy@yahoo.sandbox,Cy,pro\n"
    "unknown-dee@icloud.sandbox,Dee,free\n"
)

UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter(el => el.type !== "hidden" && !el.closest("[aria-hidden=true]"))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                && !el.getAttribute("aria-labelledby"))
  .map(el => el.outerHTML)"""

pytestmark = pytest.mark.slow


def test_import_segment_campaign_send_and_report(sqlite_engine: Engine, tmp_path: Path) -> None:
    try:
        from playwright import sync_api
        from playwright.sync_api import expect
    except ImportError:
        require_tool("playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        require_tool("Debian's chromium is not installed (make system-deps)")
    base = App(
        settings=make_settings(tmp_path, shaping_file=str(SHAPING)), engine=sqlite_engine,
        clock=SystemClock(),
    )  # fmt: skip
    seed(base, people=0, list_name=LIST)
    with base.engine.begin() as conn:
        create_user(conn, ADMIN, PASSWORD, now=base.clock.now())
    csv_file = tmp_path / "crm-export.csv"
    csv_file.write_text(PEOPLE, encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []

    with (
        sandboxed(base) as (app, _),
        ServerThread(app) as server,
        sync_api.sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        url = server.url

        def shot(name: str) -> None:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            # Every visible form control has an accessible name (a label, aria-label or
            # aria-labelledby), so screen readers can say what it is for.
            unnamed = page.evaluate(UNLABELLED)
            assert unnamed == [], (name, unnamed)

        # Sign in: the login form has focus, the skip link comes first for keyboards.
        page.goto(f"{url}/admin/imports")
        assert page.url.startswith(f"{url}/admin/login?next=")
        assert page.evaluate("document.activeElement.id") == "email"  # autofocus
        page.get_by_label("Email address").fill(ADMIN)
        page.get_by_label("Password").fill(PASSWORD)
        shot("01-sign-in")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/admin/imports")
        page.goto(f"{url}/admin/")
        page.get_by_role("heading", name="Reputation").wait_for()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        shot("02-dashboard")

        # Import: upload, map the columns, declare the basis, watch it finish.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
        page.get_by_label("File (CSV with a header row").set_input_files(str(csv_file))
        page.get_by_label("Import into list").select_option(label=f"{LIST} (0 confirmed)")
        shot("03-import-upload")
        page.get_by_role("button", name="Upload and map columns").click()
        page.get_by_role("heading", name="Map the columns of crm-export.csv").wait_for()
        assert page.get_by_label("E-Mail").input_value() == "email"  # guessed from the header
        page.get_by_label("Vorname").select_option("first_name")
        assert page.get_by_label("plan", exact=True).input_value() == "attribute"
        page.get_by_label("They gave consent (signed up, ticked a box)").check()
        page.get_by_label("Consent wording they agreed to").fill("Yes, send me the weekly news")
        shot("04-import-mapping")
        page.get_by_role("button", name="Start the import").click()
        expect(page.locator("[data-job=state]")).to_have_text("finished")
        expect(page.locator("[data-job='counts.added']")).to_have_text("4")
        expect(page.locator("[data-job='counts.rejected']")).to_have_text("1")
        assert page.get_by_role("link", name="Download the rows not imported").is_visible()
        shot("05-import-done")

        # A segment: pick an example, watch the live count, then narrow it by hand.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Segments").click()
        page.get_by_role("link", name="New segment").click()
        page.get_by_label("Name").fill("Pro plan")
        page.get_by_role("button", name="Use: Attribute plan is pro").click()
        count = page.locator("#live-count [data-count]")
        expect(count).to_have_text("2")
        page.get_by_label("Filter (JSON)").fill('{"attr": "plan", "op": "=", "value": "free"}')
        expect(count).to_have_text("2")
        page.get_by_label("Filter (JSON)").fill('{"attr": "plan", "op": "=", "value": ')
        page.get_by_text("Not valid JSON yet").wait_for()
        page.get_by_label("Filter (JSON)").fill('{"field": "domain", "value": "gmail.sandbox"}')
        expect(count).to_have_text("1")
        shot("06-segment-live-count")
        page.get_by_role("button", name="Create segment").click()
        page.get_by_role("heading", name="Segment: Pro plan").wait_for()

        # A campaign to the imported list, its preflight, and the start.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
        page.get_by_role("link", name="New campaign").click()
        page.get_by_label("Subject").fill("December news")
        page.get_by_label("From address").fill("news@example.com")
        page.get_by_label("From name").fill("Example News")
        page.get_by_label(f"{LIST} (4 confirmed)").check()  # shown as text, never markup
        shot("07-new-campaign")
        page.get_by_role("button", name="Save draft and run preflight").click()
        page.get_by_role("heading", name="Preflight: December news").wait_for()
        assert page.get_by_text("No blockers: ready to send.").is_visible()
        shot("08-preflight")
        page.get_by_role("button", name="Start sending").click()
        page.get_by_role("heading", name="Progress").wait_for()
        expect(page.locator("[data-count=queued]")).to_have_text("4")
        shot("09-campaign-queued")

        # A real worker delivers to the sandbox while the page polls its progress.
        errors: list[BaseException] = []

        def deliver() -> None:
            try:
                asyncio.run(app.worker().drain())
            except BaseException as exc:  # reported below
                errors.append(exc)

        worker = threading.Thread(target=deliver, name="test-worker")
        worker.start()
        expect(page.locator("#state")).to_have_text("finished", timeout=60_000)
        worker.join(60)
        assert errors == []
        expect(page.locator("[data-count=delivered]")).to_have_text("3")
        expect(page.locator("[data-count=bounced]")).to_have_text("1")
        shot("10-campaign-finished")

        # The report: tables and the four charts, every image really drawn.
        page.get_by_role("link", name="Report").click()
        page.get_by_role("heading", name="Report: December news").wait_for()
        charts = page.locator(".charts img")
        assert charts.count() == 4
        for i in range(4):
            chart = charts.nth(i)
            chart.scroll_into_view_if_needed()
            # Drawn: loaded and sized (a broken image has no natural width).
            expect(chart).to_have_js_property("complete", True)
            assert chart.evaluate("img => img.naturalWidth") > 0
        assert page.get_by_role("cell", name="google.sandbox").is_visible()
        shot("11-report")
        page.set_viewport_size({"width": 380, "height": 800})
        shot("12-report-phone")
        page.set_viewport_size({"width": 1200, "height": 900})

        # The other pages a marketer uses, each reachable from the main navigation.
        for n, label in enumerate(
            ("Subscribers", "Verification", "Suppressions", "Domains", "Settings", "Users"),
            start=13,
        ):
            page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
            page.get_by_role("heading", level=1).first.wait_for()
            shot(f"{n}-{label.lower()}")
        browser.close()
    assert problems == []  # no script errors, no CSP violations (every asset is local)
