"""Chromium: the messenger walks customer replies from the follow-up queue to an FAQ entry
(answered, confirmed by engineering, offered for reuse) and to a post-mortem request (the PM
and incident lead told, the post-mortem sent)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from herald.clock import SystemClock
from herald.services import accounts, followup
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database
from herald.store.outbox_models import OutboxItem
from tests.browser_support import chromium, serve
from tests.followup_setup import Sent, items_by_customer, reply, sent_incident
from tests.sending_setup import MESSENGER

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"
ENGINEER = "eng@example.com"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, Herald, Sent]]:
    """An incident whose emails went out and two customers replied, served on loopback."""
    shutil.copy(sqlite_template, tmp_path / "herald.db")
    settings = Settings(home=tmp_path / "home",  # type: ignore[arg-type]
                        database_url=f"sqlite:///{tmp_path / 'herald.db'}")
    settings.home.mkdir()
    h = Herald(db=Database(settings.sqlalchemy_url()), settings=settings, clock=SystemClock())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                       parallelism=1))
        accounts.create_user(h, email=MESSENGER, name="Mia", roles=["support"],
                             password=PASSWORD, actor="setup@example.com")
        sent = sent_incident(h, tmp_path / "lists", n=4)
        c0, c2 = sent.contacts[0].email, sent.contacts[2].email
        assert followup.receive_reply(h, reply(sent.mail.to(c0), sender=c0, text=(
            "Do we have to reindex our repositories after upgrading to 5.2.1?"))).matched
        assert followup.receive_reply(h, reply(sent.mail.to(c2), sender=c2, text=(
            "Please send us the post-mortem when it is ready."))).matched
        with serve(h) as url:
            yield url, h, sent
        h.db.dispose()


def _open(browser: Browser, url: str, path: str) -> Page:
    context = browser.new_context(base_url=url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(path)
    page.get_by_label("Email").fill(MESSENGER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    return page


def test_a_reply_becomes_an_faq_entry_and_another_a_postmortem_request(
        browser: Browser, served: tuple[str, Herald, Sent]) -> None:
    url, h, sent = served
    c0, c2 = sent.contacts[0].email, sent.contacts[2].email
    items = items_by_customer(h)
    page = _open(browser, url, f"/incidents/{sent.ref}/followup")
    expect(page.get_by_role("link", name="Follow-up")).to_have_attribute("aria-current", "page")
    queue = page.locator("article.followup")
    expect(queue).to_have_count(4)
    expect(queue.first).to_contain_text("reindex our repositories")  # replied first
    expect(queue.nth(1)).to_contain_text("post-mortem when it is ready")
    expect(page.get_by_text("2 waiting for an answer.")).to_be_visible()

    # the first reply is a question for the FAQ
    first = page.locator(f"article[data-item='{items[c0].id}']")
    first.get_by_text("Decide what this reply needs").click()
    first.get_by_label("The question, for an FAQ entry").fill(
        "Do we have to reindex after upgrading?")
    first.get_by_role("button", name="FAQ question").click()
    expect(page.locator("main > .flash")).to_contain_text("Reply marked as an FAQ question")
    faq = page.locator("section[aria-labelledby='faq-h']")
    expect(faq).to_contain_text("Do we have to reindex after upgrading?")
    entry = faq.locator("[data-faq]")
    entry.get_by_text("Write the answer").click()
    entry.get_by_label("Planned answer").fill("No: 5.2.1 reindexes new repositories itself.")
    entry.get_by_role("button", name="Ask engineering to confirm").click()
    expect(page.locator("main > .flash")).to_contain_text("confirmation asked")
    expect(entry).to_contain_text("waiting for engineering")
    entry.get_by_text("Record the confirmation").click()
    entry.get_by_label("Engineer who confirmed (email)").fill(ENGINEER)
    entry.get_by_role("button", name="Confirmed").click()
    expect(page.locator("main > .flash")).to_contain_text(f"Answer confirmed by {ENGINEER}")
    expect(faq).to_contain_text(f"confirmed by {ENGINEER}")
    reuse = page.locator("aside")
    expect(reuse).to_contain_text("No: 5.2.1 reindexes new repositories itself.")
    expect(page.locator(f"article[data-item='{items[c0].id}'] [data-field='outcome']")
           ).to_have_text("faq")

    # the second asks for the post-mortem
    second = page.locator(f"article[data-item='{items[c2].id}']")
    second.get_by_text("Decide what this reply needs").click()
    second.get_by_role("button", name="Post-mortem request").click()
    expect(page.locator("main > .flash")).to_contain_text("added to the post-mortem requests")
    pm = page.locator("section[aria-labelledby='pm-h']")
    expect(pm.locator(f"li[data-postmortem='{c2}']")).to_contain_text("not sent yet")
    pm.get_by_role("button", name="Tell the PM and incident lead").click()
    expect(page.locator("main > .flash")).to_contain_text("PM and incident lead are told")
    pm = page.locator("section[aria-labelledby='pm-h']")
    pm.get_by_label("Post-mortem link").fill("https://example.com/postmortems/inc-7")
    pm.get_by_role("button", name="Send it to each customer who asked").click()
    expect(page.locator("main > .flash")).to_contain_text("1 post-mortem email(s) queued")
    expect(page.locator(f"li[data-postmortem='{c2}']")).to_contain_text("email queued")
    expect(page.locator("section[aria-labelledby='wrap-h']")).to_contain_text("FAQ entries: 1")

    with h.db.sessions() as s:
        rows = {r.key.split(":")[2] if r.kind == "chat" else r.key: r for r in s.scalars(
            select(OutboxItem).where(OutboxItem.key.like("chat:%chat_faq_confirm%")
                                     | OutboxItem.key.like("chat:%chat_postmortem%")
                                     | OutboxItem.key.like("postmortem:%")))}
    assert "No: 5.2.1 reindexes" in rows["chat_faq_confirm"].payload["text"]
    assert "Customer 1" in rows["chat_postmortem_requested"].payload["text"]
    pm_email = next(r for k, r in rows.items() if k.startswith("postmortem:"))
    assert pm_email.recipient == c2 and pm_email.state == "queued"
