"""Reading messy customer files: every quirk of real CRM exports and engineering lists.

Each test writes the bytes of a file the way a CRM tool, Excel or an engineer writes it, reads it
back through read_sheet + parse_crm / parse_engineering, and states every line's fate: a record,
rejected (with the reason) or ignored (with the reason).
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from pathlib import Path

import pytest

from herald.channels.importers.layout import CRM_ALIASES, resolve_columns
from herald.channels.importers.records import (
    CrmRecord,
    EngineeringRecord,
    Parsed,
    parse_crm,
    parse_engineering,
)
from herald.channels.importers.tabular import Sheet, decode, read_sheet
from herald.domain.contacts import Deployment, Impact
from herald.errors import InvalidInput
from tests.contact_files import (
    CRM_HEADER,
    SALESFORCE_FOOTER,
    crm_row,
    csv_bytes,
    parse_fates,
    write,
    xlsx_bytes,
)

CE, AE = "carla@vendor.example", "aaron@vendor.example"
FOOTER = "report footer line"
TITLE = "report title line before the header"
SUMMARY = "report summary row"
BLANK = "blank line"
RECORD = ("record", "")


def crm(tmp_path: Path, name: str, data: bytes,
        mapping: dict[str, str] | None = None) -> tuple[Sheet, Parsed[CrmRecord]]:
    sheet = read_sheet(write(tmp_path, name, data))
    return sheet, parse_crm(sheet, mapping)


def eng(tmp_path: Path, name: str, data: bytes,
        mapping: dict[str, str] | None = None) -> tuple[Sheet, Parsed[EngineeringRecord]]:
    sheet = read_sheet(write(tmp_path, name, data))
    return sheet, parse_engineering(sheet, mapping)


def by_line(parsed: Parsed[CrmRecord]) -> dict[int, CrmRecord]:
    return {r.line: r for r in parsed.frame_records()}


# --- CRM report exports -----------------------------------------------------------------------

def test_salesforce_export_with_bom_every_row_has_its_fate(tmp_path: Path) -> None:
    rows = [
        CRM_HEADER,
        crm_row("Acme Corp", "0011", "https://www.acme.com", "Self-Hosted", "Ann", "Able",
                "Ann@Acme.com", "Yes"),                                            # 2
        crm_row("Acme Corp", "0011", "https://www.acme.com", "Self-Hosted", "Bob", "Brown",
                "bob@acme.com", ""),                                               # 3
        crm_row("Müller GmbH", "0012", "mueller.de", "Cloud", "Jörg", "Müller",
                "joerg@mueller.de", "x"),                                          # 4
        crm_row("Globex", "0013", "globex.com", "Cloud", "Gina", "", "gina(at)globex.com"),  # 5
        crm_row("Initech", "0014", "initech.com", "Hybrid", "Ian", "", "ian@initech.com"),  # 6
        crm_row("Umbrella", "0015", "", "Cloud", "Uma", "", "uma@umbrella.com",
                ce_email="carla at vendor"),                                       # 7
        crm_row("Hooli", "0016", "", "cloud", "Hal", "", "hal@hooli.com", ae_email="aaron@"),
        crm_row("", "", "nameless.com", "Cloud", "Nia", "", "nia@nameless.com"),   # 9
        crm_row("Stark Industries", "0017", "stark.com", "on-prem", "", "", "",
                ce="", ce_email="none", ae="", ae_email="n/a"),                   # 10
        *SALESFORCE_FOOTER,                                                        # 11-16
    ]
    sheet, parsed = crm(tmp_path, "report.csv", csv_bytes(rows, bom=True, quote_all=True))
    assert sheet.encoding == "utf-8-sig"
    assert parsed.layout is not None and parsed.layout.header_line == 1
    assert parsed.layout.headers[0] == "Account Name"  # the BOM is not part of the header
    assert parsed.layout.columns == {
        "account_name": 0, "crm_id": 1, "domain": 2, "deployment": 3, "first_name": 4,
        "last_name": 5, "email": 6, "incident_contact": 7, "ce_name": 8, "ce_email": 9,
        "ae_name": 10, "ae_email": 11}
    assert parse_fates(parsed) == {
        2: RECORD, 3: RECORD, 4: RECORD,
        5: ("rejected", "invalid email 'gina(at)globex.com'"),
        6: ("rejected", "unknown deployment type 'Hybrid' (self-hosted or cloud)"),
        7: ("rejected", "invalid CE email 'carla at vendor'"),
        8: ("rejected", "invalid AE email 'aaron@'"),
        9: ("rejected", "no account name or account id"),
        10: RECORD,
        11: ("ignored", BLANK), 12: ("ignored", FOOTER), 13: ("ignored", FOOTER),
        14: ("ignored", FOOTER), 15: ("ignored", FOOTER), 16: ("ignored", FOOTER),
    }
    assert parsed.read == 9
    records = by_line(parsed)
    assert records[2] == CrmRecord(
        line=2, crm_id="0011", account_name="Acme Corp", domain="acme.com",
        deployment=Deployment.SELF_HOSTED, contact_name="Ann Able", email="ann@acme.com",
        incident_contact=True, ce_name="Carla CE", ce_email=CE, ae_name="Aaron AE",
        ae_email=AE, impact=None)
    assert records[3].incident_contact is False
    assert (records[4].account_name, records[4].contact_name) == ("Müller GmbH", "Jörg Müller")
    assert records[4].deployment is Deployment.CLOUD
    # An explicit "none" / "n/a" for the CE or AE is not an invalid address.
    assert (records[10].ce_email, records[10].ae_email, records[10].email) == (None, None, None)
    assert records[10].deployment is Deployment.SELF_HOSTED
    rejected = {r.line: r.value for r in parsed.rejected}
    assert rejected[5].startswith("Globex, 0013, globex.com")


def test_utf8_without_bom(tmp_path: Path) -> None:
    data = csv_bytes([["Account Name", "Account ID", "Email"],
                      ["Société Générale", "0021", "contact@socgen.fr"],
                      ["Ørsted A/S", "0022", "ops@orsted.dk"]])
    assert not data.startswith(codecs.BOM_UTF8)
    sheet, parsed = crm(tmp_path, "plain.csv", data)
    assert sheet.encoding == "utf-8"
    assert [r.account_name for r in parsed.frame_records()] == ["Société Générale", "Ørsted A/S"]


def test_windows_1252_names_are_read_as_written(tmp_path: Path) -> None:
    rows = [["Account Name", "Account ID", "First Name", "Last Name", "Email"],
            ["Müller GmbH", "0031", "Jörg", "Müller", "joerg@mueller.de"],
            ["Société Générale", "0032", "Hélène", "D\u2019Aubigné", "helene@socgen.fr"],
            ["Café “Zürich” AG", "0033", "Zoë", "Straße", "zoe@cafe-zuerich.ch"]]
    data = csv_bytes(rows, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    sheet, parsed = crm(tmp_path, "export.csv", data)
    assert sheet.encoding == "windows-1252"
    assert [(r.line, r.account_name, r.contact_name) for r in parsed.frame_records()] == [
        (2, "Müller GmbH", "Jörg Müller"),
        (3, "Société Générale", "Hélène D\u2019Aubigné"),
        (4, "Café “Zürich” AG", "Zoë Straße")]
    assert parsed.rejected == [] and parsed.ignored == []


def test_latin1_bytes_windows_1252_cannot_decode_fall_back_to_latin1() -> None:
    raw = "Account Name,Email\nFjörd\x81 AS,x@fjord.no\n".encode("latin-1")
    text, encoding = decode(raw)
    assert encoding == "latin-1"
    assert "Fjörd\x81 AS" in text


def test_utf16_tab_separated_unicode_text_from_excel(tmp_path: Path) -> None:
    data = csv_bytes([["Account Name", "Account ID", "Email"],
                      ["Müller GmbH", "0041", "info@mueller.de"]],
                     encoding="utf-16", delimiter="\t")
    sheet, parsed = crm(tmp_path, "unicode.txt", data)
    assert sheet.encoding == "utf-16"
    assert [(r.line, r.account_name, r.email) for r in parsed.frame_records()] == [
        (2, "Müller GmbH", "info@mueller.de")]


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_quoted_commas_and_newlines_keep_the_line_a_record_starts_on(
        tmp_path: Path, newline: str) -> None:
    rows = [["Account Name", "Account ID", "Email", "Customer Engineer", "Email"],
            ["Acme, Inc.", "0051", "ann@acme.com", "Carla\nCE", CE],               # lines 2-3
            ["Globex", "0052", "gina@globex.com", "Multi\r\nline\nname", CE],      # lines 4-6
            ['Initech "The Best", LLC\nSuite 5', "0053", "ian@initech.com", "", ""],  # 7-8
            ["Hooli", "0054", "hal@hooli.com", "Hal CE", CE]]                       # 9
    sheet, parsed = crm(tmp_path, "quoted.csv", csv_bytes(rows, newline=newline))
    assert [line for line, _ in sheet.rows] == [1, 2, 4, 7, 9]
    assert parse_fates(parsed) == {2: RECORD, 4: RECORD, 7: RECORD, 9: RECORD}
    records = by_line(parsed)
    assert records[2].account_name == "Acme, Inc."
    assert records[2].ce_name == "Carla CE"  # names go into greetings: one line
    assert records[4].ce_name == "Multi line name"
    assert records[7].account_name == 'Initech "The Best", LLC Suite 5'
    assert records[9].ce_email == CE


def test_rejected_lines_inside_quoted_multiline_rows_are_where_the_record_starts(
        tmp_path: Path) -> None:
    rows = [["Account Name", "Account ID", "Email"],
            ["Acme\nHoldings", "0061", "ann@acme.com"],        # 2-3
            ["Globex\n\nEurope", "0062", "not an email"],      # 4-6, rejected at 4
            ["Initech", "0063", "ian@initech.com"]]            # 7
    _, parsed = crm(tmp_path, "q.csv", csv_bytes(rows))
    assert parse_fates(parsed) == {
        2: RECORD, 4: ("rejected", "invalid email 'not an email'"), 7: RECORD}


def test_doubled_quotes_late_in_the_file_do_not_split_cells(tmp_path: Path) -> None:
    """The dialect is guessed from the first lines; a quote written as "" later still works."""
    rows = [["Account Name", "Account ID", "Email"]]
    rows += [[f"Account {i}", f"1{i:03}", f"ops{i}@account{i}.com"] for i in range(30)]
    rows += [['Acme "Intl", Inc.', "1999", "ops@acme-intl.com"]]        # line 32
    _, parsed = crm(tmp_path, "late.csv", csv_bytes(rows, quote_all=True))
    assert parsed.rejected == []
    last = by_line(parsed)[32]
    assert (last.account_name, last.crm_id, last.email) == (
        'Acme "Intl", Inc.', "1999", "ops@acme-intl.com")


def test_apostrophes_are_not_taken_for_quote_characters(tmp_path: Path) -> None:
    data = (b"Account Name,Account ID,Email\n"
            b"Lowe's,'0071',ops@lowes.com\n"
            b"\"Macy's, Inc.\",0072,ops@macys.com\n"
            b"O'Reilly 'Auto',0073,ops@oreilly.com\n")
    _, parsed = crm(tmp_path, "apostrophes.csv", data)
    assert parse_fates(parsed) == {2: RECORD, 3: RECORD, 4: RECORD}
    assert [(r.account_name, r.crm_id) for r in parsed.frame_records()] == [
        ("Lowe's", "'0071'"), ("Macy's, Inc.", "0072"), ("O'Reilly 'Auto'", "0073")]


def test_an_opening_quote_never_closed_does_not_swallow_the_rows_after_it(
        tmp_path: Path) -> None:
    data = (b"Account Name,Account ID,Email\n"
            b"Acme,0081,ann@acme.com\n"
            b"\"Globex,0082,gina@globex.com\n"          # a stray opening quote
            b"Initech,0083,ian@initech.com\n"
            b"Hooli,0084,hal@hooli.com\n")
    _, parsed = crm(tmp_path, "stray.csv", data)
    assert parse_fates(parsed) == {
        2: RECORD, 3: ("rejected", "unreadable CSV line (broken quoting)"),
        4: RECORD, 5: RECORD}
    assert [r.account_name for r in parsed.frame_records()] == ["Acme", "Initech", "Hooli"]


def test_a_stray_quote_closed_by_a_later_quoted_cell_swallows_nothing(tmp_path: Path) -> None:
    data = (b"Account Name,Account ID,Email\n"
            b"\"Globex,0091,gina@globex.com\n"          # opened here ...
            b"Initech,0092,ian@initech.com\n"
            b"\"Hooli, Inc.\",0093,hal@hooli.com\n"     # ... and 'closed' by this quote
            b"Stark,0094,tony@stark.com\n")
    _, parsed = crm(tmp_path, "stray2.csv", data)
    assert parse_fates(parsed) == {
        2: ("rejected", "unreadable CSV line (broken quoting)"),
        3: RECORD, 4: RECORD, 5: RECORD}
    assert [r.account_name for r in parsed.frame_records()] == ["Initech", "Hooli, Inc.", "Stark"]


def test_a_line_the_csv_module_cannot_read_is_rejected_and_reading_goes_on(
        tmp_path: Path) -> None:
    data = (b"Account Name,Account ID,Email\nAcme,0101,ann@acme.com\n"
            b"\"" + b"x" * 300 + b"\",0102,big@big.com\nGlobex,0103,gina@globex.com\n")
    old = csv.field_size_limit(100)
    try:
        _, parsed = crm(tmp_path, "big.csv", data)
    finally:
        csv.field_size_limit(old)
    assert parse_fates(parsed) == {
        2: RECORD, 3: ("rejected", "unreadable CSV line (broken quoting)"), 4: RECORD}


def test_report_title_lines_before_the_header_are_ignored(tmp_path: Path) -> None:
    rows = [["Accounts with Contacts"],
            ["Filtered By: Type equals Customer, Status equals Active"],
            [""],
            ["Account Name", "Account ID", "Email", "Deployment Type"],
            ["Acme", "0111", "ann@acme.com", "Cloud"],
            ["Globex", "0112", "gina@globex.com", "Server"]]
    _, parsed = crm(tmp_path, "titled.csv", csv_bytes(rows))
    assert parsed.layout is not None and parsed.layout.header_line == 4
    assert parse_fates(parsed) == {1: ("ignored", TITLE), 2: ("ignored", TITLE),
                                   3: ("ignored", TITLE), 5: RECORD, 6: RECORD}


def test_summary_rows_are_ignored_but_accounts_named_like_them_are_not(tmp_path: Path) -> None:
    rows = [["Account Name", "Account ID", "Email", "Deployment Type"],
            ["Total Wine & More", "0121", "ops@totalwine.com", "Cloud"],   # 2: a customer
            ["Count Basie Orchestra", "0122", "", ""],                    # 3: a customer
            ["Sum Labs", "0123", "ops@sumlabs.io", ""],                   # 4: a customer
            ["Subtotal", "", "", ""],                                     # 5
            ["Total", "3", "", ""],                                       # 6
            ["Grand Totals (123 records)", "", "", ""],                   # 7
            ["Count: 3", "", "", ""],                                     # 8
            ["Record Count", "3", "", ""]]                                # 9
    _, parsed = crm(tmp_path, "summary.csv", csv_bytes(rows))
    assert parse_fates(parsed) == {
        2: RECORD, 3: RECORD, 4: RECORD, 5: ("ignored", SUMMARY), 6: ("ignored", SUMMARY),
        7: ("ignored", SUMMARY), 8: ("ignored", SUMMARY), 9: ("ignored", SUMMARY)}
    assert [r.account_name for r in parsed.frame_records()] == [
        "Total Wine & More", "Count Basie Orchestra", "Sum Labs"]


def test_footer_lines_are_ignored_but_accounts_named_like_them_are_not(tmp_path: Path) -> None:
    rows = [["Account Name", "Account ID", "Email"],
            ["Salesforce", "0131", ""],                        # 2: a customer called Salesforce
            ["Confidentiality Partners", "0132", ""],          # 3
            [""],                                              # 4
            ["Confidential Information - Do Not Distribute"],  # 5
            ["Copyright © 2026 Acme Software"],                # 6
            ["© 2026 Acme Software"],                          # 7
            ["Generated By: Jane Doe 11/28/2026"]]             # 8
    _, parsed = crm(tmp_path, "footer.csv", csv_bytes(rows))
    assert parse_fates(parsed) == {
        2: RECORD, 3: RECORD, 4: ("ignored", BLANK), 5: ("ignored", FOOTER),
        6: ("ignored", FOOTER), 7: ("ignored", FOOTER), 8: ("ignored", FOOTER)}


def test_repeated_header_line_in_concatenated_exports_is_ignored(tmp_path: Path) -> None:
    header = ["Account Name", "Account ID", "Email"]
    rows = [header, ["Acme", "0141", "ann@acme.com"], header, ["Globex", "0142", "g@globex.com"]]
    _, parsed = crm(tmp_path, "twice.csv", csv_bytes(rows))
    assert parse_fates(parsed) == {2: RECORD, 3: ("ignored", "repeated header line"), 4: RECORD}


def test_three_email_headers_belong_to_contact_ce_and_ae(tmp_path: Path) -> None:
    rows = [["Account Name", "First Name", "Email", "Customer Engineer", "Email",
             "Account Owner", "Email"],
            ["Acme", "Ann", "ann@acme.com", "Carla CE", CE, "Aaron AE", AE]]
    _, parsed = crm(tmp_path, "emails.csv", csv_bytes(rows))
    assert parsed.layout is not None
    assert parsed.layout.columns == {"account_name": 0, "first_name": 1, "email": 2,
                                     "ce_name": 3, "ce_email": 4, "ae_name": 5, "ae_email": 6}
    (r,) = parsed.frame_records()
    assert (r.email, r.ce_email, r.ae_email) == ("ann@acme.com", CE, AE)


def test_duplicated_email_headers_resolve_whatever_the_column_order(tmp_path: Path) -> None:
    """The CE and AE columns before the contact's: their emails must not become the contact's."""
    rows = [["Account Name", "Customer Engineer", "Email", "Account Owner", "Email",
             "First Name", "Email"],
            ["Acme", "Carla CE", CE, "Aaron AE", AE, "Ann", "ann@acme.com"]]
    _, parsed = crm(tmp_path, "order.csv", csv_bytes(rows))
    (r,) = parsed.frame_records()
    assert (r.email, r.ce_email, r.ae_email) == ("ann@acme.com", CE, AE)


def test_one_email_column_after_a_person_column_is_the_contacts() -> None:
    columns = resolve_columns(["Account Name", "Customer Engineer", "Email"], CRM_ALIASES)
    assert columns == {"account_name": 0, "ce_name": 1, "email": 2}


def test_semicolon_delimited_export_keeps_commas_inside_cells(tmp_path: Path) -> None:
    rows = [["Account Name", "Account ID", "Email", "Deployment Type"],
            ["Société Générale, Paris", "0151", "contact@socgen.fr", "Cloud"],
            ["Müller GmbH", "0152", "info@mueller.de", "Self-Hosted"],
            ["Dupont, Durand & Cie", "0153", "info@dupont.fr", "Cloud"]]
    sheet, parsed = crm(tmp_path, "excel-de.csv",
                        csv_bytes(rows, encoding="cp1252", delimiter=";"))
    assert sheet.encoding == "windows-1252"
    assert sheet.rows[1] == (2, ["Société Générale, Paris", "0151", "contact@socgen.fr",
                                 "Cloud"])
    assert [(r.line, r.account_name) for r in parsed.frame_records()] == [
        (2, "Société Générale, Paris"), (3, "Müller GmbH"), (4, "Dupont, Durand & Cie")]


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_title_and_footer_lines_do_not_hide_the_delimiter(
        tmp_path: Path, delimiter: str) -> None:
    """A short report: the title and footer lines outnumber the data lines."""
    rows = [["Accounts with Contacts"],                                             # 1
            ["Filtered By: Type equals Customer, Status equals Active"],            # 2
            ["Account Name", "Account ID", "Email", "Deployment Type"],             # 3
            ["Société Générale, Paris", "0201", "contact@socgen.fr", "Cloud"],      # 4
            *SALESFORCE_FOOTER]                                                     # 5-10
    sheet, parsed = crm(tmp_path, "short.csv",
                        csv_bytes(rows, encoding="cp1252", delimiter=delimiter))
    assert sheet.rows[3] == (4, ["Société Générale, Paris", "0201", "contact@socgen.fr",
                                 "Cloud"])
    assert parse_fates(parsed) == {
        1: ("ignored", TITLE), 2: ("ignored", TITLE), 4: RECORD, 5: ("ignored", BLANK),
        **{line: ("ignored", FOOTER) for line in range(6, 11)}}


def test_xlsx_report_with_title_rows_numbers_blank_rows_and_footer(tmp_path: Path) -> None:
    rows = [["Accounts with Contacts"],                                          # 1
            ["As of 11/28/2026"],                                                # 2
            [],                                                                  # 3
            ["Account Name", "Account ID", "Email", "Deployment Type",
             "Customer Engineer", "Email"],                                      # 4
            ["Müller GmbH", 100201, "info@mueller.de", "Cloud", "Carla CE", CE],  # 5
            ["Acme", "0161", "bad@", "Cloud", "Carla CE", CE],                   # 6
            [],                                                                  # 7
            ["Globex", "0162", "gina@globex.com", "Server", "", ""],             # 8
            ["Grand Totals (3 records)"],                                        # 9
            [],                                                                  # 10
            ["Confidential Information - Do Not Distribute"]]                    # 11
    sheet, parsed = crm(tmp_path, "report.xlsx", xlsx_bytes(rows))
    assert sheet.encoding == "xlsx"
    assert parsed.layout is not None and parsed.layout.header_line == 4
    assert parse_fates(parsed) == {
        1: ("ignored", TITLE), 2: ("ignored", TITLE), 3: ("ignored", TITLE),
        5: RECORD, 6: ("rejected", "invalid email 'bad@'"), 7: ("ignored", BLANK),
        8: RECORD, 9: ("ignored", SUMMARY), 10: ("ignored", BLANK), 11: ("ignored", FOOTER)}
    records = by_line(parsed)
    assert (records[5].crm_id, records[5].account_name, records[5].ce_email) == (
        "100201", "Müller GmbH", CE)
    assert records[8].deployment is Deployment.SELF_HOSTED


def test_xlsx_whose_used_range_is_written_wrong_is_read_whole(tmp_path: Path) -> None:
    """Some tools write <dimension ref="A1"/>: openpyxl's read-only mode would stop there."""
    data = xlsx_bytes([["Account Name", "Account ID", "Email"], ["Acme", "0211", "a@acme.com"],
                       [], ["Globex", "0212", "g@globex.com"]])
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                assert b'<dimension ref="A1:C4"/>' in content
                content = content.replace(b'<dimension ref="A1:C4"/>', b'<dimension ref="A1"/>')
            target.writestr(item, content)
    _, parsed = crm(tmp_path, "dimension.xlsx", out.getvalue())
    assert parse_fates(parsed) == {2: RECORD, 3: ("ignored", BLANK), 4: RECORD}
    assert [r.email for r in parsed.frame_records()] == ["a@acme.com", "g@globex.com"]


def test_xlsx_is_recognised_by_its_content_whatever_the_name(tmp_path: Path) -> None:
    data = xlsx_bytes([["Account Name", "Email"], ["Acme", "ann@acme.com"]])
    sheet, parsed = crm(tmp_path, "download.csv", data)
    assert sheet.encoding == "xlsx"
    assert [r.email for r in parsed.frame_records()] == ["ann@acme.com"]


def test_unknown_layout_is_rejected_line_by_line_without_a_mapping(tmp_path: Path) -> None:
    rows = [["Company Label", "Org Ref", "Work Mailbox", "Hosting Model"],
            ["Acme", "0171", "ann@acme.com", "Cloud"],
            [""],
            ["Globex", "0172", "gina@globex.com", "On-Prem"]]
    _, parsed = crm(tmp_path, "custom.csv", csv_bytes(rows))
    reason = "no header row naming Account Name / Account ID / Email"
    assert parse_fates(parsed) == {1: ("rejected", reason), 2: ("rejected", reason),
                                   3: ("ignored", BLANK), 4: ("rejected", reason)}
    assert parsed.layout is None and parsed.read == 3


def test_a_mapping_names_the_columns_of_an_unknown_layout(tmp_path: Path) -> None:
    rows = [["Company Label", "Org Ref", "Work Mailbox", "Hosting Model"],
            ["Acme", "0171", "ann@acme.com", "Cloud"],
            ["Globex", "0172", "gina@globex.com", "On-Prem"]]
    mapping = {"account_name": "Company Label", "crm_id": "Org Ref",
               "email": "work mailbox", "deployment": "HOSTING MODEL"}  # any case
    _, parsed = crm(tmp_path, "custom.csv", csv_bytes(rows), mapping)
    assert parse_fates(parsed) == {2: RECORD, 3: RECORD}
    assert [(r.crm_id, r.email, r.deployment) for r in parsed.frame_records()] == [
        ("0171", "ann@acme.com", Deployment.CLOUD),
        ("0172", "gina@globex.com", Deployment.SELF_HOSTED)]


def test_impacted_column_of_the_ce_sheet(tmp_path: Path) -> None:
    rows = [["Account ID", "Account Name", "Impacted (yes/no)"],
            ["0181", "Acme", "Yes"], ["0182", "Globex", "no"], ["0183", "Initech", ""],
            ["0184", "Hooli", "maybe"]]
    _, parsed = crm(tmp_path, "sheet.csv", csv_bytes(rows))
    assert parse_fates(parsed) == {
        2: RECORD, 3: RECORD, 4: RECORD,
        5: ("rejected", "impacted must be yes or no, not 'maybe'")}
    assert [r.impact for r in parsed.frame_records()] == [Impact.YES, Impact.NO, None]


def test_duplicate_rows_are_all_records_the_import_merges_them(tmp_path: Path) -> None:
    row = ["Acme", "0191", "ann@acme.com"]
    _, parsed = crm(tmp_path, "dupes.csv",
                    csv_bytes([["Account Name", "Account ID", "Email"], row, row]))
    assert parse_fates(parsed) == {2: RECORD, 3: RECORD}


# --- engineering lists -----------------------------------------------------------------------

def test_engineering_list_columns_by_header_name(tmp_path: Path) -> None:
    rows = [["User Email", "Account ID", "Customer Domain", "Instance URL"],
            ["Ann@Acme.com", "", "", ""],                                          # 2
            ["", "0011", "", ""],                                                  # 3
            ["", "", "https://www.globex.com", ""],                                # 4
            ["", "", "", "https://sourcegraph.initech.com/search?q=x"],            # 5
            ["ian(at)initech.com", "", "", ""],                                    # 6
            ["broken@", "0012", "", ""],                                           # 7
            ["", "", "", ""],                                                      # 8
            ["", "", "not a domain", "localhost"],                                 # 9
            ["hal@hooli.com", "", "hooli.com", "hooli.example.net"]]               # 10
    _, parsed = eng(tmp_path, "affected.csv", csv_bytes(rows))
    assert parsed.layout is not None and parsed.layout.columns == {
        "email": 0, "crm_id": 1, "domain": 2, "instance_url": 3}
    assert parse_fates(parsed) == {
        2: RECORD, 3: RECORD, 4: RECORD, 5: RECORD,
        6: ("rejected", "invalid email 'ian(at)initech.com'"),
        7: RECORD,  # the email is bad but the account id still identifies the account
        8: ("ignored", BLANK),
        9: ("rejected", "no email, account id, domain or instance URL"),
        10: RECORD}
    records = {r.line: r for r in parsed.frame_records()}
    assert records[2] == EngineeringRecord(2, "Ann@Acme.com", "ann@acme.com", None, None, None)
    assert records[3] == EngineeringRecord(3, "0011", None, "0011", None, None)
    assert records[4].domains == ["globex.com"]
    assert records[5].domains == ["sourcegraph.initech.com"]
    assert (records[7].email, records[7].crm_id, records[7].value) == (None, "0012", "broken@")
    assert records[10].domains == ["hooli.com", "hooli.example.net"]
    assert {r.line: r.value for r in parsed.rejected} == {
        6: "ian(at)initech.com", 9: "not a domain, localhost"}


def test_bare_list_of_emails_without_a_header(tmp_path: Path) -> None:
    data = (b"ann@acme.com\r\n"
            b"Bob@Globex.com\r\n"
            b"\r\n"
            b"bob(at)globex.com\r\n"
            b"<ian@initech.com>\r\n")
    _, parsed = eng(tmp_path, "emails.txt", data)
    assert parsed.layout is not None and parsed.layout.header_line == 0
    assert parse_fates(parsed) == {
        1: RECORD, 2: RECORD, 3: ("ignored", BLANK),
        4: ("rejected", "invalid email 'bob(at)globex.com'"), 5: RECORD}
    assert [r.email for r in parsed.frame_records()] == [
        "ann@acme.com", "bob@globex.com", "ian@initech.com"]


def test_single_column_list_with_a_blank_line_in_the_middle_loses_nothing(
        tmp_path: Path) -> None:
    """A blank line between two batches of ids or domains is not the start of a footer."""
    data = b"domain\nacme.com\n\nglobex.com\nsalesforce.com\nconfidential.io\n"
    _, parsed = eng(tmp_path, "domains.csv", data)
    assert parse_fates(parsed) == {2: RECORD, 3: ("ignored", BLANK), 4: RECORD, 5: RECORD,
                                   6: RECORD}
    ids = b"Account ID\n0011\n\n0012\n0013\n"
    _, parsed = eng(tmp_path, "ids.csv", ids)
    assert parse_fates(parsed) == {2: RECORD, 3: ("ignored", BLANK), 4: RECORD, 5: RECORD}


def test_engineering_xlsx_with_instance_hosts(tmp_path: Path) -> None:
    rows = [["Hostname", "Mail"], ["sourcegraph.acme.com", ""], ["", "ann@globex.com"]]
    _, parsed = eng(tmp_path, "hosts.xlsx", xlsx_bytes(rows))
    assert parse_fates(parsed) == {2: RECORD, 3: RECORD}
    assert [(r.domains, r.email) for r in parsed.frame_records()] == [
        (["sourcegraph.acme.com"], None), ([], "ann@globex.com")]


def test_engineering_file_with_nothing_recognisable_is_rejected_line_by_line(
        tmp_path: Path) -> None:
    _, parsed = eng(tmp_path, "junk.csv", b"foo,bar\n1,2\n\n3,4\n")
    reason = "no header row naming email / account id / domain / instance URL"
    assert parse_fates(parsed) == {1: ("rejected", reason), 2: ("rejected", reason),
                                   3: ("ignored", BLANK), 4: ("rejected", reason)}


def test_engineering_mapping(tmp_path: Path) -> None:
    rows = [["Tenant", "Owner Mailbox"], ["acme.com", "ann@acme.com"]]
    _, parsed = eng(tmp_path, "tenants.csv", csv_bytes(rows),
                    {"domain": "Tenant", "email": "Owner Mailbox"})
    assert [(r.domains, r.email) for r in parsed.frame_records()] == [
        (["acme.com"], "ann@acme.com")]


# --- files that are not customer lists ---------------------------------------------------------

def test_empty_file_has_no_rows(tmp_path: Path) -> None:
    sheet, parsed = crm(tmp_path, "empty.csv", b"")
    assert sheet.rows == []
    assert parsed.read == 0 and parsed.ignored == []
    _, eparsed = eng(tmp_path, "empty2.csv", b"")
    assert eparsed.read == 0


def test_binary_file_is_rejected_line_by_line_not_crashed_on(tmp_path: Path) -> None:
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06"
           b"\x00\x00\x00\x1f\xf3\xffa\x00\x00\x00\x04gAMA\x00\x00\xb1\x8f\x0b\xfca\x05")
    sheet, parsed = crm(tmp_path, "logo.csv", png)
    lines = {line for line, _ in sheet.rows}
    assert set(parse_fates(parsed)) == lines
    assert parsed.frame_records() == []


def test_truncated_xlsx_is_a_clear_error(tmp_path: Path) -> None:
    data = xlsx_bytes([["Account Name", "Email"], ["Acme", "ann@acme.com"]])
    with pytest.raises(InvalidInput, match=r"^broken\.xlsx: not a readable XLSX workbook"):
        read_sheet(write(tmp_path, "broken.xlsx", data[: len(data) // 2]))


def test_xlsx_with_broken_xml_inside_is_a_clear_error(tmp_path: Path) -> None:
    good = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["Account Name", "Email"],
                                                  ["Acme", "ann@acme.com"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as bad:
        for item in good.infolist():
            content = good.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                content = content[: len(content) // 2]
            bad.writestr(item, content)
    with pytest.raises(InvalidInput, match=r"^bad\.xlsx: not a readable XLSX workbook"):
        read_sheet(write(tmp_path, "bad.xlsx", out.getvalue()))


def test_csv_named_xlsx_and_non_workbook_zip_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a readable XLSX workbook"):
        read_sheet(write(tmp_path, "list.xlsx", b"Account Name,Email\nAcme,ann@acme.com\n"))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(InvalidInput, match="not a readable XLSX workbook"):
        read_sheet(write(tmp_path, "archive.xlsx", archive.getvalue()))
