"""Turn a CSV or XLSX file into rows of strings with their line numbers, whatever the encoding."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from herald.channels.importers.columnar import read_table, rows_of
from herald.errors import InvalidInput

csv.field_size_limit(10_000_000)  # long quoted notes in CRM exports exceed the 128 KiB default

XLSX_MAGIC = b"PK\x03\x04"


class Sheet:
    """A file's rows: (line number, cells). Line numbers are those a spreadsheet would show.

    A CSV whose every line is one record is also kept as a table (see `columnar`): its rows
    are then made into Python lists only when asked for."""

    def __init__(self, name: str, encoding: str,
                 rows: list[tuple[int, list[str] | None]] | None = None,
                 table: pl.DataFrame | None = None) -> None:
        self.name, self.encoding, self.table = name, encoding, table
        self._rows = rows  # cells None: a line that could not be parsed

    @property
    def rows(self) -> list[tuple[int, list[str] | None]]:
        """Every row; a table's rows are made on first use."""
        if self._rows is None:
            self._rows = list(rows_of(self.table)) if self.table is not None else []
        return self._rows

    def head(self, count: int = 25) -> list[tuple[int, list[str] | None]]:
        """The first rows (where a header is looked for)."""
        if self._rows is None and self.table is not None:
            return list(rows_of(self.table.head(count)))
        return self.rows[:count]


def read_sheet(path: Path, data: bytes | None = None, *, fast: bool = True) -> Sheet:
    """Read a CSV (UTF-8 with or without BOM, UTF-16, Windows-1252/Latin-1) or an XLSX file.
    `fast=False` reads a CSV row by row even where the columnar lane could read it."""
    raw = path.read_bytes() if data is None else data
    if raw.startswith(XLSX_MAGIC) or path.suffix.lower() in {".xlsx", ".xlsm"}:
        return _read_xlsx(path.name, raw)
    if fast and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # A UTF-8 file is read by the columnar lane from its own bytes, never decoded whole:
        # the delimiter is guessed from its first lines (all `_dialect` looks at).
        # (Polars skips a UTF-8 BOM itself.)
        start = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
        sample = raw[start:start + 80_000].decode("utf-8", errors="ignore")
        table = read_table(raw, _dialect(sample).delimiter) if len(raw) > start else None
        if table is not None:
            return Sheet(path.name, "utf-8-sig" if start else "utf-8", table=table)
    text, encoding = decode(raw)
    del raw
    dialect = _dialect(text.replace("\x00", "") if "\x00" in text else text)
    # A UTF-8 file the lane above did not take is read row by row; other encodings get the
    # columnar lane here, on their text as UTF-8.
    table = (read_table(text.encode("utf-8"), dialect.delimiter)
             if fast and encoding not in ("utf-8", "utf-8-sig") else None)
    if table is not None:
        return Sheet(path.name, encoding, table=table)
    return Sheet(path.name, encoding, list(_csv_rows(text, dialect)))


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


def _dialect(text: str) -> type[csv.Dialect]:
    """The delimiter guessed from the first lines; quoting is always the one every CRM export
    and spreadsheet writes ("..." with "" inside). The sniffer's quoting guess only holds for
    the lines it saw: it may take apostrophes for quotes, or miss "" written further down."""
    sample = "\n".join(text[:20000].splitlines()[:20])
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter, skip_space = sniffed.delimiter, sniffed.skipinitialspace
    except csv.Error:
        # Title or footer lines in a short file make the sniffer give up: take the delimiter
        # that splits the most lines into the same number of cells (a comma when none does).
        delimiter, skip_space = max(",;\t|", key=lambda d: _regularity(sample, d)), False

    class Guessed(csv.excel):
        pass

    Guessed.delimiter, Guessed.skipinitialspace = delimiter, skip_space
    return Guessed


def _regularity(sample: str, delimiter: str) -> int:
    """How well a delimiter fits: lines cut into the commonest number of cells (>1), times
    the extra cells each has."""
    try:
        widths = Counter(len(cells) for cells in csv.reader(io.StringIO(sample),
                                                            delimiter=delimiter)
                         if len(cells) > 1)
    except csv.Error:
        return 0
    if not widths:
        return 0
    width, lines = widths.most_common(1)[0]
    return lines * (width - 1)


def _quote_broken(raw: str, dialect: type[csv.Dialect]) -> bool:
    """Whether a record spans lines only because a quote was never closed: it runs to the end
    of the file inside quotes, or its 'closing' quote is followed by more text (a stray quote
    paired with the opening quote of a cell further down)."""
    delimiter, skip_space = dialect.delimiter, dialect.skipinitialspace
    state = "start"  # of a field; "plain" (unquoted), "quoted", "quote" (a quote in quoted)
    for c in raw:
        if state == "quoted":
            if c == '"':
                state = "quote"
        elif state == "quote":
            if c == '"':
                state = "quoted"  # "" inside quotes
            elif c == delimiter or c in "\r\n":
                state = "start"
            elif not c.isspace():
                return True
        elif c == delimiter or c in "\r\n":
            state = "start"
        elif state == "start" and c == '"':
            state = "quoted"
        elif not (state == "start" and c == " " and skip_space):
            state = "plain"
    return state == "quoted"


def _csv_rows(text: str, dialect: type[csv.Dialect]) -> Iterator[tuple[int, list[str] | None]]:
    """Rows with the line each starts on; None for a line the csv module cannot read."""
    text = text.replace("\x00", "")  # NUL bytes make the csv module stop; they carry nothing
    lines = io.StringIO(text, newline="").readlines()  # the physical lines csv reads
    done = 0  # lines before this one have become rows
    while done < len(lines):
        reader = csv.reader(itertools.islice(lines, done, None), dialect)
        start = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                yield done + start, None
            else:
                end = reader.line_num
                if end > start and _quote_broken(
                        "".join(lines[done + start - 1:done + end]), dialect):
                    # The quote opened on this line swallowed the lines after it: refuse this
                    # line and read the others again as the rows they are.
                    yield done + start, None
                    done += start
                    break
                yield done + start, list(map(str.strip, cells))
            start = reader.line_num + 1


def _read_xlsx(name: str, raw: bytes) -> Sheet:
    from openpyxl import load_workbook

    rows: list[tuple[int, list[str] | None]] = []
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            sheet.reset_dimensions()  # some tools write a wrong used range ("A1"): read it all
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                rows.append((number, ["" if v is None else str(v).strip() for v in values]))
        finally:
            book.close()
    except Exception as exc:  # a damaged workbook can fail anywhere inside openpyxl
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InvalidInput(f"{name}: not a readable XLSX workbook ({detail})") from None
    return Sheet(name, "xlsx", rows)
