"""The server-rendered pages through FastAPI's TestClient: render, act, refuse, hide."""

from __future__ import annotations

import re

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from herald.services import accounts, incidents, plan, steps, views
from herald.services.context import Herald
from herald.web.app import create_app
from tests.helpers import MESSENGER, new_incident

PASSWORD = "correct horse battery"
TABS = ("", "/plan", "/timeline", "/buddy", "/audit")


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2, with small costs: these tests are about pages, not password strength."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))


def _client(h: Herald, email: str, *, roles: list[str] | None = None) -> TestClient:
    """A browser signed in as a new account."""
    accounts.create_user(h, email=email, name=email.split("@")[0].title(),
                         roles=roles or ["support"], password=PASSWORD, actor="admin@example.com")
    c = TestClient(create_app(h))
    page = c.get("/login")
    r = c.post("/login", data={"email": email, "password": PASSWORD, "next": "/",
                               "csrf_token": _token(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def _post(c: TestClient, path: str, data: dict[str, str], *, page: str = "/") -> httpx.Response:
    r: httpx.Response = c.post(path, data={**data, "csrf_token": _token(c.get(page).text)},
                               follow_redirects=False)
    return r


def test_anonymous_is_sent_to_login(h: Herald) -> None:
    ref = new_incident(h)
    c = TestClient(create_app(h))
    for path in [f"/incidents/{ref}{tab}" for tab in TABS] + ["/search?q=x", "/account",
                                                              "/admin/users"]:
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


def test_every_incident_page_renders_for_a_member(h: Herald) -> None:
    ref = new_incident(h, title="Search <b>slow</b> for large repositories")
    steps.complete_step(h, ref, 1, actor=MESSENGER, link="https://chat.example.com/p1")
    c = _client(h, MESSENGER)
    checklist = c.get(f"/incidents/{ref}")
    assert checklist.status_code == 200
    assert "Step 2 of 24" in checklist.text and "Counted to ten" in checklist.text
    assert "&lt;b&gt;slow&lt;/b&gt;" in checklist.text and "<b>slow" not in checklist.text
    for tab, expected in zip(TABS[1:], ("Gathered information", "Messenger claimed",
                                        "Where", "opened the incident"), strict=True):
        r = c.get(f"/incidents/{ref}{tab}")
        assert r.status_code == 200 and expected in r.text, tab
    found = c.get("/search?q=large")
    assert found.status_code == 200 and f"/incidents/{ref}" in found.text
    assert c.get("/account").status_code == 200


def test_the_one_button_does_the_current_step_and_overrides_are_recorded(h: Herald) -> None:
    ref = new_incident(h)
    c = _client(h, MESSENGER)
    page = f"/incidents/{ref}"
    r = _post(c, f"{page}/steps/1/done", {"link": "https://chat.example.com/p1"}, page=page)
    assert r.status_code == 303
    assert "Step 2 of 24" in c.get(page).text
    refused = _post(c, f"{page}/steps/5/done", {}, page=page)
    assert refused.status_code == 303 and "Step 2 of 24" in c.get(page).text
    _post(c, f"{page}/steps/5/done", {"override": "buddy already joined"}, page=page)
    buddy = c.get(f"{page}/buddy").text
    assert "buddy already joined" in buddy and "Still open behind the messenger" in buddy


def test_a_stale_plan_edit_shows_both_texts(h: Herald) -> None:
    ref = new_incident(h)
    plan.set_fact(h, ref, "causes", "slow searches", actor=MESSENGER)
    c = _client(h, MESSENGER)
    page = c.get(f"/incidents/{ref}/plan").text
    version = re.search(r'facts/causes".*?name="version" value="(\d+)"', page, re.S)
    assert version
    plan.set_fact(h, ref, "causes", "searches time out", actor="lead@example.com")
    r = c.post(f"/incidents/{ref}/plan/facts/causes",
               data={"value": "searches take minutes", "version": version.group(1),
                     "csrf_token": _token(page)})
    assert r.status_code == 409
    assert "searches time out" in r.text and "searches take minutes" in r.text
    saved = next(f.value for f in views.plan(h, ref).facts if f.key == "causes")
    assert saved == "searches time out"


def test_a_stale_rename_is_refused(h: Herald) -> None:
    ref = new_incident(h, number=None)
    c = _client(h, MESSENGER)
    page = c.get(f"/incidents/{ref}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    incidents.set_severity(h, ref, "sev2", actor=MESSENGER)
    r = c.post(f"/incidents/{ref}/rename", data={"title": "Renamed", "number": "inc-9",
                                                 "version": version.group(1),
                                                 "csrf_token": _token(page)},
               follow_redirects=True)
    assert "changed since you loaded it" in r.text
    assert "inc-9" not in [i.ref for i in views.list_incidents(h)]


def test_security_incidents_are_404_for_outsiders(h: Herald) -> None:
    ref = new_incident(h, security=True)
    c = _client(h, "outsider@example.com")
    for tab in TABS:
        assert c.get(f"/incidents/{ref}{tab}").status_code == 404, tab
    r = c.post(f"/incidents/{ref}/steps/1/done", data={"csrf_token": "forged"})
    assert r.status_code == 404
    assert f"/incidents/{ref}" not in c.get("/search?q=search").text


def test_a_forged_csrf_token_is_refused(h: Herald) -> None:
    ref = new_incident(h)
    c = _client(h, MESSENGER)
    for path in (f"/incidents/{ref}/steps/1/done", f"/incidents/{ref}/plan/retro",
                 f"/incidents/{ref}/timeline", "/account/tokens"):
        assert c.post(path, data={"csrf_token": "forged", "text": "x",
                                  "title": "x"}).status_code == 403, path


@pytest.mark.parametrize("roles", [["support"], ["security", "support_leadership"]])
def test_the_people_page_is_for_admins_only(h: Herald, roles: list[str]) -> None:
    c = _client(h, "someone@example.com", roles=roles)
    assert c.get("/admin/users").status_code == 404
    assert c.post("/admin/users/roles", data={"email": "someone@example.com",
                                              "roles": "admin"}).status_code == 404


def test_admins_add_and_deactivate_people(h: Herald) -> None:
    c = _client(h, "boss@example.com", roles=["admin"])
    assert c.get("/admin/users").status_code == 200
    _post(c, "/admin/users", {"email": "new@example.com", "name": "New", "password": PASSWORD,
                              "roles": "reviewer"}, page="/admin/users")
    assert accounts.get_user(h, "new@example.com").roles == ("reviewer",)
    _post(c, "/admin/users/active", {"email": "new@example.com", "active": "false"},
          page="/admin/users")
    assert not accounts.get_user(h, "new@example.com").active


def test_an_api_token_is_shown_once_and_can_be_revoked(h: Herald) -> None:
    c = _client(h, MESSENGER)
    r = _post(c, "/account/tokens", {"name": "sync"}, page="/account")
    token = re.search(r'id="new-token">(hrld_[^<]+)<', r.text)
    assert token and accounts.token_account(h, token.group(1)) is not None
    assert token.group(1) not in c.get("/account").text
    (row,) = accounts.list_api_tokens(h, MESSENGER)
    _post(c, f"/account/tokens/{row['id']}/revoke", {}, page="/account")
    assert accounts.token_account(h, token.group(1)) is None


def test_a_viewer_sees_the_incident_without_forms(h: Herald) -> None:
    ref = new_incident(h)
    c = _client(h, "watcher@example.com", roles=["viewer"])
    page = c.get(f"/incidents/{ref}")
    assert page.status_code == 200 and "Claim the incident" in page.text
    assert "/steps/1/done" not in page.text and "/roles" not in page.text
    r = c.post(f"/incidents/{ref}/steps/1/done", data={"csrf_token": _token(page.text)})
    assert r.status_code == 403


def test_a_viewer_holding_a_role_gets_the_forms_of_that_incident(h: Herald) -> None:
    ref = new_incident(h)
    c = _client(h, "watcher@example.com", roles=["viewer"])
    incidents.set_role(h, ref, "buddy", "watcher@example.com", actor=MESSENGER)
    for tab in ("/plan", "/reviews", ""):  # the tabs with the role form
        page = c.get(f"/incidents/{ref}{tab}")
        assert page.status_code == 200 and "Put someone in a role" in page.text, tab
    r = c.post(f"/incidents/{ref}/steps/1/done", data={"csrf_token": _token(page.text)},
               follow_redirects=False)
    assert r.status_code == 303


def test_the_messenger_lets_legal_in_on_a_security_incident_from_its_page(h: Herald) -> None:
    ref = new_incident(h, security=True)
    me = _client(h, MESSENGER, roles=["support"])
    legal = _client(h, "legal@example.com", roles=["reviewer"])
    assert legal.get(f"/incidents/{ref}").status_code == 404
    page = me.get(f"/incidents/{ref}").text
    assert "Need to know" in page and "Nobody else." in page
    r = _post(me, f"/incidents/{ref}/members", {"email": "legal@example.com",
                                                  "why": "legal review"}, page=f"/incidents/{ref}")
    page = me.get(r.headers["location"]).text
    assert "legal@example.com is let in on the incident." in page
    assert 'legal@example.com <span class="muted">(legal review)</span>' in page
    seen = legal.get(f"/incidents/{ref}")  # in now, and in the list
    assert seen.status_code == 200 and "legal@example.com" in seen.text
    assert "Let someone in" not in seen.text  # let in, legal may not let others in
    assert f"/incidents/{ref}" in legal.get("/").text
    r = _post(me, f"/incidents/{ref}/members/remove", {"email": "legal@example.com"},
              page=f"/incidents/{ref}")
    assert "legal@example.com is taken off." in me.get(r.headers["location"]).text
    assert legal.get(f"/incidents/{ref}").status_code == 404
