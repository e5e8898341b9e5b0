"""The bench's generated CRM report and engineering list (smaller), read both ways.

The files have what the large ones have: a BOM, QUOTE_ALL cells with commas, a report footer
after a blank line, mixed-case and unusable addresses, repeated lines, instance URLs. The
columnar lane must take them, and give exactly the rows, records, rejections and ignored lines
of the row-by-row reader."""

from __future__ import annotations

from pathlib import Path

from bench.contacts import generate

from herald.channels.importers.records import parse_crm, parse_engineering
from herald.channels.importers.tabular import read_sheet
from tests.unit.test_importers_property import outcome


def test_the_bench_files_read_the_same_both_ways(tmp_path: Path) -> None:
    crm, eng = generate(accounts=400, per_account=3, eng_rows=6000, seed=7, folder=tmp_path)
    for path, parse in ((crm, parse_crm), (eng, parse_engineering)):
        fast, slow = read_sheet(path), read_sheet(path, fast=False)
        assert fast.table is not None and slow.table is None
        assert fast.rows == slow.rows
        parsed = parse(fast)
        assert outcome(parsed) == outcome(parse(slow))
        assert parsed.frame is not None and parsed.frame.height > 0
    assert [i.reason for i in parse_crm(read_sheet(crm)).ignored][:2] == [
        "blank line", "report footer line"]
