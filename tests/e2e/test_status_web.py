"""The status page over HTTP and the command line: the public page's caching (ETag, 304,
Last-Modified, Cache-Control), the API and the incident tab (security refused on each), the
`herald status-page` commands, and the export matching what is served."""

from __future__ import annotations

import json
import re
from email.utils import format_datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from herald.clock import FixedClock
from herald.services import accounts, status_page, status_posts
from herald.services.context import Herald
from herald.settings import Settings
from herald.web.app import create_app
from tests.helpers import ok_cli, reuse_cli_command, run_cli
from tests.status_setup import MESSENGER, components, customers, incident

PASSWORD = "correct horse battery"
JSON_PATHS = ["api/v2/summary.json", "api/v2/status.json", "api/v2/components.json",
              "api/v2/incidents.json", "api/v2/incidents/unresolved.json",
              "api/v2/scheduled-maintenances.json"]


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2 at the lowest cost."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))


def signed_in(h: Herald, email: str = MESSENGER, roles: list[str] | None = None) -> TestClient:
    """A browser signed in as a new account."""
    accounts.create_user(h, email=email, name=email.split("@")[0].title(),
                         roles=roles or ["support"], password=PASSWORD, actor="admin@example.com")
    c = TestClient(create_app(h))
    page = c.get("/login")
    r = c.post("/login", data={"email": email, "password": PASSWORD, "next": "/",
                               "csrf_token": token(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def api_client(h: Herald) -> TestClient:
    """An API client with a Bearer token of the messenger."""
    accounts.create_user(h, email=MESSENGER, name="Mia", roles=["support"], password=PASSWORD,
                         actor="admin@example.com")
    raw = accounts.create_api_token(h, MESSENGER, "tests", actor=MESSENGER)
    return TestClient(create_app(h), headers={"Authorization": f"Bearer {raw}"})


# The public page ------------------------------------------------------------------------------

def test_public_page_needs_no_login_and_serves_every_document(h: Herald) -> None:
    components(h)
    status_posts.post_status(h, incident(h), "investigating", actor=MESSENGER, override="x")
    c = TestClient(create_app(h))
    page = c.get("/status/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "Search misses new repositories" in page.text
    assert page.headers["cache-control"] == "public, max-age=30"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert c.get("/status/index.html").content == page.content
    for path in JSON_PATHS:
        r = c.get(f"/status/{path}")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", path
        assert r.headers["access-control-allow-origin"] == "*"
        assert "page" in r.json()
    for path, kind in (("history.atom", "application/atom+xml"),
                       ("history.rss", "application/rss+xml"),
                       ("status.css", "text/css"), ("status.js", "text/javascript")):
        r = c.get(f"/status/{path}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind), path
    assert c.get("/status", follow_redirects=False).headers["location"] == "/status/"
    assert c.get("/status/nothing.json").status_code == 404
    assert c.get("/status/_id_salt").status_code == 404  # the id salt stays private
    assert c.get("/status/../api/v1/incidents").status_code in (404, 401)
    assert c.post("/status/").status_code == 405
    head = c.head("/status/api/v2/summary.json")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(c.get("/status/api/v2/summary.json")
                                                      .content)


def test_etag_and_last_modified_answer_304_until_something_changes(
        h: Herald, clock: FixedClock) -> None:
    components(h)
    c = TestClient(create_app(h))
    first = c.get("/status/api/v2/summary.json")
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    again = c.get("/status/api/v2/summary.json", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag and again.headers["cache-control"] == "public, max-age=30"
    assert c.get("/status/api/v2/summary.json",
                 headers={"If-None-Match": f'"other", W/{tag}'}).status_code == 304
    assert c.get("/status/api/v2/summary.json",
                 headers={"If-Modified-Since": modified}).status_code == 304
    assert c.get("/status/api/v2/summary.json",
                 headers={"If-None-Match": '"other"', "If-Modified-Since": modified}
                 ).status_code == 200  # If-None-Match wins
    clock.advance(minutes=10)
    status_page.set_component(h, "search", "major_outage", actor=MESSENGER)
    changed = c.get("/status/api/v2/summary.json", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert changed.json()["status"]["indicator"] == "critical"
    assert changed.headers["last-modified"] == format_datetime(
        clock.now().replace(microsecond=0), usegmt=True)
    assert c.get("/status/api/v2/summary.json",
                 headers={"If-Modified-Since": modified}).status_code == 200


def test_security_incidents_never_reach_the_public_page(h: Herald) -> None:
    components(h)
    secret = incident(h, "inc-9", security=True, title="Tokens leaked in logs")
    with pytest.raises(Exception, match="security incidents never"):
        status_posts.post_status(h, secret, "resolved-only", actor=MESSENGER, override="x")
    c = TestClient(create_app(h))
    for path in ["", "history.atom", "history.rss", *JSON_PATHS]:
        assert "Tokens leaked" not in c.get(f"/status/{path}").text


# The API -------------------------------------------------------------------------------------

def test_api_reads_and_posts_and_refuses_security(h: Herald) -> None:
    components(h)
    ref = incident(h)
    customers(h, ref, impacted=3, total=4)
    secret = incident(h, "inc-2", security=True)
    c = api_client(h)
    plan = c.get(f"/api/v1/incidents/{ref}/status-posts").json()
    assert plan["recommended"] and plan["next_kinds"] == ["resolved-only", "investigating"]
    r = c.post(f"/api/v1/incidents/{ref}/status-posts",
               json={"kind": "investigating", "impact": "major",
                     "components": {"search": "partial_outage"}})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "investigating" and r.json()["components"] == {
        "search": "partial_outage"}
    again = c.get(f"/api/v1/incidents/{ref}/status-posts").json()
    assert again["next_kinds"] == ["identified", "resolved"] and again["next_due"]
    bad = c.post(f"/api/v1/incidents/{ref}/status-posts", json={"kind": "resolved-only"})
    assert bad.status_code == 409 and "cannot come now" in bad.json()["error"]
    invalid = c.post(f"/api/v1/incidents/{ref}/status-posts",
                     json={"kind": "identified", "components": {"search": "down"}})
    assert invalid.status_code == 422
    refused = c.post(f"/api/v1/incidents/{secret}/status-posts",
                     json={"kind": "resolved-only", "override": "please"})
    # the messenger opened it, so they know of it: refused, not hidden
    assert refused.status_code == 409
    assert refused.json()["error"] == "security incidents never go on the status page"
    assert c.get(f"/api/v1/incidents/{secret}/status-posts").json()["allowed"] is False
    assert json.loads(c.get("/status/api/v2/summary.json").text)["incidents"][0]["status"] \
        == "investigating"


def test_api_needs_the_override_when_not_recommended(h: Herald) -> None:
    ref = incident(h)
    c = api_client(h)
    r = c.post(f"/api/v1/incidents/{ref}/status-posts", json={"kind": "resolved-only"})
    assert r.status_code == 409 and "override reason" in r.json()["error"]
    r = c.post(f"/api/v1/incidents/{ref}/status-posts",
               json={"kind": "resolved-only", "override": "press coverage"})
    assert r.status_code == 201 and r.json()["override_reason"] == "press coverage"


# The incident tab ----------------------------------------------------------------------------

def test_tab_shows_recommendation_posts_form_and_the_overdue_banner(
        h: Herald, clock: FixedClock) -> None:
    components(h)
    ref = incident(h)
    c = signed_in(h)
    tab = c.get(f"/incidents/{ref}/status-page")
    assert tab.status_code == 200
    assert "Not recommended." in tab.text and 'name="override"' in tab.text
    assert 'value="investigating"' in tab.text and 'value="resolved-only"' in tab.text
    assert 'name="component-search"' in tab.text
    r = c.post(f"/incidents/{ref}/status-page", data={
        "kind": "investigating", "impact": "major", "override": "asked by the CEO",
        "component-search": "partial_outage", "component-api": "",
        "csrf_token": token(tab.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    tab = c.get(f"/incidents/{ref}/status-page")
    assert "Posted against the recommendation: asked by the CEO" in tab.text
    assert "Next follow-up" in tab.text and 'value="identified"' in tab.text
    assert "Status page follow-up overdue" not in c.get(f"/incidents/{ref}").text
    clock.advance(minutes=31)
    checklist = c.get(f"/incidents/{ref}")
    assert "Status page follow-up overdue" in checklist.text
    assert f'href="/incidents/{ref}/status-page"' in checklist.text
    assert "Follow-up overdue" in c.get(f"/incidents/{ref}/status-page").text
    missing = c.post(f"/incidents/{ref}/status-page", data={
        "kind": "identified", "csrf_token": token(tab.text)}, follow_redirects=False,
        headers={"referer": f"http://testserver/incidents/{ref}/status-page"})
    assert missing.status_code == 303  # refused: no override reason; back with the error
    assert "override reason" in c.get(missing.headers["location"]).text


def test_tab_explains_the_refusal_for_security_incidents(h: Herald) -> None:
    c = signed_in(h, roles=["support", "security"])
    ref = incident(h, security=True)
    tab = c.get(f"/incidents/{ref}/status-page")
    assert tab.status_code == 200
    assert "Not for security incidents." in tab.text
    assert 'action="/incidents/' + ref + '/status-page"' not in tab.text
    r = c.post(f"/incidents/{ref}/status-page", data={
        "kind": "resolved-only", "override": "x", "csrf_token": token(tab.text)},
        follow_redirects=False, headers={"referer": f"http://testserver/incidents/{ref}/status-page"})
    assert r.status_code == 303
    assert "security incidents never go on the status page" in c.get(
        r.headers["location"]).text


# The command line ------------------------------------------------------------------------------

def test_cli_components_posts_show_and_export(
        cli_env: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, h: Herald) -> None:
    reuse_cli_command(monkeypatch)
    monkeypatch.setenv("HERALD_USER", MESSENGER)
    assert "component api added" in ok_cli(capsys, "status-page", "component", "add", "api",
                                           "REST API", "--description", "The API").out
    ok_cli(capsys, "status-page", "component", "add", "search", "Search")
    listed = ok_cli(capsys, "status-page", "component", "list", "--json").json()
    assert [c["code"] for c in listed] == ["api", "search"]
    ref = incident(h)
    secret = incident(h, "inc-2", security=True)
    refused = run_cli(capsys, "status-page", "post", secret, "--kind", "resolved-only",
                      "--override", "x")
    assert refused.code == 1
    assert refused.err == "error: security incidents never go on the status page\n"
    no_reason = run_cli(capsys, "status-page", "post", ref, "--kind", "investigating")
    assert no_reason.code == 1 and "override reason" in no_reason.err
    out = ok_cli(capsys, "status-page", "post", ref, "--kind", "investigating", "--impact",
                 "major", "--component", "search=partial_outage", "--override",
                 "wide enough").out
    assert "posted to the status page: investigating" in out
    assert "next follow-up due at" in out
    bad = run_cli(capsys, "status-page", "post", ref, "--kind", "identified", "--component",
                  "search", "--override", "x")
    assert bad.code == 1 and "CODE=STATUS" in bad.err
    shown = ok_cli(capsys, "status-page", "show").out
    assert "Partial System Outage" in shown and "active: Search misses new repositories" in shown
    summary = json.loads(ok_cli(capsys, "status-page", "show", "--json").out)
    assert summary["incidents"][0]["impact"] == "major"
    plan = ok_cli(capsys, "status-page", "plan", ref).out
    assert "next: identified or resolved" in plan and "override: wide enough" in plan
    assert "REFUSED: security incident" in ok_cli(capsys, "status-page", "plan", secret).out
    assert "wrote 13 files" in ok_cli(capsys, "status-page", "export",
                                      str(tmp_path / "site")).out
    served = TestClient(create_app(h))
    for path in ["index.html", "history.atom", "history.rss", "status.css", "status.js",
                 *JSON_PATHS]:
        url = "/status/" if path == "index.html" else f"/status/{path}"
        assert (tmp_path / "site" / path).read_bytes() == served.get(url).content, path
    assert "queued 0 reminder(s)" in ok_cli(capsys, "status-page", "remind").out


def test_cli_security_refusal_keeps_the_outbox_and_page_untouched(
        cli_env: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        h: Herald) -> None:
    reuse_cli_command(monkeypatch)
    secret = incident(h, security=True)
    for kind in ("investigating", "resolved-only"):
        r = run_cli(capsys, "status-page", "post", secret, "--kind", kind, "--override", "x",
                    "--as", MESSENGER)
        assert r.code == 1 and "security incidents never" in r.err
    assert json.loads(status_page.load_documents(h)["api/v2/incidents.json"].body)[
        "incidents"] == []
