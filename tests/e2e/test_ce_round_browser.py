"""The CE round in Chromium: a CE answers on their page while the messenger watches the
progress and the list become ready; and the CE sheet's round trip through the import page.

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
from openpyxl import load_workbook
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from herald.clock import SystemClock
from herald.services import accounts, contacts, plan
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database
from herald.web.app import create_app
from tests.contacts_web import CARLA, PASSWORD, seed_list
from tests.helpers import MESSENGER, new_incident

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PEOPLE = {MESSENGER: ("Maya Messenger", ["support"]), CARLA: ("Carla CE", ["account_team"])}


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
    """The app served on a loopback port, with its Herald and one incident on a CRM list."""

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
    h = Herald(db=Database(settings.sqlalchemy_url()), settings=settings, clock=SystemClock())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                       parallelism=1))
        for email, (name, roles) in PEOPLE.items():
            accounts.create_user(h, email=email, name=name, roles=roles, password=PASSWORD,
                                 actor="setup@example.com")
        ref = new_incident(h, number="inc-42")
        seed_list(h, ref, tmp_path)
        plan.set_fact(h, ref, "impact_condition", "you upgraded to 5.2.0", actor=MESSENGER)
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
    """A fresh browser (own cookies) signed in through the login page, at `path`."""

    def open_as(email: str, path: str) -> Page:
        context = browser.new_context(base_url=site.url, accept_downloads=True)
        context.set_default_timeout(10_000)
        site.contexts.append(context)
        page = context.new_page()
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(re.compile(r"/login"))
        expect(page.locator("h1")).to_have_text("Search is slow for large repositories")
        return page

    return open_as


def flash(page: Page, text: str) -> None:
    expect(page.locator("main > .flash")).to_contain_text(text)


def ce_row(page: Page, email: str) -> str:
    return page.locator(f"tr[data-ce='{email}']").inner_text()


def test_a_ce_answers_and_the_messenger_sees_the_list_become_ready(
        site: Site, sign_in: Callable[[str, str], Page]) -> None:
    ref = site.ref
    messenger = sign_in(MESSENGER, f"/incidents/{ref}/contacts/ce")
    expect(messenger.locator("#overall")).to_have_text("0 of 4 account(s) answered")
    expect(messenger.locator(f"tr[data-ce='{CARLA}']")).to_contain_text("0 / 2")
    expect(messenger.locator(f"tr[data-ce='{CARLA}']")).to_contain_text("Acme Corp, Initech")

    # The message asking for help, filled in, with a copy button.
    messenger.get_by_label("Link to the shared sheet").fill("https://sheets.example.com/d/42")
    messenger.get_by_label("Answers needed by (UTC)").fill("2026-11-28T16:00")
    messenger.get_by_role("button", name="Fill in the message").click()
    message = messenger.locator("#ce-message")
    expect(message).to_contain_text("impacted if you upgraded to 5.2.0. Please open the sheet "
                                    "(https://sheets.example.com/d/42) and write yes or no in "
                                    "column I")
    expect(message).to_contain_text("by 2026-11-28 16:00 UTC")
    expect(messenger.get_by_role("button", name="Copy the message")).to_be_visible()

    # The CE, signed in with their account-team account, answers on their own page.
    ce = sign_in(CARLA, f"/incidents/{ref}/contacts/ce/{CARLA}")
    expect(ce.locator("#ce-progress")).to_have_text("0 of 2 answered")
    expect(ce.locator("#condition")).to_have_text("you upgraded to 5.2.0")
    expect(ce.get_by_role("row")).to_have_count(3)  # header, Acme, Initech: not Globex
    ce.get_by_role("button", name="Yes, Acme Corp is impacted").click()
    flash(ce, "Acme Corp: impacted yes.")
    expect(ce.locator("#ce-progress")).to_have_text("1 of 2 answered")
    ce.get_by_role("button", name="No, Initech is not impacted").click()
    flash(ce, "Initech: impacted no.")
    expect(ce.locator("#ce-progress")).to_have_text("2 of 2 answered")
    acme = ce.locator("tr[data-account='0011']")
    expect(acme).to_contain_text("impacted")
    expect(acme).to_contain_text(f"by {CARLA}")
    expect(acme.get_by_role("button", name="Yes, Acme Corp is impacted")).to_have_attribute(
        "aria-pressed", "true")
    # Another CE's page shows no buttons to this CE.
    ce.goto(f"/incidents/{ref}/contacts/ce/cid@vendor.example")
    expect(ce.get_by_role("row")).to_have_count(2)
    expect(ce.get_by_role("button", name=re.compile("^Yes"))).to_have_count(0)

    # The messenger sees the progress, then answers the rest from the list.
    messenger.reload()
    expect(messenger.locator("#overall")).to_have_text("2 of 4 account(s) answered")
    expect(messenger.locator(f"tr[data-ce='{CARLA}']")).to_contain_text("2 / 2")
    expect(messenger.locator(f"tr[data-ce='{CARLA}']")).to_contain_text("done")
    messenger.get_by_role("link", name="← The customer list").click()
    expect(messenger.get_by_role("heading", name="Not ready yet")).to_be_visible()
    expect(messenger.locator("#problems")).to_contain_text("2 account(s) not marked")
    messenger.get_by_role("button", name="No, =HYPERLINK(\"http://x.example\") is not "
                                         "impacted").click()
    flash(messenger, "impacted no.")
    messenger.get_by_role("button", name="No, Hooli is not impacted").click()
    flash(messenger, "Hooli: impacted no.")
    expect(messenger.locator("#readiness")).to_contain_text("ready")
    expect(messenger.locator("#readiness")).to_contain_text(
        "The list is complete: 1 recipient(s) at 1 impacted account(s).")
    expect(messenger.locator("#shares")).to_contain_text("100%")
    assert contacts.list_status(site.h, ref).ready


def test_the_ce_sheet_round_trip(site: Site, sign_in: Callable[[str, str], Page],
                                 tmp_path: Path) -> None:
    ref = site.ref
    page = sign_in(MESSENGER, f"/incidents/{ref}/contacts/ce")
    row = page.locator(f"tr[data-ce='{CARLA}']")
    with page.expect_download() as got:
        row.get_by_role("link", name="XLSX").click()
    download = got.value
    assert download.suggested_filename == "inc-42-ce-sheet-carla.xlsx"
    sheet_path = tmp_path / "filled.xlsx"
    download.save_as(sheet_path)

    book = load_workbook(sheet_path)
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    column = header.index("Impacted (yes/no)") + 1
    names = {sheet.cell(row=r, column=2).value: r for r in range(2, sheet.max_row + 1)}
    assert set(names) == {"Acme Corp", "Initech"}
    sheet.cell(row=names["Acme Corp"], column=column, value="no")
    sheet.cell(row=names["Initech"], column=column, value="yes")
    book.save(sheet_path)

    page.goto(f"/incidents/{ref}/contacts")
    form = page.locator("#import")
    form.get_by_label("File", exact=True).set_input_files(sheet_path)
    form.get_by_label("What it is").select_option("crm")
    form.get_by_role("button", name="Preview the import").click()
    expect(page.locator("#report .eyebrow")).to_have_text("Preview: nothing is written yet")
    expect(page.locator("#summary")).to_contain_text("2 line(s) read: 2 imported")
    assert {r.account_id: r.impacted for r in contacts.list_contacts(site.h, ref)}["0011"] \
        is None  # the preview wrote nothing
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#report .eyebrow")).to_have_text("Imported")
    assert not list((Path(site.h.settings.home) / "uploads").iterdir())

    page.goto(f"/incidents/{ref}/contacts/ce/{CARLA}")
    expect(page.locator("#ce-progress")).to_have_text("2 of 2 answered")
    expect(page.locator("tr[data-account='0011']")).to_contain_text("not impacted")
    expect(page.locator("tr[data-account='0013']")).to_contain_text("impacted")
    expect(page.locator("tr[data-account='0013']")).to_contain_text(f"by {MESSENGER}")
    marks = {r.account_id: (r.impacted, r.mark_source)
             for r in contacts.list_contacts(site.h, ref)}
    assert marks["0011"] == (False, "crm:filled.xlsx")
    assert marks["0013"] == (True, "crm:filled.xlsx")
