"""Bulk reads and writes for imports, on SQLite and PostgreSQL: what they read and write is
what the ORM would, and driver errors come out as SQLAlchemy errors."""

from __future__ import annotations

import logging
import re
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from herald.errors import Conflict
from herald.services import contacts
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


@pytest.mark.parametrize("n", [1, bulk.ROWS_PER_INSERT, 2 * bulk.ROWS_PER_INSERT + 37])
def test_insert_rows_stores_every_row_as_the_orm_reads_it(h: Herald, n: int) -> None:
    # Several full multi-row statements and a shorter last one (SQLite), or one COPY.
    now = h.clock.now()
    rows = [(i, f"00{i}" if i % 3 else None, f"Name, {i} \"q\"", "", "", i % 2 == 0, False,
             now) for i in range(1, n + 1)]
    with h.db.transaction() as s:
        bulk.insert_rows(s, CustomerAccount, ("id", "crm_id", "name", "ce_name", "ae_name",
                                              "ce_none", "ae_none", "updated_at"), rows)
    with h.db.sessions() as s:
        stored = s.execute(select(
            CustomerAccount.id, CustomerAccount.crm_id, CustomerAccount.name,
            CustomerAccount.ce_name, CustomerAccount.ae_name, CustomerAccount.ce_none,
            CustomerAccount.ae_none, CustomerAccount.updated_at).order_by(CustomerAccount.id))
        assert [tuple(r) for r in stored] == rows


def test_read_frame_reads_what_the_orm_reads(h: Herald) -> None:
    now = h.clock.now()
    names = ["plain", "", 'with "quotes", commas\nand a new line', " spaced ", "Ünïcode"]
    with h.db.transaction() as s:
        ids = bulk.reserve_ids(s, CustomerAccount, len(names))
        bulk.insert_rows(s, CustomerAccount, ("id", "crm_id", "name", "ce_name", "ae_name",
                                              "ce_none", "ae_none", "updated_at"),
                         [(i, None if n == "" else n, n, "", "", i % 2 == 0, False, now)
                          for i, n in zip(ids, names, strict=True)])
        q = select(CustomerAccount.id, CustomerAccount.crm_id, CustomerAccount.name,
                   CustomerAccount.ce_none).where(CustomerAccount.id != ids[0]).order_by(
            CustomerAccount.id)
        schema = {"id": pl.Int64, "crm_id": pl.String, "name": pl.String, "flag": pl.Boolean}
        frame = bulk.read_frame(s, q, schema)
        assert frame.rows() == [tuple(r) for r in s.execute(q)]
        assert frame.columns == ["id", "crm_id", "name", "flag"] and len(frame) == 4
        empty = bulk.read_frame(s, q.where(CustomerAccount.id < 0), schema)
        assert (empty.height, empty.schema) == (0, pl.Schema(schema))


def test_plain_rows_report_driver_errors_as_sqlalchemy_errors(h: Herald) -> None:
    with h.db.sessions() as s, pytest.raises(DBAPIError, match="no_such_table"):
        bulk.plain_rows(s, text("SELECT * FROM no_such_table"))


# --- large writes: account keys checked, indexes built, once, at the end (PostgreSQL) ---------

PG_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
LIST = {AccountDomain: 3, Contact: 3, ImpactMark: 3}  # rows the writes below insert per table
WITH_ACCOUNTS = {CustomerAccount: 3, **LIST}
# What a large write into empty tables drops, in order (and puts back in the reverse order).
ACCOUNT_KEYS = ["fk_account_domains_account_id_customer_accounts",
                "fk_contacts_account_id_customer_accounts",
                "fk_impact_marks_account_id_customer_accounts"]
# (The accounts' primary key is kept: the other tables' keys refer to it.)
REBUILT = {"customer_accounts": ["ix_customer_accounts_ce_email",
                                 "ix_customer_accounts_deployment",
                                 "uq_customer_accounts_crm_id"],
           "account_domains": ["ix_account_domains_account_id", "pk_account_domains"],
           "contacts": ["pk_contacts", "uq_contacts_account_email"],
           "impact_marks": ["pk_impact_marks"]}
PRIMARY_KEYS = ["pk_account_domains", "pk_contacts", "pk_customer_accounts", "pk_impact_marks"]


def _foreign_keys(conn: Connection | Session) -> list[tuple[Any, ...]]:
    """Every foreign key of the tables an import writes, as PostgreSQL defines it."""
    return [tuple(r) for r in conn.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated, "
        "condeferrable, condeferred, confupdtype, confdeltype, confmatchtype FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid IN ('account_domains'::regclass, "
        "'contacts'::regclass, 'impact_marks'::regclass) ORDER BY conname"))]


def _indexes(conn: Connection | Session) -> list[tuple[Any, ...]]:
    """Every index of the tables an import writes, as pg_indexes shows it, with the primary key
    or unique constraint it backs, if any."""
    return [tuple(r) for r in conn.execute(text(
        "SELECT tablename, indexname, indexdef, c.contype, pg_get_constraintdef(c.oid) "
        "FROM pg_indexes LEFT JOIN pg_constraint c ON c.conrelid = CAST(tablename AS regclass) "
        "AND c.conname = indexname AND c.contype IN ('p', 'u', 'x') "
        "WHERE schemaname = current_schema() AND tablename IN ('customer_accounts', "
        "'account_domains', 'contacts', 'impact_marks') ORDER BY indexname"))]


def _changes(statements: list[str]) -> list[str]:
    """The drops and re-creations among `statements`, as 'drop name' and 'add name'."""
    verbs = {"DROP CONSTRAINT": "drop", "DROP INDEX": "drop", "ADD CONSTRAINT": "add",
             "CREATE INDEX": "add", "CREATE UNIQUE INDEX": "add"}
    pattern = re.compile(r"^(?:ALTER TABLE \S+ )?(DROP CONSTRAINT|ADD CONSTRAINT|DROP INDEX|"
                         r"CREATE INDEX|CREATE UNIQUE INDEX) (\S+)")
    return [f"{verbs[m[1]]} {m[2]}" for x in statements if (m := pattern.match(x))]


def _dropped_and_put_back(dropped: list[str]) -> list[str]:
    return [*(f"drop {x}" for x in dropped), *(f"add {x}" for x in reversed(dropped))]


def _write_list(h: Herald, s: Session, incident_id: int, *, missing_account: bool = False,
                duplicate: str = "", n: int = 3) -> None:
    """`n` accounts with a domain, a contact and a mark each (on request one contact of an
    account that does not exist, or a second account with the first one's CRM id, or a second
    contact with the same account and email), written the way an import writes them."""
    now = h.clock.now()
    ids = bulk.reserve_ids(s, CustomerAccount, n)
    crm_ids = [f"00{ids[0] if duplicate == 'account' and i == ids[-1] else i}" for i in ids]
    bulk.insert_rows(s, CustomerAccount, ("id", "crm_id", "name", "ce_name", "ae_name",
                                          "ce_none", "ae_none", "updated_at"),
                     [(i, c, f"Account {i}", "", "", False, False, now)
                      for i, c in zip(ids, crm_ids, strict=True)])
    bulk.insert_rows(s, AccountDomain, ("domain", "account_id"),
                     [(f"a{i}.example", i) for i in ids])
    owners = [*ids[:-1], ids[-1] + 1000 if missing_account else
              ids[0] if duplicate == "contact" else ids[-1]]
    bulk.insert_rows(s, Contact, ("account_id", "email", "name", "incident_contact"),
                     [(i, f"ann@a{i}.example", "Ann", False) for i in owners])
    bulk.insert_rows(s, ImpactMark, ("incident_id", "account_id", "impact", "by", "at",
                                     "source"),
                     [(incident_id, i, "unknown", MESSENGER, now, "test") for i in ids])


def _incident_id(h: Herald, number: str = "inc-1") -> int:
    ref = new_incident(h, number=number)
    with h.db.sessions() as s:
        return find_incident(s, ref).id


def _list_counts(h: Herald) -> list[int]:
    with h.db.sessions() as s:
        return [s.scalar(select(func.count()).select_from(m)) or 0
                for m in (CustomerAccount, AccountDomain, Contact, ImpactMark)]


@PG_ONLY
def test_a_large_write_checks_account_keys_and_builds_indexes_at_the_end_identical(
        h: Herald) -> None:
    incident_id = _incident_id(h)
    with h.db.sessions() as s:
        before, indexes = _foreign_keys(s), _indexes(s)
    assert {r[1] for r in before} == {*ACCOUNT_KEYS, "fk_impact_marks_incident_id_incidents"}
    assert sorted(r[1] for r in indexes) == sorted(
        {*PRIMARY_KEYS, *(x for names in REBUILT.values() for x in names)})
    # the unique CRM id is a constraint, the unique (account, email) a plain unique index
    assert {r[1]: r[3] for r in indexes if r[1].startswith("uq_")} == {
        "uq_customer_accounts_crm_id": "u", "uq_contacts_account_email": None}
    statements = _statements(h)
    with h.db.transaction() as s:
        with bulk.large_writes(s, WITH_ACCOUNTS, references=CustomerAccount, threshold=3):
            # during the write only the key to the incidents is there (it is never dropped),
            # only the accounts' primary key is left, and only the drops waited at most the
            # short lock timeout
            assert [r[1] for r in _foreign_keys(s)] == ["fk_impact_marks_incident_id_incidents"]
            assert [r[1] for r in _indexes(s)] == ["pk_customer_accounts"]
            assert s.scalar(text("SHOW lock_timeout")) == "0"
            _write_list(h, s, incident_id)
        assert (_foreign_keys(s), _indexes(s)) == (before, indexes)
    assert _changes(statements) == _dropped_and_put_back(
        [*ACCOUNT_KEYS, *(x for names in REBUILT.values() for x in names)])
    with h.db.sessions() as s:
        assert (_foreign_keys(s), _indexes(s)) == (before, indexes)
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


@pytest.mark.parametrize("duplicate", ["account", "contact"])
def test_a_duplicate_a_unique_index_refuses_fails_the_whole_large_write(
        h: Herald, duplicate: str) -> None:
    incident_id = _incident_id(h)
    pg = h.db.dialect == "postgresql"
    with h.db.sessions() as s:
        before = (_foreign_keys(s), _indexes(s)) if pg else ()
    statements = _statements(h)
    with pytest.raises(Conflict, match=r"(?i)unique"), h.db.transaction() as s, \
            bulk.large_writes(s, WITH_ACCOUNTS, references=CustomerAccount, threshold=3):
        _write_list(h, s, incident_id, duplicate=duplicate)
    assert _list_counts(h) == [0, 0, 0, 0]
    if pg:  # the rows went in without the index, which then refused to be built on them
        index = {"account": "uq_customer_accounts_crm_id",
                 "contact": "uq_contacts_account_email"}[duplicate]
        assert f"drop {index}" in _changes(statements)
        assert _changes(statements)[-1] == f"add {index}"
        with h.db.sessions() as s:
            assert (_foreign_keys(s), _indexes(s)) == before


@PG_ONLY
def test_a_failed_large_write_puts_the_keys_back_even_if_the_caller_carries_on(
        h: Herald) -> None:
    incident_id = _incident_id(h)
    with h.db.sessions() as s:
        before = (_foreign_keys(s), _indexes(s))
    with h.db.transaction() as s:
        with pytest.raises(RuntimeError), bulk.large_writes(
                s, WITH_ACCOUNTS, references=CustomerAccount, threshold=3):
            _write_list(h, s, incident_id)
            raise RuntimeError("the caller's own failure")
        # the block's rows went with the dropped keys and indexes: nothing unchecked can be
        # committed
        assert (_foreign_keys(s), _indexes(s)) == before
        assert s.scalar(select(func.count()).select_from(Contact)) == 0
    assert _list_counts(h) == [0, 0, 0, 0]


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _sqlite_indexes(s: Session) -> list[tuple[Any, ...]]:
    """Every index of the tables an import writes, with the statement that made it."""
    return [tuple(r) for r in s.execute(text(
        "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
        "('customer_accounts', 'account_domains', 'contacts', 'impact_marks') ORDER BY name"))]


@SQLITE_ONLY
@pytest.mark.parametrize("fails", [False, True])
def test_a_large_write_on_sqlite_builds_its_indexes_at_the_end_identical(
        h: Herald, fails: bool) -> None:
    incident_id = _incident_id(h)
    with h.db.sessions() as s:
        before = _sqlite_indexes(s)
    made = {r[1] for r in before if r[2] is not None}
    assert made == {"ix_customer_accounts_ce_email", "ix_customer_accounts_deployment",
                    "ix_account_domains_account_id", "uq_contacts_account_email"}
    with h.db.transaction() as s:
        with pytest.raises(RuntimeError) if fails else nullcontext(), bulk.large_writes(
                s, WITH_ACCOUNTS, threshold=3):
            # during the write only the indexes of primary keys and UNIQUE constraints are left
            assert {r[1] for r in _sqlite_indexes(s)} == {r[1] for r in before} - made
            _write_list(h, s, incident_id)
            if fails:
                raise RuntimeError("the caller's own failure")
        # a failed block takes its rows with it and puts the indexes back, even if the caller
        # carries on and commits
        assert _sqlite_indexes(s) == before
    with h.db.sessions() as s:
        assert _sqlite_indexes(s) == before
    assert _list_counts(h) == ([0, 0, 0, 0] if fails else [3, 3, 3, 3])
    with h.db.engine.connect() as conn:  # still exactly what the migrations make
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_small_writes_keep_the_per_row_checks_and_their_indexes(h: Herald) -> None:
    incident_id = _incident_id(h)
    statements = _statements(h)
    with h.db.transaction() as s, bulk.large_writes(s, WITH_ACCOUNTS,
                                                    references=CustomerAccount):
        _write_list(h, s, incident_id)  # 3 rows a table: far below the threshold
    assert [x for x in statements if "CONSTRAINT" in x or "INDEX" in x] == []
    assert _list_counts(h) == [3, 3, 3, 3]


@PG_ONLY
@pytest.mark.parametrize("held", [3, 4])
def test_a_large_write_builds_the_indexes_again_only_into_tables_it_at_least_doubles(
        h: Herald, held: int) -> None:
    incident_id = _incident_id(h)
    with h.db.transaction() as s:
        _write_list(h, s, incident_id, n=held)
    with h.db.sessions() as s:
        before = (_foreign_keys(s), _indexes(s))
    statements = _statements(h)
    with h.db.transaction() as s, bulk.large_writes(
            s, WITH_ACCOUNTS, references=CustomerAccount, threshold=3):
        _write_list(h, s, incident_id)  # 3 more rows a table: large, by this threshold
    rebuilt = [x for names in REBUILT.values() for x in names] if held == 3 else []
    assert _changes(statements) == _dropped_and_put_back([*ACCOUNT_KEYS, *rebuilt])
    assert _list_counts(h) == [held + 3] * 4
    with h.db.sessions() as s:
        assert (_foreign_keys(s), _indexes(s)) == before


@PG_ONLY
def test_a_large_write_keeps_the_indexes_of_tables_in_use(
        h: Herald, caplog: pytest.LogCaptureFixture) -> None:
    incident_id = _incident_id(h)
    with h.db.sessions() as s:
        before = _indexes(s)
    statements = _statements(h)
    with h.db.engine.connect() as reader:  # a page reading the contacts, its transaction open
        reader.execute(text("LOCK TABLE contacts IN ACCESS SHARE MODE"))
        with caplog.at_level(logging.INFO, logger="herald.store"), h.db.transaction() as s, \
                bulk.large_writes(s, WITH_ACCOUNTS, threshold=3, lock_timeout="50ms"):
            _write_list(h, s, incident_id)  # no references: only indexes are dropped
        reader.rollback()
    # the drops were tried up to the contacts', did not get their lock, and were rolled back
    assert _changes(statements) == ["drop ix_customer_accounts_ce_email",
                                    "drop ix_customer_accounts_deployment",
                                    "drop uq_customer_accounts_crm_id",
                                    "drop ix_account_domains_account_id",
                                    "drop pk_account_domains", "drop pk_contacts"]
    assert "indexes are maintained" in caplog.records[0].getMessage()
    assert _list_counts(h) == [3, 3, 3, 3]
    with h.db.sessions() as s:
        assert _indexes(s) == before


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


def test_an_import_large_enough_checks_account_keys_and_builds_indexes_at_the_end(
        h: Herald, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "KEYS_CHECKED_AT_END_FROM", 5)  # the five rows of each table
    named: list[str] = []  # the tables whose new rows the import tells large_writes
    large_writes = bulk.large_writes

    def spy(s: Session, new_rows: Any = None, **kw: Any) -> Any:
        named.extend(bulk.table_of(m).name for m in new_rows or {})
        return large_writes(s, new_rows, **kw)

    monkeypatch.setattr(bulk, "large_writes", spy)
    ref = new_incident(h)
    pg = h.db.dialect == "postgresql"
    with h.db.sessions() as s:
        before = (_foreign_keys(s), _indexes(s)) if pg else _sqlite_indexes(s)
    statements = _statements(h)
    report = import_file(h, ref, _crm_file(tmp_path), source="crm", actor=MESSENGER)
    assert (report.accounts_created, report.contacts_created, report.marks_set) == (5, 5, 5)
    assert {"account_domains", "contacts", "impact_marks"} <= set(named)
    if pg:  # tables were empty: their indexes (not the accounts' primary key) were built again
        assert _changes(statements) == _dropped_and_put_back(
            [*ACCOUNT_KEYS, *(x for t in named for x in REBUILT[t])])
        with h.db.sessions() as s:
            assert (_foreign_keys(s), _indexes(s)) == before
    else:  # SQLite keeps its keys; the indexes it made with CREATE INDEX are built again
        made = sorted(r[1] for r in before if r[2] is not None)
        assert sorted(_changes(statements)) == sorted(
            [*(f"drop {x}" for x in made), *(f"add {x}" for x in made)])
        with h.db.sessions() as s:
            assert _sqlite_indexes(s) == before
    assert _list_counts(h) == [5, 5, 5, 5]
    with h.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_a_large_import_changes_stored_rows_before_it_drops_any_index(
        h: Herald, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "KEYS_CHECKED_AT_END_FROM", 5)
    ref = new_incident(h)
    import_file(h, ref, _crm_file(tmp_path), source="crm", actor=MESSENGER)
    contacts.mark(h, ref, "001", "no", actor=MESSENGER)
    statements = _statements(h)
    # the stored contacts renamed and flagged, account 001 answered: changes to stored rows;
    # as many contacts again: a large write that doubles the contacts
    rows = [[*crm_row(f"Account {i}", f"00{i}", f"a{i}.example", "Cloud", first, "Able",
                      f"{email}@a{i}.example", "Yes"), "yes" if i == 1 else ""]
            for i in range(1, 6) for first, email in (("Anne", "ann"), ("Bea", "bea"))]
    report = import_file(h, ref, write(tmp_path, "again.csv", csv_bytes(
        [[*CRM_HEADER, "Impacted"], *rows])), source="crm", actor=MESSENGER)
    assert (report.contacts_created, report.contacts_updated, report.marks_set) == (5, 5, 1)
    writes = [" ".join(x.split()[:2]) for x in statements
              if x.startswith(("UPDATE contacts", "UPDATE impact_marks", "DROP INDEX",
                               "ALTER TABLE"))]
    first_drop = next(i for i, x in enumerate(writes) if not x.startswith("UPDATE"))
    assert {"UPDATE contacts", "UPDATE impact_marks"} == set(writes[:first_drop])
    assert not any(x.startswith("UPDATE") for x in writes[first_drop:])
    listed = {(r.email, r.name, r.incident_contact, r.impacted)
              for r in contacts.list_contacts(h, ref)}
    assert {("ann@a1.example", "Anne Able", True, True),
            ("bea@a2.example", "Bea Able", True, None)
            } <= listed and len(listed) == 10


@PG_ONLY
def test_a_large_import_checks_row_by_row_when_the_accounts_are_in_use(
        h: Herald, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(bulk, "KEYS_CHECKED_AT_END_FROM", 5)
    monkeypatch.setattr(bulk, "KEYS_LOCK_TIMEOUT", "50ms")
    ref = new_incident(h)
    with h.db.sessions() as s:
        before = (_foreign_keys(s), _indexes(s))
    with h.db.engine.connect() as reader:  # a page reading the accounts, its transaction open
        reader.execute(text("LOCK TABLE customer_accounts IN ACCESS SHARE MODE"))
        statements = _statements(h)
        with caplog.at_level(logging.INFO, logger="herald.store"):
            report = import_file(h, ref, _crm_file(tmp_path), source="crm", actor=MESSENGER)
        assert (report.accounts_created, report.contacts_created, report.marks_set) == (5, 5, 5)
        # the drops were tried, did not get their locks, and were rolled back
        assert any("DROP CONSTRAINT" in x for x in statements)
        assert not any(x.startswith(("add ", "drop ix", "drop uq")) for x in _changes(statements))
        assert [(r.levelno, r.exc_info) for r in caplog.records] == [(logging.INFO, None)]
        assert "checked row by row" in caplog.records[0].getMessage()
        assert (_foreign_keys(reader), _indexes(reader)) == before
        reader.rollback()
    assert _list_counts(h) == [5, 5, 5, 5]
    with h.db.sessions() as s:
        assert (_foreign_keys(s), _indexes(s)) == before
        # the short lock timeout did not outlive the drops
        assert s.scalar(text("SHOW lock_timeout")) == "0"


# --- ids reserved for a write --------------------------------------------------------------


def test_reserved_ids_are_new_ascending_and_taken_by_later_inserts(h: Herald) -> None:
    with h.db.transaction() as s:
        first = bulk.reserve_ids(s, Contact, 5)
    with h.db.transaction() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE"))
        block = bulk.reserve_ids(s, Contact, 1000)  # (on PostgreSQL: one setval)
    assert first == sorted(first) and block == list(range(block[0], block[0] + 1000))
    incident_id = _incident_id(h)
    with h.db.transaction() as s:
        _write_list(h, s, incident_id, n=1)  # a contact with an id from the table's default
        next_id = s.scalar(select(func.max(Contact.id)))
    if h.db.dialect == "postgresql":  # the sequence moved past both blocks
        assert first[-1] < block[0] and block[-1] < (next_id or 0)


@PG_ONLY
def test_reserving_ids_waits_for_a_transaction_that_holds_the_table(h: Herald) -> None:
    with h.db.engine.connect() as holder:
        holder.execute(text("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE"))
        held = bulk.reserve_ids(Session(bind=holder), Contact, 100)
        with h.db.sessions() as s, pytest.raises(DBAPIError, match="lock timeout"):
            s.execute(text("SET lock_timeout = '50ms'"))
            bulk.reserve_ids(s, Contact, 100)  # would draw from the holder's block
        holder.commit()
    with h.db.sessions() as s:
        later = bulk.reserve_ids(s, Contact, 100)
    assert later[0] > held[-1]


def test_update_where_in_sets_the_listed_rows_only(h: Herald) -> None:
    first, other = _incident_id(h), _incident_id(h, "inc-2")
    with h.db.transaction() as s:
        _write_list(h, s, first, n=7000)
        ids = bulk.plain_rows(s, select(CustomerAccount.id).order_by(CustomerAccount.id))
        bulk.insert_rows(s, ImpactMark, ("incident_id", "account_id", "impact", "by", "at",
                                         "source"),
                         [(other, i, "unknown", MESSENGER, h.clock.now(), "test")
                          for (i,) in ids])
        chosen = [i for (i,) in ids[::2]]  # 3,500 accounts, more than any one IN list held
        bulk.update_where_in(s, ImpactMark, "account_id", chosen, {"impact": "yes"},
                             where=ImpactMark.incident_id == first)
    with h.db.sessions() as s:
        yes = s.execute(select(ImpactMark.incident_id, ImpactMark.account_id)
                        .where(ImpactMark.impact == "yes")).all()
    assert sorted(yes) == [(first, i) for i in chosen]
