"""Turn a CSV or XLSX file into rows of strings with their line numbers, whatever the encoding."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from herald.errors import InvalidInput

csv.field_size_limit(10_000_000)  # long quoted notes in CRM exports exceed the 128 KiB default

XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class Sheet:
    """A file's rows: (line number, cells). Line numbers are those a spreadsheet would show."""

    name: str
    encoding: str
    rows: list[tuple[int, list[str] | None]]  # None: a line that could not be parsed


def read_sheet(path: Path, data: bytes | None = None) -> Sheet:
    """Read a CSV (UTF-8 with or without BOM, UTF-16, Windows-1252/Latin-1) or an XLSX file."""
    raw = path.read_bytes() if data is None else data
    if raw.startswith(XLSX_MAGIC) or path.suffix.lower() in {".xlsx", ".xlsm"}:
        return _read_xlsx(path.name, raw)
    text, encoding = decode(raw)
    return Sheet(path.name, encoding, list(_csv_rows(text)))


def decode(raw: bytes) -> tuple[str, str]:
    """Decode bytes the way CRM exports are written; says which encoding it used."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    sample = "\n".join(text[:20000].splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _csv_rows(text: str) -> Iterator[tuple[int, list[str] | None]]:
    """Rows with the line each starts on; None for a line the csv module cannot read."""
    text = text.replace("\x00", "")  # NUL bytes make the csv module stop; they carry nothing
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield start, None
        else:
            yield start, [c.strip() for c in cells]
        start = reader.line_num + 1


def _read_xlsx(name: str, raw: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InvalidInput(f"{name}: not a readable XLSX workbook ({exc})") from None
    sheet = book.worksheets[0]
    rows: list[tuple[int, list[str] | None]] = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        rows.append((number, ["" if v is None else str(v).strip() for v in values]))
    book.close()
    return Sheet(name, "xlsx", rows)
