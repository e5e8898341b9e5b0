"""Chromium: two people edit the same draft; the second save shows a conflict, both texts
stay (the editor keeps the second person's text, the draft keeps a parked copy)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, expect

from herald.clock import SystemClock
from herald.services import accounts, drafts, incidents, plan
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database
from tests.browser_support import chromium, serve

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"
MESSENGER, BUDDY = "maya@example.com", "liam@example.com"
KIND = "email_impact_known"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, Herald, str]]:
    """An incident with facts and a draft, served on loopback; yields (url, herald, ref)."""
    shutil.copy(sqlite_template, tmp_path / "herald.db")
    settings = Settings(home=tmp_path / "home",  # type: ignore[arg-type]
                        database_url=f"sqlite:///{tmp_path / 'herald.db'}")
    settings.home.mkdir()
    h = Herald(db=Database(settings.sqlalchemy_url()), settings=settings, clock=SystemClock())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                       parallelism=1))
        for email, name in ((MESSENGER, "Maya"), (BUDDY, "Liam")):
            accounts.create_user(h, email=email, name=name, roles=["support"],
                                 password=PASSWORD, actor="setup@example.com")
        ref = incidents.create_incident(h, title="Search results go missing", actor=MESSENGER,
                                        messenger=MESSENGER, number="inc-77")
        incidents.set_role(h, ref, "buddy", BUDDY, actor=MESSENGER)
        for key, value in (("release", "5.2.0"), ("causes", "missing search results"),
                           ("remediation", "upgrade to 5.2.1")):
            plan.set_fact(h, ref, key, value, actor=MESSENGER)
        drafts.new_draft(h, ref, KIND, actor=MESSENGER)
        with serve(h) as url:
            yield url, h, ref
        h.db.dispose()


def _open(browser: Browser, url: str, email: str, path: str) -> Page:
    context = browser.new_context(base_url=url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    return page


def test_conflicting_edits_show_both_texts_and_lose_nothing(
        browser: Browser, served: tuple[str, Herald, str]) -> None:
    url, h, ref = served
    path = f"/incidents/{ref}/drafts/{KIND}"
    maya = _open(browser, url, MESSENGER, path)
    liam = _open(browser, url, BUDDY, path)
    expect(maya.get_by_role("heading", name="Proofreading")).to_be_visible()

    liam.get_by_label("Text").fill("Hello {{ contact_name }}, the buddy's careful wording.")
    liam.get_by_role("button", name="Save as a new version").click()
    expect(liam.locator("main > .flash")).to_contain_text("Saved as version 2")

    maya.get_by_label("Text").fill("Hello {{ contact_name }}, the messenger's first try.")
    maya.get_by_role("button", name="Save as a new version").click()
    conflict = maya.locator("#conflict")
    expect(conflict).to_contain_text("saved version 2 while you were editing version 1")
    expect(conflict).to_contain_text("the buddy's careful wording")
    expect(conflict).to_contain_text("the messenger's first try")
    expect(maya.get_by_label("Text")).to_have_value(
        "Hello {{ contact_name }}, the messenger's first try.")
    assert drafts.parked_texts(h, ref, KIND)[0]["body"].endswith("the messenger's first try.")
    assert drafts.get_draft(h, ref, KIND).latest == 2  # the refused save changed nothing

    maya.get_by_label("Text").fill("Hello {{ contact_name }}, the buddy's careful wording, "
                                   "with the messenger's detail.")
    maya.get_by_role("button", name="Save as a new version").click()
    expect(maya.locator("main > .flash")).to_contain_text("Saved as version 3")
    assert "messenger's detail" in drafts.get_draft(h, ref, KIND).body
