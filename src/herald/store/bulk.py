"""Bulk writes inside a session's transaction, for imports of hundreds of thousands of rows.

PostgreSQL gets COPY (psycopg's `Cursor.copy`, on the session's own connection, so it is part of
the same transaction); SQLite gets one `executemany` of multi-row INSERTs. Values go through each
column type's bind processing exactly as SQLAlchemy would send them (UTC datetimes, booleans),
and driver errors come out as SQLAlchemy errors, so `Database.transaction` maps them as usual.

A large write has the indexes of a table it at least doubles built once, at its end, rather than
maintained row by row, and on PostgreSQL its foreign keys to the accounts checked once, at its
end, too (see `large_writes`).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from sqlite3 import SQLITE_LIMIT_VARIABLE_NUMBER
from typing import Any, cast

import polars as pl
from sqlalchemy import (
    ClauseElement,
    Connection,
    Table,
    func,
    select,
    text,
    update,
)
from sqlalchemy import column as sql_column
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

log = logging.getLogger("herald.store")

ROWS_PER_INSERT = 100  # SQLite: rows per INSERT statement (fewer steps; more bind no faster)
# New rows in one table from which its foreign keys are checked once, after the write, instead
# of row by row, and its indexes rebuilt if it at least doubles (PostgreSQL). Smaller writes keep
# the per-row checks and index maintenance and never take the strong locks a drop needs.
KEYS_CHECKED_AT_END_FROM = 20_000
KEYS_LOCK_TIMEOUT = "2s"  # how long a large write waits for those locks before checking per row
_LOCK_NOT_TAKEN = ("55P03", "40P01")  # lock_not_available, deadlock_detected
_SAVEPOINT = "herald_keys_at_end"


def table_of(model: type[Any]) -> Table:
    """The table of a mapped class."""
    return cast(Table, model.__table__)


def insert_rows(s: Session, model: type[Any], columns: Sequence[str],
                rows: pl.DataFrame | Iterable[Sequence[Any]]) -> None:
    """Insert rows (a frame, or tuples in the order of `columns`) with one COPY or one
    executemany. Values go through each column type's bind processing as SQLAlchemy would send
    them (UTC datetimes, booleans), each distinct value once; for COPY, Polars writes the CSV,
    for SQLite each column becomes a list at once: no Python loop over the values."""
    frame = rows.select(columns) if isinstance(rows, pl.DataFrame) else pl.DataFrame(
        list(rows), schema=list(columns), orient="row", infer_schema_length=None)
    if frame.height == 0:
        return
    table = table_of(model)
    conn = s.connection()
    dialect = conn.dialect
    for name in columns:
        proc = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            distinct = frame[name].drop_nulls().unique().to_list()
            frame = frame.with_columns(pl.col(name).replace_strict(
                distinct, [proc(v) for v in distinct], default=None))
    preparer = dialect.identifier_preparer
    names = ", ".join(preparer.quote(c) for c in columns)
    target = preparer.format_table(table)
    if dialect.name == "postgresql":
        data = io.BytesIO()
        frame.write_csv(data, include_header=False)
        del frame
        _copy(conn, f"COPY {target} ({names}) FROM STDIN WITH (FORMAT csv)", data.getbuffer())
        return
    _insert_values(conn, f"INSERT INTO {target} ({names}) VALUES ",  # noqa: S608 (model names)
                   [frame[c].to_list() for c in columns])


def _insert_values(conn: Connection, insert: str, values: list[list[Any]]) -> None:
    """`insert` of the rows whose columns are `values`, ROWS_PER_INSERT rows a statement.

    Per row, an executemany pays a statement step and reset and a Python tuple; per value
    only the binding. Rows are laid out flat, a column at a time with slice assignment
    (no Python loop over the rows), and cut into one parameter tuple per statement."""
    width, height = len(values), len(values[0])
    flat: list[Any] = [None] * (width * height)
    for i, column in enumerate(values):
        flat[i::width] = column
    driver = conn.connection.dbapi_connection
    limit = getattr(driver, "getlimit", lambda _: 999)(SQLITE_LIMIT_VARIABLE_NUMBER)
    rows = max(1, min(ROWS_PER_INSERT, limit // width))

    def statement(n: int) -> str:
        return insert + ", ".join(["(" + ", ".join("?" * width) + ")"] * n)

    step = rows * width
    whole = len(flat) - len(flat) % step
    if whole:
        conn.exec_driver_sql(statement(rows), [tuple(flat[i:i + step])
                                               for i in range(0, whole, step)])
    if whole < len(flat):
        conn.exec_driver_sql(statement((len(flat) - whole) // width), tuple(flat[whole:]))


@contextmanager
def large_writes(s: Session, new_rows: Mapping[type[Any], int] | None = None, *,
                 references: type[Any] | None = None, cache_mib: int = 64,
                 threshold: int | None = None, lock_timeout: str | None = None) -> Iterator[None]:
    """Room for a large write.

    SQLite: the page cache (2 MiB by default) grows for its duration, so index pages of
    hundreds of thousands of new rows are not written and read back; the indexes of tables it
    at least doubles are built again at its end (`_sqlite_indexes_rebuilt`).

    PostgreSQL ("Populating a Database" in its manual), for each table of `new_rows` (mapped
    class -> rows about to be inserted) that gets `threshold` rows or more:
    - its foreign keys to `references` are dropped for the block and added back, with the same
      names and definitions (read from pg_constraint), when it ends: ADD CONSTRAINT checks every
      row in one join, where each row inserted meanwhile would have cost a trigger call;
    - if it gets at least as many rows as it already holds (a first load, or one that at least
      doubles it), its indexes (unique ones and the primary key's too, as constraints if they
      are constraints) are dropped for the block and built again when it ends, with the same
      names and definitions (pg_get_indexdef, pg_get_constraintdef): one sort each instead of
      an insertion per row. The block must not need them (no ON CONFLICT, no updates or
      lookups by them: make those before it). Indexes a foreign key depends on (a primary key
      other tables refer to), clustered, replica-identity or invalid ones, and those in a
      tablespace of their own, are kept.
    All of it is in the caller's transaction, so a row pointing at a missing account, or a
    duplicate a unique index refuses, fails the transaction as an IntegrityError and nothing is
    committed unchecked; if the block raises, or a check fails, the block's writes are rolled
    back to before the drops (the keys and indexes with them) before the error goes on.

    Each drop locks its tables (ACCESS EXCLUSIVE, until the transaction ends). When those locks
    are not granted within `lock_timeout` (another transaction reads or writes them), the write
    goes ahead with the per-row checks and index maintenance instead."""
    conn = s.connection()
    least = KEYS_CHECKED_AT_END_FROM if threshold is None else threshold
    large = {table_of(m): n for m, n in (new_rows or {}).items() if n >= least}
    if conn.dialect.name == "sqlite":
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size = -{int(cache_mib) * 1024}")
        try:
            with _sqlite_indexes_rebuilt(conn, large):
                yield
        finally:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")
        return
    if conn.dialect.name != "postgresql" or not large:
        yield
        return
    referenced = [] if references is None else [table_of(references)]
    changes = [c for r in referenced for c in _foreign_keys(conn, large, r)]
    changes += _rebuilt_indexes(conn, large)
    in_use = ", ".join(sorted({t.name for t in (*large, *referenced)}))
    with _dropped_for_the_block(conn, changes, in_use, lock_timeout or KEYS_LOCK_TIMEOUT):
        yield


_Change = tuple[str, str]  # the statement that drops something, the one that puts it back


def _constraint(conn: Connection, table: str, name: str, definition: str) -> _Change:
    name = conn.dialect.identifier_preparer.quote(name)
    return (f"ALTER TABLE {table} DROP CONSTRAINT {name}",
            f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


def _foreign_keys(conn: Connection, tables: Iterable[Table], referenced: Table,
                  ) -> list[_Change]:
    preparer = conn.dialect.identifier_preparer
    return [_constraint(conn, table, name, definition)
            for table in map(preparer.format_table, tables)
            for name, definition in conn.execute(text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid = CAST(:t AS regclass) "
                "AND confrelid = CAST(:ref AS regclass) ORDER BY conname"),
                {"t": table, "ref": preparer.format_table(referenced)})]


# The indexes of a table rebuilt after a large write: the name (schema-qualified when needed),
# the primary key, unique or exclusion constraint it backs if any, and the definition that makes
# it again.
_REBUILT_INDEXES = text(
    "SELECT CAST(i.indexrelid AS regclass)::text, c.conname, "
    "coalesce(pg_get_constraintdef(c.oid), pg_get_indexdef(i.indexrelid)) "
    "FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid "
    "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
    "AND c.contype IN ('p', 'u', 'x') "
    "WHERE i.indrelid = CAST(:t AS regclass) AND i.indisvalid "
    "AND NOT i.indisclustered AND NOT i.indisreplident AND x.reltablespace = 0 "
    "AND NOT EXISTS (SELECT FROM pg_constraint f WHERE f.contype = 'f' "
    "AND f.conindid = i.indexrelid) ORDER BY 1")


def _rebuilt_indexes(conn: Connection, new_rows: Mapping[Table, int]) -> list[_Change]:
    """Those of the tables that get at least as many new rows as they hold: counting at most
    one row more than the new ones tells, exactly and at a cost bounded by the write itself
    (pg_class.reltuples is an estimate, -1 until the table is first vacuumed or analyzed)."""
    preparer = conn.dialect.identifier_preparer
    changes: list[_Change] = []
    for t, n in new_rows.items():
        table = preparer.format_table(t)
        if not _doubled(conn, table, n):
            continue
        changes += [_constraint(conn, table, constraint, definition) if constraint
                    else (f"DROP INDEX {index}", definition)
                    for index, constraint, definition in conn.execute(
                        _REBUILT_INDEXES, {"t": table})]
    return changes


@contextmanager
def _dropped_for_the_block(conn: Connection, changes: Sequence[_Change], tables: str,
                           lock_timeout: str) -> Iterator[None]:
    """The drops of `changes` for the block, in a savepoint, and what they dropped put back
    (in reverse order) when it ends; if the drops' locks are not granted within
    `lock_timeout`, nothing is dropped."""
    if not changes:
        yield
        return
    usual = conn.execute(select(func.current_setting("lock_timeout"))).scalar_one()
    conn.exec_driver_sql(f"SAVEPOINT {_SAVEPOINT}")
    try:
        conn.execute(select(func.set_config("lock_timeout", lock_timeout, True)))
        for drop, _add in changes:
            conn.exec_driver_sql(drop)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in _LOCK_NOT_TAKEN:
            raise
        conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        conn.exec_driver_sql(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        log.info("large write: %s are in use by another transaction (no lock within %s); "
                 "indexes are maintained and foreign keys checked row by row", tables,
                 lock_timeout)
        yield
        return
    # Only the drops wait at most `lock_timeout`; the rest of the transaction waits as before.
    conn.execute(select(func.set_config("lock_timeout", usual, True)))
    with _put_back_at_the_end(conn, changes):
        yield


@contextmanager
def _put_back_at_the_end(conn: Connection, changes: Sequence[_Change]) -> Iterator[None]:
    """The block, after the drops of `changes` (made in the savepoint), then what they dropped
    put back in reverse order. If either fails, everything since the savepoint is rolled back
    (the rows with it, the dropped keys and indexes back), whatever the caller does next."""
    try:
        yield
        for _drop, add in reversed(changes):
            conn.exec_driver_sql(add)
    except BaseException:
        with suppress(DBAPIError):
            conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            conn.exec_driver_sql(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        raise
    conn.exec_driver_sql(f"RELEASE SAVEPOINT {_SAVEPOINT}")


def _doubled(conn: Connection, table: str, n: int) -> bool:
    """Whether `table` holds at most `n` rows (counting no more than n + 1 of them)."""
    held = f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :n) AS x"  # noqa: S608
    return int(conn.execute(text(held), {"n": n + 1}).scalar_one()) <= n


@contextmanager
def _sqlite_indexes_rebuilt(conn: Connection, new_rows: Mapping[Table, int]) -> Iterator[None]:
    """SQLite: the indexes made by CREATE INDEX of the tables a write at least doubles are
    dropped for the block and made again from their own statements (sqlite_master) when it
    ends, in a savepoint (see `_put_back_at_the_end`). (A UNIQUE constraint's own index
    cannot be dropped and is kept.) SQLite locks the whole database for a write anyway, and
    readers keep reading the snapshot they started with."""
    preparer = conn.dialect.identifier_preparer
    changes = [(f"DROP INDEX {preparer.quote(name)}", sql)
               for t, n in new_rows.items() if _doubled(conn, preparer.format_table(t), n)
               for name, sql in conn.execute(text(
                   "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                   "AND tbl_name = :t AND sql IS NOT NULL ORDER BY name"), {"t": t.name})]
    if not changes:
        yield
        return
    if not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        # Python's sqlite3 opens its transaction at the first change of data; a DROP INDEX
        # before that would be committed on its own.
        conn.exec_driver_sql(f"DELETE FROM {preparer.format_table(next(iter(new_rows)))} "  # noqa: S608
                             "WHERE 0")
    conn.exec_driver_sql(f"SAVEPOINT {_SAVEPOINT}")
    for drop, _add in changes:
        conn.exec_driver_sql(drop)
    with _put_back_at_the_end(conn, changes):
        yield


def _copy(conn: Connection, sql: str, data: memoryview) -> None:
    import psycopg

    driver = conn.connection.dbapi_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor() as cur, cur.copy(sql) as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start:start + (1 << 20)])
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


def plain_rows(s: Session, stmt: ClauseElement) -> list[tuple[Any, ...]]:
    """The rows of a large read as the driver's own tuples, in the session's transaction.
    For text and integer columns only (no result processing is applied): building
    SQLAlchemy rows took twice as long for the 300,000 contacts an import loads."""
    conn = s.connection()
    compiled = cast(SQLCompiler, stmt.compile(dialect=conn.dialect))
    params: Any = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), params)
        return list(cursor.fetchall())
    except Exception as exc:
        raise DBAPIError.instance(str(compiled), params, exc, Exception) from exc
    finally:
        cursor.close()


def read_frame(s: Session, stmt: ClauseElement, schema: Mapping[str, Any]) -> pl.DataFrame:
    """The rows of a large read (`plain_rows`) as a frame, its columns named and typed by
    `schema`, in order (booleans may come as 0 and 1, as SQLite stores them)."""
    return pl.DataFrame(plain_rows(s, stmt), schema=dict(schema), orient="row")


def reserve_ids(s: Session, model: type[Any], count: int) -> list[int]:
    """`count` new values of the model's integer primary key `id`, for rows inserted next.

    PostgreSQL draws them from the column's sequence, after taking the lock an insert takes
    (so it waits for a transaction that holds the table exclusively, as a large write does).
    A transaction that holds the table exclusively itself takes the whole block with one
    setval: no other transaction can draw from the sequence meanwhile. SQLite would give
    max(id) + 1 onwards itself; taking them in the same transaction is safe because a write
    that meets another writer's newer commit fails as "database is locked"."""
    if count <= 0:
        return []
    table = table_of(model)
    if s.get_bind().dialect.name == "postgresql":
        name = s.get_bind().dialect.identifier_preparer.format_table(table)
        s.execute(text(f"LOCK TABLE {name} IN ROW EXCLUSIVE MODE"))
        seq = s.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
        if s.scalar(_HELD_EXCLUSIVELY, {"t": name}):
            last = int(s.scalar(text(
                "SELECT setval(CAST(:seq AS regclass), nextval(CAST(:seq AS regclass)) + :n - 1)"
            ), {"seq": seq, "n": count}) or 0)
            return list(range(last - count + 1, last + 1))
        ids = plain_rows(s, text("SELECT nextval(CAST(:seq AS regclass)) "
                                 "FROM generate_series(1, :count)").bindparams(seq=seq,
                                                                               count=count))
        return sorted(i for (i,) in ids)  # ascending, as the rows would have had them
    top = s.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
    return list(range(top + 1, top + 1 + count))


_HELD_EXCLUSIVELY = text(
    "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'relation' AND granted "
    "AND relation = CAST(:t AS regclass) AND pid = pg_backend_pid() "
    "AND mode = 'AccessExclusiveLock')")


def update_where_in(s: Session, model: type[Any], key: str, keys: Iterable[Any],
                    values: dict[str, Any], where: Any = None) -> None:
    """Set the same `values` on every row whose `key` column is in `keys`, in one statement:
    the keys are sent as one JSON array (no parameter per key to bind, or to compile)."""
    table = table_of(model)
    column = table.c[key]
    dialect = s.get_bind().dialect
    listed = (f"SELECT CAST(value AS {column.type.compile(dialect)}) "  # noqa: S608 (a type)
              "FROM json_array_elements_text(CAST(:keys AS json))"
              if dialect.name == "postgresql" else "SELECT value FROM json_each(:keys)")
    stmt = update(table).values(values).where(column.in_(
        text(listed).columns(sql_column("value", column.type))))
    if where is not None:
        stmt = stmt.where(where)
    s.execute(stmt, {"keys": json.dumps(list(keys))})
