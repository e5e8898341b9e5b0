"""Browser tests: Playwright drives Debian's Chromium against the real app served by uvicorn.

A messenger walks a normal and a security incident from the login page through claim, the
calm steps, buddy, plan (with a stale edit from a second browser) and timeline; the buddy
follows in the buddy view. Every assertion is on what the page shows.

The server runs on its own temporary SQLite database (not the parametrized `h` fixture:
one backend is enough to test the browser, the services are tested on both elsewhere).
Chromium missing is a failure, never a skip. HERALD_SCREENSHOTS=1 also saves the
screenshots of docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, BrowserContext, Page, expect

from herald.clock import SystemClock
from herald.services import accounts, demo, incidents, members, plan, steps
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database
from tests.browser_support import chromium, serve

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse battery staple"

MESSENGER = demo.MESSENGER  # Maya Okafor: the demo incident's messenger too
BUDDY = demo.BUDDY  # Liam Chen
CS_LEADER = demo.CS_LEADER  # Sam Ortiz
LEAD = demo.LEAD  # Priya Raman, incident lead: a person in a role, no account
SEC_LEAD = "sofia.reyes@example.com"
OUTSIDER = "omar.haddad@example.com"  # support, on none of the incidents
PEOPLE = {
    MESSENGER: ("Maya Okafor", ["support"]),
    BUDDY: ("Liam Chen", ["support"]),
    SEC_LEAD: ("Sofia Reyes", ["security"]),
    CS_LEADER: ("Sam Ortiz", ["support_leadership"]),
    OUTSIDER: ("Omar Haddad", ["support"]),
}
CHANNEL = "https://chat.example.com/archives/C0INC42"


# Fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright; missing or broken is a failure, not a skip."""
    with chromium() as launched:
        yield launched


@dataclass
class Site:
    """The app served over HTTP on a loopback port, with its Herald."""

    url: str
    h: Herald
    contexts: list[BrowserContext] = field(default_factory=list)


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[Site]:
    """A fresh SQLite Herald with the test people, served by uvicorn in a thread."""
    path = tmp_path / "herald.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(home=tmp_path / "home",  # type: ignore[arg-type]
                        database_url=f"sqlite:///{path}")
    settings.home.mkdir(parents=True, exist_ok=True)
    h = Herald(db=Database(settings.sqlalchemy_url()), settings=settings, clock=SystemClock())
    with pytest.MonkeyPatch.context() as mp:
        # Real argon2 at the lowest cost: logging in is not what these tests measure.
        mp.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                       parallelism=1))
        for email, (name, roles) in PEOPLE.items():
            accounts.create_user(h, email=email, name=name, roles=roles, password=PASSWORD,
                                 actor="setup@example.com")
        with serve(h) as url:
            s = Site(url=url, h=h)
            try:
                yield s
            finally:
                for context in s.contexts:
                    context.close()
        h.db.dispose()


@pytest.fixture
def sign_in(browser: Browser, site: Site) -> Callable[..., Page]:
    """Open a fresh browser (own cookies) and sign in through the login page."""

    def open_as(email: str, *, width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(base_url=site.url, viewport={"width": width,
                                                                   "height": height})
        context.set_default_timeout(10_000)
        site.contexts.append(context)
        page = context.new_page()
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login\?next=/$"))
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Open incidents")).to_be_visible()
        expect(page.get_by_role("link", name=PEOPLE[email][0])).to_be_visible()
        return page

    return open_as


# Helpers: the actions a person takes ----------------------------------------------------------

def flash(page: Page, text: str) -> None:
    """The one-time message after a form: confirmation (status) or refusal (alert)."""
    expect(page.locator("main > .flash")).to_contain_text(text)


def now_step(page: Page, number: int, title: str) -> None:
    """The checklist's current-step card shows this step."""
    card = page.locator("section.card.current")
    expect(card.locator(".eyebrow")).to_have_text(f"Step {number} of 24 · now")
    expect(card.get_by_role("heading", level=2)).to_have_text(title)


def press(page: Page, button: str, *, then: int, title: str) -> None:
    """Press the current step's one button and land on the next step."""
    page.locator("section.card.current").get_by_role("button", name=button).click()
    now_step(page, then, title)


def open_incident(page: Page, title: str, *, number: str = "", severity: str = "",
                  security: bool = False) -> str:
    """Fill the dashboard's form; returns the new incident's reference from the URL."""
    form = page.locator("form[action='/incidents']")
    form.get_by_label("Descriptive title").fill(title)
    if number:
        form.get_by_label("Number").fill(number)
    if severity:
        form.get_by_label("Severity").select_option(severity)
    if security:
        form.get_by_label("Security incident (need-to-know)").check()
    form.get_by_role("button", name="Open incident").click()
    expect(page).to_have_url(re.compile(r"/incidents/[\w-]+$"))
    found = re.search(r"/incidents/([\w-]+)$", page.url)
    assert found
    flash(page, f"Incident {found.group(1)} opened. Start with step 1.")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    return found.group(1)


def put_in_role(page: Page, role: str, email: str, name: str = "") -> None:
    """The header panel's 'Put someone in a role' form."""
    panel = page.locator("section.panel", has=page.get_by_role("heading", name="People"))
    panel.get_by_text("Put someone in a role").click()
    form = panel.locator("form[action$='/roles']")
    form.get_by_label("Role").select_option(role)
    form.get_by_label("Email").fill(email)
    if name:
        form.get_by_label("Name").fill(name)
    form.get_by_role("button", name="Save role").click()
    flash(page, "is now the ")


def person_in(page: Page, label: str) -> str:
    """Who the People panel shows in a role."""
    row = page.locator("dl.roles > div", has=page.locator("dt", has_text=re.compile(
        f"^{label}$", re.I)))
    return row.locator("dd").inner_text()


def walk_opening_steps(page: Page, *, rename_to: str | None) -> str:
    """Steps 1 to 8 as the messenger does them in the browser; returns the final ref."""
    now_step(page, 1, "Claim the incident")
    expect(page.get_by_text("Say in the support, internal support")).to_be_visible()
    card = page.locator("section.card.current")
    card.get_by_label("Link").fill(f"{CHANNEL}/p1")
    card.get_by_label("Note").fill("claimed in #incidents")
    press(page, "I claimed it", then=2, title="Count to ten")
    flash(page, "Step 1 done: Claim the incident.")
    claim = page.locator("#step-1")
    expect(claim).to_contain_text(f"Done by {MESSENGER}")
    expect(claim.get_by_role("link", name="link")).to_have_attribute("href", f"{CHANNEL}/p1")
    expect(claim).to_contain_text("claimed in #incidents")

    # The calm steps: one click each (the second by keyboard).
    press(page, "Counted to ten", then=3, title="Breathe")
    page.locator("section.card.current").get_by_role("button", name="Breathed").focus()
    page.keyboard.press("Enter")
    now_step(page, 4, "Sip some water")
    press(page, "Had a sip of water", then=5, title="Ask for a buddy")

    # Step 5: the buddy joins the People panel, then the step is done.
    assert "nobody yet" in person_in(page, "Buddy")
    put_in_role(page, "buddy", BUDDY, "Liam Chen")
    flash(page, "is now the buddy.")
    assert "Liam Chen" in person_in(page, "Buddy")
    now_step(page, 5, "Ask for a buddy")
    press(page, "Buddy requested", then=6, title="Read the steps with your buddy")
    put_in_role(page, "incident_lead", LEAD, "Priya Raman")
    press(page, "Read them together", then=7, title="Name the workspace")

    # Step 7: the number and name, guarded by the page's version.
    ref = re.search(r"/incidents/([\w-]+)$", page.url).group(1)  # type: ignore[union-attr]
    if rename_to:
        panel = page.locator("section.panel", has=page.get_by_role("heading",
                                                                   name="Incident details"))
        panel.get_by_text("Name and number").click()
        panel.get_by_label("Incident number").fill(rename_to)
        panel.get_by_role("button", name="Save name").click()
        flash(page, f"Saved. The incident is now {rename_to}.")
        expect(page).to_have_url(re.compile(f"/incidents/{rename_to}$"))
        expect(page.locator(".inc-name .eyebrow")).to_have_text(rename_to)
        ref = rename_to
    press(page, "Workspace named", then=8, title="Start the communication plan")
    press(page, "Plan started", then=9, title="Gather the facts")
    return ref


def open_tab(page: Page, name: str) -> None:
    """Follow one of the incident's tabs."""
    page.get_by_role("navigation", name="Incident views").get_by_role("link", name=name).click()
    expect(page.get_by_role("navigation", name="Incident views").get_by_role(
        "link", name=name)).to_have_attribute("aria-current", "page")


def save_fact(page: Page, key: str, value: str, *, provided_by: str = "",
              source: str = "") -> None:
    """Type a fact into its box on the plan page and save it in place."""
    card = page.locator(f"#fact-{key}")
    card.locator("textarea").fill(value)
    if provided_by or source:
        card.get_by_text("Provided by, source").click()
        card.get_by_label("Provided by").fill(provided_by)
        card.get_by_label("Source link").fill(source)
    card.get_by_role("button", name=re.compile(r"^Save")).click()
    flash(page, "Saved: ")
    expect(page.locator(f"#fact-{key} textarea")).to_have_value(value)


def fill_plan_with_a_stale_edit(page: Page, buddy: Page, ref: str) -> None:
    """Facts in place, then a clash with the buddy's browser that shows both texts."""
    open_tab(page, "Plan")
    expect(page.get_by_role("heading", name="Gathered information")).to_be_visible()
    save_fact(page, "release", "5.2.0", provided_by=LEAD, source=f"{CHANNEL}/p2")
    expect(page.locator("#fact-release .meta")).to_contain_text(f"Provided by {LEAD}")
    expect(page.locator("#fact-release .meta").get_by_role("link", name="source")
           ).to_have_attribute("href", f"{CHANNEL}/p2")
    save_fact(page, "causes", "new repositories are missing from search")

    # The buddy saves the same fact while the messenger is still typing.
    buddy.goto(f"/incidents/{ref}/plan")
    theirs = "repositories added after the upgrade are missing from search results"
    save_fact(buddy, "causes", theirs)
    mine = "new repositories are missing from search and code navigation"
    page.locator("#fact-causes textarea").fill(mine)
    page.locator("#fact-causes").get_by_role("button", name=re.compile(r"^Save")).click()
    expect(page.get_by_role("alert").first).to_contain_text("was not saved")
    clash = page.locator("#fact-causes .conflict")
    expect(clash).to_contain_text("Not saved: someone changed this while you were typing.")
    expect(clash).to_contain_text(f"Saved now by {BUDDY}")
    expect(clash.locator("blockquote").nth(0)).to_have_text(theirs)
    expect(clash.locator("blockquote").nth(1)).to_have_text(mine)
    expect(page.locator("#fact-causes textarea")).to_have_value(mine)  # nothing is lost
    expect(page.locator("#fact-causes textarea")).to_be_focused()

    merged = "repositories added after the upgrade are missing from search and code navigation"
    page.locator("#fact-causes textarea").fill(merged)
    page.locator("#fact-causes").get_by_role("button", name="Save mine anyway").click()
    flash(page, "Saved: What it causes.")
    expect(page.locator("#fact-causes .conflict")).to_have_count(0)
    buddy.reload()
    expect(buddy.locator("#fact-causes textarea")).to_have_value(merged)
    expect(buddy.locator("#fact-causes .meta")).to_contain_text(f"by {MESSENGER}")


def use_timeline(page: Page) -> None:
    """Plan a date, complete an event with a link, mark one n/a."""
    open_tab(page, "Timeline")
    claim = page.locator("#ev-claim")
    expect(claim).to_contain_text("done")
    expect(claim.get_by_role("link")).to_have_attribute("href", f"{CHANNEL}/p1")

    sent = page.locator("#ev-emails_sent")
    expect(sent).not_to_contain_text("2030")
    sent.locator("summary").click()
    sent.get_by_label("Planned (UTC)").fill("2030-01-02T15:00")
    sent.get_by_role("button", name="Set planned time").click()
    flash(page, "Planned.")
    expect(page.locator("#ev-emails_sent")).to_contain_text("Planned: 2030-01-02 15:00 UTC")
    expect(page.locator("#ev-emails_sent .state")).to_have_count(0)  # planned, not done

    asked = page.locator("#ev-reviews_requested")
    asked.locator("summary").click()
    asked.get_by_label("Link", exact=True).fill(f"{CHANNEL}/p9")
    asked.get_by_label("Completed at (UTC)").fill("2030-01-02T11:30")
    asked.get_by_role("button", name="Record completed").click()
    flash(page, "Recorded as completed.")
    asked = page.locator("#ev-reviews_requested")
    expect(asked.locator(".tl-title .state")).to_have_text("done")
    expect(asked).to_contain_text("Completed: 2030-01-02 11:30 UTC")
    expect(asked.get_by_role("link", name="link for Reviews requested")).to_have_attribute(
        "href", f"{CHANNEL}/p9")

    status = page.locator("#ev-status_page")
    status.locator("summary").click()
    status.get_by_label("Will not happen, because").fill("a third of customers: below threshold")
    status.get_by_role("button", name="Mark n/a").click()
    flash(page, "Marked n/a.")
    status = page.locator("#ev-status_page")
    expect(status.locator(".tl-title .state")).to_have_text("n/a")
    expect(status).to_contain_text("a third of customers: below threshold")


def force_step_10(page: Page, ref: str, refusal: str) -> None:
    """Step 10 has no button while security blocks it; a hand-made form is refused too."""
    expect(page.locator("#step-10")).to_contain_text("waits for security")
    expect(page.locator("#step-10").get_by_text("Do out of order")).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.input_value()
    forced = page.request.post(f"/incidents/{ref}/steps/10/done", max_redirects=0,
                               form={"csrf_token": token, "override": "we are in a hurry"})
    assert forced.status == 303
    page.goto(f"/incidents/{ref}")
    expect(page.get_by_role("alert")).to_contain_text(refusal)
    expect(page.locator("#step-10")).to_contain_text("waits for security")


def skip_ahead(page: Page) -> None:
    """Step 10 n/a with a reason, then step 12 out of order with an override."""
    open_tab(page, "Checklist")
    now_step(page, 10, "Build the impacted customer list")
    card = page.locator("section.card.current")
    card.get_by_text("Not applicable here?").click()
    card.get_by_label("Why does step 10 not apply?").fill("engineering sent the complete list")
    card.get_by_role("button", name="Mark step 10 n/a").click()
    flash(page, "Step 10 marked n/a")
    now_step(page, 11, "Draft the customer messages")

    step12 = page.locator("#step-12")
    step12.get_by_text("Do out of order").click()
    step12.get_by_label("Why now, before the earlier steps?").fill("the deadline is close")
    step12.get_by_role("button", name="Do step 12 now").click()
    flash(page, "Step 12 done: Plan the timeline.")
    now_step(page, 11, "Draft the customer messages")
    expect(page.locator("p.banner.warn")).to_contain_text("Still open behind you: step 11")
    expect(page.locator("#step-12")).to_contain_text(
        "Override (jumped step 11): the deadline is close")


def buddy_view(page: Page, ref: str, *, settled: int) -> None:
    """The buddy's page: where the messenger stands, and what was skipped or overridden."""
    page.goto(f"/incidents/{ref}/buddy")
    expect(page.get_by_role("heading", name="Where Maya Okafor stands")).to_be_visible()
    expect(page.locator(".big-line")).to_have_text("On step 11: Draft the customer messages")
    expect(page.get_by_text(f"{settled} of 24 steps settled")).to_be_visible()
    skipped = page.locator("section", has=page.get_by_role("heading",
                                                           name="Skipped or done out of order"))
    expect(skipped.locator(".banner.warn")).to_have_text(
        "Still open behind the messenger: step 11 (Draft the customer messages).")
    expect(skipped.locator("li")).to_have_count(1)
    expect(skipped.locator("li")).to_contain_text("Step 12, Plan the timeline: done before step 11")
    expect(skipped.locator("li")).to_contain_text("Reason given: the deadline is close")
    expect(skipped.locator("li")).to_contain_text(MESSENGER)
    na = page.locator("section", has=page.get_by_role("heading", name="Marked not applicable"))
    expect(na.locator("li")).to_have_count(1)
    expect(na).to_contain_text("Step 10, Build the impacted customer list")
    expect(na).to_contain_text("engineering sent the complete list")
    people = page.locator("aside")
    expect(people).to_contain_text("Liam Chen")
    expect(people).to_contain_text("Priya Raman")
    expect(page.locator("form[method=post]", has=page.locator("[name=csrf_token]"))
           ).to_have_count(1)  # read only: the only form is the header's sign-out


# The walks ---------------------------------------------------------------------------------

def test_a_messenger_walks_a_normal_incident_and_the_buddy_follows(
        sign_in: Callable[..., Page]) -> None:
    # Signed in and out again, Maya finds the login page refusing a wrong password.
    page = sign_in(MESSENGER)
    page.get_by_role("button", name="Sign out").click()
    flash(page, "Signed out.")
    page.get_by_label("Email").fill(MESSENGER)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("wrong email or password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Open incidents")).to_be_visible()
    expect(page.get_by_text("No open incidents. Calm seas.")).to_be_visible()

    ref = open_incident(page, "Search results missing after the upgrade", severity="sev2")
    expect(page.locator(".inc-name .eyebrow")).to_have_text("No incident number yet")
    expect(page.locator(".banner.stop")).to_have_count(0)  # not a security incident
    ref = walk_opening_steps(page, rename_to="inc-4242")
    assert ref == "inc-4242"

    buddy = sign_in(BUDDY)
    expect(buddy.get_by_role("link", name=f"{ref} · Search results missing")).to_be_visible()
    fill_plan_with_a_stale_edit(page, buddy, ref)
    open_tab(page, "Checklist")
    press(page, "Facts gathered", then=10, title="Build the impacted customer list")
    skip_ahead(page)
    use_timeline(page)

    buddy_view(buddy, ref, settled=11)
    # The dashboard agrees with the checklist.
    buddy.goto("/")
    row = buddy.get_by_role("row", name=re.compile(ref))
    expect(row).to_contain_text("11. Draft the customer messages")
    expect(row).to_contain_text(MESSENGER)


def test_a_messenger_walks_a_security_incident_through_the_security_stop(
        sign_in: Callable[..., Page]) -> None:
    page = sign_in(MESSENGER)
    ref = open_incident(page, "Access tokens visible in build logs", number="inc-4300",
                        severity="sev1", security=True)
    assert ref == "inc-4300"
    expect(page.locator(".tags")).to_contain_text("security · need-to-know")
    stop = page.locator("section.banner.stop")
    expect(stop.get_by_role("heading", name="Security stop")).to_be_visible()
    expect(stop).to_contain_text("nothing after step 9 until these are in place")
    expect(stop).to_contain_text("No security lead yet.")
    expect(stop).to_contain_text("No CS leader yet.")
    walk_opening_steps(page, rename_to=None)

    # Step 9 and everything after it wait for security; no button, no override form.
    current = page.locator("section.card.current")
    expect(current.locator(".banner.stop")).to_contain_text("Not yet.")
    expect(current.get_by_role("button")).to_have_count(0)

    force_step_10(page, ref, "an override cannot lift this")

    buddy = sign_in(BUDDY)
    fill_plan_with_a_stale_edit(page, buddy, ref)
    expect(page.locator("#fact-release .fact-head")).to_contain_text("not signed off")
    expect(page.get_by_role("button", name=re.compile("Sign off"))).to_have_count(0)

    # The security lead and the CS leader join; the banner shrinks as they do.
    put_in_role(page, "security_lead", SEC_LEAD, "Sofia Reyes")
    stop = page.locator("section.banner.stop")
    expect(stop).not_to_contain_text("No security lead yet.")
    expect(stop).to_contain_text("No CS leader yet.")
    put_in_role(page, "cs_leader", CS_LEADER, "Sam Ortiz")
    expect(stop).not_to_contain_text("No CS leader yet.")
    expect(stop).to_contain_text(re.compile(
        r"Facts without security sign-off:\s+(What it causes, Affected release|"
        r"Affected release, What it causes)\."))
    open_tab(page, "Checklist")
    expect(page.locator("section.card.current .banner.stop")).to_contain_text("signed off")
    force_step_10(page, ref, "has not signed off")

    # Only the security lead, signed in as herself, signs the facts off.
    sofia = sign_in(SEC_LEAD)
    expect(sofia.get_by_role("link", name=f"{ref} · Access tokens")).to_be_visible()
    sofia.goto(f"/incidents/{ref}/plan")
    expect(sofia.locator("#fact-causes")).to_contain_text("not signed off")
    sofia.locator("#fact-release").get_by_role("button", name=re.compile("^Sign off")).click()
    flash(sofia, "Signed off: Affected release.")
    expect(sofia.locator("#fact-release .fact-head")).to_contain_text(
        f"signed off by {SEC_LEAD}")
    expect(sofia.locator("section.banner.stop")).to_contain_text(
        "Facts without security sign-off: What it causes.")
    sofia.get_by_role("button", name="Sign off the unsigned fact").click()
    flash(sofia, "Signed off: What it causes.")
    expect(sofia.locator("section.banner.stop")).to_have_count(0)
    expect(sofia.locator("p.banner.quiet")).to_contain_text("every recorded fact is signed off")

    page.reload()
    expect(page.locator("section.banner.stop")).to_have_count(0)
    expect(page.locator("p.banner.quiet")).to_contain_text("A security lead and a CS leader "
                                                           "are in")
    press(page, "Facts gathered", then=10, title="Build the impacted customer list")
    expect(page.locator("section.card.current").get_by_role(
        "button", name="The list is ready")).to_be_visible()
    skip_ahead(page)
    use_timeline(page)
    buddy_view(buddy, ref, settled=11)

    # Need-to-know: an outsider neither lists nor opens it.
    omar = sign_in(OUTSIDER)
    expect(omar.get_by_text("No open incidents. Calm seas.")).to_be_visible()
    for tab in ("", "/buddy"):  # every route of it: test_route_security
        response = omar.goto(f"/incidents/{ref}{tab}")
        assert response is not None and response.status == 404, tab
        expect(omar.get_by_role("heading", name="Not found")).to_be_visible()
        expect(omar.locator("main")).not_to_contain_text("Access tokens")
    omar.goto("/search?q=tokens")
    expect(omar.locator("main")).not_to_contain_text(ref)


# Looks: every main page at desktop and phone width, screenshots on request ------------------

def _seed_security_incident(h: Herald) -> str:
    """A security incident stopped at step 9: no CS leader yet, facts not signed off."""
    ref = incidents.create_incident(h, title="Access tokens visible in public build logs",
                                    actor=MESSENGER, messenger=MESSENGER,
                                    messenger_name="Maya Okafor", number="inc-4231",
                                    severity="sev1", security=True)
    incidents.add_link(h, ref, "channel", "https://chat.example.com/archives/C0SEC7",
                       actor=MESSENGER, label_text="security incident channel")
    incidents.set_role(h, ref, "buddy", BUDDY, actor=MESSENGER, name="Liam Chen")
    incidents.set_role(h, ref, "security_lead", SEC_LEAD, actor=MESSENGER, name="Sofia Reyes")
    members.add_member(h, ref, "counsel@example.com", actor=MESSENGER, why="legal review")
    for n in range(1, 9):
        steps.complete_step(h, ref, n, actor=MESSENGER)
    incidents.set_deadline(h, ref, aware_at=h.clock.now() - timedelta(hours=30), hours=72,
                           actor=MESSENGER)
    for key, value in (("release", "CI runner 3.4.0 to 3.4.2"),
                       ("causes", "access tokens printed in public build logs")):
        plan.set_fact(h, ref, key, value, actor=MESSENGER, provided_by=SEC_LEAD)
    return ref


def _no_sideways_scroll(page: Page, what: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{what} scrolls sideways by {overflow}px at this width"


def test_the_main_pages_fit_desktop_and_phone_widths(
        sign_in: Callable[..., Page], site: Site) -> None:
    """Renders the demo and a security incident; HERALD_SCREENSHOTS=1 saves the pictures."""
    demo_ref = demo.seed_demo(site.h)
    sec_ref = _seed_security_incident(site.h)
    save = os.environ.get("HERALD_SCREENSHOTS") == "1"
    if save:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(page: Page, name: str, *, full: bool = False, height: int | None = None) -> None:
        _no_sideways_scroll(page, name)
        if save:
            width = page.viewport_size["width"] if page.viewport_size else 0
            clip = {"x": 0, "y": 0, "width": width, "height": height} if height else None
            page.screenshot(path=str(SCREENSHOTS / name), full_page=full or bool(clip),
                            clip=clip, animations="disabled")

    maya = sign_in(MESSENGER)
    expect(maya.get_by_role("link", name=re.compile(demo_ref))).to_be_visible()
    expect(maya.get_by_role("row", name=re.compile(sec_ref))).to_contain_text("security")
    shot(maya, "dashboard.png")

    maya.goto(f"/incidents/{demo_ref}")
    now_step(maya, 10, "Build the impacted customer list")
    expect(maya.locator(".clock")).to_contain_text("Disclosure due")
    shot(maya, "incident.png")
    maya.goto(f"/incidents/{demo_ref}/plan")
    expect(maya.locator("#fact-release textarea")).to_have_value("5.2.0")
    shot(maya, "plan.png")
    maya.goto(f"/incidents/{demo_ref}/timeline")
    expect(maya.locator("#ev-status_page .state")).to_have_text("n/a")
    shot(maya, "timeline.png", full=True)
    maya.goto(f"/incidents/{sec_ref}")
    expect(maya.locator("section.banner.stop")).to_contain_text("No CS leader yet.")
    shot(maya, "security.png")

    phone = maya
    phone.set_viewport_size({"width": 375, "height": 812})
    phone.goto("/")
    _no_sideways_scroll(phone, "the dashboard")
    for path in ("/plan", "/timeline", "/buddy", "/audit"):
        phone.goto(f"/incidents/{demo_ref}{path}")
        _no_sideways_scroll(phone, path)
    phone.goto(f"/incidents/{sec_ref}")
    _no_sideways_scroll(phone, "the security incident")
    phone.goto(f"/incidents/{demo_ref}")
    now_step(phone, 10, "Build the impacted customer list")
    shot(phone, "phone-incident.png", height=1300)  # down to the current step's button

    # Maya plans the timeline before the list and drafts: the buddy sees the jump.
    steps.complete_step(site.h, demo_ref, 12, actor=MESSENGER,
                        override="the disclosure deadline drives the plan; dates first")
    liam = sign_in(BUDDY)
    liam.goto(f"/incidents/{demo_ref}/buddy")
    expect(liam.get_by_role("heading", name="Where Maya Okafor stands")).to_be_visible()
    expect(liam.locator(".override-note")).to_contain_text("the disclosure deadline drives")
    shot(liam, "buddy.png")
    if save:
        for name in ("dashboard", "incident", "plan", "timeline", "buddy", "security",
                     "phone-incident"):
            assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000, name
