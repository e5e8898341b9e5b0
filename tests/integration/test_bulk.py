"""Bulk reads and writes for imports, on SQLite and PostgreSQL: what they read and write is
what the ORM would, and driver errors come out as SQLAlchemy errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from herald.services.context import Herald
from herald.store import bulk
from herald.store.contact_models import CustomerAccount


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
