"""The JSON API: the handbook walk, its OpenAPI document, errors, need-to-know and CSRF."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient

from herald.services import accounts, views
from herald.services.context import Herald
from herald.web.api_docs import code_spans
from herald.web.app import create_app
from herald.web.security import CSRF_HEADER, SESSION_COOKIE

API = "/api/v1"
PASSWORD = "correct horse battery staple"
MESSENGER = "maya@example.com"
BUDDY = "liam@example.com"
LEAD = "priya@example.com"  # incident lead: no account, a person in a role
SEC_LEAD = "sec.lead@example.com"
CS_LEADER = "sam@example.com"
ADMIN = "admin@example.com"
SECURITY = "security.team@example.com"
OUTSIDER = "outsider@example.com"
VIEWER = "viewer@example.com"
ACCOUNTS = {
    MESSENGER: "support", BUDDY: "support", SEC_LEAD: "reviewer",
    CS_LEADER: "support_leadership", ADMIN: "admin", SECURITY: "security",
    OUTSIDER: "support", VIEWER: "viewer",
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# A valid body for every route that takes one, so refusals are not about the body.
SAMPLE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/incidents"): {"title": "Another incident"},
    ("POST", "/incidents/{ref}/sends"): {"dry_run": True},
    ("POST", "/incidents/{ref}/settle"): {"message_id": "<nope@example.com>",
                                          "decision": "sent"},
    ("PATCH", "/incidents/{ref}"): {"severity": "sev1"},
    ("POST", "/incidents/{ref}/security"): {"on": True},
    ("PUT", "/incidents/{ref}/roles/{role}"): {"email": OUTSIDER},
    ("POST", "/incidents/{ref}/members"): {"email": OUTSIDER, "why": "testing"},
    ("POST", "/incidents/{ref}/links"): {"kind": "other", "url": "https://example.com/x"},
    ("PUT", "/incidents/{ref}/deadline"): {"aware_at": "2026-01-01T08:00:00Z", "hours": 72},
    ("POST", "/incidents/{ref}/steps/{step}/done"): {"override": "testing"},
    ("POST", "/incidents/{ref}/steps/{step}/na"): {"reason": "does not apply"},
    ("POST", "/incidents/{ref}/steps/{step}/reopen"): {"reason": "by mistake"},
    ("PUT", "/incidents/{ref}/plan/facts/{key}"): {"value": "9.9.9"},
    ("POST", "/incidents/{ref}/plan/signoff"): {},
    ("POST", "/incidents/{ref}/plan/retro"): {"text": "an idea"},
    ("POST", "/incidents/{ref}/timeline"): {"title": "Extra event"},
    ("PUT", "/incidents/{ref}/timeline/{event}/planned"): {"at": "2026-01-02T08:00:00Z"},
    ("POST", "/incidents/{ref}/timeline/{event}/done"): {},
    ("POST", "/incidents/{ref}/timeline/{event}/na"): {"reason": "will not happen"},
    ("POST", "/tokens"): {"name": "another"},
    ("PUT", "/incidents/{ref}/contacts/marks/{account}"): {"impact": "yes"},
    ("POST", "/incidents/{ref}/followup/{item}/mark"): {"outcome": "none"},
    ("POST", "/incidents/{ref}/faq"): {"question": "Do we need to reindex?"},
    ("POST", "/incidents/{ref}/faq/{entry}/answer"): {"answer": "No, the upgrade does it."},
    ("POST", "/incidents/{ref}/faq/{entry}/confirm"): {"engineer": "eng@example.com"},
    ("POST", "/incidents/{ref}/postmortems/send"): {"link": "https://example.com/pm/7"},
    ("POST", "/incidents/{ref}/status-posts"): {"kind": "resolved-only", "override": "x"},
    ("POST", "/incidents/{ref}/reviews/request"): {"send_date": "2026-01-01",
                                                   "send_time_utc": "14:00"},
    ("POST", "/incidents/{ref}/reviews/seats/{seat}"): {"decision": "approved"},
    ("PUT", "/incidents/{ref}/reviews/legal-decision"): {"needed": False},
    ("POST", "/incidents/{ref}/chat/steps/{step}"): {"blanks": {}},
    ("POST", "/incidents/{ref}/chat/{item}/posted"): {"link": "https://example.com/p/1"},
    ("POST", "/incidents/{ref}/chat/channel/facts"): {"key": "release", "ts": "1.000001"},
}


@dataclass
class Api:
    """A test client that calls the API as one of the test accounts."""

    app: FastAPI
    client: TestClient
    tokens: dict[str, str]

    def call(self, who: str | None, method: str, path: str, body: Any = None,
             **kw: Any) -> httpx.Response:
        """Call /api/v1{path} with the account's Bearer token (anonymous when who is None)."""
        headers = {"authorization": f"Bearer {self.tokens[who]}"} if who else {}
        headers.update(kw.pop("headers", {}))
        return self.client.request(method, API + path, json=body, headers=headers, **kw)

    def ok(self, who: str | None, method: str, path: str, body: Any = None,
           status: int = 200) -> Any:
        """Call and insist on the status; returns the JSON body."""
        r = self.call(who, method, path, body)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r.json() if r.content else None

    def refused(self, who: str | None, method: str, path: str, body: Any = None, *,
                status: int, says: str = "") -> dict[str, Any]:
        """Call, insist on an error status and a message; returns the error body."""
        r = self.call(who, method, path, body)
        return error_of(r, status, says)


def error_of(r: httpx.Response, status: int, says: str = "") -> dict[str, Any]:
    """An API error: JSON with a clear message and the status, never a stack trace."""
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} " \
        f"{r.text[:500]}"
    assert r.headers["content-type"].startswith("application/json"), r.text
    assert "Traceback" not in r.text and 'File "' not in r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert isinstance(body["error"], str) and len(body["error"]) > 5
    assert set(body) <= {"error", "status", "problems", "current"}
    assert says.lower() in body["error"].lower(), body["error"]
    return body


@pytest.fixture
def api(h: Herald, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The app on the test's Herald, with an account and an API token per test person."""
    # Real argon2, at the lowest cost: eight accounts per test would otherwise take seconds.
    monkeypatch.setattr(accounts, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    tokens = {}
    for email, role in ACCOUNTS.items():
        accounts.create_user(h, email=email, name=email.split("@")[0].title(), roles=[role],
                             password=PASSWORD, actor="setup@example.com")
        tokens[email] = accounts.create_api_token(h, email, "tests", actor=email)
    app = create_app(h)
    with TestClient(app) as client:
        yield Api(app, client, tokens)


def served_routes(app: FastAPI) -> list[RouteContext]:
    """Every route the app serves, with full paths (included routers are nested since 0.165)."""
    return list(iter_route_contexts(app.routes))


# Routes that machines call with their own secret, not a session or token.
MACHINE = {("POST", "/inbound/email")}


def api_routes(app: FastAPI, *, machine: bool = False) -> list[tuple[str, str]]:
    """(method, path without /api/v1) of every API route the app serves (the machine
    routes only when asked)."""
    return sorted(route for route in (
        (m, str(r.path).removeprefix(API)) for r in served_routes(app)
        if isinstance(r.original_route, APIRoute) and str(r.path).startswith(API + "/")
        for m in r.methods or ()) if machine or route not in MACHINE)


def body_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path without /api/v1) of every API route that reads a request body."""
    return {(m, str(r.path).removeprefix(API)) for r in served_routes(app)
            if isinstance(r.original_route, APIRoute) and str(r.path).startswith(API + "/")
            and r.original_route.body_field is not None for m in r.methods or ()}


def fill(path: str, **values: str) -> str:
    """A concrete path from a route template."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def open_incident(api: Api, who: str = MESSENGER, **fields: Any) -> dict[str, Any]:
    """POST /incidents and return the new incident."""
    body = {"title": "Search results missing after the upgrade", **fields}
    result: dict[str, Any] = api.ok(who, "POST", "/incidents", body, status=201)
    return result


def walk_to(api: Api, ref: str, last: int) -> None:
    """Do steps 1..last in order as the messenger."""
    for n in range(1, last + 1):
        api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/{n}/done")


# (1) The handbook's walk through the API -------------------------------------------------

def test_walk_a_normal_incident(api: Api) -> None:
    r = api.call(MESSENGER, "POST", "/incidents",
                 {"title": "Search results missing after the upgrade", "severity": "sev2"})
    assert r.status_code == 201, r.text
    inc = r.json()
    ref = inc["ref"]
    assert r.headers["location"] == f"{API}/incidents/{ref}"
    assert (inc["messenger"], inc["severity"], inc["security"]) == (MESSENGER, "sev2", False)
    assert (inc["next_step"], len(inc["steps"])) == (1, 24)
    assert inc["security_gate"] is None

    # The plan's header: people and links.
    inc = api.ok(MESSENGER, "PUT", f"/incidents/{ref}/roles/buddy",
                 {"email": BUDDY, "name": "Liam Chen"})
    assert {(p["role"], p["email"]) for p in inc["roles"]} == {("messenger", MESSENGER),
                                                                ("buddy", BUDDY)}
    api.ok(MESSENGER, "PUT", f"/incidents/{ref}/roles/incident_lead", {"email": "x@example.com"})
    inc = api.ok(MESSENGER, "PUT", f"/incidents/{ref}/roles/incident_lead", {"email": LEAD})
    assert [p["email"] for p in inc["role_history"]] == ["x@example.com"]
    api.ok(MESSENGER, "PUT", f"/incidents/{ref}/roles/cs_leader", {"email": CS_LEADER})
    api.refused(MESSENGER, "DELETE", f"/incidents/{ref}/roles/messenger", status=422,
                says="hand the role over")
    link = api.ok(MESSENGER, "POST", f"/incidents/{ref}/links",
                  {"kind": "channel", "url": "https://chat.example.com/archives/C42",
                   "label": "incident channel"}, status=201)
    assert (link["kind"], link["added_by"]) == ("channel", MESSENGER)

    # Step 1, then an out-of-order refusal, then the override.
    claim = "https://chat.example.com/archives/C42/p1"
    step = api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/claim/done", {"link": claim})
    assert (step["number"], step["state"], step["by"], step["link"]) == (1, "done", MESSENGER,
                                                                        claim)
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/steps/5/done", status=409,
                says="comes after pending step(s) 2, 3, 4")
    step = api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/buddy/done",
                  {"override": "Liam offered before I asked"})
    assert (step["override"], step["skipped"]) == ("Liam offered before I asked", [2, 3, 4])
    for n in (2, 3, 4):  # the calm prompts: one click each, no body needed
        assert api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/{n}/done")["state"] == "done"
    step = api.ok(BUDDY, "POST", f"/incidents/{ref}/steps/read/done", {"note": "read together"})
    assert (step["by"], step["note"]) == (BUDDY, "read together")

    # Step 7: the workspace gets its number, guarded by the version.
    version = api.ok(MESSENGER, "GET", f"/incidents/{ref}")["version"]
    inc = api.ok(MESSENGER, "PATCH", f"/incidents/{ref}",
                 {"number": "inc-4217", "title": "Search misses new repositories",
                  "expected_version": version})
    assert (inc["ref"], inc["title"]) == ("inc-4217", "Search misses new repositories")
    assert inc["version"] > version
    assert inc["previous_names"] == ["Search results missing after the upgrade"]
    api.refused(BUDDY, "PATCH", f"/incidents/{inc['id']}", {"severity": "sev1",
                "expected_version": version}, status=409, says="changed since you loaded it")
    assert api.ok(MESSENGER, "GET", f"/incidents/{ref}")["ref"] == "inc-4217"  # ids stay
    ref = "inc-4217"
    api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/workspace/done")

    # Step 8: the plan, with the disclosure deadline.
    inc = api.ok(MESSENGER, "PUT", f"/incidents/{ref}/deadline",
                 {"aware_at": "2026-01-01T08:00:00Z", "hours": 72})
    assert inc["deadline"]["due_at"] == "2026-01-04T08:00:00Z"
    assert (inc["deadline"]["state"], inc["deadline"]["left"]) == ("ok", "2d 23h 00m left")
    api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/plan/done")

    # Step 9: facts with provenance; a stale save is refused with the current value.
    src = "https://chat.example.com/archives/C42/p2"
    fact = api.ok(MESSENGER, "PUT", f"/incidents/{ref}/plan/facts/release",
                  {"value": "5.2.0", "provided_by": LEAD, "source": src})
    assert (fact["value"], fact["provided_by"], fact["source"], fact["version"]) == (
        "5.2.0", LEAD, src, 1)
    fact = api.ok(BUDDY, "PUT", f"/incidents/{ref}/plan/facts/release",
                  {"value": "5.2.0 and 5.2.1", "provided_by": LEAD, "expected_version": 1})
    assert (fact["version"], fact["recorded_by"]) == (2, BUDDY)
    clash = api.refused(MESSENGER, "PUT", f"/incidents/{ref}/plan/facts/release",
                        {"value": "5.2", "expected_version": 1}, status=409,
                        says="it now reads '5.2.0 and 5.2.1'")
    assert (clash["current"]["value"], clash["current"]["version"]) == ("5.2.0 and 5.2.1", 2)
    assert api.ok(MESSENGER, "PUT", f"/incidents/{ref}/plan/facts/self-hosted-share",
                  {"value": "35%"})["value"] == "35"
    api.refused(MESSENGER, "PUT", f"/incidents/{ref}/plan/facts/customer_must_act",
                {"value": "maybe"}, status=422, says="answer yes or no")
    api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/gather/done")

    # Steps 10 and 11: n/a, reopened by mistake, done.
    step = api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/10/na",
                  {"reason": "engineering sent the list"})
    assert (step["state"], step["na_reason"]) == ("na", "engineering sent the list")
    step = api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/10/reopen",
                  {"reason": "CEs must still mark their customers"})
    assert step["state"] == "pending"
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/steps/10/reopen", {"reason": "again"},
                status=409, says="already pending")
    api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/contacts/done")
    api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/drafts/done")
    listed = api.ok(BUDDY, "GET", f"/incidents/{ref}/steps")
    assert [s["state"] for s in listed[:12]] == ["done"] * 11 + ["pending"]
    assert api.ok(BUDDY, "GET", f"/incidents/{ref}")["next_step"] == 12

    # The timeline: steps filled their rows; planned, n/a, completed and custom rows.
    row = api.ok(MESSENGER, "PUT", f"/incidents/{ref}/timeline/emails-sent/planned",
                 {"at": "2026-01-01T15:00:00+01:00"})
    assert (row["key"], row["planned_at"]) == ("emails_sent", "2026-01-01T14:00:00Z")
    row = api.ok(MESSENGER, "POST", f"/incidents/{ref}/timeline/status_page/na",
                 {"reason": "a third of self-hosted customers: below the threshold"})
    assert row["na"] is True
    row = api.ok(MESSENGER, "POST", f"/incidents/{ref}/timeline/reviews_requested/done",
                 {"link": "https://chat.example.com/archives/C7/p9"})
    assert row["completed_at"] == "2026-01-01T09:00:00Z"
    row = api.ok(MESSENGER, "POST", f"/incidents/{ref}/timeline",
                 {"title": "Second status update", "planned_at": "2026-01-01T16:00:00Z"},
                 status=201)
    assert (row["key"], row["title"]) == ("second_status_update", "Second status update")
    rows = {r["key"]: r for r in api.ok(BUDDY, "GET", f"/incidents/{ref}/timeline")}
    assert rows["claim"]["link"] == claim and rows["claim"]["completed_at"]
    assert rows["list_ready"]["completed_at"] and rows["drafts_ready"]["completed_at"]
    assert list(rows)[-1] == "second_status_update"

    # The plan: facts and a parked retro note.
    note = api.ok(BUDDY, "POST", f"/incidents/{ref}/plan/retro",
                  {"text": "Link the CRM report from the plan template."}, status=201)
    assert note["by"] == BUDDY
    plan = api.ok(MESSENGER, "GET", f"/incidents/{ref}/plan")
    facts = {f["key"]: f for f in plan["facts"]}
    assert facts["release"]["value"] == "5.2.0 and 5.2.1" and facts["causes"]["value"] is None
    assert plan["incident"]["ref"] == ref and len(plan["retro"]) == 1

    # Resolve it: it leaves the default list.
    api.ok(MESSENGER, "PATCH", f"/incidents/{ref}", {"status": "resolved", "severity": "sev3"})
    assert ref not in [i["ref"] for i in api.ok(MESSENGER, "GET", "/incidents")]
    assert [i["ref"] for i in api.ok(MESSENGER, "GET", "/incidents?status=resolved")] == [ref]

    # The audit log attributes every change.
    audit = api.ok(BUDDY, "GET", f"/incidents/{ref}/audit")
    actions = [a["action"] for a in audit]
    assert actions[0] == "incident.created"
    for action in ("role.set", "link.added", "step.done", "step.na", "step.reopened",
                   "incident.renamed", "deadline.set", "fact.set", "timeline.planned",
                   "timeline.na", "timeline.completed", "timeline.added", "retro.noted",
                   "incident.status", "incident.severity"):
        assert action in actions, action
    buddy_step = next(a for a in audit if a["action"] == "step.done" and a["target"] == "5 buddy")
    assert buddy_step["actor"] == MESSENGER
    assert buddy_step["after"]["override"] == "Liam offered before I asked"
    assert {a["actor"] for a in audit} == {MESSENGER, BUDDY}


def test_walk_a_security_incident(api: Api) -> None:
    inc = open_incident(api, title="Tokens visible in build logs", number="inc-99",
                        security=True, severity="sev1")
    ref = inc["ref"]
    assert inc["security"] is True
    assert inc["security_gate"]["missing"] == ["a security lead is assigned",
                                               "a CS leader is engaged"]
    api.ok(MESSENGER, "PUT", f"/incidents/{ref}/roles/buddy", {"email": BUDDY})
    walk_to(api, ref, 8)

    # The security stop: nothing after 9 until a security lead and a CS leader are in.
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/steps/10/done", {"override": "hurry"},
                status=409, says="an override cannot lift this")
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/steps/9/done", status=409,
                says="step 9 needs a security lead is assigned and a CS leader is engaged")
    api.ok(MESSENGER, "PUT", f"/incidents/{ref}/roles/security_lead", {"email": SEC_LEAD})
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/steps/10/done", {"override": "hurry"},
                status=409, says="until a CS leader is engaged")
    inc = api.ok(MESSENGER, "PUT", f"/incidents/{ref}/roles/cs_leader", {"email": CS_LEADER})
    assert inc["security_gate"]["missing"] == []

    # Step 9 waits for the security lead's sign-off of every fact.
    for key, value in (("release", "5.2.0"), ("causes", "tokens printed in build logs")):
        api.ok(MESSENGER, "PUT", f"/incidents/{ref}/plan/facts/{key}", {"value": value})
    gate = api.ok(MESSENGER, "GET", f"/incidents/{ref}")["security_gate"]
    assert gate["unsigned_facts"] == ["causes", "release"]
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/steps/gather/done", status=409,
                says="has not signed off: causes, release")
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/plan/signoff", status=403,
                says="only the incident's security lead")
    plan = api.ok(SEC_LEAD, "POST", f"/incidents/{ref}/plan/signoff", {"keys": ["release"]})
    signed = {f["key"]: f["signed_off_by"] for f in plan["facts"] if f["value"]}
    assert signed == {"release": SEC_LEAD, "causes": None}
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/steps/9/done", status=409,
                says="has not signed off: causes")
    api.ok(SEC_LEAD, "POST", f"/incidents/{ref}/plan/signoff")  # every unsigned fact
    step = api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/9/done")
    assert step["state"] == "done"
    api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/10/done")
    api.ok(MESSENGER, "POST", f"/incidents/{ref}/steps/11/done")

    # A changed fact needs signing again.
    fact = api.ok(MESSENGER, "PUT", f"/incidents/{ref}/plan/facts/causes",
                  {"value": "tokens printed in CI logs"})
    assert fact["signed_off_by"] is None
    assert api.ok(BUDDY, "GET", f"/incidents/{ref}")["security_gate"]["unsigned_facts"] == [
        "causes"]

    # Only the security lead lowers the flag, and only with a reason.
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/security", {"on": False}, status=403,
                says="only the incident's security lead")
    api.refused(SEC_LEAD, "POST", f"/incidents/{ref}/security", {"on": False}, status=422,
                says="needs a reason")

    rows = {r["key"]: r for r in api.ok(SEC_LEAD, "GET", f"/incidents/{ref}/timeline")}
    assert rows["info_gathered"]["completed_at"] and rows["drafts_ready"]["completed_at"]
    actions = [(a["action"], a["actor"]) for a in api.ok(SEC_LEAD, "GET",
                                                          f"/incidents/{ref}/audit")]
    assert ("fact.signed_off", SEC_LEAD) in actions
    assert actions.count(("step.done", MESSENGER)) == 11


# (2) The OpenAPI document ------------------------------------------------------------------

def test_the_api_reference_page_shows_every_route_without_scripts(api: Api) -> None:
    doc = api.client.get(f"{API}/openapi.json").json()
    r = TestClient(api.app).get("/api/docs")  # public, like the document it shows
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = html.unescape(r.text)
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            assert f"{method.upper()} {path}" in page and op["summary"] in page, (method, path)
    # Parameters and body fields with their types, required ones marked.
    assert "reviewed_versions" in page and "object of integer or null" in page
    assert re.search(r'<code>decision</code> <span class="tag">required</span>', r.text)
    # Only the workspace's own script file: nothing inline, nothing from elsewhere.
    assert re.findall(r"<script[^>]*>", r.text) == ['<script src="/static/herald.js" defer>']
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_openapi_documents_every_api_route(api: Api) -> None:
    doc = api.client.get(f"{API}/openapi.json").json()
    documented = sorted((method.upper(), path.removeprefix(API))
                        for path, operations in doc["paths"].items() for method in operations)
    assert documented == api_routes(api.app, machine=True)
    others = {str(r.path) for r in served_routes(api.app)
              if str(r.path).startswith(API) and not isinstance(r.original_route, APIRoute)}
    assert others == {f"{API}/openapi.json"}

    schemas = doc["components"]["schemas"]
    assert set(doc["components"]["securitySchemes"]) == {"token", "session", "inbound_secret"}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary") and op.get("description"), where
            if (method.upper(), path.removeprefix(API)) in MACHINE:
                assert op["security"] == [{"inbound_secret": []}], where
                continue
            assert op["security"] == [{"token": []}, {"session": []}], where
            codes = set(op["responses"])
            assert "401" in codes, where
            if "{ref}" in path:
                assert "404" in codes and "422" in codes, where
            if method.upper() in UNSAFE:
                assert "403" in codes, where
            if "requestBody" in op:
                assert {"400", "422"} <= codes, where
                content = op["requestBody"]["content"]
                if "multipart/form-data" in content:  # an upload, described inline
                    name = where
                    props = content["multipart/form-data"]["schema"]["properties"]
                else:
                    ref = content["application/json"]["schema"]
                    name = (ref.get("$ref") or ref["anyOf"][0]["$ref"]).rsplit("/", 1)[-1]
                    props = schemas[name]["properties"]
                assert all(p.get("description") for p in props.values()), name
            for code in codes - {"200", "201", "204"}:
                body = op["responses"][code]["content"]["application/json"]["schema"]
                assert body["$ref"].rsplit("/", 1)[-1] in {
                    "Problem", "ValidationProblem", "FactConflict"}, where
    assert len({op["operationId"] for ops in doc["paths"].values() for op in ops.values()}) == \
        len(documented)


# (3) Errors: JSON, clear, the right code -----------------------------------------------------

def test_errors_are_json_with_clear_messages_and_the_right_codes(
        api: Api, h: Herald, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = open_incident(api, number="inc-7")["ref"]

    # 400: a body that is not JSON.
    r = api.call(MESSENGER, "POST", "/incidents", content=b'{"title": "half',
                 headers={"content-type": "application/json"})
    error_of(r, 400, "not valid JSON")

    # 401: nobody (on every route, before anything else), a made-up token, a revoked token.
    for method, template in api_routes(api.app):
        path = fill(template, ref=ref, role="buddy", step="1", key="release", event="claim",
                    token_id="1")
        api.refused(None, method, path, SAMPLE_BODIES.get((method, template)), status=401,
                    says="sign in first")
    error_of(api.client.get(f"{API}/me", headers={"authorization": "Bearer hrld_nope"}), 401)
    made = api.ok(VIEWER, "POST", "/tokens", {"name": "short-lived"}, status=201)
    assert made["token"].startswith("hrld_") and made["prefix"] == made["token"][:12]
    assert made["id"] in [t["id"] for t in api.ok(VIEWER, "GET", "/tokens")]
    bearer = {"authorization": f"Bearer {made['token']}"}
    assert api.client.get(f"{API}/me", headers=bearer).json()["email"] == VIEWER
    assert api.ok(VIEWER, "DELETE", f"/tokens/{made['id']}", status=204) is None
    error_of(api.client.get(f"{API}/me", headers=bearer), 401)
    api.refused(OUTSIDER, "DELETE", f"/tokens/{made['id']}", status=404, says="no active token")

    # 403: accounts that may look but not act.
    api.refused(VIEWER, "POST", "/incidents", {"title": "Mine"}, status=403,
                says="may not open incidents")
    api.refused(VIEWER, "POST", f"/incidents/{ref}/steps/1/done", status=403,
                says="may view this incident but not change it")
    api.refused(VIEWER, "POST", "/incidents", {"title": 5, "bogus": 1}, status=403)  # before 422

    # 404: missing incidents, steps, events and routes.
    api.refused(MESSENGER, "GET", "/incidents/inc-404", status=404, says="no incident 'inc-404'")
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/steps/99/done", status=404,
                says="steps are 1-24")
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/timeline/party/na", {"reason": "x"},
                status=404, says="events are: claim, buddy")
    api.refused(MESSENGER, "GET", "/nowhere", status=404, says="not found")
    api.refused(MESSENGER, "DELETE", "/incidents", status=405)

    # 409: the handbook's order, a number in use.
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/steps/3/done", status=409,
                says="give an override with a reason")
    api.refused(MESSENGER, "POST", "/incidents", {"title": "Same number", "number": "inc-7"},
                status=409, says="inc-7 is already used")

    # 422: missing, unknown, badly typed and rule-breaking values, each named.
    body = api.refused(MESSENGER, "POST", "/incidents", {}, status=422, says="title")
    assert body["problems"] == ["title: Field required"]
    body = api.refused(MESSENGER, "POST", "/incidents", {"title": "Typo", "secutiry": True},
                       status=422, says="secutiry")
    api.refused(MESSENGER, "POST", "/incidents", {"title": "Bad", "severity": "sev9"},
                status=422, says="severity")
    api.refused(MESSENGER, "POST", "/incidents", {"title": "Bad", "number": "42"}, status=422,
                says="must look like inc-42")
    api.refused(MESSENGER, "GET", "/incidents/not-a-ref", status=422,
                says="neither a number (inc-42) nor an id (7)")
    api.refused(MESSENGER, "GET", "/incidents?status=pending", status=422, says="status")
    api.refused(MESSENGER, "PATCH", f"/incidents/{ref}", {}, status=422, says="at least one")
    api.refused(MESSENGER, "PUT", f"/incidents/{ref}/deadline",
                {"aware_at": "2026-01-01T08:00:00"}, status=422, says="timezone")
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/links", {"kind": "channel",
                "url": "javascript:alert(1)"}, status=422, says="http(s) URLs")
    api.refused(MESSENGER, "PUT", f"/incidents/{ref}/roles/janitor", {"email": BUDDY},
                status=422, says="role")
    api.refused(MESSENGER, "PUT", f"/incidents/{ref}/roles/buddy", {"email": "not-an-email"},
                status=422, says="invalid email")
    api.refused(MESSENGER, "POST", f"/incidents/{ref}/steps/1/na", {"reason": "  "},
                status=422, says="reason")
    api.refused(MESSENGER, "GET", "/search", status=422, says="q")

    # 500: an unexpected failure says sorry, logs, and shows nothing of the inside.
    def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError("secret internals: /srv/herald/db.py line 3")

    monkeypatch.setattr(views, "incident_detail", broken)
    with TestClient(api.app, raise_server_exceptions=False) as client:
        r = client.get(f"{API}/incidents/{ref}",
                       headers={"authorization": f"Bearer {api.tokens[MESSENGER]}"})
    body = error_of(r, 500, "something went wrong on our side")
    assert "secret" not in r.text


# (4) Need-to-know ----------------------------------------------------------------------------

def test_outsiders_get_404_on_every_route_of_a_security_incident(api: Api) -> None:
    normal = open_incident(api, title="Login page slow", number="inc-1")["ref"]
    hidden = open_incident(api, title="Secret key leaked", number="inc-2", security=True)
    ref = hidden["ref"]
    api.ok(MESSENGER, "PUT", f"/incidents/{ref}/roles/buddy", {"email": BUDDY})
    api.ok(MESSENGER, "PUT", f"/incidents/{ref}/roles/security_lead", {"email": SEC_LEAD})
    api.ok(MESSENGER, "PUT", f"/incidents/{ref}/plan/facts/causes", {"value": "leaked keys"})
    audit_before = api.ok(ADMIN, "GET", f"/incidents/{ref}/audit")

    routes = [(m, p) for m, p in api_routes(api.app) if p.startswith("/incidents/{ref}")]
    assert len(routes) >= 20
    missing = body_routes(api.app) - set(SAMPLE_BODIES)
    assert not missing, f"add a sample body for {missing}"
    for who in (OUTSIDER, VIEWER):
        for method, template in routes:
            path = fill(template, ref=ref, role="buddy", step="1", key="release",
                        event="claim")
            sample = SAMPLE_BODIES.get((method, template))
            for body in ({"bogus": True}, sample):  # before the body is even looked at
                r = api.call(who, method, path, body)
                error_of(r, 404, f"no incident '{ref}'")
            assert api.call(who, method, path.replace(ref, "inc-3"), sample).json() == {
                "error": "no incident 'inc-3'", "status": 404}  # the same as a missing one
        for listing in ("/incidents?status=all", "/search?q=e"):
            found = [i["ref"] for i in api.ok(who, "GET", listing)]
            assert normal in found and ref not in found, (who, listing)
        assert api.ok(who, "GET", "/search?q=leaked") == []  # nor through its facts
    assert api.ok(ADMIN, "GET", f"/incidents/{ref}/audit") == audit_before

    for who in (MESSENGER, BUDDY, SEC_LEAD, SECURITY, ADMIN):
        for listing in ("/incidents", "/search?q=secret", "/search?q=leaked", "/search?q=inc-2"):
            assert ref in [i["ref"] for i in api.ok(who, "GET", listing)], (who, listing)
        assert api.ok(who, "GET", f"/incidents/{ref}")["title"] == "Secret key leaked"

    # Let in, the outsider sees it; taken off, it is gone again.
    detail = api.ok(MESSENGER, "POST", f"/incidents/{ref}/members",
                    {"email": OUTSIDER, "why": "legal review"})
    assert [(m["email"], m["why"]) for m in detail["members"]] == [(OUTSIDER, "legal review")]
    assert api.ok(OUTSIDER, "GET", f"/incidents/{ref}")["title"] == "Secret key leaked"
    assert ref in [i["ref"] for i in api.ok(OUTSIDER, "GET", "/search?q=leaked")]
    # Someone only let in (here a viewer account) sees the incident but may not let others
    # in or take them off: a need-to-know list must not grow from within.
    api.ok(MESSENGER, "POST", f"/incidents/{ref}/members", {"email": VIEWER})
    assert api.ok(VIEWER, "GET", f"/incidents/{ref}")["title"] == "Secret key leaked"
    error_of(api.call(VIEWER, "POST", f"/incidents/{ref}/members",
                      {"email": "friend@example.com"}), 403,
             "only the incident's people in a role")
    error_of(api.call(VIEWER, "DELETE", f"/incidents/{ref}/members/{OUTSIDER}"), 403)
    api.ok(MESSENGER, "DELETE", f"/incidents/{ref}/members/{VIEWER}")
    assert api.ok(MESSENGER, "DELETE", f"/incidents/{ref}/members/{OUTSIDER}")["members"] == []
    error_of(api.call(OUTSIDER, "GET", f"/incidents/{ref}"), 404, f"no incident '{ref}'")
    error_of(api.call(MESSENGER, "DELETE", f"/incidents/{ref}/members/{OUTSIDER}"), 404,
             f"{OUTSIDER} was not let in on {ref}")


# (5) CSRF for browser sessions -----------------------------------------------------------------

def test_browser_sessions_need_the_csrf_header_on_unsafe_methods(api: Api, h: Herald) -> None:
    ref = open_incident(api, number="inc-5")["ref"]
    tokens = api.ok(MESSENGER, "GET", "/tokens")
    session, _ = accounts.log_in(h, email=MESSENGER, password=PASSWORD, ip="testclient")
    found = accounts.session_account(h, session)
    assert found is not None
    csrf = found[1]
    browser = TestClient(api.app)
    browser.cookies.set(SESSION_COOKIE, session)

    me = browser.get(f"{API}/me")
    assert me.status_code == 200 and me.json()["signed_in_with"] == "session"
    assert browser.get(f"{API}/incidents/{ref}/plan").status_code == 200  # reads need no token

    unsafe = [(m, p) for m, p in api_routes(api.app) if m in UNSAFE]
    assert len(unsafe) >= 18
    for method, template in unsafe:
        path = API + fill(template, ref=ref, role="buddy", step="1", key="release",
                          event="claim", token_id=str(tokens[0]["id"]))
        body = SAMPLE_BODIES.get((method, template))
        for headers in ({}, {CSRF_HEADER: "forged"}):
            r = browser.request(method, path, json=body, headers=headers)
            error_of(r, 403, "security token is missing or stale")
    assert api.ok(MESSENGER, "GET", f"/incidents/{ref}")["steps"][0]["state"] == "pending"

    good = {CSRF_HEADER: csrf}
    r = browser.post(f"{API}/incidents/{ref}/steps/1/done", headers=good)
    assert r.status_code == 200 and r.json()["by"] == MESSENGER
    r = browser.patch(f"{API}/incidents/{ref}", json={"severity": "sev1"}, headers=good)
    assert r.status_code == 200 and r.json()["severity"] == "sev1"
    r = browser.post(f"{API}/incidents", json={"title": "From the browser"}, headers=good)
    assert r.status_code == 201
    r = browser.delete(f"{API}/tokens/{tokens[0]['id']}", headers=good)
    assert r.status_code == 204
    api.refused(MESSENGER, "GET", "/me", status=401)  # that was the token these calls used


def test_the_reference_escapes_descriptions_and_marks_code_spans() -> None:
    assert str(code_spans("<b>`x<y`</b> & `z`")) == (
        "&lt;b&gt;<code>x&lt;y</code>&lt;/b&gt; &amp; <code>z</code>")
