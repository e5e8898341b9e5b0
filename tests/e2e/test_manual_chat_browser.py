"""The manual chat channel in Chromium: the messenger writes the claim messages, copies one
to the clipboard, says "I posted it" with the post's link, and finds the link saved and on
the timeline; then answers a review as the buddy on the Reviews tab.

The app runs under uvicorn in a thread on its own temporary SQLite Herald (the services are
tested on both databases elsewhere). Chromium missing is a failure, never a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from argon2 import PasswordHasher
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from herald.clock import SystemClock
from herald.services import accounts, chat, drafts, incidents, reviews, views
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database
from herald.web.app import create_app
from tests.helpers import BUDDY, LEAD, MESSENGER, fill_facts

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "correct horse battery staple"
PEOPLE = {MESSENGER: ("Mia Messenger", ["support"]), BUDDY: ("Bo Buddy", ["support"])}
TITLE = "Search misses new repositories"
POST_LINK = "https://chat.example.com/archives/C0SUPPORT/p1767258000000100"
SHOTS = Path(os.environ.get("HERALD_SCREENSHOTS", "")) if os.environ.get(
    "HERALD_SCREENSHOTS") else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright; missing is a failure, not a skip."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is missing at {CHROMIUM}; install Debian's chromium package",
                    pytrace=False)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Site:
    """The app on a loopback port, its Herald, and one incident under way."""

    url: str
    h: Herald
    ref: str
    contexts: list[BrowserContext] = field(default_factory=list)


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[Site]:
    path = tmp_path / "herald.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{path}")
    settings.home.mkdir(parents=True, exist_ok=True)
    assert settings.chat_transport == "manual"  # the embedded default
    h = Herald(db=Database(settings.sqlalchemy_url()), settings=settings, clock=SystemClock())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                       parallelism=1))
        for email, (name, roles) in PEOPLE.items():
            accounts.create_user(h, email=email, name=name, roles=roles, password=PASSWORD,
                                 actor="setup@example.com")
        ref = incidents.create_incident(h, title=TITLE, actor=MESSENGER, messenger=MESSENGER,
                                        messenger_name="Mia Messenger", number="inc-42")
        for role, email, name in (("buddy", BUDDY, "Bo Buddy"), ("incident_lead", LEAD, "Lia"),
                                  ("cs_leader", "csl@example.com", "Clo")):
            incidents.set_role(h, ref, role, email, actor=MESSENGER, name=name)
        incidents.add_link(h, ref, "channel", "https://chat.example.com/archives/C0INC42",
                           actor=MESSENGER)
        fill_facts(h, ref)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(create_app(h), log_config=None,
                                               access_log=False, lifespan="off",
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start", pytrace=False)
            time.sleep(0.02)  # waiting for the server to listen
        s = Site(url=f"http://127.0.0.1:{sock.getsockname()[1]}", h=h, ref=ref)
        try:
            yield s
        finally:
            for context in s.contexts:
                context.close()
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
            h.db.dispose()


@pytest.fixture
def sign_in(browser: Browser, site: Site) -> Callable[[str, str], Page]:
    """A fresh browser (own cookies, clipboard allowed) signed in through the login page."""

    def open_as(email: str, path: str) -> Page:
        context = browser.new_context(base_url=site.url)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
        context.set_default_timeout(10_000)
        site.contexts.append(context)
        page = context.new_page()
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(re.compile(r"/login"))
        expect(page.locator("h1")).to_have_text(TITLE)
        return page

    return open_as


def flash(page: Page, text: str) -> None:
    expect(page.locator("main > .flash")).to_contain_text(text)


def shot(page: Page, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_manual_channel_end_to_end(site: Site, sign_in: Callable[[str, str], Page]) -> None:
    ref = site.ref
    page = sign_in(MESSENGER, f"/incidents/{ref}/messages")
    expect(page.get_by_role("link", name="Messages")).to_have_attribute("aria-current", "page")
    expect(page.locator("#nothing-pending")).to_be_visible()

    # Queue the claim messages (step 1): four channels, nothing leaves on its own.
    page.get_by_role("button", name="Write the step 1 messages").click()
    flash(page, "4 messages queued.")
    expect(page.get_by_role("heading", name="Waiting (4)")).to_be_visible()
    items = chat.chat_items(site.h, ref, pending_only=True)
    assert [i.channel for i in items] == ["#support", "#support-internal", "#incidents",
                                          "C0INC42"]
    first = items[0]
    card = page.locator(f"#msg-{first.id}")
    expect(card).to_contain_text("To #support")
    expect(card).to_contain_text("to post by hand")
    expect(card.locator(f"#text-{first.id}")).to_have_text(first.text)
    shot(page, "messages-manual")

    # Copy one: the clipboard holds exactly the text to paste.
    card.get_by_role("button", name="Copy the text").click()
    expect(card.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == first.text

    # "I posted it", with the link to the post.
    card.get_by_label("Link to your post").fill(POST_LINK)
    card.get_by_role("button", name=re.compile("^I posted it")).click()
    flash(page, "Recorded as posted with its link")
    expect(page.get_by_role("heading", name="Waiting (3)")).to_be_visible()
    expect(page.get_by_role("heading", name="Posted (1)")).to_be_visible()
    posted = page.locator(f"#msg-{first.id}")
    expect(posted).to_contain_text("posted")
    expect(posted.get_by_role("link", name="the post")).to_have_attribute("href", POST_LINK)
    saved = chat.chat_item(site.h, ref, first.id)
    assert (saved.state, saved.link) == ("sent", POST_LINK)

    # The link is on the timeline.
    page.get_by_role("link", name="Timeline").click()
    row = page.locator("li.tl-row", has_text="Posted: Chat: claim the incident (#support)")
    expect(row).to_have_count(1)
    expect(row.get_by_role("link", name=re.compile("^link"))).to_have_attribute(
        "href", POST_LINK)
    rows = [r for r in views.timeline(site.h, ref) if r.key == f"post_{first.id}"]
    assert len(rows) == 1 and rows[0].link == POST_LINK and rows[0].completed_at
    shot(page, "timeline-post")

    # A post confirmed without a link is recorded too.
    page.get_by_role("link", name="Messages").click()
    second = page.locator(f"#msg-{items[1].id}")
    second.get_by_role("button", name=re.compile("^I posted it")).click()
    flash(page, "Recorded as posted; it is on the timeline.")
    expect(page.get_by_role("heading", name="Waiting (2)")).to_be_visible()


def test_request_reviews_and_answer_on_the_reviews_tab(
        site: Site, sign_in: Callable[[str, str], Page]) -> None:
    ref = site.ref
    drafts.new_draft(site.h, ref, "email_impact_known", actor=MESSENGER)
    page = sign_in(MESSENGER, f"/incidents/{ref}/reviews")
    expect(page.locator("#readiness")).to_contain_text("Not ready to send")
    expect(page.get_by_label(re.compile("^Status page proposal"))).to_have_value(
        re.compile("status page post"))
    page.get_by_label(re.compile("^Customer emails start on")).fill("2026-12-01")
    page.get_by_label(re.compile("^at")).fill("14:00")
    page.get_by_role("button", name="Request all reviews").click()
    flash(page, "Reviews requested from buddy, CS leadership, incident lead, marketing")
    expect(page.locator("#seat-buddy")).to_contain_text("waiting for an answer")
    shot(page, "reviews")

    buddy = sign_in(BUDDY, f"/incidents/{ref}/reviews")
    buddy.get_by_label("What should change").fill("Say which release fixes it.")
    buddy.get_by_role("button", name="Request changes as buddy").click()
    flash(buddy, "Buddy: asked for changes.")
    expect(buddy.locator("#seat-buddy")).to_contain_text("Say which release fixes it.")
    buddy.get_by_role("button", name="Approve as buddy").click()
    flash(buddy, "Buddy: approved. Not ready yet.")
    expect(buddy.locator("#seat-buddy")).to_contain_text("approved")
    seat = next(s for s in reviews.review_status(site.h, ref).seats if s.seat == "buddy")
    assert (seat.decision, seat.by) == ("approved", BUDDY)
