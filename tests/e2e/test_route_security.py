"""Every route of the app, pages and API, against three attackers.

Routes are discovered from the app itself, so a route added later is covered without
touching this file: nobody signed in (pages redirect to the login page, the API answers
401), an outsider on a security incident (404 on every route of it, exactly as for a
missing incident), and a browser session with a missing or forged CSRF token (403 on every
unsafe route). Endpoints for other machines (webhooks with their own credential) must
refuse all three. Path parameters and form bodies are filled with sensible values, so a
refusal is about who asks, never about a malformed request. A route that fits none of this
fails the test until it is listed in SKIPPED or MACHINE with its reason.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from herald.services import accounts, incidents, plan, views
from herald.services.context import Herald
from herald.store.models import AuditEntry
from herald.web.app import create_app
from herald.web.security import CSRF_HEADER, SESSION_COOKIE
from tests.e2e.test_api import SAMPLE_BODIES

API = "/api/v1"
PASSWORD = "correct horse battery staple"
MEMBER = "maya@example.com"  # the security incident's messenger
ADMIN = "ada@example.com"  # admin and the incident's buddy: the admin pages need an admin
OUTSIDER = "omar@example.com"  # support, on no incident
OTHER = "olga@example.com"  # support, on no incident: her session's token is a forgery here
LEAD = "priya@example.com"
TITLE = "Signing keys leaked in a public build log"
NUMBER = "inc-7"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_REFUSAL = "security token is missing or stale"

# Routes that are public by design or have their own guard, each with the reason.
SKIPPED: dict[str, str] = {
    "/static": "CSS and JavaScript: public files, no data",
    "/healthz": "load balancer health check: public by design, tested in test_ops",
    "/metrics": "Prometheus scrape: loopback or its own bearer token, tested in test_ops",
    "/login": "the sign-in form: open to everyone by definition",
    "/logout": "signing out: harmless without a session, its CSRF check is tested in "
               "test_pages through the header form",
    "/setup": "the first admin's one-time setup: guarded by its own setup token",
    f"{API}/openapi.json": "the OpenAPI document: public, describes routes, holds no data",
    "/api/docs": "the OpenAPI document as a page: public like it, holds no data",
    "/status": "the public status page: public by design",
}


# Endpoints for other machines: no session at all, each with its own guard. They are not
# skipped: without their credential they must refuse (401, 403 or 404) and change nothing.
MACHINE: dict[str, str] = {
    f"{API}/inbound/email": "inbound mail webhook: needs the X-Herald-Inbound-Secret header",
    "/slack/events": "Slack's callbacks: need Slack's request signature (404 when not set up)",
}
MACHINE_REFUSALS = {401, 403, 404}


def skip_reason(path: str) -> str | None:
    """Why a route is left out, or None when it must be checked."""
    for prefix, reason in SKIPPED.items():
        if path == prefix or path.startswith(prefix + "/"):
            return reason
    return None


# Values for path parameters, by name (`key` depends on where it sits).
PATH_VALUES = {
    "ref": NUMBER, "number": "1", "step": "1", "role": "buddy", "event": "claim",
    "token_id": "1", "kind": "email_impact_known", "account": "Acme Corp",
    "account_name": "Acme Corp", "name": "acme", "token": "1",
}


def path_value(name: str, template: str) -> str:
    """A sensible value for one path parameter of a route template."""
    if name == "key":
        return "claim" if "/timeline/" in template else "release"
    if name in PATH_VALUES:
        return PATH_VALUES[name]
    if "email" in name:
        return "ce@example.com"
    return "1"  # ids and anything new: the checks under test come before any lookup


def fill(template: str) -> str:
    """A concrete path from a route template."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: path_value(m.group(1), template), template)


# Form values by field name: minimal, valid-looking bodies for every page form.
FORM_VALUES: dict[str, str | list[str]] = {
    "title": "Route check", "severity": "sev2", "security": "false", "link":
    "https://chat.example.com/archives/C1/p1", "note": "a note", "override": "checking routes",
    "reason": "does not apply here", "version": "1", "status": "open", "on": "true",
    "role": "buddy", "email": OTHER, "name": "Route Check", "url": "https://example.com/x",
    "kind": "other", "label": "a link", "aware_at": "2026-01-01T08:00", "hours": "72",
    "value": "5.2.0", "provided_by": LEAD, "source": "https://example.com/source",
    "key": "release", "text": "an idea for the retro", "at": "2026-01-02T08:00",
    "password": "a long enough password", "current": "not the current password",
    "new": "another long password", "repeat": "another long password", "roles": ["reviewer"],
    "active": "true", "token": "x", "account": "Acme Corp", "impact": "yes", "number": "inc-8",
}
# Where one route needs another value than the field's usual one.
ROUTE_FORM_VALUES: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/incidents/{ref}/rename"): {"number": NUMBER},  # keep the ref the tests use
    ("POST", "/incidents/{ref}/contacts/none"): {"role": "ce"},
}


@dataclass(frozen=True)
class Route:
    """One method of one route, as the app serves it."""

    method: str
    template: str
    form: tuple[tuple[str, Any], ...]  # (field name, annotation) of form fields
    json: bool  # takes a JSON body

    @property
    def api(self) -> bool:
        """Part of the JSON API."""
        return self.template.startswith(API + "/")

    @property
    def machine(self) -> bool:
        """An endpoint for other machines, guarded by its own credential."""
        return self.template in MACHINE

    @property
    def path(self) -> str:
        """The template with its parameters filled in."""
        return fill(self.template)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _form_fields(dependant: Any) -> list[tuple[str, Any]]:
    out = [(f.alias, f.field_info.annotation) for f in dependant.body_params]
    for sub in dependant.dependencies:
        out += _form_fields(sub)
    return out


def routes_of(app: FastAPI) -> list[Route]:
    """Every method of every route the app serves, except the SKIPPED ones."""
    found = []
    for rc in iter_route_contexts(app.routes):
        path = str(rc.path)
        if skip_reason(path):
            continue
        route = rc.original_route
        assert isinstance(route, APIRoute), (
            f"{path} is a {type(route).__name__}: test it here or add it to SKIPPED with a reason")
        fields = tuple(_form_fields(route.dependant))
        for method in sorted((rc.methods or set()) - {"HEAD"}):
            found.append(Route(method, path, () if path.startswith(API) else fields,
                               route.body_field is not None and path.startswith(API)))
    return found


def _form_value(name: str, annotation: Any) -> str | list[str]:
    if name in FORM_VALUES:
        return FORM_VALUES[name]
    kinds = typing.get_args(annotation) if typing.get_origin(annotation) in (
        typing.Union, types.UnionType) else (annotation,)
    if int in kinds:
        return "1"
    if bool in kinds:
        return "true"
    if any(typing.get_origin(k) is list for k in kinds):
        return ["x"]
    return "x"


def form_body(route: Route) -> dict[str, str | list[str]]:
    """Every form field of the route with a sensible value (`next` is left to its default)."""
    special = ROUTE_FORM_VALUES.get((route.method, route.template), {})
    return {name: special.get(name) or _form_value(name, annotation)
            for name, annotation in route.form if name != "next"}


def json_body(route: Route) -> Any:
    """The API's sample body for the route, else an empty object."""
    if not route.json:
        return None
    return SAMPLE_BODIES.get((route.method, route.template.removeprefix(API)), {})


# The world: accounts, sessions and a security incident ------------------------------------

@dataclass
class Visitor:
    """A TestClient holding one person's browser session (or none), with its CSRF token."""

    client: TestClient
    csrf: str | None

    def send(self, route: Route, *, csrf: str | None = None, header: bool = False,
             bearer: str | None = None) -> httpx.Response:
        """Send the route with a valid-looking body; csrf goes in the form (or the header)."""
        headers = {}
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        if route.api:
            if csrf is not None:
                headers[CSRF_HEADER] = csrf
            return self.client.request(route.method, route.path, json=json_body(route),
                                       headers=headers, follow_redirects=False)
        data: dict[str, Any] | None = None
        if route.method in UNSAFE:
            data = form_body(route)
            if csrf is not None and header:
                headers[CSRF_HEADER] = csrf
            elif csrf is not None:
                data["csrf_token"] = csrf
        return self.client.request(route.method, route.path, data=data, headers=headers,
                                   follow_redirects=False)


@dataclass
class World:
    """The app, its routes, the security incident and a browser per person."""

    h: Herald
    app: FastAPI
    routes: list[Route]
    anonymous: Visitor
    browsers: dict[str, Visitor]
    tokens: dict[str, str]

    def audit_rows(self) -> int:
        """How many audit entries exist (every change writes one)."""
        with self.h.db.sessions() as s:
            return s.scalar(select(func.count()).select_from(AuditEntry)) or 0


@pytest.fixture
def world(h: Herald, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Four accounts with sessions and API tokens, and a staffed security incident."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))
    people = {MEMBER: ["support"], ADMIN: ["admin", "support"], OUTSIDER: ["support"],
              OTHER: ["support"]}
    for email, roles in people.items():
        accounts.create_user(h, email=email, name=email.split("@")[0].title(), roles=roles,
                             password=PASSWORD, actor="setup@example.com")
    ref = incidents.create_incident(h, title=TITLE, actor=MEMBER, messenger=MEMBER,
                                    number=NUMBER, security=True)
    incidents.set_role(h, ref, "buddy", ADMIN, actor=MEMBER)
    plan.set_fact(h, ref, "causes", "keys printed in build output", actor=MEMBER)
    app = create_app(h)
    browsers, tokens = {}, {}
    for email in people:
        session, _ = accounts.log_in(h, email=email, password=PASSWORD, ip="testclient")
        found = accounts.session_account(h, session)
        assert found is not None
        client = TestClient(app, raise_server_exceptions=False)
        client.cookies.set(SESSION_COOKIE, session)
        browsers[email] = Visitor(client, found[1])
        tokens[email] = accounts.create_api_token(h, email, "route tests", actor=email)
    anonymous = Visitor(TestClient(app, raise_server_exceptions=False), None)
    yield World(h, app, routes_of(app), anonymous, browsers, tokens)
    for b in [anonymous, *browsers.values()]:
        b.client.close()


def _page_text(r: httpx.Response) -> str:
    return r.text if "text/html" in r.headers.get("content-type", "") else ""


# The route list itself ---------------------------------------------------------------------

def test_the_route_list_is_discovered_from_the_app(world: World) -> None:
    routes = world.routes
    pages = [r for r in routes if not r.api]
    api = [r for r in routes if r.api]
    # What the app served when this test was written; new routes only add to these.
    assert len(pages) >= 34 and len(api) >= 28, (len(pages), len(api))
    for expected in ("GET /incidents/{ref}", "POST /incidents/{ref}/plan/facts/{key}",
                     "POST /admin/users", "DELETE /api/v1/tokens/{token_id}",
                     "PUT /api/v1/incidents/{ref}/timeline/{event}/planned"):
        assert expected in {str(r) for r in routes}, expected
    assert not [r for r in routes if "{" in r.path], "a path parameter was left unfilled"
    served = {str(rc.path) for rc in iter_route_contexts(world.app.routes)}
    skipped = {p for p in served if skip_reason(p)}
    assert skipped <= {"/static", "/healthz", "/metrics", "/login", "/logout", "/setup",
                       f"{API}/openapi.json", "/api/docs"} | {
        p for p in served if p == "/status" or p.startswith("/status/")}, skipped


# (1) Nobody signed in ----------------------------------------------------------------------

def test_anonymous_requests_go_to_login_or_get_401_on_every_route(world: World) -> None:
    before = world.audit_rows()
    wrong = []
    for route in world.routes:
        r = world.anonymous.send(route)
        if route.machine:
            ok = r.status_code in MACHINE_REFUSALS
        elif route.api:
            ok = (r.status_code == 401 and r.headers["content-type"].startswith(
                "application/json") and r.json()["error"] == "sign in first")
        else:
            ok = (r.status_code == 303
                  and r.headers.get("location", "").startswith("/login?next="))
        if not ok:
            wrong.append(f"{route}: {r.status_code} {r.headers.get('location', '')} "
                         f"{r.text[:120]!r}")
    assert not wrong, "anonymous requests not refused:\n" + "\n".join(wrong)
    assert world.audit_rows() == before


def test_the_login_redirect_brings_the_person_back_to_the_page(world: World) -> None:
    anonymous = world.anonymous.client
    r = anonymous.get("/search?q=keys&show=all", follow_redirects=False)
    assert r.headers["location"] == "/login?next=/search%3Fq%3Dkeys%26show%3Dall"
    # A form sent after the session ended returns to the form's page, not to its target
    # (which has no page to show).
    page = f"http://testserver/incidents/{NUMBER}/plan"
    r = anonymous.post(f"/incidents/{NUMBER}/plan/retro", data={"text": "x"},
                       headers={"referer": page}, follow_redirects=False)
    assert r.headers["location"] == f"/login?next=/incidents/{NUMBER}/plan"
    r = anonymous.post("/incidents", data={"title": "x"}, follow_redirects=False)
    assert r.headers["location"] == "/login?next=/"

    # Signing in there lands on that page.
    login = anonymous.get("/login?next=/search%3Fq%3Dkeys%26show%3Dall")
    assert 'name="next" value="/search?q=keys&amp;show=all"' in login.text


# (2) An outsider on a security incident ------------------------------------------------------

def test_an_outsider_gets_404_on_every_route_of_a_security_incident(world: World) -> None:
    outsider = world.browsers[OUTSIDER]
    before = world.audit_rows()
    ref_routes = [r for r in world.routes if "{ref}" in r.template]
    assert len(ref_routes) >= 44
    wrong = []
    for route in ref_routes:
        if route.api:
            attempts: list[dict[str, Any]] = [{"bearer": world.tokens[OUTSIDER]}]
        elif route.method in UNSAFE:  # 404 whatever the token: no hint the incident exists
            attempts = [{"csrf": outsider.csrf}, {"csrf": "forged"}, {}]
        else:
            attempts = [{}]
        for how in attempts:
            r = outsider.send(route, **how)
            if route.api:
                ok = r.status_code == 404 and r.json() == {
                    "error": f"no incident '{NUMBER}'", "status": 404}
            else:
                ok = r.status_code == 404 and TITLE not in r.text and "keys printed" not in r.text
            if not ok:
                wrong.append(f"{route} ({', '.join(how) or 'no token'}): {r.status_code} "
                             f"{r.text[:120]!r}")
    assert not wrong, "an outsider was not told 404:\n" + "\n".join(wrong)
    assert world.audit_rows() == before

    # The same answer as for an incident that does not exist: nothing to tell them apart.
    missing = Route("GET", "/incidents/inc-404", (), False)
    hidden = Route("GET", f"/incidents/{NUMBER}", (), False)
    assert outsider.send(missing).status_code == outsider.send(hidden).status_code == 404
    for who in (MEMBER, ADMIN):  # the people on it, and an admin, do see it
        assert TITLE in world.browsers[who].send(hidden).text


# (3) CSRF: missing or forged tokens on every unsafe route ------------------------------------

def _caller_for(route: Route) -> str:
    """Who sends the route: the admin on the admin pages, else the incident's messenger."""
    return ADMIN if route.template.startswith("/admin/") else MEMBER


def test_unsafe_routes_refuse_a_missing_or_forged_csrf_token(world: World) -> None:
    unsafe = [r for r in world.routes if r.method in UNSAFE]
    pages = [r for r in unsafe if not r.api and not r.machine]
    assert len(pages) >= 25
    forged = world.browsers[OTHER].csrf  # a real token, of someone else's session
    before = world.audit_rows()
    wrong = []
    for route in unsafe:
        me = world.browsers[_caller_for(route)]
        tries: list[dict[str, Any]] = [{}, {"csrf": "forged"}, {"csrf": forged}]
        if not route.api:
            tries += [{"csrf": forged, "header": True}, {"csrf": ""}]
        for how in tries:
            r = me.send(route, **how)
            if route.machine:  # takes no session: refused for want of its own credential
                ok = r.status_code in MACHINE_REFUSALS
            elif route.api:
                ok = r.status_code == 403 and CSRF_REFUSAL in r.json()["error"]
            else:
                ok = r.status_code == 403 and CSRF_REFUSAL in _page_text(r)
            if not ok:
                wrong.append(f"{route} ({how}): {r.status_code} {r.text[:120]!r}")
    assert not wrong, "unsafe requests without a valid CSRF token got through:\n" + \
        "\n".join(wrong)
    assert world.audit_rows() == before
    assert views.incident_detail(world.h, NUMBER).steps[0].state == "pending"

    # The control: with the session's own token, no route refuses for CSRF, none fails.
    for route in pages:
        me = world.browsers[_caller_for(route)]
        r = me.send(route, csrf=me.csrf)
        assert r.status_code < 500, f"{route}: {r.status_code} {r.text[:300]!r}"
        assert CSRF_REFUSAL not in _page_text(r), f"{route} refused a valid token"
    assert world.audit_rows() > before
