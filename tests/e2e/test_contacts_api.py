"""The customer list through the JSON API: read, status, import, marks, exports, CE round."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from herald.services import accounts, contacts
from herald.services.context import Herald
from herald.web.app import create_app
from herald.web.security import CSRF_HEADER, SESSION_COOKIE
from tests.contact_files import csv_bytes, table_counts
from tests.contacts_web import (
    CARLA,
    CID,
    OUTSIDER,
    PASSWORD,
    PEOPLE,
    VIEWER,
    crm_file,
    seed_list,
    seed_people,
)
from tests.helpers import MESSENGER, new_incident

API = "/api/v1"


@dataclass
class Api:
    """Calls /api/v1 with each test person's Bearer token."""

    client: TestClient
    tokens: dict[str, str]

    def call(self, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.tokens[who]}"}
        r: httpx.Response = self.client.request(method, API + path, headers=headers, **kw)
        return r

    def ok(self, who: str, method: str, path: str, **kw: Any) -> Any:
        r = self.call(who, method, path, **kw)
        assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text[:400]}"
        return r.json()

    def refused(self, who: str, method: str, path: str, status: int, says: str,
                **kw: Any) -> None:
        r = self.call(who, method, path, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:400]}"
        body = r.json()
        assert body["status"] == status and says in body["error"], body


@pytest.fixture
def api(h: Herald, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                            parallelism=1))
    seed_people(h)
    tokens = {who: accounts.create_api_token(h, who, "tests", actor=who) for who in PEOPLE}
    with TestClient(create_app(h)) as client:
        yield Api(client, tokens)


def upload(source: str, data: bytes, name: str = "report.csv", **fields: str) -> dict[str, Any]:
    """Keyword arguments for a multipart import call."""
    return {"files": {"file": (name, data, "text/csv")}, "data": {"source": source, **fields}}


def test_read_the_list_its_status_and_the_ce_round(api: Api, h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    seed_list(h, ref, tmp_path)
    rows = api.ok(CARLA, "GET", f"/incidents/{ref}/contacts")
    assert {(r["account_id"], r["email"], r["impacted"]) for r in rows} == {
        ("0011", "ann@acme.com", None), ("0012", "gina@globex.com", None),
        ("0013", "ian@initech.com", None), ("0014", "hal@hooli.com", None)}
    assert api.ok(MESSENGER, "GET", f"/incidents/{ref}/contacts?impacted_only=true") == []
    pages = [api.ok(MESSENGER, "GET", f"/incidents/{ref}/contacts?offset={n}&limit=3")
             for n in (0, 3)]  # a page of accounts at a time, in list order
    assert [len({r["account_id"] for r in page}) for page in pages] == [3, 1]
    assert pages[0] + pages[1] == api.ok(MESSENGER, "GET", f"/incidents/{ref}/contacts")
    assert api.ok(MESSENGER, "GET", f"/incidents/{ref}/contacts?impact=no") == []
    assert api.call(MESSENGER, "GET", f"/incidents/{ref}/contacts?limit=0").status_code == 422
    status = api.ok(MESSENGER, "GET", f"/incidents/{ref}/contacts/status")
    assert status["ready"] is False and status["accounts"] == {"yes": 0, "no": 0, "unknown": 4}
    assert status["problems"] == ["4 account(s) not marked impacted yes/no yet"]
    assert set(status["shares"]) == {"self-hosted", "cloud"}

    progress = api.ok(MESSENGER, "GET", f"/incidents/{ref}/contacts/ce")
    assert [(g["ce_email"], g["answered"], g["total"]) for g in progress] == [
        ("(no CE)", 0, 1), (CARLA, 0, 2), (CID, 0, 1)]
    mine = api.ok(CARLA, "GET", f"/incidents/{ref}/contacts/ce?ce={CARLA}")
    assert [a["account_name"] for a in mine[0]["accounts"]] == ["Acme Corp", "Initech"]


def test_marks_by_people_and_by_ces(api: Api, h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    seed_list(h, ref, tmp_path)
    path = f"/incidents/{ref}/contacts/marks"
    assert api.ok(MESSENGER, "PUT", f"{path}/0014", json={"impact": "no"}) == {
        "account": "0014", "account_name": "Hooli", "impact": "no"}
    assert api.ok(CARLA, "PUT", f"{path}/0011", json={"impact": "yes"})["impact"] == "yes"
    assert api.ok(CARLA, "PUT", f"{path}/Initech", json={"impact": "no"})["account"] == "Initech"
    api.refused(CARLA, "PUT", f"{path}/0012", 403, "only your own accounts",
                json={"impact": "yes"})
    api.refused(VIEWER, "PUT", f"{path}/0011", 403, "only your own accounts",
                json={"impact": "no"})
    api.refused(CID, "PUT", f"{path}/nope", 404, "no customer account 'nope'",
                json={"impact": "no"})
    api.refused(CID, "PUT", f"{path}/0012", 422, "impact", json={"impact": "maybe"})
    internal = next(r for r in api.ok(MESSENGER, "GET", f"/incidents/{ref}/contacts")
                    if r["account_id"] == "0012")
    assert internal["impacted"] is None
    account_id = _internal_id(h, "0012")
    assert api.ok(CID, "PUT", f"{path}/%23{account_id}", json={"impact": "no"})[
        "account_name"].startswith("=HYPERLINK")
    assert api.ok(MESSENGER, "GET", f"/incidents/{ref}/contacts/status")["ready"] is True
    marks = {r.account_id: (r.impacted, r.marked_by) for r in contacts.list_contacts(h, ref)}
    assert marks == {"0011": (True, CARLA), "0012": (False, CID), "0013": (False, CARLA),
                     "0014": (False, MESSENGER)}


def _internal_id(h: Herald, crm_id: str) -> int:
    from sqlalchemy import select

    from herald.store.contact_models import CustomerAccount

    with h.db.sessions() as s:
        found = s.scalar(select(CustomerAccount.id).where(CustomerAccount.crm_id == crm_id))
    assert found is not None
    return found


def test_import_dry_run_then_for_real(api: Api, h: Herald) -> None:
    ref = new_incident(h)
    path = f"/incidents/{ref}/contacts/import"
    before = table_counts(h)
    report = api.ok(MESSENGER, "POST", path, **upload("crm", crm_file(), dry_run="true"))
    assert (report["read"], report["imported"], report["merged"], report["dry_run"]) == (
        6, 4, 1, True)
    assert [r["line"] for r in report["rejected"]] == [7]
    assert "uma(at)umbrella.com" in report["rejected"][0]["value"]
    assert table_counts(h) == before
    report = api.ok(MESSENGER, "POST", path, **upload("crm", crm_file()))
    assert report["dry_run"] is False and report["accounts_created"] == 4
    assert api.ok(MESSENGER, "POST", path, **upload("crm", crm_file()))["imported"] == 0

    listed = csv_bytes([["Work Mail"], ["gina@globex.com"], ["who@nowhere.example"]])
    mapping = json.dumps({"email": "Work Mail"}).encode()
    report = api.ok(MESSENGER, "POST", path, files={
        "file": ("affected.csv", listed, "text/csv"),
        "mapping": ("mapping.json", mapping, "application/json")},
        data={"source": "engineering"})
    assert report["imported"] == 1
    assert report["unmatched"] == [{"line": 3, "value": "who@nowhere.example"}]
    assert api.ok(MESSENGER, "GET", f"/incidents/{ref}/contacts?impacted_only=true")[0][
        "account_id"] == "0012"

    api.refused(MESSENGER, "POST", path, 422, "choose the CSV or XLSX file",
                data={"source": "crm"})
    api.refused(MESSENGER, "POST", path, 422, "source must be one of",
                **upload("hr", crm_file()))
    api.refused(MESSENGER, "POST", path, 422, "mapping.json", files={
        "file": ("a.csv", listed, "text/csv"), "mapping": ("mapping.json", b"{", "text/plain")},
        data={"source": "engineering"})
    api.refused(CARLA, "POST", path, 403, "may view this incident but not change it",
                **upload("crm", crm_file()))
    api.refused(VIEWER, "POST", path, 403, "not change it", **upload("crm", crm_file()))


def test_exports_are_attachments(api: Api, h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    seed_list(h, ref, tmp_path)
    r = api.call(VIEWER, "GET", f"/incidents/{ref}/contacts/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'attachment; filename="{ref}-customers.csv"'
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(table) == 5 and table[0][0] == "account_id"
    r = api.call(MESSENGER, "GET", f"/incidents/{ref}/contacts/export?format=xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None and sheet.max_row == 5
    api.refused(MESSENGER, "GET", f"/incidents/{ref}/contacts/export?format=pdf", 422, "format")


def test_a_security_incident_is_hidden_from_outsiders(api: Api, h: Herald,
                                                      tmp_path: Path) -> None:
    ref = new_incident(h, security=True, number="inc-7")
    seed_list(h, ref, tmp_path)
    before = table_counts(h)
    base = f"/incidents/{ref}/contacts"
    for who in (OUTSIDER, CARLA, VIEWER):
        for method, path, kw in [
                ("GET", base, {}), ("GET", f"{base}/status", {}), ("GET", f"{base}/ce", {}),
                ("GET", f"{base}/export?format=xlsx", {}),
                ("PUT", f"{base}/marks/0011", {"json": {"impact": "yes"}}),
                ("POST", f"{base}/import", upload("crm", crm_file()))]:
            api.refused(who, method, path, 404, f"no incident '{ref}'", **kw)
    assert table_counts(h) == before
    assert len(api.ok(MESSENGER, "GET", base)) == 4


def test_browser_sessions_need_the_csrf_header(api: Api, h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    seed_list(h, ref, tmp_path)
    session, _ = accounts.log_in(h, email=CARLA, password=PASSWORD, ip="testclient")
    found = accounts.session_account(h, session)
    assert found is not None
    browser = TestClient(api.client.app)
    browser.cookies.set(SESSION_COOKIE, session)
    path = f"{API}/incidents/{ref}/contacts/marks/0011"
    for headers in ({}, {CSRF_HEADER: "forged"}):
        r = browser.put(path, json={"impact": "yes"}, headers=headers)
        assert r.status_code == 403 and "security token" in r.json()["error"]
    r = browser.put(path, json={"impact": "yes"}, headers={CSRF_HEADER: found[1]})
    assert r.status_code == 200 and r.json()["impact"] == "yes"


def test_openapi_documents_the_contact_routes(api: Api) -> None:
    doc = api.client.get(f"{API}/openapi.json").json()
    paths = doc["paths"]
    ops = {(m.upper(), p.removeprefix(API)): op for p, o in paths.items() for m, op in o.items()}
    wanted = {("GET", "/incidents/{ref}/contacts"), ("GET", "/incidents/{ref}/contacts/status"),
              ("POST", "/incidents/{ref}/contacts/import"),
              ("PUT", "/incidents/{ref}/contacts/marks/{account}"),
              ("GET", "/incidents/{ref}/contacts/export"), ("GET", "/incidents/{ref}/contacts/ce")}
    assert wanted <= set(ops)
    for key in wanted:
        assert ops[key]["tags"] == ["contacts"] and ops[key]["summary"], key
        assert {"401", "404", "422"} <= set(ops[key]["responses"]), key
    form = ops[("POST", "/incidents/{ref}/contacts/import")]["requestBody"]["content"][
        "multipart/form-data"]["schema"]
    assert form["required"] == ["file", "source"]
    assert set(form["properties"]) == {"file", "source", "dry_run", "mapping"}
    export = ops[("GET", "/incidents/{ref}/contacts/export")]["responses"]["200"]["content"]
    assert set(export) == {"text/csv; charset=utf-8",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert "403" in ops[("PUT", "/incidents/{ref}/contacts/marks/{account}")]["responses"]
