"""Write the customer list as CSV or XLSX for people who work in spreadsheets."""

from __future__ import annotations

import csv
from pathlib import Path

from herald.domain.access import Viewer
from herald.errors import InvalidInput
from herald.exports import safe_cell
from herald.services.contacts import ContactRow, export_path_ok, list_contacts
from herald.services.context import Herald

COLUMNS = ["account_id", "account_name", "deployment", "impacted", "name", "email",
           "incident_contact", "recipient", "ce_name", "ce_email", "ae_name", "ae_email",
           "marked_by", "mark_source"]


def _value(row: ContactRow, column: str) -> str:
    value = getattr(row, column)
    if isinstance(value, bool) or value is None:
        value = {True: "yes", False: "no", None: ""}[value]
    return safe_cell(str(value))


def export_contacts(h: Herald, ref: str, path: Path, fmt: str, *,
                    viewer: Viewer | None = None) -> int:
    """Write the list to `path`; returns the number of rows written."""
    fmt = fmt.lower().strip()
    if fmt not in {"csv", "xlsx"}:
        raise InvalidInput("format must be csv or xlsx")
    rows = list_contacts(h, ref, viewer=viewer)
    export_path_ok(path)
    table = [[_value(r, c) for c in COLUMNS] for r in rows]
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8-sig") as f:  # BOM: Excel reads UTF-8
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows(table)
    else:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("contacts")
        sheet.append(COLUMNS)
        for line in table:
            sheet.append(line)
        book.save(path)
    return len(rows)
