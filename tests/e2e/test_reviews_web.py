"""The Reviews and Messages tabs and their JSON API, with the manual chat channel (the
embedded default): forms as a browser sends them, answers as the signed-in person's seats."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from herald.services import accounts, chat, drafts, incidents, reviews, views
from herald.services.context import Herald
from herald.web.app import create_app
from herald.web.security import CSRF_HEADER, SESSION_COOKIE
from tests.helpers import BUDDY, CS_LEADER, LEAD, MESSENGER, fill_facts

PASSWORD = "correct horse battery staple"
COUNSEL = "counsel@example.com"
VIEWER = "viewer@example.com"
PEOPLE = {MESSENGER: ["support"], BUDDY: ["support"], LEAD: ["reviewer"],
          CS_LEADER: ["support_leadership"], COUNSEL: ["reviewer"], VIEWER: ["viewer"]}
KIND = "email_impact_known"
CHANNEL = "https://chat.example.com/archives/C0INC1"
API = "/api/v1"


@dataclass
class Browser:
    """A signed-in TestClient and its CSRF token."""

    client: TestClient
    csrf: str

    def get(self, path: str) -> str:
        r = self.client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.text

    def post(self, path: str, **data: str) -> str:
        """Submit a form, follow the redirect, return the page (with its flash message)."""
        tab = re.match(r"/incidents/[^/]+/\w+", path)  # the form sits on its tab's page
        assert tab is not None
        r = self.client.post(path, data={**data, "csrf_token": self.csrf},
                             headers={"referer": f"http://testserver{tab.group(0)}"})
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.text


@dataclass
class World:
    h: Herald
    ref: str
    browsers: dict[str, Browser]
    tokens: dict[str, str]
    client: TestClient

    def api(self, who: str, method: str, path: str, body: object = None) -> object:
        r = self.client.request(method, API + path, json=body,
                                headers={"authorization": f"Bearer {self.tokens[who]}"})
        return r


@pytest.fixture
def world(h: Herald, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))
    for email, roles in PEOPLE.items():
        accounts.create_user(h, email=email, name=email.split("@")[0].title(), roles=roles,
                             password=PASSWORD, actor="setup@example.com")
    ref = incidents.create_incident(h, title="Search misses new repositories", actor=MESSENGER,
                                    messenger=MESSENGER, number="inc-1")
    for role, email, name in (("buddy", BUDDY, "Bo"), ("incident_lead", LEAD, "Lia"),
                              ("cs_leader", CS_LEADER, "Clo")):
        incidents.set_role(h, ref, role, email, actor=MESSENGER, name=name)
    incidents.add_link(h, ref, "channel", CHANNEL, actor=MESSENGER)
    fill_facts(h, ref)
    drafts.new_draft(h, ref, KIND, actor=MESSENGER)
    app = create_app(h)
    browsers, tokens = {}, {}
    for email in PEOPLE:
        session, _ = accounts.log_in(h, email=email, password=PASSWORD, ip="testclient")
        found = accounts.session_account(h, session)
        assert found is not None
        client = TestClient(app)
        client.cookies.set(SESSION_COOKIE, session)
        browsers[email] = Browser(client, found[1])
        tokens[email] = accounts.create_api_token(h, email, "tests", actor=email)
    with TestClient(app) as api:
        yield World(h, ref, browsers, tokens, api)
    for b in browsers.values():
        b.client.close()


def text_of(html: str) -> str:
    """The page's text, tags dropped and spaces folded, for reading assertions."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_reviews_tab_walks_step_14(world: World) -> None:
    ref = world.ref
    me, buddy = world.browsers[MESSENGER], world.browsers[BUDDY]
    page = text_of(me.get(f"/incidents/{ref}/reviews"))
    assert "Not ready to send" in page and "buddy has not approved" in page
    assert "not asked yet" in page
    assert "Request all reviews (step 14)" in page
    assert "Status page proposal" in page and "no status page post" in page
    assert "Your answer" not in page  # the messenger holds no review seat
    assert "Should legal review the customer messages?" in page

    page = text_of(me.post(f"/incidents/{ref}/reviews/request",
                           status_page_proposal="no status page post: 35% self-hosted",
                           send_date="2026-01-02", send_time_utc="16:00"))
    assert "Reviews requested from buddy, CS leadership, incident lead, marketing" in page
    assert page.count("waiting for an answer") == 4
    items = {i.kind: i for i in chat.chat_items(world.h, ref)}
    assert "I propose: no status page post: 35% self-hosted" in \
        items["chat_review_support"].text
    assert "16:00 UTC on 2026-01-02" in items["chat_inform_ce_no_help"].text

    # The buddy answers for the buddy seat only.
    page = text_of(buddy.get(f"/incidents/{ref}/reviews"))
    assert "You answer for: buddy." in page
    assert "Approve as buddy" in page and "Approve as CS leadership" not in page
    page = text_of(buddy.post(f"/incidents/{ref}/reviews/seats/buddy", decision="approved",
                              comment="Reads well"))
    assert "Buddy: approved. Not ready yet." in page
    seat = next(s for s in reviews.review_status(world.h, ref).seats if s.seat == "buddy")
    assert (seat.decision, seat.by, seat.comment, seat.current) == (
        "approved", BUDDY, "Reads well", True)
    # Another seat's form, forged, is refused by the seat rules.
    r = buddy.client.post(f"/incidents/{ref}/reviews/seats/incident_lead",
                          data={"decision": "approved", "csrf_token": buddy.csrf})
    assert r.status_code == 403 and "do not hold the incident lead seat" in r.text

    # CS leadership (a support leader) asks for changes: a comment is required.
    leader = world.browsers[CS_LEADER]
    page = text_of(leader.post(f"/incidents/{ref}/reviews/seats/cs_leadership",
                               decision="changes", comment=""))
    assert "needs a comment saying what to change" in page
    leader.post(f"/incidents/{ref}/reviews/seats/cs_leadership", decision="changes",
                comment="Say which release fixes it")
    lead = world.browsers[LEAD]
    lead.post(f"/incidents/{ref}/reviews/seats/incident_lead", decision="approved")
    page = text_of(me.get(f"/incidents/{ref}/reviews"))
    assert "CS leadership asked for changes" in page and "Say which release fixes it" in page

    # The messenger edits; the approvals are void and shown so.
    shown = re.search(r'name="reviewed" value="([^"]*)"',
                      buddy.client.get(f"/incidents/{ref}/reviews").text)
    assert shown is not None and shown.group(1) == f"{KIND}=1"
    d = drafts.get_draft(world.h, ref, KIND)
    drafts.save_draft(world.h, ref, KIND, body=d.body + "\n\nThe fix is in 5.2.1.",
                      subject=d.subject, base_version=d.version, actor=MESSENGER)
    # A form loaded before the edit approves nothing: it says which versions it showed.
    r = buddy.client.post(f"/incidents/{ref}/reviews/seats/buddy", data={
        "decision": "approved", "reviewed": shown.group(1), "csrf_token": buddy.csrf})
    assert "drafts changed since you read them" in r.text  # back on the tab, said so
    assert next(s for s in reviews.review_status(world.h, ref).seats
                if s.seat == "buddy").current is False
    page = text_of(me.get(f"/incidents/{ref}/reviews"))
    assert page.count("approved an earlier version: asked again") == 2
    assert "asked for changes on an earlier version" in page
    for who, seat in ((BUDDY, "buddy"), (CS_LEADER, "cs_leadership"), (LEAD, "incident_lead")):
        world.browsers[who].post(f"/incidents/{ref}/reviews/seats/{seat}", decision="approved")
    page = text_of(me.get(f"/incidents/{ref}/reviews"))
    assert "Ready to send." in page

    # Legal, decided: required, and answered by a reviewer account that is not on the
    # incident (it may see it: the incident is not a security one).
    page = text_of(me.post(f"/incidents/{ref}/reviews/legal-decision", needed="yes",
                           reason="customer data"))
    assert "Legal reviews: yes." in page and "legal has not approved" in page
    counsel = world.browsers[COUNSEL]
    r = counsel.client.post(f"/incidents/{ref}/reviews/request",
                            data={"csrf_token": counsel.csrf})
    assert r.status_code == 403  # a reviewer may answer, not run the incident
    page = text_of(counsel.post(f"/incidents/{ref}/reviews/seats/legal", decision="approved"))
    assert "Legal: approved. Ready to send." in page


def test_the_messages_tab_for_the_manual_channel(world: World) -> None:
    ref, me = world.ref, world.browsers[MESSENGER]
    html = me.get(f"/incidents/{ref}/messages")
    page = text_of(html)
    assert "Nothing waits" in page and "Chat is set to manual" in page
    for step in (1, 5, 10):
        assert f'action="/incidents/{ref}/messages/steps/{step}"' in html
    assert "/messages/steps/9" not in html  # security incidents only
    for blank in ("sheet_link", "column", "deadline_utc"):  # step 10 asks what it needs
        assert f'name="blank_{blank}"' in html

    html = me.post(f"/incidents/{ref}/messages/steps/1")
    assert "4 messages queued." in text_of(html)
    html = me.post(f"/incidents/{ref}/messages/steps/10",
                   blank_sheet_link="https://sheets.example.com/x", blank_column="F",
                   blank_deadline_utc="2026-01-01 15:00 UTC")
    page = text_of(html)
    assert "Waiting (5)" in page and page.count("to post by hand") == 5
    assert "#support-internal" in page and "C0INC1" in page
    assert "mentions @ce" in page
    items = chat.chat_items(world.h, ref)
    first = items[0]
    assert f'data-copy="text-{first.id}"' in html and f'id="text-{first.id}"' in html

    page = text_of(me.post(f"/incidents/{ref}/messages/{first.id}/posted",
                           link="https://chat.example.com/archives/C1/p9"))
    assert "Recorded as posted with its link" in page
    assert "Waiting (4)" in page and "Posted (1)" in page
    timeline = me.get(f"/incidents/{ref}/timeline")
    assert "Posted: Chat: claim the incident (#support)" in text_of(timeline)
    assert 'href="https://chat.example.com/archives/C1/p9"' in timeline

    # Outsiders to the incident's changes: a viewer sees the tab but no forms.
    viewer = world.browsers[VIEWER].get(f"/incidents/{ref}/messages")
    assert "/posted" not in viewer and "/messages/steps/" not in viewer
    assert "Copy the text" in viewer  # copying is for anyone who can see it


def test_the_api_does_the_same(world: World) -> None:
    ref = world.ref
    r = world.api(MESSENGER, "GET", f"/incidents/{ref}/reviews/request")
    assert r.status_code == 200 and r.json()["problem"] is None
    r = world.api(MESSENGER, "POST", f"/incidents/{ref}/reviews/request",
                  {"send_date": "2026-01-02", "send_time_utc": "16:00"})
    assert r.status_code == 200, r.text
    assert [s["decision"] for s in r.json()["seats"]] == ["requested"] * 4

    r = world.api(MESSENGER, "POST", f"/incidents/{ref}/reviews/seats/buddy",
                  {"decision": "approved"})
    assert r.status_code == 403 and "do not hold the buddy seat" in r.json()["error"]
    r = world.api(BUDDY, "POST", f"/incidents/{ref}/reviews/seats/buddy",
                  {"decision": "changes"})
    assert r.status_code == 422 and "needs a comment" in r.json()["error"]
    r = world.api(BUDDY, "POST", f"/incidents/{ref}/reviews/seats/buddy",
                  {"decision": "approved", "reviewed_versions": {KIND: 0}})
    assert r.status_code == 409 and "drafts changed since you read them" in r.json()["error"]
    r = world.api(BUDDY, "POST", f"/incidents/{ref}/reviews/seats/buddy",
                  {"decision": "approved", "comment": "fine", "reviewed_versions": {KIND: 1}})
    assert r.status_code == 200
    assert next(s for s in r.json()["seats"] if s["seat"] == "buddy")["by"] == BUDDY
    r = world.api(MESSENGER, "PUT", f"/incidents/{ref}/reviews/legal-decision",
                  {"needed": True, "reason": "data"})
    assert r.status_code == 200 and r.json()["legal_decided"] is True
    assert "legal has not approved" in r.json()["missing"]
    r = world.api(MESSENGER, "GET", f"/incidents/{ref}/reviews")
    assert r.status_code == 200 and r.json()["ready"] is False

    r = world.api(MESSENGER, "GET", f"/incidents/{ref}/chat/steps/10")
    assert [n["name"] for n in r.json()] == ["sheet_link", "column", "deadline_utc"]
    r = world.api(MESSENGER, "POST", f"/incidents/{ref}/chat/steps/10", {"blanks": {}})
    assert r.status_code == 409 and "sheet_link" in r.json()["error"]
    r = world.api(MESSENGER, "POST", f"/incidents/{ref}/chat/steps/5")
    assert r.status_code == 201
    [item] = r.json()
    assert (item["kind"], item["channel"], item["state"]) == (
        "chat_buddy_request", "#support-internal", "queued")
    r = world.api(MESSENGER, "GET", f"/incidents/{ref}/chat?pending=true")
    assert item["id"] in [i["id"] for i in r.json()]
    r = world.api(MESSENGER, "POST", f"/incidents/{ref}/chat/{item['id']}/posted",
                  {"link": "https://chat.example.com/archives/C2/p1"})
    assert r.status_code == 200 and r.json()["state"] == "sent"
    assert r.json()["link"] == "https://chat.example.com/archives/C2/p1"
    r = world.api(MESSENGER, "POST", f"/incidents/{ref}/chat/{item['id']}/retry")
    assert r.status_code == 409 and "only failed" in r.json()["error"]
    r = world.api(MESSENGER, "POST", f"/incidents/{ref}/chat/999/posted")
    assert r.status_code == 404
    r = world.api(MESSENGER, "GET", f"/incidents/{ref}/chat/channel")
    assert r.status_code == 200 and r.json()["configured"] is False
    r = world.api(MESSENGER, "POST", f"/incidents/{ref}/chat/channel/facts",
                  {"key": "release", "ts": "1.000001"})
    assert r.status_code == 409 and "Slack is not configured" in r.json()["error"]
    rows = [row for row in views.timeline(world.h, ref) if row.key.startswith("post_")]
    assert [row.link for row in rows] == ["https://chat.example.com/archives/C2/p1"]

    # A browser session needs the CSRF header, as everywhere in the API.
    browser = world.browsers[BUDDY]
    r = browser.client.post(f"{API}/incidents/{ref}/reviews/seats/buddy",
                            json={"decision": "approved"})
    assert r.status_code == 403
    r = browser.client.post(f"{API}/incidents/{ref}/reviews/seats/buddy",
                            json={"decision": "approved"}, headers={CSRF_HEADER: browser.csrf})
    assert r.status_code == 200
