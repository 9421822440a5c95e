"""A marketer's whole path through the admin UI in a real browser (Debian's Chromium).

Sign in → dashboard → import a CSV (upload, map columns, progress to done) → a segment
with its live count → install an example template, edit it with the live preview
(personalized as an imported subscriber; an error shown at its line) and save it → a
campaign from that template (setup, content with its preview) → preflight with no
blocker, the sending domain's DKIM, SPF and DMARC published in the sandbox's DNS as the
demo does → start → live progress while a real worker delivers to the sandbox's provider
MX servers on loopback → the report page with its charts → one subscriber's data
exported. A screenshot of each step goes to ``test-artifacts/web/``. Playwright drives the
system Chromium (``executable_path``); no browser is downloaded, and Chromium resolves no
name but loopback. Skips, saying why, where Playwright or Chromium is not installed
(fails instead in CI).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

import sendwell.cli.demo
from sendwell.accounts.users import create_user
from sendwell.app import App
from sendwell.cli.demo import publish_domain
from sendwell.clock import SystemClock
from sendwell.domains.store import find_domain
from sendwell.web.server import ServerThread
from tests.conftest import require_tool
from tests.web.conftest import ADMIN, PASSWORD, make_settings, sandboxed, seed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    # Nothing leaves the machine: a message's remote images (the open pixel at public_url)
    # fail to resolve instead of reaching the internet.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]  # fmt: skip
# The preview frames show a message as it is received, its open pixel included: an image
# at public_url, which no name resolves to here. That load may fail; no other.
PIXEL = "https://mail.example.com/o/0-"
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


def test_import_template_campaign_send_and_report(sqlite_engine: Engine, tmp_path: Path) -> None:
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
        domain = find_domain(conn, "example.com")
    assert domain is not None
    csv_file = tmp_path / "crm-export.csv"
    csv_file.write_text(PEOPLE, encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):  # the folder shows one walk, not several mixed
        old.unlink()
    problems: list[str] = []

    def console(message: sync_api.ConsoleMessage) -> None:
        where = message.location.get("url", "")
        if message.type != "error":
            return
        if where.startswith(PIXEL) and message.text.startswith("Failed to load resource"):
            return
        problems.append(f"{where}: {message.text}")

    with (
        sandboxed(base) as (app, sandbox),
        ServerThread(app) as server,
        sync_api.sync_playwright() as pw,
    ):
        publish_domain(app, sandbox, domain)  # as an operator does, and the demo
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, accept_downloads=True)
        page.on("console", console)
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

        # A template: install an example, edit it with the live preview as Ann (a Pro
        # subscriber), see an error at its line, fix it, save.
        nav = page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="Templates").click()
        page.get_by_role("button", name="Install the newsletter example").click()
        page.get_by_role("heading", name="Template: newsletter").wait_for()
        frame = page.frame_locator("iframe[name=preview]")
        expect(frame.locator("body")).to_contain_text("Hello Ada,")  # the sample subscriber
        shot("07-template-installed")
        body = page.get_by_label("Body")
        edited = "**Our December edition.**\n\n" + body.input_value()
        body.fill(edited)
        page.get_by_label("Preview as subscriber").fill("ann@gmail.sandbox")
        expect(frame.locator("strong")).to_have_text("Our December edition.")
        expect(frame.locator("body")).to_contain_text("Hello Ann,")
        expect(frame.locator("body")).to_contain_text("As a Pro customer")  # her plan
        expect(page.locator("#preview-subject")).to_have_text(
            "What's new at Example Inc. this month"
        )
        expect(page.locator("#preview-for")).to_have_text("ann@gmail.sandbox")
        shot("08-template-live-preview")
        body.fill(edited + "\n{{ subscriber.frist_name }}\n")
        problem = page.locator("#problems li", has_text="did you mean 'first_name'")
        expect(problem).to_be_visible()
        expect(page.get_by_label("Body")).to_have_attribute("aria-invalid", "true")
        line = edited.count("\n") + 2
        problem.get_by_role("button", name=f"body, line {line}").click()
        assert page.evaluate("document.activeElement.id") == "body"
        assert (
            page.evaluate(
                "(b => b.value.slice(b.selectionStart, b.selectionEnd))(document.activeElement)"
            )
            == "{{ subscriber.frist_name }}"
        )
        shot("09-template-error-at-its-line")
        body.fill(edited)
        expect(page.locator("#check-status")).not_to_contain_text("1 error")
        page.get_by_role("button", name="Save template").click()
        page.get_by_text("Template saved.").wait_for()
        shot("10-template-saved")

        # A campaign from that template: setup, content with its preview, preflight.
        nav.get_by_role("link", name="Campaigns").click()
        page.get_by_role("link", name="New campaign").click()
        page.get_by_label("Template", exact=True).select_option("newsletter")
        page.get_by_label("From address").fill("news@example.com")
        page.get_by_label("From name").fill("Example News")
        page.get_by_label(f"{LIST} (4 confirmed)").check()  # shown as text, never markup
        shot("11-new-campaign")
        page.get_by_role("button", name="Save draft and edit the content").click()
        page.get_by_role("heading", name="Content: newsletter").wait_for()
        expect(frame.locator("strong")).to_have_text("Our December edition.")  # its copy
        expect(frame.locator("body")).to_contain_text("Hello Ann,")  # the first subscriber
        shot("12-campaign-content")
        page.get_by_role("link", name="Next: preflight").click()
        page.get_by_role("heading", name="Preflight: newsletter").wait_for()
        assert page.get_by_text("No blockers: ready to send.").is_visible()
        assert page.get_by_role("cell", name="dns-unavailable").count() == 0  # DNS answered
        shot("13-preflight")
        page.get_by_role("button", name="Start sending").click()
        page.get_by_role("heading", name="Progress").wait_for()
        expect(page.locator("[data-count=queued]")).to_have_text("4")
        shot("14-campaign-queued")

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
        shot("15-campaign-finished")

        # The report: tables and the four charts, every image really drawn.
        page.get_by_role("link", name="Report").click()
        page.get_by_role("heading", name="Report: newsletter").wait_for()
        charts = page.locator(".charts img")
        assert charts.count() == 4
        for i in range(4):
            chart = charts.nth(i)
            chart.scroll_into_view_if_needed()
            # Drawn: loaded and sized (a broken image has no natural width).
            expect(chart).to_have_js_property("complete", True)
            assert chart.evaluate("img => img.naturalWidth") > 0
        assert page.get_by_role("cell", name="google.sandbox").is_visible()
        shot("16-report")
        page.set_viewport_size({"width": 380, "height": 800})
        shot("17-report-phone")
        page.set_viewport_size({"width": 1200, "height": 900})

        # One subscriber's data, exported from their page (a privacy request).
        nav.get_by_role("link", name="Subscribers").click()
        page.get_by_role("link", name="ann@gmail.sandbox").click()
        with page.expect_download() as download:
            page.get_by_role("button", name="Export all data (JSON)").click()
        exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert exported["subscriber"]["first_name"] == "Ann"
        assert [d["status"] for d in exported["deliveries"]] == ["delivered"]
        shot("18-subscriber-privacy")

        # The other pages a marketer uses, each reachable from the main navigation.
        for n, label in enumerate(
            ("Subscribers", "Verification", "Suppressions", "Domains", "Settings", "Users"),
            start=19,
        ):
            page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
            page.get_by_role("heading", level=1).first.wait_for()
            shot(f"{n}-{label.lower()}")
        browser.close()
    assert problems == []  # no script errors, no CSP violations (every asset is local)
