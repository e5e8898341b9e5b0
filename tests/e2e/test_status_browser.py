"""The public status page in Debian's Chromium at desktop (1280) and phone (375) widths: what a
visitor reads, UTC and local times, no sideways scrolling, a page that works without
JavaScript, and no security incident. HERALD_SCREENSHOTS=1 also saves
docs/screenshots/status.png and status-phone.png."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from herald.clock import FixedClock
from herald.services import status_page, status_posts
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database
from tests.browser_support import chromium, serve
from tests.status_setup import MESSENGER, incident

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WHY = "most cloud customers are impacted"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright; missing or broken is a failure, not a skip."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def url(tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A Herald with components, a resolved incident, an active one and a security one,
    served by uvicorn; yields the status page's URL."""
    path = tmp_path / "herald.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(home=tmp_path / "home", status_page_name="Acme Cloud status",  # type: ignore[arg-type]
                        database_url=f"sqlite:///{path}")
    settings.home.mkdir(parents=True, exist_ok=True)
    clock = FixedClock(datetime(2026, 3, 2, 14, 5, tzinfo=UTC))
    h = Herald(db=Database(settings.sqlalchemy_url()), settings=settings, clock=clock)
    for code, name, description in (
            ("api", "REST API", "Public API and webhooks"), ("web", "Web app", None),
            ("search", "Code search", "Search and indexing"), ("git", "Git operations", None)):
        status_page.add_component(h, code, name, description=description, actor=MESSENGER)
    old = incident(h, "inc-7", title="Search left out newly added repositories")
    status_posts.post_status(h, old, "investigating", actor=MESSENGER, override=WHY,
                             impact="major", components={"search": "partial_outage"})
    clock.advance(minutes=30)
    status_posts.post_status(h, old, "identified", actor=MESSENGER, override=WHY,
                             impact="major", components={"search": "degraded_performance"})
    clock.advance(minutes=25)
    status_posts.post_status(h, old, "resolved", actor=MESSENGER, override=WHY)
    clock.advance(days=3, hours=2)
    now = incident(h, "inc-8", title="Webhook deliveries are delayed")
    status_posts.post_status(h, now, "investigating", actor=MESSENGER, override=WHY,
                             impact="minor", components={"api": "degraded_performance"})
    secret = incident(h, "inc-9", security=True, title="Tokens exposed in build logs")
    with pytest.raises(Exception, match="security"):
        status_posts.post_status(h, secret, "investigating", actor=MESSENGER, override=WHY)
    with serve(h) as base:
        yield f"{base}/status/"
    h.db.dispose()


def no_sideways_scroll(page: Page) -> None:
    """Nothing is wider than the window."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width  # type: ignore[index]


def reads_right(page: Page) -> None:
    """What every visitor must find, by role and name."""
    expect(page).to_have_title("Acme Cloud status: Minor Service Outage")
    expect(page.get_by_role("heading", level=1)).to_have_text("Minor Service Outage")
    expect(page.get_by_role("heading", name="Active incidents")).to_be_visible()
    active = page.get_by_role("article", name="Webhook deliveries are delayed")
    expect(active).to_contain_text("Investigating")
    expect(active).to_contain_text("It affects you only if you upgraded to 5.2.0")
    components = page.get_by_role("list").filter(has_text="Code search")
    expect(components.get_by_role("listitem")).to_have_count(4)
    expect(components.get_by_role("listitem").filter(has_text="REST API")).to_contain_text(
        "Degraded performance")
    past = page.get_by_role("article", name="Search left out newly added repositories")
    expect(past).to_contain_text("Resolved 2026-03-02 15:00 UTC")
    past.locator("summary").click()
    expect(past.get_by_text("We have a fix. To apply it on your side")).to_be_visible()
    expect(page.get_by_text("Tokens exposed")).to_have_count(0)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").count() == 1
    for t in page.locator("time").all():
        assert t.get_attribute("datetime") and t.inner_text().endswith("UTC")


@pytest.mark.parametrize(("width", "height", "shot"), [(1280, 900, "status.png"),
                                                       (375, 740, "status-phone.png")])
def test_status_page_at_desktop_and_phone_width(browser: Browser, url: str, width: int,
                                                height: int, shot: str) -> None:
    context = browser.new_context(viewport={"width": width, "height": height},
                                  timezone_id="America/New_York", locale="en-US")
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        response = page.goto(url)
        assert response is not None and response.status == 200
        page.keyboard.press("Tab")  # the first stop is the skip link
        expect(page.get_by_role("link", name="Skip to the status")).to_be_focused()
        reads_right(page)
        # the script adds the viewer's local time (New York: UTC-5 in early March)
        local = page.locator("time + .local").first
        expect(local).to_have_text(re.compile(r"\((Mar|Feb) \d+, \d\d:\d\d (AM |PM )?EST\)"))
        expect(page.get_by_text("with your local time beside them")).to_be_visible()
        no_sideways_scroll(page)
        assert errors == [], errors  # no CSP violation, no script error
        target = Path(os.environ.get("PYTEST_TMP", "/tmp")) / f"herald-{shot}"
        page.screenshot(path=str(target), full_page=True)
        if os.environ.get("HERALD_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(target, SCREENSHOTS / shot)
    finally:
        context.close()


def test_status_page_works_without_javascript(browser: Browser, url: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740},
                                  java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(url)
        reads_right(page)
        expect(page.locator(".local")).to_have_count(0)
        expect(page.get_by_text("with your local time beside them")).to_be_hidden()
        no_sideways_scroll(page)
        feed = page.get_by_role("link", name="Atom")
        assert feed.get_attribute("href") == "history.atom"
    finally:
        context.close()
