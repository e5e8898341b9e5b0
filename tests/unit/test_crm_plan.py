"""A CRM report's column-by-column planning against the row-by-row walk it replaced.

`reference_plan` is that walk, kept here as the oracle: for random stored accounts, contacts,
domains and marks and random report rows (repeated accounts and addresses, blanks, changed
fields, answers), both plan the same writes, count the same imported rows and list the same
merged lines."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from herald.channels.importers.records import CRM_COLUMNS, CrmRecord, Parsed, _records_frame
from herald.domain.contacts import Deployment, Impact
from herald.services.contact_import import (
    _ACCOUNT_FIELDS,
    _NEW_ACCOUNT,
    MERGED_LINES_LISTED,
    RowIssue,
    _Plan,
    _plan_crm,
)
from tests.known import Known


def _account_values(r: CrmRecord) -> dict[str, Any]:
    return {"crm_id": r.crm_id, "name": r.account_name,
            "deployment": r.deployment.value if r.deployment else None,
            "ce_name": r.ce_name, "ce_email": r.ce_email, "ae_name": r.ae_name,
            "ae_email": r.ae_email}


def _merge(plan: _Plan, line: int, reason: str) -> None:
    """Count a merged line, and list it while the list is not full."""
    plan.merged_count += 1
    if len(plan.merged) < MERGED_LINES_LISTED:
        plan.merged.append(RowIssue(line=line, reason=reason))


def reference_plan(records: list[CrmRecord], st: Known) -> _Plan:
    """The row-by-row planning Herald did before the columnar lane (the oracle)."""
    plan = _Plan()
    plan.new_accounts, plan.new_contacts = {}, {}  # type: ignore[assignment]
    plan.new_domains, plan.marks = {}, {}  # type: ignore[assignment]
    seen_rows: dict[tuple[str, str | None], int] = {}
    new_accounts, account_updates = plan.new_accounts, plan.account_updates
    by_key, domains, new_domains = st.by_key, st.domains, plan.new_domains
    contacts, new_contacts, marks_now, marks = st.contacts, plan.new_contacts, st.marks, plan.marks
    with_blanks: set[str] = set()  # new accounts that later rows may still fill in
    unknown = Impact.UNKNOWN.value
    for r in records:
        key = f"id:{r.crm_id}" if r.crm_id else f"name:{r.account_name.lower()}"
        email = r.email
        changed = False
        first = seen_rows.get((key, email))
        if first is not None:
            _merge(plan, r.line, f"duplicate of line {first}")
            continue
        seen_rows[(key, email)] = r.line
        account_id = by_key.get(key)
        if account_id is None:
            pending = new_accounts.get(key)
            if pending is None:
                new_accounts[key] = values = _account_values(r)
                if not all(values.values()):
                    with_blanks.add(key)
                changed = True
            elif key in with_blanks:  # fill blanks from later rows of the same new account
                for k, v in _account_values(r).items():
                    if v and not pending.get(k):
                        pending[k] = v
        else:
            values = _account_values(r)
            current = st.accounts[account_id]
            updates = account_updates.get(account_id)
            diff = {k: values[k] for k in _ACCOUNT_FIELDS if values[k] and values[k] != (
                updates[k] if updates and k in updates else current.get(k))}
            if diff:
                account_updates.setdefault(account_id, {}).update(diff)
                changed = True
        domain = r.domain
        if domain and domain not in domains and domain not in new_domains:
            new_domains[domain] = key
            changed = True
        if email:
            existing = contacts.get((account_id, email)) if account_id else None
            if existing is None:
                new_contacts[(key, email)] = (r.contact_name, r.incident_contact)
                changed = True
            else:
                diff = {}
                if r.contact_name and r.contact_name != existing[1]:
                    diff["name"] = r.contact_name
                if r.incident_contact != existing[2]:
                    diff["incident_contact"] = r.incident_contact
                if diff:
                    plan.contact_updates[existing[0]] = diff
                    changed = True
        wanted = r.impact.value if r.impact else None
        current_mark = marks_now.get(account_id) if account_id else None
        if wanted is not None and wanted != current_mark:
            marks[key] = wanted
            changed = True
        elif current_mark is None and key not in marks:
            marks[key] = unknown  # on the list; the CE round decides
            changed = True
        if changed:
            plan.imported += 1
        else:
            _merge(plan, r.line, "already known, nothing new")
    return plan


IDS = [None, None, "0011", "0012", "0013"]
NAMES = ["Acme", "ACME", "Globex", "Initech", "Ørsted", "ØRSTED", "İstanbul Ltd"]
EMAILS = [None, "ann@acme.com", "bob@acme.com", "cy@globex.io", "di@initech.com"]
DOMAINS = [None, "acme.com", "globex.io", "initech.com"]
TEAM = ["", "Carla", "Dan"]
TEAM_EMAILS = [None, "carla@vendor.example", "dan@vendor.example"]

ROW = st.tuples(st.sampled_from(IDS), st.sampled_from(NAMES), st.sampled_from(DOMAINS),
                st.sampled_from([None, *Deployment]), st.sampled_from(["", "Ann", "Bob"]),
                st.sampled_from(EMAILS), st.booleans(), st.sampled_from(TEAM),
                st.sampled_from(TEAM_EMAILS), st.sampled_from(TEAM),
                st.sampled_from(TEAM_EMAILS), st.sampled_from([None, *Impact]))


def _state(accounts: list[tuple[Any, ...]], contacts: dict[tuple[int, str], tuple[str, bool]],
           domains: dict[str, int], marks: dict[int, str]) -> Known:
    stored = {}
    by_key: dict[str, int] = {}
    for i, (crm_id, name, deployment, ce, ce_email) in enumerate(accounts, start=1):
        stored[i] = {"id": i, "crm_id": crm_id, "name": name, "deployment": deployment,
                     "ce_name": ce, "ce_email": ce_email, "ae_name": "", "ae_email": None}
        by_key[f"id:{crm_id}" if crm_id else f"name:{name.lower()}"] = i
    known = {(a, e): (100 + n, name, flag)
             for n, ((a, e), (name, flag)) in enumerate(contacts.items()) if a in stored}
    return Known(by_key, stored, {d: a for d, a in domains.items() if a in stored}, known, {},
                 {a: m for a, m in marks.items() if a in stored})


def _seen(plan: _Plan, st: Known) -> tuple[Any, ...]:
    accounts, contacts, domains, marks = (plan.new_accounts, plan.new_contacts,
                                          plan.new_domains, plan.marks)
    if isinstance(accounts, pl.DataFrame):  # the columnar plan's frames, as the walk's dicts
        accounts = {row[0]: dict(zip(_NEW_ACCOUNT, row[1:], strict=True))
                    for row in accounts.iter_rows()}
        contacts = {(k, e): (n, f) for k, e, n, f in contacts.iter_rows()}
        domains = dict(domains.iter_rows())
        # each mark names its account as the walk does (by key), and its stored id if any
        assert all(a == st.by_key.get(k) for a, k, _, _ in marks.iter_rows())
        marks = {k: (impact, fresh) for _, k, impact, fresh in marks.iter_rows()}
    else:  # a mark is fresh when the incident has none for the account yet
        marks = {k: (impact, st.by_key.get(k) not in st.marks) for k, impact in marks.items()}
    return (list(accounts.items()), plan.account_updates, list(domains.items()),
            list(contacts.items()), plan.contact_updates, list(marks.items()), plan.imported,
            [(m.line, m.reason, m.value) for m in plan.merged], plan.merged_count)


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, max_size=25),
       accounts=st.lists(st.tuples(st.sampled_from(IDS), st.sampled_from(NAMES),
                                   st.sampled_from([None, "self-hosted", "cloud"]),
                                   st.sampled_from(TEAM), st.sampled_from(TEAM_EMAILS)),
                         max_size=4, unique_by=lambda a: a[0] or a[1].lower()),
       contacts=st.dictionaries(st.tuples(st.integers(1, 4), st.sampled_from(EMAILS[1:])),
                                st.tuples(st.sampled_from(["", "Ann", "Bob"]), st.booleans()),
                                max_size=6),
       domains=st.dictionaries(st.sampled_from(DOMAINS[1:]), st.integers(1, 4)),
       marks=st.dictionaries(st.integers(1, 4), st.sampled_from(list(Impact))))
def test_columnar_crm_plan_equals_the_row_by_row_walk(
        rows: list[tuple[Any, ...]], accounts: list[tuple[Any, ...]],
        contacts: dict[tuple[int, str], tuple[str, bool]], domains: dict[str, int],
        marks: dict[int, Impact]) -> None:
    records = [CrmRecord(line, *row) for line, row in enumerate(rows, start=2)]
    state = _state(accounts, contacts, domains, {a: m.value for a, m in marks.items()})
    frame = _records_frame(records, CRM_COLUMNS)
    assert Parsed(frame=frame).frame_records() == records
    assert _seen(_plan_crm(frame, state.state()), state) == _seen(
        reference_plan(records, state), state)
