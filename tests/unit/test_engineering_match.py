"""The engineering list's column-by-column matching against the row-by-row loop it replaced.

`reference_plan` is that loop, kept here as the oracle: for random accounts, addresses, domains,
marks and rows, both give the same marks, the same merged lines (and reasons) and the same
unmatched lines, in the same order."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from herald.channels.importers.records import ENGINEERING_COLUMNS, EngineeringRecord
from herald.services.contact_import import (
    MERGED_LINES_LISTED,
    _plan_engineering,
)
from tests.known import Known

DOMAINS = ["acme.com", "eu.acme.com", "globex.io", "initech.co.uk", "co.uk", "hooli.com",
           "x..y", ".y", "a.b.c.d"]
HOSTS = [*DOMAINS, "sg.eu.acme.com", "mail.globex.io", "unknown.example", "www.hooli.com",
         "deep.sub.initech.co.uk", "b.c.d", "c.d", "nodot"]
IDS = ["0011", "0012", "0013", "0099"]
EMAILS = ["ann@acme.com", "bob@eu.acme.com", "cy@globex.io", "di@initech.co.uk",
          "ed@sub.hooli.com", "fay@unknown.example", "gus@co.uk", "hal@nodot"]


def _by_domain(host: str, domains: dict[str, int]) -> int | None:
    """The account of a host: the host itself, then each parent domain."""
    while "." in host:
        if (found := domains.get(host)) is not None:
            return found
        host = host.partition(".")[2]
    return None


def reference_plan(records: list[EngineeringRecord], st_: Known) -> tuple[Any, ...]:
    """The row-by-row matching Herald did before the columnar lane (the oracle)."""
    marks: dict[str, str] = {}
    merged: list[tuple[int, str, str]] = []
    unmatched: list[tuple[int, str]] = []
    first_line: dict[int, int] = {}
    for r in records:
        account_id = st_.by_key.get(f"id:{r.crm_id}") if r.crm_id else None
        if account_id is None and r.email:
            account_id = st_.by_email.get(r.email)
            if account_id is None:
                account_id = _by_domain(r.email.rpartition("@")[2].lower(), st_.domains)
        if account_id is None:
            for domain in r.domains:
                if (account_id := _by_domain(domain, st_.domains)) is not None:
                    break
        if account_id is None:
            unmatched.append((r.line, r.value))
            continue
        first = first_line.get(account_id)
        if first is not None:
            merged.append((r.line, f"same account as line {first}", r.value))
            continue
        first_line[account_id] = r.line
        if st_.marks.get(account_id) == "yes":
            merged.append((r.line, "account already marked impacted", r.value))
            continue
        marks[f"#{account_id}"] = "yes"
    return marks, len(marks), merged[:MERGED_LINES_LISTED], len(merged), unmatched


RECORD = st.builds(
    lambda email, crm_id, domain, host: (email, crm_id, domain, host),
    st.one_of(st.none(), st.sampled_from(EMAILS)), st.one_of(st.none(), st.sampled_from(IDS)),
    st.one_of(st.none(), st.sampled_from(DOMAINS)), st.one_of(st.none(), st.sampled_from(HOSTS)))


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(RECORD, max_size=40),
       ids=st.dictionaries(st.sampled_from(IDS), st.integers(1, 6)),
       emails=st.dictionaries(st.sampled_from(EMAILS), st.integers(1, 6)),
       domains=st.dictionaries(st.sampled_from(DOMAINS), st.integers(1, 6)),
       marks=st.dictionaries(st.integers(1, 6), st.sampled_from(["yes", "no", "unknown"])))
def test_columnar_matching_equals_the_row_by_row_loop(
        rows: list[tuple[str | None, ...]], ids: dict[str, int], emails: dict[str, int],
        domains: dict[str, int], marks: dict[int, str]) -> None:
    records = [EngineeringRecord(line, email or crm_id or domain or host or "", email, crm_id,
                                 domain, host)
               for line, (email, crm_id, domain, host) in enumerate(rows, start=2)]
    state = Known({f"id:{k}": v for k, v in ids.items()}, {}, domains, {}, emails, marks)
    frame = pl.DataFrame([tuple(getattr(r, k) for k in ENGINEERING_COLUMNS) for r in records],
                         schema=ENGINEERING_COLUMNS, orient="row")
    plan = _plan_engineering(frame, state.state())
    assert plan.marks["fresh"].to_list() == [a not in marks for a in plan.marks["account_id"]]
    got = ({f"#{a}": impact for a, _, impact, _ in plan.marks.iter_rows()}, plan.imported,
           [(m.line, m.reason, m.value) for m in plan.merged], plan.merged_count,
           plan.unmatched.rows())
    assert got == reference_plan(records, state)
