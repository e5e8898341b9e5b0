"""`herald contacts ...` end to end: import reports (text and JSON), list, mark, status, export,
and bad files that must end as one clear line, never a traceback."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from herald.services.context import Herald
from herald.settings import Settings
from tests.contact_files import (
    CRM_HEADER,
    SALESFORCE_FOOTER,
    crm_row,
    csv_bytes,
    table_counts,
    write,
    xlsx_bytes,
)
from tests.helpers import MESSENGER, CliResult, new_incident, ok_cli, run_cli

AS = ("--as", MESSENGER)
CE, AE = "carla@vendor.example", "aaron@vendor.example"

CRM_ROWS = [
    ["Accounts with Contacts"],                                                        # 1
    CRM_HEADER,                                                                        # 2
    crm_row("Acme Corp", "0011", "https://www.acme.com", "Self-Hosted", "Ann", "Able",
            "ann@acme.com", "Yes"),                                                    # 3
    crm_row("Acme Corp", "0011", "acme.com", "Self-Hosted", "Ann", "Able", "ann@acme.com",
            "Yes"),                                                                    # 4
    crm_row("=HYPERLINK(\"http://x.example\")", "0012", "globex.com", "Cloud", "Gina",
            "", "gina@globex.com"),                                                    # 5
    crm_row("Initech", "0013", "initech.com", "Cloud", "Ian", "", "ian(at)initech.com"),  # 6
    crm_row("Hooli", "0014", "hooli.com", "Hybrid", "Hal", "", "hal@hooli.com"),       # 7
    crm_row("Müller GmbH", "0015", "mueller.de", "Server", "Jörg", "Müller",
            "joerg@mueller.de", ce="", ce_email="", ae="", ae_email=""),               # 8
    ["Grand Totals (6 records)"],                                                      # 9
    *SALESFORCE_FOOTER,                                                                # 10-15
]


@pytest.fixture
def cli(cli_env: Settings, h: Herald, monkeypatch: pytest.MonkeyPatch) -> Herald:
    """The CLI on a database holding inc-1 (made through the services)."""
    monkeypatch.setenv("COLUMNS", "250")  # report lines and tables unwrapped, to read them
    new_incident(h, number="inc-1")
    return h


def one_line_error(result: CliResult, starts: str) -> None:
    """A failure the person can act on: one line on stderr, no traceback, not a 'bug'."""
    assert result.code == 1, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(starts), lines[0]
    assert "Traceback" not in result.err + result.out
    assert "unexpected" not in result.err


def crm_file(tmp_path: Path) -> Path:
    return write(tmp_path, "accounts.csv", csv_bytes(CRM_ROWS, bom=True))


def test_import_json_report_shape_and_fates(
        cli: Herald, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = ok_cli(capsys, "contacts", "import", "inc-1", str(crm_file(tmp_path)),
                    "--source", "crm", "--json", *AS).json()
    assert {"read", "imported", "merged", "rejected", "unmatched"} <= report.keys()
    assert (report["read"], report["imported"], report["merged"]) == (6, 3, 1)
    assert report["rejected"] == [
        {"line": 6, "reason": "invalid email 'ian(at)initech.com'",
         "value": report["rejected"][0]["value"]},
        {"line": 7, "reason": "unknown deployment type 'Hybrid' (self-hosted or cloud)",
         "value": report["rejected"][1]["value"]}]
    assert report["rejected"][0]["value"].startswith("Initech, 0013, initech.com")
    assert report["unmatched"] == []
    assert report["merged_lines"] == [
        {"line": 4, "reason": "duplicate of line 3", "value": ""}]
    assert {i["line"]: i["reason"] for i in report["ignored"]} == {
        1: "report title line before the header", 9: "report summary row", 10: "blank line",
        **{line: "report footer line" for line in range(11, 16)}}
    assert (report["header_line"], report["encoding"], report["dry_run"]) == (
        2, "utf-8-sig", False)


def test_import_text_report_names_file_line_and_reason(
        cli: Herald, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = ok_cli(capsys, "contacts", "import", "inc-1", str(crm_file(tmp_path)),
                 "--source", "crm", *AS).out
    assert "accounts.csv (utf-8-sig): read 6 rows, imported 3, merged 1, rejected 2" in out
    assert "ignored 8 non-data lines" in out
    assert "accounts.csv:6: rejected: invalid email 'ian(at)initech.com'" in out
    assert "accounts.csv:7: rejected: unknown deployment type 'Hybrid'" in out


def test_reimport_through_the_cli_changes_nothing(
        cli: Herald, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = str(crm_file(tmp_path))
    ok_cli(capsys, "contacts", "import", "inc-1", path, "--source", "crm", *AS)
    before = table_counts(cli)
    again = ok_cli(capsys, "contacts", "import", "inc-1", path, "--source", "crm", "--json",
                   *AS).json()
    assert (again["read"], again["imported"], again["merged"], len(again["rejected"])) == (
        6, 0, 4, 2)
    after = table_counts(cli)
    assert after == before | {"import_runs": before["import_runs"] + 1}


def test_dry_run_writes_nothing(
        cli: Herald, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    before = table_counts(cli)
    result = ok_cli(capsys, "contacts", "import", "inc-1", str(crm_file(tmp_path)),
                    "--source", "crm", "--dry-run", *AS)
    assert "would import 3" in result.out
    assert table_counts(cli) == before
    report = ok_cli(capsys, "contacts", "import", "inc-1", str(crm_file(tmp_path)),
                    "--source", "crm", "--dry-run", "--json", *AS).json()
    assert (report["dry_run"], report["imported"]) == (True, 3)
    assert table_counts(cli) == before
    assert ok_cli(capsys, "contacts", "list", "inc-1", "--json").json() == []


def test_mapping_file_is_used_and_remembered(
        cli: Herald, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    header = ["Company Label", "Org Ref", "Work Mailbox"]
    first = write(tmp_path, "custom.csv", csv_bytes([header, ["Acme", "0011", "ann@acme.com"]]))
    mapping = write(tmp_path, "mapping.json", json.dumps(
        {"account_name": "Company Label", "crm_id": "Org Ref", "email": "Work Mailbox"}).encode())
    report = ok_cli(capsys, "contacts", "import", "inc-1", str(first), "--source", "crm",
                    "--mapping", str(mapping), "--json", *AS).json()
    assert (report["imported"], report["rejected"]) == (1, [])
    second = write(tmp_path, "custom2.csv",
                   csv_bytes([header, ["Globex", "0012", "gina@globex.com"]]))
    report = ok_cli(capsys, "contacts", "import", "inc-1", str(second), "--source", "crm",
                    "--json", *AS).json()
    assert (report["imported"], report["rejected"]) == (1, [])
    emails = [r["email"] for r in ok_cli(capsys, "contacts", "list", "inc-1", "--json").json()]
    assert emails == ["ann@acme.com", "gina@globex.com"]


def test_engineering_import_lists_unmatched_rows(
        cli: Herald, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ok_cli(capsys, "contacts", "import", "inc-1", str(crm_file(tmp_path)), "--source", "crm",
           *AS)
    rows = [["Email", "Instance URL"], ["ops@acme.com", ""],
            ["", "https://sourcegraph.globex.com"], ["who@nowhere.net", ""],
            ["", "https://code.unknown.org/x"]]
    path = write(tmp_path, "affected.csv", csv_bytes(rows))
    report = ok_cli(capsys, "contacts", "import", "inc-1", str(path), "--source",
                    "engineering", "--json", *AS).json()
    assert (report["read"], report["imported"], report["merged"]) == (4, 2, 0)
    assert report["unmatched"] == [{"line": 4, "value": "who@nowhere.net"},
                                   {"line": 5, "value": "https://code.unknown.org/x"}]
    assert report["rejected"] == [
        {"line": 4, "reason": "no account matches it", "value": "who@nowhere.net"},
        {"line": 5, "reason": "no account matches it", "value": "https://code.unknown.org/x"}]


def test_list_json_mark_and_status(
        cli: Herald, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ok_cli(capsys, "contacts", "import", "inc-1", str(crm_file(tmp_path)), "--source", "crm",
           *AS)
    rows = ok_cli(capsys, "contacts", "list", "inc-1", "--json").json()
    for row in rows:
        assert {"account_id", "account_name", "email", "impacted", "ce_email", "ae_email",
                "deployment"} <= row.keys()
    assert [(r["account_id"], r["email"], r["impacted"], r["deployment"]) for r in rows] == [
        ("0012", "gina@globex.com", None, "cloud"),
        ("0011", "ann@acme.com", None, "self-hosted"),
        ("0015", "joerg@mueller.de", None, "self-hosted")]
    assert (rows[1]["ce_email"], rows[1]["ae_email"]) == (CE, AE)
    assert (rows[2]["ce_email"], rows[2]["ae_email"]) == (None, None)

    status = ok_cli(capsys, "contacts", "status", "inc-1", "--json").json()
    assert {"ready", "problems", "shares"} <= status.keys()
    assert status["ready"] is False
    assert status["problems"] == ["3 account(s) not marked impacted yes/no yet"]

    assert "Acme Corp: impacted yes" in ok_cli(
        capsys, "contacts", "mark", "inc-1", "0011", "yes", *AS).out
    ok_cli(capsys, "contacts", "mark", "inc-1", "Müller GmbH", "yes", *AS)
    ok_cli(capsys, "contacts", "mark", "inc-1", "0012", "no", *AS)
    impacted = {r["account_id"]: r["impacted"]
                for r in ok_cli(capsys, "contacts", "list", "inc-1", "--json").json()}
    assert impacted == {"0011": True, "0012": False, "0015": True}

    status = ok_cli(capsys, "contacts", "status", "inc-1", "--json").json()
    assert status["problems"] == ["Müller GmbH (0015): no CE (set one, or mark 'none')",
                                  "Müller GmbH (0015): no AE (set one, or mark 'none')"]
    assert {k: (v["impacted"], v["total"], v["percent"]) for k, v in status["shares"].items()} == {
        "self-hosted": (2, 2, 100.0), "cloud": (0, 1, 0.0)}
    text = ok_cli(capsys, "contacts", "status", "inc-1").out
    assert "NOT READY" in text and "self-hosted: 2/2 impacted (100%)" in text

    ok_cli(capsys, "contacts", "mark", "inc-1", "0015", "unknown", *AS)
    assert ok_cli(capsys, "contacts", "status", "inc-1", "--json").json()["problems"] == [
        "1 account(s) not marked impacted yes/no yet"]


def test_list_csv_and_table_show_values_literally(
        cli: Herald, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ok_cli(capsys, "contacts", "import", "inc-1", str(crm_file(tmp_path)), "--source", "crm",
           *AS)
    out = ok_cli(capsys, "contacts", "list", "inc-1", "--csv").out
    table = list(csv.DictReader(io.StringIO(out)))
    assert table[0]["account_name"] == "'=HYPERLINK(\"http://x.example\")"
    assert {r["email"] for r in table} == {"gina@globex.com", "ann@acme.com",
                                           "joerg@mueller.de"}
    assert "Müller GmbH (0015)" in ok_cli(capsys, "contacts", "list", "inc-1").out


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_neutralises_formulas(
        cli: Herald, capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    ok_cli(capsys, "contacts", "import", "inc-1", str(crm_file(tmp_path)), "--source", "crm",
           *AS)
    out = tmp_path / f"list.{fmt}"
    assert f"wrote 3 rows to {out}" in ok_cli(
        capsys, "contacts", "export", "inc-1", "--format", fmt, "-o", str(out)).out
    if fmt == "csv":
        table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    else:
        book = load_workbook(out)
        table = [["" if c.value is None else c.value for c in row]
                 for row in book.active.iter_rows()]
        assert all(c.data_type != "f" for row in book.active.iter_rows() for c in row)
    names = [row[1] for row in table[1:]]
    assert names == ["'=HYPERLINK(\"http://x.example\")", "Acme Corp", "Müller GmbH"]
    assert not any(str(cell).startswith(("=", "+", "-", "@"))
                   for row in table[1:] for cell in row)


# --- bad input: one clear line, never a traceback ---------------------------------------------

def test_unreadable_file_paths(cli: Herald, capsys: pytest.CaptureFixture[str],
                               tmp_path: Path) -> None:
    missing = run_cli(capsys, "contacts", "import", "inc-1", str(tmp_path / "nope.csv"),
                      "--source", "crm", *AS)
    one_line_error(missing, "error: ")
    assert "nope.csv: cannot read the file (No such file or directory)" in missing.err
    folder = run_cli(capsys, "contacts", "import", "inc-1", str(tmp_path), "--source", "crm",
                     *AS)
    one_line_error(folder, "error: ")
    assert "cannot read the file" in folder.err


def test_corrupt_xlsx_files(cli: Herald, capsys: pytest.CaptureFixture[str],
                            tmp_path: Path) -> None:
    import zipfile

    data = xlsx_bytes([["Account Name", "Email"], ["Acme", "ann@acme.com"]])
    cut = write(tmp_path, "cut.xlsx", data[:700])
    one_line_error(run_cli(capsys, "contacts", "import", "inc-1", str(cut), "--source",
                           "crm", *AS), "error: cut.xlsx: not a readable XLSX workbook")
    good = zipfile.ZipFile(io.BytesIO(data))
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as z:
        for item in good.infolist():
            content = good.read(item.filename)
            z.writestr(item, content[:40] if item.filename.endswith("sheet1.xml") else content)
    path = write(tmp_path, "inside.xlsx", broken.getvalue())
    one_line_error(run_cli(capsys, "contacts", "import", "inc-1", str(path), "--source",
                           "engineering", *AS),
                   "error: inside.xlsx: not a readable XLSX workbook")
    assert table_counts(cli)["import_runs"] == 0


def test_binary_and_empty_files_are_reports(
        cli: Herald, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blob = write(tmp_path, "photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)))
    report = ok_cli(capsys, "contacts", "import", "inc-1", str(blob), "--source", "crm",
                    "--json", *AS).json()
    assert report["imported"] == 0
    assert report["read"] == len(report["rejected"]) > 0
    assert all(r["reason"] == "no header row naming Account Name / Account ID / Email"
               for r in report["rejected"])
    empty = write(tmp_path, "empty.csv", b"")
    text = ok_cli(capsys, "contacts", "import", "inc-1", str(empty), "--source",
                  "engineering", *AS).out
    assert "empty.csv (utf-8): read 0 rows, imported 0, merged 0, rejected 0" in text


def test_other_bad_arguments(cli: Herald, capsys: pytest.CaptureFixture[str],
                             tmp_path: Path) -> None:
    path = str(crm_file(tmp_path))
    one_line_error(run_cli(capsys, "contacts", "import", "inc-1", path, "--source", "sales",
                           *AS), "error: source must be one of: engineering, crm")
    one_line_error(run_cli(capsys, "contacts", "import", "inc-404", path, "--source", "crm",
                           *AS), "error: no incident 'inc-404'")
    bad_mapping = write(tmp_path, "m.json", b"{oops")
    one_line_error(run_cli(capsys, "contacts", "import", "inc-1", path, "--source", "crm",
                           "--mapping", str(bad_mapping), *AS),
                   "error: m.json: cannot read the mapping file")
    wrong = write(tmp_path, "wrong.json", b'{"Work Email": "email"}')
    one_line_error(run_cli(capsys, "contacts", "import", "inc-1", path, "--source", "crm",
                           "--mapping", str(wrong), *AS),
                   "error: mapping: unknown field(s) 'Work Email' for a crm list")
    one_line_error(run_cli(capsys, "contacts", "mark", "inc-1", "0099", "yes", *AS),
                   "error: no customer account '0099'")
    ok_cli(capsys, "contacts", "import", "inc-1", path, "--source", "crm", *AS)
    one_line_error(run_cli(capsys, "contacts", "mark", "inc-1", "0011", "maybe", *AS),
                   "error: impact must be yes, no or unknown (got 'maybe')")
    one_line_error(run_cli(capsys, "contacts", "export", "inc-1", "--format", "pdf", "-o",
                           str(tmp_path / "x.pdf")), "error: format must be csv or xlsx")
    one_line_error(run_cli(capsys, "contacts", "export", "inc-1", "-o",
                           str(tmp_path / "no" / "x.csv")), "error: folder ")
    assert run_cli(capsys, "contacts", "import", "inc-1", path, *AS).code == 2  # no --source
