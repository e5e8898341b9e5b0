"""Bulk reads and writes for imports, on SQLite and PostgreSQL: what they read and write is
what the ORM would, and driver errors come out as SQLAlchemy errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from herald.errors import Conflict
from herald.services.common import find_incident
from herald.services.contact_import import import_file
from herald.services.context import Herald
from herald.store import bulk
from herald.store.contact_models import AccountDomain, Contact, CustomerAccount, ImpactMark
from herald.store.models import Base
from tests.contact_files import CRM_HEADER, crm_row, csv_bytes, write
from tests.helpers import MESSENGER, new_incident


def test_plain_rows_read_what_the_orm_reads_with_parameters(h: Herald) -> None:
    with h.db.transaction() as s:
        ids = bulk.reserve_ids(s, CustomerAccount, 3)
        bulk.insert_rows(s, CustomerAccount, ("id", "crm_id", "name", "ce_name", "ae_name",
                                              "ce_none", "ae_none", "updated_at"),
                         [(i, f"00{i}", f"Account {i}", "", "", False, False, h.clock.now())
                          for i in ids])
        q = (select(CustomerAccount.id, CustomerAccount.name)
             .where(CustomerAccount.crm_id != f"00{ids[1]}").order_by(CustomerAccount.id))
        assert bulk.plain_rows(s, q) == [tuple(r) for r in s.execute(q)] == [
            (ids[0], f"Account {ids[0]}"), (ids[2], f"Account {ids[2]}")]


def test_plain_rows_report_driver_errors_as_sqlalchemy_errors(h: Herald) -> None:
    with h.db.sessions() as s, pytest.raises(DBAPIError, match="no_such_table"):
        bulk.plain_rows(s, text("SELECT * FROM no_such_table"))


# --- large writes: foreign keys to the accounts checked once, at the end (PostgreSQL) ---------

PG_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
LIST = {AccountDomain: 3, Contact: 3, ImpactMark: 3}  # rows the writes below insert per table


def _foreign_keys(conn: Connection | Session) -> list[tuple[Any, ...]]:
    """Every foreign key of the tables an import writes, as PostgreSQL defines it."""
    return [tuple(r) for r in conn.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated, "
        "condeferrable, condeferred, confupdtype, confdeltype, confmatchtype FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid IN ('account_domains'::regclass, "
        "'contacts'::regclass, 'impact_marks'::regclass) ORDER BY conname"))]


def _write_list(h: Herald, s: Session, incident_id: int, *, missing_account: bool = False,
                ) -> None:
    """Three accounts with a domain, a contact and a mark each (one contact of an account that
    does not exist, on request), written the way an import writes them."""
    now = h.clock.now()
    ids = bulk.reserve_ids(s, CustomerAccount, 3)
    bulk.insert_rows(s, CustomerAccount, ("id", "crm_id", "name", "ce_name", "ae_name",
                                          "ce_none", "ae_none", "updated_at"),
                     [(i, f"00{i}", f"Account {i}", "", "", False, False, now) for i in ids])
    bulk.insert_rows(s, AccountDomain, ("domain", "account_id"),
                     [(f"a{i}.example", i) for i in ids])
    owners = [*ids[:2], ids[2] + 1000 if missing_account else ids[2]]
    bulk.insert_rows(s, Contact, ("account_id", "email", "name", "incident_contact"),
                     [(i, f"ann@a{i}.example", "Ann", False) for i in owners])
    bulk.insert_rows(s, ImpactMark, ("incident_id", "account_id", "impact", "by", "at",
                                     "source"),
                     [(incident_id, i, "unknown", MESSENGER, now, "test") for i in ids])


def _incident_id(h: Herald) -> int:
    ref = new_incident(h)
    with h.db.sessions() as s:
        return find_incident(s, ref).id


def _list_counts(h: Herald) -> list[int]:
    with h.db.sessions() as s:
        return [s.scalar(select(func.count()).select_from(m)) or 0
                for m in (CustomerAccount, AccountDomain, Contact, ImpactMark)]


@PG_ONLY
def test_a_large_write_checks_account_keys_at_the_end_and_puts_them_back_identical(
        h: Herald) -> None:
    incident_id = _incident_id(h)
    with h.db.sessions() as s:
        before = _foreign_keys(s)
    assert {r[1] for r in before} == {
        "fk_account_domains_account_id_customer_accounts",
        "fk_contacts_account_id_customer_accounts",
        "fk_impact_marks_account_id_customer_accounts", "fk_impact_marks_incident_id_incidents"}
    with h.db.transaction() as s:
        with bulk.large_writes(s, LIST, references=CustomerAccount, threshold=3):
            # during the write only the key to the incidents is there (it is never dropped),
            # and only the drops waited at most the short lock timeout
            assert [r[1] for r in _foreign_keys(s)] == ["fk_impact_marks_incident_id_incidents"]
            assert s.scalar(text("SHOW lock_timeout")) == "0"
            _write_list(h, s, incident_id)
        assert _foreign_keys(s) == before
    with h.db.sessions() as s:
        assert _foreign_keys(s) == before
    assert _list_counts(h) == [3, 3, 3, 3]
    with h.db.engine.connect() as conn:  # still exactly what the migrations make
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_a_row_of_a_missing_account_fails_the_whole_large_write(h: Herald) -> None:
    incident_id = _incident_id(h)
    pg = h.db.dialect == "postgresql"
    with h.db.sessions() as s:
        before = _foreign_keys(s) if pg else []
    with pytest.raises(Conflict, match=r"(?i)foreign key"), h.db.transaction() as s, \
            bulk.large_writes(s, LIST, references=CustomerAccount, threshold=3):
        _write_list(h, s, incident_id, missing_account=True)
    assert _list_counts(h) == [0, 0, 0, 0]
    if pg:
        with h.db.sessions() as s:
            assert _foreign_keys(s) == before


@PG_ONLY
def test_a_failed_large_write_puts_the_keys_back_even_if_the_caller_carries_on(
        h: Herald) -> None:
    incident_id = _incident_id(h)
    with h.db.sessions() as s:
        before = _foreign_keys(s)
    with h.db.transaction() as s:
        with pytest.raises(RuntimeError), bulk.large_writes(
                s, LIST, references=CustomerAccount, threshold=3):
            _write_list(h, s, incident_id)
            raise RuntimeError("the caller's own failure")
        # the block's rows went with the dropped keys: nothing unchecked can be committed
        assert _foreign_keys(s) == before
        assert s.scalar(select(func.count()).select_from(Contact)) == 0
    assert _list_counts(h) == [0, 0, 0, 0]


def test_small_writes_keep_the_per_row_checks(h: Herald) -> None:
    incident_id = _incident_id(h)
    statements = _statements(h)
    with h.db.transaction() as s, bulk.large_writes(s, LIST, references=CustomerAccount):
        _write_list(h, s, incident_id)  # 3 rows a table: far below the threshold
    assert [x for x in statements if "CONSTRAINT" in x] == []
    assert _list_counts(h) == [3, 3, 3, 3]


def _statements(h: Herald) -> list[str]:
    """The SQL the database is sent from here on."""
    sent: list[str] = []

    @event.listens_for(h.db.engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    return sent


def _crm_file(tmp_path: Path) -> Path:
    return write(tmp_path, "accounts.csv", csv_bytes([CRM_HEADER, *(
        crm_row(f"Account {i}", f"00{i}", f"a{i}.example", "Cloud", "Ann", "Able",
                f"ann@a{i}.example") for i in range(1, 6))]))


def test_an_import_large_enough_checks_account_keys_at_the_end(
        h: Herald, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "KEYS_CHECKED_AT_END_FROM", 5)  # the five rows of each table
    ref = new_incident(h)
    statements = _statements(h)
    report = import_file(h, ref, _crm_file(tmp_path), source="crm", actor=MESSENGER)
    assert (report.accounts_created, report.contacts_created, report.marks_set) == (5, 5, 5)
    changed = [x for x in statements if "CONSTRAINT" in x]
    if h.db.dialect == "postgresql":
        assert [x.split(" CONSTRAINT ")[0] for x in changed] == [
            f"ALTER TABLE {t} {verb}" for verb in ("DROP", "ADD")
            for t in ("account_domains", "contacts", "impact_marks")]
    else:
        assert changed == []
    assert _list_counts(h) == [5, 5, 5, 5]
    with h.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


@PG_ONLY
def test_a_large_import_checks_row_by_row_when_the_accounts_are_in_use(
        h: Herald, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(bulk, "KEYS_CHECKED_AT_END_FROM", 5)
    monkeypatch.setattr(bulk, "KEYS_LOCK_TIMEOUT", "50ms")
    ref = new_incident(h)
    with h.db.sessions() as s:
        before = _foreign_keys(s)
    with h.db.engine.connect() as reader:  # a page reading the accounts, its transaction open
        reader.execute(text("LOCK TABLE customer_accounts IN ACCESS SHARE MODE"))
        statements = _statements(h)
        with caplog.at_level(logging.INFO, logger="herald.store"):
            report = import_file(h, ref, _crm_file(tmp_path), source="crm", actor=MESSENGER)
        assert (report.accounts_created, report.contacts_created, report.marks_set) == (5, 5, 5)
        # the drops were tried, did not get their locks, and were rolled back
        assert any("DROP CONSTRAINT" in x for x in statements)
        assert not any("ADD CONSTRAINT" in x for x in statements)
        assert [(r.levelno, r.exc_info) for r in caplog.records] == [(logging.INFO, None)]
        assert "checked row by row" in caplog.records[0].getMessage()
        assert _foreign_keys(reader) == before
        reader.rollback()
    assert _list_counts(h) == [5, 5, 5, 5]
    with h.db.sessions() as s:
        assert _foreign_keys(s) == before
        # the short lock timeout did not outlive the drops
        assert s.scalar(text("SHOW lock_timeout")) == "0"
