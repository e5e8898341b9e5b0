"""The customer list through the services, on SQLite and PostgreSQL: imports (every row's fate),
re-imports, dry runs, mappings, engineering matches, marks, readiness, shares and exports."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from herald.clock import FixedClock
from herald.errors import InvalidInput, NotFound
from herald.services import contact_import, contacts
from herald.services.contact_export import COLUMNS, export_contacts
from herald.services.context import Herald
from tests.contact_files import (
    CRM_HEADER,
    SALESFORCE_FOOTER,
    crm_row,
    csv_bytes,
    list_snapshot,
    report_fates,
    table_counts,
    write,
    xlsx_bytes,
)
from tests.helpers import MESSENGER, new_incident

CE, AE = "carla@vendor.example", "aaron@vendor.example"
FOOTER = "report footer line"
KNOWN = "already known, nothing new"


def crm_import(h: Herald, ref: str, path: Path, **kw: Any) -> contact_import.ImportReport:
    return contact_import.import_file(h, ref, path, source="crm", actor=MESSENGER, **kw)


def eng_import(h: Herald, ref: str, path: Path, **kw: Any) -> contact_import.ImportReport:
    return contact_import.import_file(h, ref, path, source="engineering", actor=MESSENGER, **kw)


def marks(h: Herald, ref: str) -> dict[str, bool | None]:
    """Account id -> impacted, for every account on the incident's list."""
    return {r.account_id: r.impacted for r in contacts.list_contacts(h, ref)}


# A CRM report export as Salesforce writes it (UTF-8 with BOM, Email three times, a summary
# row and the footer block), with one row of every fate.
CRM_ROWS = [
    CRM_HEADER,                                                                         # 1
    crm_row("Acme Corp", "0011", "https://www.acme.com", "Self-Hosted", "Ann", "Able",
            "ann@acme.com", "Yes"),                                                     # 2
    crm_row("Acme Corp", "0011", "acme.com", "Self-Hosted", "Bob", "Brown",
            "bob@acme.com", ""),                                                        # 3
    crm_row("Acme Corp", "0011", "acme.com", "Self-Hosted", "Ann", "Able",
            "ANN@acme.com", "Yes"),                                                     # 4
    crm_row("Globex", "0012", "globex.com", "Cloud", "Gina", "Green", "gina@globex.com",
            "Yes"),                                                                     # 5
    crm_row("Initech", "0013", "https://initech.com", "Cloud", "Peter", "Gibbons",
            "peter.gibbons@gmail.com", "", ce="", ce_email="", ae="", ae_email=""),     # 6
    crm_row("Müller GmbH", "0014", "mueller.de", "On-Prem", "Jörg", "Müller",
            "joerg@mueller.de", "yes"),                                                 # 7
    crm_row("Hooli", "0015", "hooli.com", "Hybrid", "Hal", "", "hal@hooli.com"),        # 8
    crm_row("Umbrella", "0016", "umbrella.com", "Cloud", "Uma", "", "uma(at)umbrella.com"),
    crm_row("Stark", "0017", "stark.com", "Cloud", "Tony", "", "tony@stark.com",
            ce_email="carla at vendor"),                                                # 10
    ["Grand Totals (10 records)"],                                                      # 11
    *SALESFORCE_FOOTER,                                                                 # 12-17
]
CRM_REJECTED = {
    8: ("rejected", "unknown deployment type 'Hybrid' (self-hosted or cloud)"),
    9: ("rejected", "invalid email 'uma(at)umbrella.com'"),
    10: ("rejected", "invalid CE email 'carla at vendor'"),
}
CRM_IGNORED = {11: ("ignored", "report summary row"), 12: ("ignored", "blank line"),
               **{line: ("ignored", FOOTER) for line in range(13, 18)}}


def crm_file(tmp_path: Path, name: str = "accounts.csv") -> Path:
    return write(tmp_path, name, csv_bytes(CRM_ROWS, bom=True, quote_all=True))


# --- CRM imports --------------------------------------------------------------------------------

def test_crm_report_import_gives_every_row_its_fate(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    report = crm_import(h, ref, crm_file(tmp_path))
    assert (report.file, report.source, report.encoding, report.header_line) == (
        "accounts.csv", "crm", "utf-8-sig", 1)
    assert report_fates(report) == {
        4: ("merged", "duplicate of line 2"), **CRM_REJECTED, **CRM_IGNORED}
    # Lines 2, 3, 5, 6 and 7 are the imported ones: everything else is listed above.
    assert (report.read, report.imported, report.merged, len(report.rejected)) == (9, 5, 1, 3)
    assert report.read == report.imported + report.merged + len(report.rejected)
    assert (report.accounts_created, report.contacts_created, report.marks_set) == (4, 5, 4)
    assert report.columns["ce_email"] == "Email" and report.columns["ae_email"] == "Email"
    assert {r.line: r.value for r in report.rejected}[9].startswith("Umbrella, 0016")

    rows = contacts.list_contacts(h, ref)
    assert [(r.account_id, r.account_name, r.email, r.impacted) for r in rows] == [
        ("0011", "Acme Corp", "ann@acme.com", None),
        ("0011", "Acme Corp", "bob@acme.com", None),
        ("0012", "Globex", "gina@globex.com", None),
        ("0013", "Initech", "peter.gibbons@gmail.com", None),
        ("0014", "Müller GmbH", "joerg@mueller.de", None),
    ]
    acme = rows[0]
    assert (acme.deployment, acme.name, acme.incident_contact, acme.ce_name, acme.ce_email,
            acme.ae_name, acme.ae_email) == (
        "self-hosted", "Ann Able", True, "Carla CE", CE, "Aaron AE", AE)
    assert (rows[3].ce_email, rows[3].ae_email) == (None, None)
    assert rows[4].deployment == "self-hosted" and rows[4].name == "Jörg Müller"
    assert table_counts(h)["account_domains"] == 4  # www. and https:// taken off


def test_reimporting_the_same_file_changes_nothing(
        h: Herald, clock: FixedClock, tmp_path: Path) -> None:
    ref = new_incident(h)
    path = crm_file(tmp_path)
    crm_import(h, ref, path)
    counts, snapshot = table_counts(h), list_snapshot(h)
    clock.advance(minutes=5)

    again = crm_import(h, ref, path)
    assert (again.read, again.imported, again.merged, len(again.rejected)) == (9, 0, 6, 3)
    assert report_fates(again) == {
        2: ("merged", KNOWN), 3: ("merged", KNOWN), 4: ("merged", "duplicate of line 2"),
        5: ("merged", KNOWN), 6: ("merged", KNOWN), 7: ("merged", KNOWN),
        **CRM_REJECTED, **CRM_IGNORED}
    assert (again.accounts_created, again.accounts_updated, again.contacts_created,
            again.contacts_updated, again.marks_set) == (0, 0, 0, 0, 0)
    assert list_snapshot(h) == snapshot  # not a single value (nor updated_at) changed
    after = table_counts(h)
    assert after == counts | {"import_runs": counts["import_runs"] + 1}  # the run is logged


def test_reimporting_the_same_xlsx_changes_nothing(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    path = write(tmp_path, "accounts.xlsx", xlsx_bytes(CRM_ROWS))
    first = crm_import(h, ref, path)
    assert (first.encoding, first.read, first.imported, first.merged) == ("xlsx", 9, 5, 1)
    snapshot = list_snapshot(h)
    again = crm_import(h, ref, path)
    assert (again.imported, again.merged, len(again.rejected)) == (0, 6, 3)
    assert list_snapshot(h) == snapshot


def test_dry_run_reports_the_same_and_writes_nothing(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    before = table_counts(h)
    mapping = {"account_name": "Account Name", "crm_id": "Account ID"}
    preview = crm_import(h, ref, crm_file(tmp_path), dry_run=True, mapping=mapping)
    assert preview.dry_run
    assert table_counts(h) == before  # no accounts, contacts, marks, run or mapping
    assert contacts.list_contacts(h, ref) == []

    real = crm_import(h, ref, crm_file(tmp_path))
    assert not real.dry_run
    assert preview.model_dump(exclude={"dry_run"}) == real.model_dump(exclude={"dry_run"})


def test_rows_of_an_existing_account_update_it_and_add_contacts(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    crm_import(h, ref, crm_file(tmp_path))
    rows = [CRM_HEADER,
            crm_row("Acme Corporation", "0011", "acme.com", "Cloud", "Ann", "Able-Smith",
                    "ann@acme.com", "Yes", ce_email="carl@vendor.example"),        # 2: update
            crm_row("Acme Corporation", "0011", "acme.com", "Cloud", "Cy", "Cole",
                    "cy@acme.com", "No", ce_email="carl@vendor.example"),           # 3: contact
            crm_row("Globex", "0012", "globex.com", "Cloud", "Gina", "Green",
                    "gina@globex.com", "Yes")]                                      # 4: same
    report = crm_import(h, ref, write(tmp_path, "update.csv", csv_bytes(rows)))
    assert report_fates(report) == {4: ("merged", KNOWN)}
    assert (report.imported, report.accounts_updated, report.contacts_created,
            report.contacts_updated) == (2, 1, 1, 1)
    acme = [r for r in contacts.list_contacts(h, ref) if r.account_id == "0011"]
    assert [(r.account_name, r.deployment, r.ce_email, r.name, r.email) for r in acme] == [
        ("Acme Corporation", "cloud", "carl@vendor.example", "Ann Able-Smith", "ann@acme.com"),
        ("Acme Corporation", "cloud", "carl@vendor.example", "Bob Brown", "bob@acme.com"),
        ("Acme Corporation", "cloud", "carl@vendor.example", "Cy Cole", "cy@acme.com")]


def test_rows_without_an_account_id_are_one_account_by_name(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    rows = [["Company", "Email"], ["Wayne Enterprises", "bruce@wayne.com"],
            ["wayne enterprises", "alfred@wayne.com"], ["Wayne Enterprises", "bruce@wayne.com"]]
    report = crm_import(h, ref, write(tmp_path, "names.csv", csv_bytes(rows)))
    assert report_fates(report) == {4: ("merged", "duplicate of line 2")}
    assert (report.accounts_created, report.contacts_created) == (1, 2)
    assert {r.account_id for r in contacts.list_contacts(h, ref)} == {"#1"}


def test_values_too_long_for_the_store_are_rejected_rows_on_every_backend(
        h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    rows = [["Account Name", "Account ID", "Email", "Customer Engineer"],
            ["Acme", "0011", "ann@acme.com", "Carla CE"],
            ["Globex", "9" * 65, "gina@globex.com", ""],
            ["N" * 301, "0013", "nina@initech.com", ""],
            ["Hooli", "0014", "hal@hooli.com", "C" * 201]]
    report = crm_import(h, ref, write(tmp_path, "long.csv", csv_bytes(rows)))
    assert report.imported == 1
    assert {r.line: r.reason for r in report.rejected} == {
        3: "account id longer than 64 characters",
        4: "account name longer than 300 characters",
        5: "CE name longer than 200 characters"}


def test_csv_from_excel_in_windows_1252_with_semicolons(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    rows = [["Account Name", "Account ID", "Email", "Deployment Type"],
            ["Société Générale, Paris", "0021", "contact@socgen.fr", "Cloud"],
            ["Müller GmbH", "0022", "info@mueller.de", "Self-Hosted"]]
    report = crm_import(h, ref, write(tmp_path, "excel.csv",
                                      csv_bytes(rows, encoding="cp1252", delimiter=";")))
    assert (report.encoding, report.imported, report.rejected) == ("windows-1252", 2, [])
    assert [r.account_name for r in contacts.list_contacts(h, ref)] == [
        "Müller GmbH", "Société Générale, Paris"]


# --- mappings ----------------------------------------------------------------------------------

CUSTOM = [["Company Label", "Org Ref", "Work Mailbox", "Hosting Model"],
          ["Acme", "0011", "ann@acme.com", "Cloud"],
          ["Globex", "0012", "gina@globex.com", "On-Prem"]]
CUSTOM_MAPPING = {"account_name": "Company Label", "crm_id": "Org Ref", "email": "Work Mailbox",
                  "deployment": "Hosting Model"}


def test_mapping_files_in_json_and_toml(tmp_path: Path) -> None:
    as_json = write(tmp_path, "m.json", json.dumps(CUSTOM_MAPPING).encode())
    as_toml = write(tmp_path, "m.toml", "".join(
        f'{k} = "{v}"\n' for k, v in CUSTOM_MAPPING.items()).encode())
    assert contact_import.load_mapping(as_json) == CUSTOM_MAPPING
    assert contact_import.load_mapping(as_toml) == CUSTOM_MAPPING
    assert contact_import.load_mapping(None) is None


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad.json", b"{not json", r"^bad\.json: cannot read the mapping file"),
    ("bad.toml", b"email = ", r"^bad\.toml: cannot read the mapping file"),
    ("list.json", b'["email"]', r"^list\.json: a mapping maps field names to header names"),
    ("nested.json", b'{"email": {"header": "x"}}', "a mapping maps field names"),
    ("latin1.json", '{"email": "Adresse é"}'.encode("latin-1"), "cannot read the mapping"),
])
def test_unreadable_mapping_files_are_clear_errors(
        tmp_path: Path, name: str, content: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        contact_import.load_mapping(write(tmp_path, name, content))
    with pytest.raises(InvalidInput, match=r"missing\.json: cannot read the mapping file"):
        contact_import.load_mapping(tmp_path / "missing.json")


def test_a_mapping_imports_an_unknown_layout_and_is_remembered(
        h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    path = write(tmp_path, "custom.csv", csv_bytes(CUSTOM))
    without = crm_import(h, ref, path, dry_run=True)
    assert without.imported == 0
    assert {r.line for r in without.rejected} == {1, 2, 3}

    first = crm_import(h, ref, path, mapping=CUSTOM_MAPPING)
    assert (first.imported, first.rejected) == (2, [])
    assert first.columns == {"account_name": "Company Label", "crm_id": "Org Ref",
                             "email": "Work Mailbox", "deployment": "Hosting Model"}

    # The next export of that layout imports without --mapping.
    later = [CUSTOM[0], ["Initech", "0013", "ian@initech.com", "SaaS"]]
    second = crm_import(h, ref, write(tmp_path, "custom2.csv", csv_bytes(later)))
    assert (second.imported, second.rejected) == (1, [])
    assert [(r.account_id, r.email, r.deployment) for r in contacts.list_contacts(h, ref)] == [
        ("0011", "ann@acme.com", "cloud"), ("0012", "gina@globex.com", "self-hosted"),
        ("0013", "ian@initech.com", "cloud")]
    # ... and the usual CRM layout still imports with the remembered mapping in place.
    usual = crm_import(h, ref, crm_file(tmp_path))
    assert (usual.imported, usual.merged, len(usual.rejected)) == (5, 1, 3)
    # The mapping is per source: an engineering list does not use it.
    assert eng_import(h, ref, write(tmp_path, "e.csv", csv_bytes(CUSTOM)),
                      dry_run=True).imported == 0


def test_a_dry_run_does_not_remember_its_mapping(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    path = write(tmp_path, "custom.csv", csv_bytes(CUSTOM))
    assert crm_import(h, ref, path, mapping=CUSTOM_MAPPING, dry_run=True).imported == 2
    assert crm_import(h, ref, path, dry_run=True).imported == 0


@pytest.mark.parametrize("mapping", [
    {"Company Label": "account_name"},   # written the wrong way round
    {"account_name": "Company Label", "website_url": "Site"},
    {"instance_url": "Host"},            # an engineering field, for a CRM list
    {},
    {"email": "  "},
])
def test_a_mapping_naming_unknown_fields_is_refused_and_not_remembered(
        h: Herald, tmp_path: Path, mapping: dict[str, str]) -> None:
    ref = new_incident(h)
    path = write(tmp_path, "custom.csv", csv_bytes(CUSTOM))
    with pytest.raises(InvalidInput, match=r"^mapping: "):
        crm_import(h, ref, path, mapping=mapping)
    assert table_counts(h)["column_mappings"] == 0
    # A usual file is not spoiled by a remembered bad mapping.
    assert crm_import(h, ref, crm_file(tmp_path)).imported == 5


# --- engineering lists ----------------------------------------------------------------------------

def crm_accounts(h: Herald, ref: str, tmp_path: Path) -> None:
    """Accounts the engineering list is matched against (all marked unknown on `ref`)."""
    rows = [CRM_HEADER,
            crm_row("Acme", "0011", "https://www.acme.com", "Self-Hosted", "Ann", "",
                    "ann@acme.com"),
            crm_row("Globex", "0012", "globex.com", "Cloud", "Gina", "", "gina@globex.com"),
            crm_row("Initech", "0013", "initech.com", "Self-Hosted", "Peter", "",
                    "peter.gibbons@gmail.com"),
            crm_row("Müller GmbH", "0014", "mueller.de", "Cloud", "Jörg", "", ""),
            crm_row("Hooli", "0015", "hooli.com", "Self-Hosted", "Hal", "", "hal@hooli.com"),
            crm_row("Stark", "0016", "stark.com", "Cloud", "Tony", "", "tony@stark.com"),
            crm_row("Wayne", "0017", "wayne.com", "Cloud", "Bruce", "", "bruce@wayne.com")]
    report = crm_import(h, ref, write(tmp_path, "crm.csv", csv_bytes(rows)))
    assert report.imported == 7


ENGINEERING_ROWS = [
    ["User Email", "Account ID", "Domain", "Instance URL"],                     # 1
    ["", "0011", "", ""],                                                       # 2 id -> Acme
    ["Peter.Gibbons@gmail.com", "", "", ""],                                    # 3 email -> Initech
    ["ops@eu.globex.com", "", "", ""],                                          # 4 email domain
    ["", "", "www.mueller.de", ""],                                             # 5 domain column
    ["", "", "", "https://sourcegraph.hooli.com/search?q=x"],                   # 6 instance URL
    ["bob@acme.com", "", "", ""],                                               # 7 Acme again
    ["nobody@unknown.org", "", "", ""],                                         # 8 unmatched
    ["", "9999", "", ""],                                                       # 9 unmatched
    ["", "", "", "https://sg.nowhere.io"],                                      # 10 unmatched
    ["bad(at)example.com", "", "", ""],                                         # 11 invalid
    ["ann@acme.com", "0016", "", ""],                                           # 12 id wins: Stark
    ["", "", "", ""],                                                           # 13
]


def test_engineering_list_matches_by_id_email_domain_and_instance_url(
        h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    crm_accounts(h, ref, tmp_path)
    report = eng_import(h, ref, write(tmp_path, "affected.csv", csv_bytes(ENGINEERING_ROWS)))
    assert report_fates(report) == {
        7: ("merged", "same account as line 2"),
        8: ("rejected", "no account matches it"),
        9: ("rejected", "no account matches it"),
        10: ("rejected", "no account matches it"),
        11: ("rejected", "invalid email 'bad(at)example.com'"),
        13: ("ignored", "blank line")}
    assert [(u.line, u.value) for u in report.unmatched] == [
        (8, "nobody@unknown.org"), (9, "9999"), (10, "https://sg.nowhere.io")]
    assert (report.read, report.imported, report.merged, len(report.rejected)) == (11, 6, 1, 4)
    assert report.read == report.imported + report.merged + len(report.rejected)
    assert marks(h, ref) == {"0011": True, "0012": True, "0013": True, "0014": True,
                             "0015": True, "0016": True, "0017": None}
    row = next(r for r in contacts.list_contacts(h, ref) if r.account_id == "0011")
    assert (row.marked_by, row.mark_source) == (MESSENGER, "engineering:affected.csv")


def test_reimporting_an_engineering_list_changes_nothing(
        h: Herald, clock: FixedClock, tmp_path: Path) -> None:
    ref = new_incident(h)
    crm_accounts(h, ref, tmp_path)
    path = write(tmp_path, "affected.csv", csv_bytes(ENGINEERING_ROWS))
    eng_import(h, ref, path)
    snapshot, counts = list_snapshot(h), table_counts(h)
    clock.advance(hours=1)
    again = eng_import(h, ref, path)
    assert (again.imported, again.merged, len(again.rejected)) == (0, 7, 4)
    assert {line: fate for line, fate in report_fates(again).items() if fate[0] == "merged"} == {
        **{line: ("merged", "account already marked impacted")
           for line in (2, 3, 4, 5, 6, 12)},
        7: ("merged", "same account as line 2")}
    assert list_snapshot(h) == snapshot
    assert table_counts(h) == counts | {"import_runs": counts["import_runs"] + 1}


def test_engineering_dry_run_writes_no_marks(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    crm_accounts(h, ref, tmp_path)
    snapshot = list_snapshot(h)
    report = eng_import(h, ref, write(tmp_path, "affected.csv", csv_bytes(ENGINEERING_ROWS)),
                        dry_run=True)
    assert (report.imported, report.dry_run) == (6, True)
    assert list_snapshot(h) == snapshot
    assert set(marks(h, ref).values()) == {None}


def test_bare_email_list_marks_the_accounts_of_those_people(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    crm_accounts(h, ref, tmp_path)
    data = b"hal@hooli.com\nBRUCE@WAYNE.COM\n\nstranger@nowhere.net\nnot-an-email\n"
    report = eng_import(h, ref, write(tmp_path, "users.txt", data))
    assert report.header_line is None
    assert report_fates(report) == {
        3: ("ignored", "blank line"), 4: ("rejected", "no account matches it"),
        5: ("rejected", "invalid email 'not-an-email'")}
    assert [(u.line, u.value) for u in report.unmatched] == [(4, "stranger@nowhere.net")]
    assert {k for k, v in marks(h, ref).items() if v} == {"0015", "0017"}


def test_engineering_xlsx_of_instance_hosts(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    crm_accounts(h, ref, tmp_path)
    rows = [["Instance report"], [], ["Hostname", "Customer ID"],
            ["sourcegraph.stark.com", ""], ["code.eu.wayne.com", ""], ["", "0012"],
            ["unknown.example.org", ""]]
    report = eng_import(h, ref, write(tmp_path, "hosts.xlsx", xlsx_bytes(rows)))
    assert report.header_line == 3
    assert report_fates(report) == {
        1: ("ignored", "report title line before the header"),
        2: ("ignored", "report title line before the header"),
        7: ("rejected", "no account matches it")}
    assert {k for k, v in marks(h, ref).items() if v} == {"0012", "0016", "0017"}


def test_engineering_list_without_any_accounts_is_all_unmatched(
        h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    report = eng_import(h, ref, write(tmp_path, "a.csv", csv_bytes(ENGINEERING_ROWS)))
    assert (report.imported, report.merged, len(report.unmatched)) == (0, 0, 10)
    assert report.read == len(report.rejected) == 11
    assert contacts.list_contacts(h, ref) == []


# --- marks, list, readiness, shares ---------------------------------------------------------------

STATUS_ROWS = [
    ["Account Name", "Account ID", "Deployment Type", "Email", "Incident Contact",
     "Customer Engineer", "Email", "Account Owner", "Email"],
    ["Acme", "0011", "Self-Hosted", "ann@acme.com", "yes", "Carla CE", CE, "Aaron AE", AE],
    ["Acme", "0011", "Self-Hosted", "bob@acme.com", "", "Carla CE", CE, "Aaron AE", AE],
    ["Globex", "0012", "Cloud", "", "", "Carla CE", CE, "Aaron AE", AE],
    ["Initech", "0013", "Self-Hosted", "ian@initech.com", "", "", "", "", ""],
    ["Hooli", "0014", "Cloud", "hal@hooli.com", "", "Dana CE", "dana@vendor.example", "", AE],
    ["Stark", "0015", "Self-Hosted", "tony@stark.com", "", "Dana CE", "dana@vendor.example",
     "", AE],
]


def status_list(h: Herald, tmp_path: Path) -> str:
    ref = new_incident(h)
    assert crm_import(h, ref, write(tmp_path, "s.csv", csv_bytes(STATUS_ROWS))).imported == 6
    for account, impact in (("0011", "yes"), ("Globex", "yes"), ("initech", "YES"),
                            ("0015", "no")):
        contacts.mark(h, ref, account, impact, actor=MESSENGER)
    return ref


def test_status_lists_every_problem_and_the_shares(h: Herald, tmp_path: Path) -> None:
    ref = status_list(h, tmp_path)
    st_ = contacts.list_status(h, ref)
    assert not st_.ready
    assert st_.problems == [
        "1 account(s) not marked impacted yes/no yet",
        "Globex (0012): no valid email address",
        "Initech (0013): no CE (set one, or mark 'none')",
        "Initech (0013): no AE (set one, or mark 'none')"]
    assert {k: (v.impacted, v.total, v.percent) for k, v in st_.shares.items()} == {
        "self-hosted": (2, 3, 66.7), "cloud": (1, 2, 50.0)}
    assert st_.accounts == {"yes": 3, "no": 1, "unknown": 1}
    assert st_.recipients == 2  # Acme's incident contact and Initech's only contact


def test_list_is_ready_once_every_problem_is_resolved(h: Herald, tmp_path: Path) -> None:
    ref = status_list(h, tmp_path)
    contacts.mark(h, ref, "Hooli", "no", actor=MESSENGER)
    contacts.set_account_team_none(h, "0013", "ce", actor=MESSENGER)
    assert contacts.list_status(h, ref).problems == [
        "Globex (0012): no valid email address",
        "Initech (0013): no AE (set one, or mark 'none')"]
    contacts.set_account_team_none(h, "Initech", "ae", actor=MESSENGER)
    rows = [STATUS_ROWS[0], ["Globex", "0012", "Cloud", "gina@globex.com", "", "", "", "", ""]]
    crm_import(h, ref, write(tmp_path, "globex.csv", csv_bytes(rows)))
    st_ = contacts.list_status(h, ref)
    assert (st_.ready, st_.problems) == (True, [])
    assert st_.accounts == {"yes": 3, "no": 2, "unknown": 0}
    initech = next(r for r in contacts.list_contacts(h, ref) if r.account_id == "0013")
    assert (initech.ce_email, initech.ae_email) == ("none", "none")


def test_set_account_team_none_refuses_other_roles(h: Herald, tmp_path: Path) -> None:
    status_list(h, tmp_path)
    with pytest.raises(InvalidInput, match="role must be ce or ae"):
        contacts.set_account_team_none(h, "0013", "cs", actor=MESSENGER)
    with pytest.raises(NotFound):
        contacts.set_account_team_none(h, "0099", "ce", actor=MESSENGER)


def test_nothing_marked_impacted_is_not_ready(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    assert contacts.list_status(h, ref).problems == ["no account is marked impacted"]
    assert {k: (v.impacted, v.total) for k, v in contacts.list_status(h, ref).shares.items()} == {
        "self-hosted": (0, 0), "cloud": (0, 0)}


def test_list_rows_marks_and_recipients(h: Herald, tmp_path: Path) -> None:
    ref = status_list(h, tmp_path)
    rows = contacts.list_contacts(h, ref)
    assert [(r.account_id, r.email, r.impacted, r.recipient) for r in rows] == [
        ("0011", "ann@acme.com", True, True),     # the flagged incident contact
        ("0011", "bob@acme.com", True, False),
        ("0012", None, True, False),               # an account without any contact
        ("0014", "hal@hooli.com", None, False),
        ("0013", "ian@initech.com", True, True),   # no one flagged: every contact
        ("0015", "tony@stark.com", False, False)]
    assert [r.account_id for r in contacts.list_contacts(h, ref, impacted_only=True)] == [
        "0011", "0011", "0012", "0013"]


def test_marks_yes_no_and_back_to_unknown(h: Herald, tmp_path: Path) -> None:
    ref = status_list(h, tmp_path)
    assert contacts.mark(h, ref, "0014", "Yes", actor=MESSENGER) == "Hooli"
    assert marks(h, ref)["0014"] is True
    contacts.mark(h, ref, "hooli", "n", actor=MESSENGER)
    assert marks(h, ref)["0014"] is False
    contacts.mark(h, ref, "0014", "unknown", actor=MESSENGER)
    assert marks(h, ref)["0014"] is None
    contacts.mark(h, ref, "#1", "no", actor=MESSENGER)  # by internal id
    assert marks(h, ref)["0011"] is False


@pytest.mark.parametrize("impact", ["maybe", "", "  ", "impacted?"])
def test_mark_refuses_what_is_not_yes_no_or_unknown(
        h: Herald, tmp_path: Path, impact: str) -> None:
    ref = status_list(h, tmp_path)
    with pytest.raises(InvalidInput, match="impact must be yes, no or unknown"):
        contacts.mark(h, ref, "0014", impact, actor=MESSENGER)


def test_a_row_without_an_id_finds_its_account_by_name_only_when_one_has_it(
        h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    stored = [["Account Name", "Account ID", "Email"], ["Acme", "0091", "ann@acme.com"],
              ["ACME", "0092", "bob@acme.com"], ["Ökotech GmbH", "0093", "olga@oekotech.de"]]
    crm_import(h, ref, write(tmp_path, "stored.csv", csv_bytes(stored)))
    rows = [["Account Name", "Email"], ["acme", "cy@acme.com"],  # two accounts are called so
            ["ÖKOTECH GMBH", "pia@oekotech.de"]]  # (Python lower-cases Ö to ö, as stored)
    report = crm_import(h, ref, write(tmp_path, "no-ids.csv", csv_bytes(rows)))
    assert (report.accounts_created, report.contacts_created) == (1, 2)
    by_email = {r.email: r.account_id for r in contacts.list_contacts(h, ref)}
    assert by_email["pia@oekotech.de"] == by_email["olga@oekotech.de"] == "0093"
    assert by_email["cy@acme.com"] not in {"0091", "0092"}


def test_mark_needs_a_known_and_unambiguous_account(h: Herald, tmp_path: Path) -> None:
    ref = status_list(h, tmp_path)
    with pytest.raises(NotFound, match="no customer account 'Nope Inc'"):
        contacts.mark(h, ref, "Nope Inc", "yes", actor=MESSENGER)
    rows = [["Account Name", "Account ID"], ["Acme", "0099"]]
    crm_import(h, ref, write(tmp_path, "acme2.csv", csv_bytes(rows)))
    with pytest.raises(InvalidInput, match="several accounts are named 'acme'"):
        contacts.mark(h, ref, "acme", "yes", actor=MESSENGER)
    with pytest.raises(NotFound):
        contacts.mark(h, "inc-404", "0011", "yes", actor=MESSENGER)


def test_a_blank_mark_in_a_ce_sheet_keeps_the_earlier_answer(h: Herald, tmp_path: Path) -> None:
    ref = status_list(h, tmp_path)
    rows = [["Account ID", "Account Name", "Email", "Impacted"],
            ["0011", "Acme", "ann@acme.com", "no"],
            ["0011", "Acme", "bob@acme.com", ""],
            ["0015", "Stark", "tony@stark.com", ""]]
    crm_import(h, ref, write(tmp_path, "sheet.csv", csv_bytes(rows)))
    assert (marks(h, ref)["0011"], marks(h, ref)["0015"]) == (False, False)


def test_unanswered_accounts_by_ce(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    crm_import(h, ref, write(tmp_path, "s.csv", csv_bytes(STATUS_ROWS)))
    contacts.mark(h, ref, "0011", "yes", actor=MESSENGER)
    assert contacts.unanswered_by_ce(h, ref) == {
        CE: ["Globex"], "(no CE)": ["Initech"], "dana@vendor.example": ["Hooli", "Stark"]}


# --- exports ------------------------------------------------------------------------------------

EVIL = [["Account Name", "Account ID", "First Name", "Email", "Customer Engineer", "Email"],
        ['=HYPERLINK("http://evil.example","x")', "0011", "+1 555 0100", "=cmd@acme.com",
         "@SUM(A1)", CE],
        ["-2+3", "0012", "\tTab", "ok@globex.com", "Carla", CE]]


def evil_list(h: Herald, tmp_path: Path) -> str:
    ref = new_incident(h)
    assert crm_import(h, ref, write(tmp_path, "evil.csv", csv_bytes(EVIL))).imported == 2
    contacts.mark(h, ref, "0011", "yes", actor=MESSENGER)
    return ref


def test_csv_export_neutralises_formulas(h: Herald, tmp_path: Path) -> None:
    ref = evil_list(h, tmp_path)
    out = tmp_path / "list.csv"
    assert export_contacts(h, ref, out, "CSV") == 2
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    table = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert table[0] == COLUMNS
    got = [dict(zip(COLUMNS, row, strict=True)) for row in table[1:]]
    assert [(g["account_name"], g["name"], g["email"], g["ce_name"], g["impacted"])
            for g in got] == [
        ("'-2+3", "Tab", "ok@globex.com", "Carla", ""),
        ("'=HYPERLINK(\"http://evil.example\",\"x\")", "'+1 555 0100", "'=cmd@acme.com",
         "'@SUM(A1)", "yes")]
    for row in table[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_xlsx_export_neutralises_formulas(h: Herald, tmp_path: Path) -> None:
    ref = evil_list(h, tmp_path)
    out = tmp_path / "list.xlsx"
    assert export_contacts(h, ref, out, "xlsx") == 2
    book = load_workbook(out)
    sheet = book.active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == COLUMNS
    evil = dict(zip(COLUMNS, values[2], strict=True))
    assert evil["account_name"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert (evil["name"], evil["email"], evil["ce_name"]) == (
        "'+1 555 0100", "'=cmd@acme.com", "'@SUM(A1)")
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
            assert not str(cell.value or "").startswith(("=", "+", "-", "@"))


def test_export_refuses_bad_formats_and_paths(h: Herald, tmp_path: Path) -> None:
    ref = evil_list(h, tmp_path)
    with pytest.raises(InvalidInput, match="format must be csv or xlsx"):
        export_contacts(h, ref, tmp_path / "x.pdf", "pdf")
    with pytest.raises(InvalidInput, match="is a folder"):
        export_contacts(h, ref, tmp_path, "csv")
    with pytest.raises(InvalidInput, match="does not exist"):
        export_contacts(h, ref, tmp_path / "nope" / "x.csv", "csv")


# --- bad inputs -----------------------------------------------------------------------------------

def test_bad_inputs_are_clear_errors_and_write_nothing(h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    before = table_counts(h)
    with pytest.raises(InvalidInput, match=r"missing\.csv: cannot read the file"):
        crm_import(h, ref, tmp_path / "missing.csv")
    with pytest.raises(InvalidInput, match="cannot read the file"):
        crm_import(h, ref, tmp_path)
    with pytest.raises(InvalidInput, match="source must be one of: engineering, crm"):
        contact_import.import_file(h, ref, crm_file(tmp_path), source="sales", actor=MESSENGER)
    with pytest.raises(NotFound):
        crm_import(h, "inc-404", crm_file(tmp_path))
    xlsx = xlsx_bytes(CRM_ROWS)
    with pytest.raises(InvalidInput, match="not a readable XLSX workbook"):
        crm_import(h, ref, write(tmp_path, "cut.xlsx", xlsx[:1000]))
    assert table_counts(h) == before


def test_empty_and_binary_files_are_reports_of_nothing_imported(
        h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    empty = crm_import(h, ref, write(tmp_path, "empty.csv", b""))
    assert (empty.read, empty.imported, empty.rejected, empty.ignored) == (0, 0, [], [])
    binary = bytes(range(256)) * 8
    report = eng_import(h, ref, write(tmp_path, "blob.bin", binary))
    assert report.imported == 0
    assert report.read == len(report.rejected)
    assert contacts.list_contacts(h, ref) == []


# --- every row accounted for, through the whole import ---------------------------------------

CELLS = st.one_of(
    st.sampled_from(["", "Acme", "Acme, Inc.", "0011", "0012", "ann@acme.com", "ANN@acme.com",
                     "bad@", "acme.com", "https://sg.acme.com/x", "Cloud", "Self-Hosted",
                     "Hybrid", "yes", "no", "maybe", "none", "Total", "Grand Totals (2 records)",
                     "Generated By: x", 'say "hi"', "line\nbreak", "Müller", "=1+2"]),
    st.text(max_size=12),
)
HEADERS = st.sampled_from(["Account Name", "Account ID", "Email", "Website", "Deployment Type",
                           "Customer Engineer", "Account Owner", "Impacted", "Instance URL",
                           "Domain", "First Name", "Junk", ""])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(header=st.lists(HEADERS, min_size=1, max_size=6),
       body=st.lists(st.lists(CELLS, max_size=7), max_size=12),
       source=st.sampled_from(["crm", "engineering"]))
def test_every_row_is_imported_merged_or_rejected(
        h: Herald, tmp_path: Path, header: list[str], body: list[list[str]],
        source: str) -> None:
    ref = new_incident(h, number=None)
    path = write(tmp_path, "random.csv", csv_bytes([header, *body]))
    for _ in range(2):  # the second import meets what the first one stored
        report = contact_import.import_file(h, ref, path, source=source, actor=MESSENGER)
        assert report.read == report.imported + report.merged + len(report.rejected)
        report_fates(report)  # no line in two fates
        assert len(report.unmatched) <= len(report.rejected)


def test_the_list_reads_a_page_or_one_mark_as_the_whole_list_would(
        h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h)
    crm_import(h, ref, crm_file(tmp_path))
    for account, impact in (("0011", "yes"), ("0012", "no")):
        contacts.mark(h, ref, account, impact, actor=MESSENGER)
    whole = contacts.list_contacts(h, ref)
    accounts = list(dict.fromkeys(r.account_id for r in whole))
    assert len(accounts) >= 4
    paged = [r for start in range(0, len(accounts), 2)
             for r in contacts.list_contacts(h, ref, offset=start, limit=2)]
    assert paged == whole
    assert contacts.list_contacts(h, ref, offset=len(accounts), limit=2) == []
    for impact, value in (("yes", True), ("no", False), ("unknown", None)):
        assert contacts.list_contacts(h, ref, impact=impact) == [
            r for r in whole if r.impacted is value], impact
    assert contacts.list_contacts(h, ref, impacted_only=True) == [
        r for r in whole if r.impacted is True]
    status = contacts.list_status(h, ref)
    assert status.accounts == {"yes": 1, "no": 1, "unknown": len(accounts) - 2}
    assert status.problems[0] == f"{len(accounts) - 2} account(s) not marked impacted yes/no yet"


def test_readiness_checks_the_told_addresses_again(h: Herald, tmp_path: Path) -> None:
    """An address stored before a rule tightened (here written straight into the table) is
    reported; only the addresses that will be told count: the incident contacts, or every
    contact of an account that flags none."""
    from herald.store.contact_models import Contact, CustomerAccount

    ref = new_incident(h)
    crm_import(h, ref, crm_file(tmp_path))
    with h.db.transaction() as s:
        acme = s.query(CustomerAccount).filter_by(crm_id="0011").one()
        globex = s.query(CustomerAccount).filter_by(crm_id="0012").one()
        s.add_all([Contact(account_id=acme.id, email="old@localhost", name="Old",
                           incident_contact=True),   # told (flagged), invalid
                   Contact(account_id=acme.id, email="quiet@acme.com", name="Quiet",
                           incident_contact=False),  # not told: Acme flags others
                   Contact(account_id=globex.id, email="x@invalid", name="X",
                           incident_contact=False)])  # not told: Globex flags Gina
    for account in ("0011", "0012"):
        contacts.mark(h, ref, account, "yes", actor=MESSENGER)
    status = contacts.list_status(h, ref)
    assert "Acme Corp (0011): invalid email 'old@localhost'" in status.problems
    assert not any("x@invalid" in p for p in status.problems)
    told = [r.email for r in contacts.list_contacts(h, ref, impact="yes") if r.recipient]
    assert status.recipients == len(told) - 1  # every told address but the invalid one


def test_the_ce_overview_counts_as_the_round_and_names_the_first_unanswered(
        h: Herald, tmp_path: Path) -> None:
    from herald.services import ce_round

    ref = new_incident(h)
    crm_import(h, ref, crm_file(tmp_path))
    contacts.mark(h, ref, "0011", "no", actor=MESSENGER)
    full = ce_round.ce_round(h, ref)
    short = ce_round.ce_overview(h, ref, listed=1)
    assert [(g.ce_email, g.answered, g.total) for g in short] == [
        (g.ce_email, g.answered, g.total) for g in full]
    for g, s in zip(full, short, strict=True):
        unanswered = [a.account_name for a in g.accounts if a.impact == "unknown"]
        assert (s.open_names, s.open_more) == (unanswered[:1], len(unanswered[1:]))
