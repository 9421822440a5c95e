"""A marketer's path through the admin UI in a real browser (Debian's Chromium).

Sign in → dashboard → lists → new campaign → preflight → start → live campaign page,
with a screenshot of each step in ``test-artifacts/web/``. Playwright drives the system
Chromium (``executable_path``); no browser is downloaded. Skips, saying why, where
Playwright or Chromium is not installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sendwell.app import App
from sendwell.clock import SystemClock
from sendwell.web.server import ServerThread
from sendwell.web.users import create_user
from tests.conftest import require_tool
from tests.web.conftest import ADMIN, PASSWORD, make_settings, seed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

pytestmark = pytest.mark.slow


def test_sign_in_create_a_campaign_preflight_and_start(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    try:
        from playwright import sync_api
    except ImportError:
        require_tool("playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        require_tool("Debian's chromium is not installed (make system-deps)")
    app = App(settings=make_settings(tmp_path), engine=sqlite_engine, clock=SystemClock())
    seed(app, people=5, list_name="Weekly <b>news</b>")
    with app.engine.begin() as conn:
        create_user(conn, ADMIN, PASSWORD, now=app.clock.now())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []

    with ServerThread(app) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        def shot(name: str) -> None:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

        page.goto(f"{server.url}/admin/campaigns")
        assert page.url.startswith(f"{server.url}/admin/login?next=")
        assert page.evaluate("document.activeElement.id") == "email"  # autofocus
        page.get_by_label("Email address").fill(ADMIN)
        page.get_by_label("Password").fill(PASSWORD)
        shot("01-sign-in")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{server.url}/admin/campaigns")
        page.goto(f"{server.url}/admin/")
        page.get_by_role("heading", name="Recent campaigns").wait_for()
        page.keyboard.press("Tab")  # keyboard users first reach the skip link
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        shot("02-dashboard")

        page.get_by_role("link", name="Lists").click()
        # The list name is shown as text, never as markup.
        page.get_by_role("link", name="Weekly <b>news</b>").wait_for()
        shot("03-lists")

        page.get_by_role("link", name="Campaigns").click()
        page.get_by_role("link", name="New campaign").click()
        page.get_by_label("Subject").fill("December news")
        page.get_by_label("From address").fill("news@example.com")
        page.get_by_label("From name").fill("Example News")
        page.get_by_label("Weekly <b>news</b> (5 confirmed)").check()
        shot("04-new-campaign")
        page.get_by_role("button", name="Save draft and run preflight").click()
        page.get_by_role("heading", name="Preflight: December news").wait_for()
        assert page.get_by_text("No blockers: ready to send.").is_visible()
        shot("05-preflight")

        page.get_by_role("button", name="Start sending").click()
        page.get_by_role("heading", name="Progress").wait_for()
        page.locator("#summary").wait_for()
        # The live script replaced the count from progress.json: 5 queued recipients.
        page.wait_for_function("document.querySelector('[data-count=queued]').textContent === '5'")
        assert page.locator("#state").text_content() == "running"
        shot("06-campaign-running")

        page.set_viewport_size({"width": 380, "height": 800})
        shot("07-campaign-phone")
        browser.close()
    assert problems == []  # no script errors, no CSP violations (every asset is local)
