"""The customer list pages through TestClient: import preview and confirm, marks, exports,
need-to-know, and the CE round where a CE marks only their own accounts."""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from markupsafe import escape
from openpyxl import load_workbook

from herald.services import accounts, contacts, plan
from herald.services.context import Herald
from herald.web.app import create_app
from tests.contact_files import csv_bytes, table_counts
from tests.contacts_web import (
    CARLA,
    CID,
    OUTSIDER,
    VIEWER,
    crm_file,
    seed_list,
    seed_people,
    signed_in,
)
from tests.helpers import MESSENGER, new_incident

Browser = Callable[[str], TestClient]


@pytest.fixture
def browser_as(h: Herald, monkeypatch: pytest.MonkeyPatch) -> Browser:
    """A TestClient signed in as one of the test people (cheap argon2: pages, not hashing)."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                            parallelism=1))
    seed_people(h)
    app = create_app(h)

    def make(email: str) -> TestClient:
        client = TestClient(app)
        client.headers["x-test-csrf"] = signed_in(client, email)
        return client
    return make


def post(c: TestClient, path: str, data: dict[str, str] | None = None,
         **kw: object) -> httpx.Response:
    """A form POST carrying the session's CSRF token."""
    r: httpx.Response = c.post(path, data={**(data or {}), "csrf_token": c.headers[
        "x-test-csrf"]}, follow_redirects=False, **kw)
    return r


def uploads(h: Herald) -> list[str]:
    """Files kept under HERALD_HOME/uploads."""
    folder = Path(h.settings.home) / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def token_of(html: str) -> str:
    found = re.search(r'action="/incidents/[^/]+/contacts/import/([\w-]+)"', html)
    assert found, "the preview has no Import button"
    return found.group(1)


def test_import_preview_then_confirm(h: Herald, browser_as: Browser) -> None:
    ref = new_incident(h)
    c = browser_as(MESSENGER)
    page = c.get(f"/incidents/{ref}/contacts")
    assert page.status_code == 200 and 'aria-current="page">Customers' in page.text
    assert "Not ready yet" in page.text and "import the engineering list" in page.text

    before = table_counts(h)
    r = post(c, f"/incidents/{ref}/contacts/import", {"source": "crm"},
             files={"file": ("report.csv", crm_file(), "text/csv")})
    assert r.status_code == 200, r.text
    assert "Preview: nothing is written yet" in r.text
    assert "6 line(s) read: <strong>4 imported</strong>, 1 merged, 1 rejected" in r.text
    assert "duplicate of line 2" in r.text and "uma(at)umbrella.com" in r.text
    assert table_counts(h) == before  # a preview writes nothing
    token = token_of(r.text)
    assert token in uploads(h)

    csv_report = c.get(f"/incidents/{ref}/contacts/import/{token}/report.csv")
    assert csv_report.status_code == 200
    lines = list(csv.reader(io.StringIO(csv_report.text)))
    assert lines[0] == ["line", "fate", "reason", "value"]
    assert [(x[0], x[1]) for x in lines[1:11]] == [
        ("3", "merged"), ("7", "rejected"), *((str(n), "ignored") for n in range(8, 14))]

    done = post(c, f"/incidents/{ref}/contacts/import/{token}")
    assert done.status_code == 200 and ">Imported<" in done.text
    assert uploads(h) == []  # deleted once imported
    assert table_counts(h)["customer_accounts"] == 4
    assert post(c, f"/incidents/{ref}/contacts/import/{token}").status_code == 404  # once

    # The same file again changes nothing; cancelling a preview deletes it.
    again = post(c, f"/incidents/{ref}/contacts/import", {"source": "crm"},
                 files={"file": ("report.csv", crm_file(), "text/csv")})
    assert "<strong>0 imported</strong>, 5 merged, 1 rejected" in again.text
    r = post(c, f"/incidents/{ref}/contacts/import/{token_of(again.text)}/cancel")
    assert r.status_code == 303 and uploads(h) == []


def test_engineering_list_preview_names_unmatched_lines(h: Herald, browser_as: Browser,
                                                        tmp_path: Path) -> None:
    ref = new_incident(h)
    seed_list(h, ref, tmp_path)
    c = browser_as(MESSENGER)
    data = csv_bytes([["Email"], ["someone@acme.com"], ["nobody@unknown.example"], ["x"]])
    r = post(c, f"/incidents/{ref}/contacts/import", {"source": "engineering"},
             files={"file": ("affected.csv", data, "text/csv")})
    assert r.status_code == 200
    assert "1 matching no account" in r.text and "nobody@unknown.example" in r.text
    done = post(c, f"/incidents/{ref}/contacts/import/{token_of(r.text)}")
    assert done.status_code == 200
    marks = {row.account_id: row.impacted for row in contacts.list_contacts(h, ref)}
    assert marks["0011"] is True and marks["0013"] is None

    # A bad file or source goes back to the page with one clear line.
    r = post(c, f"/incidents/{ref}/contacts/import", {"source": "hr"},
             files={"file": ("x.csv", data, "text/csv")},
             headers={"referer": f"http://testserver/incidents/{ref}/contacts"})
    assert r.status_code == 303 and r.headers["location"] == f"/incidents/{ref}/contacts"
    assert "source must be one of" in c.get(r.headers["location"]).text
    assert post(c, f"/incidents/{ref}/contacts/import", {"source": "crm"}).status_code == 303
    assert uploads(h) == []


def test_an_upload_is_its_owners_alone(h: Herald, browser_as: Browser) -> None:
    ref = new_incident(h)
    mine, other = browser_as(MESSENGER), browser_as(OUTSIDER)
    r = post(mine, f"/incidents/{ref}/contacts/import", {"source": "crm"},
             files={"file": ("report.csv", crm_file(), "text/csv")})
    token = token_of(r.text)
    for path in (f"/incidents/{ref}/contacts/import/{token}",
                 f"/incidents/{ref}/contacts/import/{token}/cancel"):
        refused = post(other, path)
        assert refused.status_code == 403 and "someone else" in refused.text
    assert other.get(f"/incidents/{ref}/contacts/import/{token}/report.csv").status_code == 403
    assert post(mine, f"/incidents/{ref}/contacts/import/../../etc").status_code == 404
    assert post(mine, f"/incidents/{ref}/contacts/import/{'a' * 43}").status_code == 404
    assert table_counts(h)["customer_accounts"] == 0 and token in uploads(h)
    folder = Path(h.settings.home) / "uploads"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / token).stat().st_mode & 0o777 == 0o600
    assert post(mine, f"/incidents/{ref}/contacts/import/{token}").status_code == 200

    # A preview nobody confirmed is removed a day later, when the next file is uploaded.
    stale = folder / ("s" * 43)
    stale.write_bytes(b"old")
    os.utime(stale, (time.time() - 2 * 86400,) * 2)
    post(mine, f"/incidents/{ref}/contacts/import", {"source": "crm"},
         files={"file": ("report.csv", crm_file(), "text/csv")})
    assert not stale.exists() and len(uploads(h)) == 3  # the new upload, its report, its record


def test_marks_team_gaps_and_readiness(h: Herald, browser_as: Browser, tmp_path: Path) -> None:
    ref = new_incident(h)
    seed_list(h, ref, tmp_path)
    c = browser_as(MESSENGER)
    page = c.get(f"/incidents/{ref}/contacts")
    assert "4 account(s) not marked impacted yes/no yet" in page.text
    for account, impact in [("0011", "yes"), ("0012", "no"), ("0013", "no"), ("0014", "yes")]:
        r = post(c, f"/incidents/{ref}/contacts/marks", {"account": account, "impact": impact})
        assert r.status_code == 303 and r.headers["location"] == f"/incidents/{ref}/contacts"
    status = contacts.list_status(h, ref)
    assert not status.ready and any("Hooli" in p for p in status.problems)
    page = c.get(f"/incidents/{ref}/contacts")
    assert "no CE" in page.text and "Has no CE" in page.text
    for role in ("ce", "ae"):
        assert post(c, f"/incidents/{ref}/contacts/none",
                    {"account": "0014", "role": role}).status_code == 303
    page = c.get(f"/incidents/{ref}/contacts")
    assert contacts.list_status(h, ref).ready
    assert "The list is complete: 2 recipient(s) at 2 impacted account(s)" in page.text
    assert "100% <span" in page.text  # self-hosted share: Acme is the only self-hosted

    filtered = c.get(f"/incidents/{ref}/contacts?impact=yes")
    assert "Acme Corp" in filtered.text and "Initech" not in filtered.text
    bad = post(c, f"/incidents/{ref}/contacts/marks", {"account": "0011", "impact": "maybe"},
               headers={"referer": f"http://testserver/incidents/{ref}/contacts"})
    assert bad.status_code == 303
    assert "impact must be yes, no or unknown" in c.get(bad.headers["location"]).text
    forged = c.post(f"/incidents/{ref}/contacts/marks", data={"account": "0011",
                                                              "impact": "no"})
    assert forged.status_code == 403


def test_exports_download_and_open(h: Herald, browser_as: Browser, tmp_path: Path) -> None:
    ref = new_incident(h)
    seed_list(h, ref, tmp_path)
    contacts.mark(h, ref, "0011", "yes", actor=MESSENGER)
    c = browser_as(MESSENGER)
    r = c.get(f"/incidents/{ref}/contacts/export?format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'attachment; filename="{ref}-customers.csv"'
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["account_id"] for row in rows} == {"0011", "0012", "0013", "0014"}
    assert next(x for x in rows if x["account_id"] == "0012")["account_name"].startswith("'=")
    assert next(x for x in rows if x["account_id"] == "0011")["impacted"] == "yes"

    r = c.get(f"/incidents/{ref}/contacts/export?format=xlsx")
    assert r.status_code == 200 and "xlsx" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][:2] == ("account_id", "account_name") and len(table) == 5
    assert c.get(f"/incidents/{ref}/contacts/export?format=pdf").status_code == 422

    sheet_r = c.get(f"/incidents/{ref}/contacts/ce-sheet?format=xlsx&ce={CARLA}")
    assert sheet_r.status_code == 200 and "attachment" in sheet_r.headers["content-disposition"]
    ce_sheet = load_workbook(io.BytesIO(sheet_r.content)).active
    assert ce_sheet is not None
    names = [row[1] for row in ce_sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["Acme Corp", "Initech"]
    all_csv = c.get(f"/incidents/{ref}/contacts/ce-sheet?format=csv").content.decode("utf-8-sig")
    assert all_csv.startswith("Account ID,") and all_csv.count("\n") == 5


def test_outsiders_get_404_on_a_security_incident(h: Herald, browser_as: Browser,
                                                  tmp_path: Path) -> None:
    ref = new_incident(h, security=True, number="inc-9")
    seed_list(h, ref, tmp_path)
    token = token_of(post(browser_as(MESSENGER), f"/incidents/{ref}/contacts/import",
                          {"source": "crm"},
                          files={"file": ("r.csv", crm_file(), "text/csv")}).text)
    before = (table_counts(h), uploads(h))
    base = f"/incidents/{ref}/contacts"
    for who in (OUTSIDER, CARLA, VIEWER):
        c = browser_as(who)
        for path in (base, f"{base}/export?format=csv", f"{base}/export?format=xlsx", f"{base}/ce",
                     f"{base}/ce-sheet", f"{base}/ce/{CARLA}", f"{base}/import/{token}/report.csv"):
            r = c.get(path)
            assert r.status_code == 404 and "no incident" in r.text, (who, path)
        for path, data in ((f"{base}/marks", {"account": "0011", "impact": "yes"}),
                           (f"{base}/ce/{CARLA}/marks", {"account": "0011", "impact": "yes"}),
                           (f"{base}/none", {"account": "0014", "role": "ce"}),
                           (f"{base}/import/{token}", {}), (f"{base}/import/{token}/cancel", {})):
            assert post(c, path, data).status_code == 404, (who, path)
        r = post(c, f"{base}/import", {"source": "crm"},
                 files={"file": ("r.csv", crm_file(), "text/csv")})
        assert r.status_code == 404, who
    assert (table_counts(h), uploads(h)) == before


def test_a_ce_marks_only_their_own_accounts(h: Herald, browser_as: Browser,
                                            tmp_path: Path) -> None:
    ref = new_incident(h)
    seed_list(h, ref, tmp_path)
    carla = browser_as(CARLA)
    page = carla.get(f"/incidents/{ref}/contacts/ce/{CARLA}")
    assert page.status_code == 200 and "0 of 2 answered" in page.text
    assert "Acme Corp" in page.text and "Initech" in page.text and "Hooli" not in page.text
    assert page.text.count('name="impact" value="yes"') == 2

    r = post(carla, f"/incidents/{ref}/contacts/ce/{CARLA}/marks",
             {"account": "0011", "impact": "yes"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/incidents/{ref}/contacts/ce/carla%40vendor.example"
    page = carla.get(r.headers["location"])
    assert "1 of 2 answered" in page.text and f"by {CARLA}" in page.text
    marks = {x.account_id: (x.impacted, x.marked_by, x.mark_source)
             for x in contacts.list_contacts(h, ref)}
    assert marks["0011"] == (True, CARLA, "ce round")

    # Another CE's account, from either page: refused, and nothing changes.
    for path in (f"/incidents/{ref}/contacts/ce/{CARLA}/marks", f"/incidents/{ref}/contacts/marks"):
        refused = post(carla, path, {"account": "0012", "impact": "yes"})
        assert refused.status_code == 403 and "only your own accounts" in refused.text
    assert post(carla, f"/incidents/{ref}/contacts/marks",
                {"account": "0013", "impact": "no"}).status_code == 303  # hers, from the list
    cid_page = carla.get(f"/incidents/{ref}/contacts/ce/{CID}")
    assert cid_page.status_code == 200 and 'name="impact"' not in cid_page.text
    # A CE runs nothing else: no imports, no team gaps.
    assert post(carla, f"/incidents/{ref}/contacts/none",
                {"account": "0014", "role": "ce"}).status_code == 403
    assert post(carla, f"/incidents/{ref}/contacts/import", {"source": "crm"},
                files={"file": ("r.csv", crm_file(), "text/csv")}).status_code == 403
    viewer = browser_as(VIEWER)
    assert post(viewer, f"/incidents/{ref}/contacts/ce/{CARLA}/marks",
                {"account": "0011", "impact": "no"}).status_code == 403
    assert {x.account_id: x.impacted for x in contacts.list_contacts(h, ref)} == {
        "0011": True, "0012": None, "0013": False, "0014": None}
    # A CE answers for their accounts on the list; they do not add accounts to other lists.
    other = new_incident(h, number="inc-2", title="Another incident")
    refused = post(carla, f"/incidents/{other}/contacts/marks", {"account": "0011",
                                                                 "impact": "yes"})
    assert refused.status_code == 403 and "not on this incident&#39;s list" in refused.text
    assert contacts.list_contacts(h, other) == []
    # The messenger may answer for anyone.
    messenger = browser_as(MESSENGER)
    assert post(messenger, f"/incidents/{ref}/contacts/ce/{CID}/marks",
                {"account": "0012", "impact": "no"}).status_code == 303


def test_ce_round_page_progress_sheets_and_message(h: Herald, browser_as: Browser,
                                                   tmp_path: Path) -> None:
    ref = new_incident(h)
    seed_list(h, ref, tmp_path)
    contacts.mark(h, ref, "0012", "no", actor=CID)
    c = browser_as(MESSENGER)
    page = c.get(f"/incidents/{ref}/contacts/ce")
    assert page.status_code == 200 and "1 of 4 account(s) answered" in page.text
    row = re.search(rf'<tr data-ce="{CARLA}">(.*?)</tr>', page.text, re.S)
    assert row and "0 / 2" in row.group(1) and "Acme Corp, Initech" in row.group(1)
    assert "ce-sheet?format=xlsx&amp;ce=carla%40vendor.example" in page.text
    assert 'data-ce="(no CE)"' in page.text

    ask = {"sheet_link": "https://sheets.example.com/d/42", "column": "I",
           "deadline": "2026-11-28T14:00"}
    no_condition = c.get(f"/incidents/{ref}/contacts/ce", params=ask)
    assert "fill the plan" in no_condition.text and "ce-message" not in no_condition.text
    plan.set_fact(h, ref, "impact_condition", "you upgraded to 5.2.0.", actor=MESSENGER)
    filled = c.get(f"/incidents/{ref}/contacts/ce", params=ask)
    message = re.search(r'<blockquote id="ce-message">(.*?)</blockquote>', filled.text, re.S)
    assert message, filled.text
    text = message.group(1)
    assert "inc-1" in text and "impacted if you upgraded to 5.2.0. Please" in text
    assert "https://sheets.example.com/d/42" in text and "column I" in text
    assert "2026-11-28 14:00 UTC" in text
    assert 'data-copy="ce-message"' in filled.text
    late = c.get(f"/incidents/{ref}/contacts/ce", params={**ask, "deadline": "soon"})
    assert "is not a time" in late.text


def test_a_long_list_is_shown_a_page_of_accounts_at_a_time(
        h: Herald, browser_as: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from herald.web.pages import contacts as page_module

    monkeypatch.setattr(page_module, "PAGE_SIZE", 2)
    ref = new_incident(h)
    seed_list(h, ref, tmp_path)
    contacts.mark(h, ref, "0011", "yes", actor=MESSENGER)  # Acme Corp
    c = browser_as(MESSENGER)
    names = list(dict.fromkeys(r.account_name for r in contacts.list_contacts(h, ref)))

    def shown(impact: str, count: int) -> list[str]:
        """The accounts on every page of a filter, in the order the pages show them."""
        pages, out = -(-count // 2), []
        for number in range(1, pages + 1):
            text = c.get(f"/incidents/{ref}/contacts?impact={impact}&page={number}").text
            assert f"{count} account(s), page {number} of {pages}" in text
            out += [n for n in names if f">{escape(n)}<" in text]
        return out

    assert len(names) > 2 and shown("all", len(names)) == names  # each once, in list order
    assert shown("unknown", len(names) - 1) == [n for n in names if n != "Acme Corp"]
