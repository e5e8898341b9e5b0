"""Import customer lists into an incident: preview first, then one transaction of bulk writes."""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import threading
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import polars as pl
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from herald.channels.importers.columnar import ascii_text, each
from herald.channels.importers.layout import CRM_ALIASES, ENGINEERING_ALIASES
from herald.channels.importers.records import (
    Parsed,
    parse_crm,
    parse_engineering,
)
from herald.channels.importers.tabular import read_sheet
from herald.domain.contacts import Impact
from herald.errors import InvalidInput
from herald.services.common import actor_email, audit, find_incident, touch
from herald.services.context import Herald
from herald.store import bulk
from herald.store.contact_models import (
    AccountDomain,
    ColumnMapping,
    Contact,
    CustomerAccount,
    ImpactMark,
    ImportRun,
)

P = ParamSpec("P")
T = TypeVar("T")
SOURCES = ("engineering", "crm")
STORED_LINES = 1000  # an import's stored report keeps this many listed lines; counts are whole
# A report lists this many merged lines (`merged` counts them all, `merged_lines_omitted` says
# how many are not listed): a million-row engineering list merges most of its rows into the
# accounts they name, and listing each of them would take more memory than the import itself.
MERGED_LINES_LISTED = 10_000


class RowIssue(BaseModel):
    """A line that was rejected or ignored, with why."""

    line: int
    reason: str
    value: str = ""


class Unmatched(RowIssue):
    """An engineering-list line whose keys match no known account. It is rejected, too: the
    same object is listed in both (the reason is said by where it is listed)."""

    reason: str = Field(default="no account matches it", exclude=True)


class ImportReport(BaseModel):
    """What an import did (or, on a dry run, would do) with every line of the file."""

    file: str
    source: str
    encoding: str
    header_line: int | None
    columns: dict[str, str]
    read: int
    imported: int
    merged: int
    rejected: list[RowIssue]
    unmatched: list[Unmatched] = []
    ignored: list[RowIssue] = []
    merged_lines: list[RowIssue] = []
    merged_lines_omitted: int = 0  # merged lines past MERGED_LINES_LISTED, counted not listed
    accounts_created: int = 0
    accounts_updated: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    marks_set: int = 0
    dry_run: bool = False


_ACCOUNT_COLUMNS = ("id", "crm_id", "name", "deployment", "ce_name", "ce_email", "ae_name",
                    "ae_email")
_ACCOUNT_FIELDS = ("name", "deployment", "ce_name", "ce_email", "ae_name", "ae_email")
_NEW_ACCOUNT = ("crm_id", *_ACCOUNT_FIELDS)  # _ACCOUNT_COLUMNS a new account is given
_CONTACTS = {"account_id": pl.Int64, "email": pl.String, "contact_id": pl.Int64,
             "name": pl.String, "incident_contact": pl.Boolean}  # stored contacts, as loaded
_EMAILS = {"email": pl.String, "account_id": pl.Int64}
_MARKS = {"account_id": pl.Int64, "key": pl.String, "impact": pl.String, "fresh": pl.Boolean}


@dataclass
class _Plan:
    """Writes an import will make, computed before anything is written."""

    # key, then the _NEW_ACCOUNT columns, in the order the accounts first appear
    new_accounts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema=dict.fromkeys(("key", *_NEW_ACCOUNT), pl.String)))
    account_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    # domain, key (of its account), in the order the domains first appear
    new_domains: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"domain": pl.String, "key": pl.String}))
    # key (of the account), email, name, incident_contact
    new_contacts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"key": pl.String, "email": pl.String, "name": pl.String,
                "incident_contact": pl.Boolean}))
    contact_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    # the marks to set: the account (its id, or for a new one null and its key), the impact,
    # and whether the incident has no mark for the account yet
    marks: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_MARKS))
    imported: int = 0
    unmatched: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"line": pl.Int64, "value": pl.String}))  # engineering lines, in line order
    merged: list[RowIssue] = field(default_factory=list)  # the first MERGED_LINES_LISTED
    merged_count: int = 0


def load_mapping(path: Path | None) -> dict[str, str] | None:
    """Read a mapping file (JSON or TOML: field = header name); errors name the file."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"{path.name}: cannot read the mapping file ({exc})") from None
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InvalidInput(f"{path.name}: a mapping maps field names to header names, "
                           'e.g. {"email": "Work Email"}')
    return data


def _cycle_collector_paused(func: Callable[P, T]) -> Callable[P, T]:
    """Run `func` with Python's cycle collector paused (reference counting still frees
    everything). Reading a large file makes millions of lists, tuples and records, none of them
    in a cycle, and the collector would walk the growing heap again and again: half the time
    of a million-row import. Overlapping imports (threads) resume it when the last one ends."""

    @functools.wraps(func)
    def paused(*args: P.args, **kwargs: P.kwargs) -> T:
        global _pausing, _collector_was_on
        with _pause_lock:
            if _pausing == 0:
                _collector_was_on = gc.isenabled()
                gc.disable()
            _pausing += 1
        try:
            return func(*args, **kwargs)
        finally:
            with _pause_lock:
                _pausing -= 1
                if _pausing == 0 and _collector_was_on:
                    gc.enable()

    return paused


_pause_lock = threading.Lock()
_pausing = 0
_collector_was_on = True


@_cycle_collector_paused
def import_file(
    h: Herald, ref: str, path: Path, *, source: str, actor: str,
    mapping: dict[str, str] | None = None, dry_run: bool = False, data: bytes | None = None,
) -> ImportReport:
    """Import an engineering list or a CRM report into the incident's customer list."""
    actor = actor_email(actor)
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of: {', '.join(SOURCES)}")
    if mapping is not None:
        _check_mapping(source, mapping)
    try:
        raw = path.read_bytes() if data is None else data
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the file ({exc.strerror})") from None
    now = h.clock.now()
    with h.db.transaction() as s, ThreadPoolExecutor(2) as aside:
        inc = find_incident(s, ref)
        remembered = s.get(ColumnMapping, source)
        if mapping is None and remembered is not None:
            mapping = dict(remembered.fields)
        # While the file is read and parsed, other threads take its fingerprint and read what
        # the store knows (both let go of the GIL while they wait; the session is left to the
        # reading thread until its result is taken).
        hashing = aside.submit(hashlib.sha256, raw)
        loading = aside.submit(_State.load, s, inc.id, source)
        sheet = read_sheet(path, raw)
        del raw  # a large file is held once, as rows
        parsed: Parsed[Any] = (parse_crm(sheet, mapping) if source == "crm"
                               else parse_engineering(sheet, mapping))
        encoding = sheet.encoding
        del sheet  # the records hold what is needed from here on
        state = loading.result()
        sha256 = hashing.result().hexdigest()
        plan = (_plan_crm(parsed.frame, state) if source == "crm"
                else _plan_engineering(parsed.frame, state))
        report = _report(path.name, source, encoding, parsed, plan, dry_run)
        if dry_run:
            return report
        _apply(s, inc.id, plan, state, actor, now, f"{source}:{path.name}")
        if mapping is not None:
            _remember(s, source, mapping, actor, now)
        listed = ("rejected", "unmatched", "ignored", "merged_lines")
        stored = report.model_copy(update={
            key: getattr(report, key)[:STORED_LINES] for key in listed}).model_dump(mode="json")
        s.add(ImportRun(incident_id=inc.id, source=source, filename=path.name[:300],
                        sha256=sha256, at=now, by=actor, report=stored))
        touch(inc, now)
        audit(s, at=now, actor=actor, action="contacts.imported", incident=inc,
              target=f"{source}: {path.name}",
              after={k: getattr(report, k) for k in ("read", "imported", "merged")}
              | {"rejected": len(report.rejected)})
        return report


def _check_mapping(source: str, mapping: dict[str, str]) -> None:
    """A mapping names known fields (it is remembered: a wrong one would spoil later imports)."""
    known = CRM_ALIASES if source == "crm" else ENGINEERING_ALIASES
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        raise InvalidInput(f"mapping: unknown field(s) {', '.join(map(repr, unknown))} for a "
                           f"{source} list; fields are: {', '.join(known)}")
    if not mapping or not all(header.strip() for header in mapping.values()):
        raise InvalidInput('mapping: map each field to a header name, e.g. '
                           '{"email": "Work Email"}')


@dataclass
class _State:
    """What the store already knows, as frames, loaded once so matching never queries row by
    row. Each source loads what its planning reads: a CRM report compares rows with the stored
    accounts and contacts; an engineering list only matches ids, emails and domains."""

    keys: pl.DataFrame  # key ("id:" + CRM id; for a CRM report also "name:" + name), account_id
    accounts: pl.DataFrame  # account_id, then _NEW_ACCOUNT (CRM report)
    domains: pl.DataFrame  # domain, account_id
    contacts: pl.DataFrame  # account_id, email, contact_id, name, incident_contact (CRM report)
    emails: pl.DataFrame  # email, account_id: the first account stored with it (engineering)
    marks: pl.DataFrame  # account_id, impact: this incident's

    @classmethod
    def load(cls, s: Session, incident_id: int, source: str = "crm") -> _State:
        """Read accounts, domains, contacts and this incident's marks."""
        # (An engineering list needs the accounts' ids only.)
        columns = _NEW_ACCOUNT if source == "crm" else ("crm_id",)
        accounts = bulk.read_frame(s, select(
            CustomerAccount.id, *(getattr(CustomerAccount, k) for k in columns)),
            {"account_id": pl.Int64, **dict.fromkeys(columns, pl.String)})
        keys = accounts.filter(pl.col("crm_id").is_not_null()).select(
            key=pl.lit("id:") + pl.col("crm_id"), account_id="account_id")
        contacts, emails = pl.DataFrame(schema=_CONTACTS), pl.DataFrame(schema=_EMAILS)
        if source == "crm":
            # A row without an id finds its account by name, when the name is not ambiguous.
            names = accounts.select(key=pl.lit("name:") + _lowered(accounts["name"]),
                                    account_id="account_id")
            keys = pl.concat([keys, names.filter(pl.len().over("key") == 1)])
            contacts = bulk.read_frame(s, select(
                Contact.account_id, Contact.email, Contact.id, Contact.name,
                Contact.incident_contact), _CONTACTS)
        else:
            # An address at several accounts belongs to the first one stored.
            emails = bulk.read_frame(s, select(Contact.email, Contact.account_id).order_by(
                Contact.id), _EMAILS).unique("email", keep="first", maintain_order=True)
        domains = bulk.read_frame(s, select(AccountDomain.domain, AccountDomain.account_id),
                                  {"domain": pl.String, "account_id": pl.Int64})
        marks = bulk.read_frame(s, select(ImpactMark.account_id, ImpactMark.impact).where(
            ImpactMark.incident_id == incident_id), {"account_id": pl.Int64,
                                                      "impact": pl.String})
        return cls(keys, accounts, domains, contacts, emails, marks)


def _lowered(names: pl.Series) -> pl.Series:
    """`str.lower` of each name."""
    v = pl.col("v")
    return each(names, lambda f: f.select(fast=v.str.to_lowercase(), decided=ascii_text(v)),
                str.lower)


def _plan_crm(frame: pl.DataFrame | None, st: _State) -> _Plan:
    """Compare a CRM report's rows with what is stored: new accounts (blanks filled from their
    later rows), changed fields, new domains and contacts, marks; a row that adds nothing is
    merged. Column by column; the rules are those of a walk through the rows in file order."""
    plan = _Plan()
    if frame is None or frame.height == 0:
        return plan
    f = frame.with_columns(key=pl.when(pl.col("crm_id").is_not_null())
                           .then(pl.lit("id:") + pl.col("crm_id"))
                           .otherwise(pl.lit("name:") + _lowered(frame["account_name"])))
    f = f.with_columns(pl.col("line").min().over("key", "email").alias("first"))
    duplicates = f.filter(pl.col("line") != pl.col("first")).select(
        "line", pl.format("duplicate of line {}", "first").alias("reason"))
    f = f.filter(pl.col("line") == pl.col("first")).join(
        st.keys, on="key", how="left", maintain_order="left")
    f = f.with_columns((pl.col("line") == pl.col("line").min().over("key")).alias("opens"))
    f = _accounts_planned(f, st, plan)
    domains = _domains_planned(f, st, plan)
    f = _marks_planned(_contacts_planned(f, st, plan), st, plan)
    changed = (pl.col("account_id").is_null() & pl.col("opens")) | pl.col("set_any") | pl.col(
        "line").is_in(domains) | pl.col("new_contact") | pl.col("new_name") | pl.col(
        "new_flag") | pl.col("mark")
    f = f.with_columns(changed.alias("changed"))
    plan.imported = int(f["changed"].sum())
    merged = pl.concat([duplicates, f.filter(~pl.col("changed")).select(
        "line", pl.lit("already known, nothing new").alias("reason"))]).sort("line")
    plan.merged_count = merged.height
    plan.merged = [RowIssue(line=line, reason=reason)
                   for line, reason in merged.head(MERGED_LINES_LISTED).iter_rows()]
    return plan


def _accounts_planned(f: pl.DataFrame, st: _State, plan: _Plan) -> pl.DataFrame:
    """New accounts (each field: its first filled value), and the fields of stored accounts
    that change: where a row's value differs from the one before it (an earlier row's, else
    the stored one); the last value given is kept. Adds `set_any`: the row changed one."""
    new = pl.col("account_id").is_null()
    fields = {k: pl.col("account_name" if k == "name" else k) for k in _NEW_ACCOUNT}
    filled = {k: v.is_not_null() & (v != "") for k, v in fields.items()}
    plan.new_accounts = f.filter(new).group_by("key", maintain_order=True).agg(
        pl.coalesce(v.filter(filled[k]).first(), v.first()).alias(k) for k, v in fields.items())
    current = st.accounts.select("account_id", *(pl.col(k).alias(f"now_{k}") for k in fields))
    f = f.join(current, on="account_id", how="left", maintain_order="left")
    f = f.with_columns(pl.when(~new & filled[k] & v.ne_missing(pl.coalesce(
        pl.when(filled[k]).then(v).forward_fill().shift(1).over("account_id"),
        pl.col(f"now_{k}")))).then(v).alias(f"set_{k}") for k, v in fields.items())
    sets = [f"set_{k}" for k in fields]
    for row in f.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in sets)).group_by(
            "account_id").agg(pl.col(c).drop_nulls().last() for c in sets).iter_rows():
        plan.account_updates[row[0]] = {k: v for k, v in zip(fields, row[1:], strict=True)
                                        if v is not None}
    return f.with_columns(pl.any_horizontal(pl.col(c).is_not_null() for c in sets)
                          .alias("set_any"))


def _domains_planned(f: pl.DataFrame, st: _State, plan: _Plan) -> list[int]:
    """Domains not stored yet, each with the account of its first row; those rows' lines."""
    domains = f.filter(pl.col("domain").is_not_null()
                       & ~pl.col("domain").is_in(st.domains["domain"].implode())).group_by(
        "domain", maintain_order=True).agg(pl.col("line").first(), pl.col("key").first())
    plan.new_domains = domains.select("domain", "key")
    return domains["line"].to_list()


def _contacts_planned(f: pl.DataFrame, st: _State, plan: _Plan) -> pl.DataFrame:
    """Addresses not stored for their account, and stored contacts whose name (when given) or
    incident flag changes. Adds `new_contact`, `new_name`, `new_flag`."""
    stored = st.contacts.rename({"name": "now_contact", "incident_contact": "now_flag"})
    known = pl.col("contact_id").is_not_null()
    f = f.join(stored, on=["account_id", "email"], how="left", maintain_order="left")
    f = f.with_columns(
        new_contact=pl.col("email").is_not_null() & ~known,
        new_name=known & (pl.col("contact_name") != "")
        & (pl.col("contact_name") != pl.col("now_contact")),
        new_flag=known & (pl.col("incident_contact") != pl.col("now_flag")))
    plan.new_contacts = f.filter(pl.col("new_contact")).select(
        "key", "email", pl.col("contact_name").alias("name"), "incident_contact")
    for contact_id, contact_name, flag, new_name, new_flag in f.filter(
            pl.col("new_name") | pl.col("new_flag")).select(
            "contact_id", "contact_name", "incident_contact", "new_name", "new_flag").iter_rows():
        plan.contact_updates[contact_id] = {"name": contact_name} if new_name else {}
        if new_flag:
            plan.contact_updates[contact_id]["incident_contact"] = flag
    return f


def _marks_planned(f: pl.DataFrame, st: _State, plan: _Plan) -> pl.DataFrame:
    """A row's answer that differs from the stored one is set (the last one stays); an account
    not on the incident's list yet goes on it, unanswered, with its first row. Adds `mark`."""
    f = f.join(st.marks.rename({"impact": "now_mark"}), on="account_id", how="left",
               maintain_order="left")
    f = f.with_columns(answer=pl.col("impact").is_not_null()
                       & pl.col("impact").ne_missing(pl.col("now_mark")))
    f = f.with_columns(mark=pl.col("answer") | (pl.col("now_mark").is_null() & pl.col("opens")))
    plan.marks = f.filter(pl.col("mark")).group_by("key", maintain_order=True).agg(
        pl.col("account_id").first(),
        pl.col("impact").filter(pl.col("answer")).last().fill_null(Impact.UNKNOWN.value),
        pl.col("now_mark").first().is_null().alias("fresh")).select(list(_MARKS))
    return f


def _by_domain(names: pl.Series, domains: pl.DataFrame) -> pl.DataFrame:
    """`name` -> `account`: each name found as it is, else as its nearest parent domain
    (a name is looked up while it has a dot, then without its first label)."""
    table = domains.select(at="domain", account="account_id")
    todo = pl.DataFrame({"name": names, "at": names})
    found = []
    while (todo := todo.filter(pl.col("at").str.contains(".", literal=True))).height:
        looked = todo.join(table, on="at", how="left")
        found.append(looked.filter(pl.col("account").is_not_null()).select("name", "account"))
        todo = looked.filter(pl.col("account").is_null()).select(
            "name", pl.col("at").str.splitn(".", 2).struct.field("field_1").alias("at"))
    return pl.concat(found) if found else table.head(0).rename({"at": "name"})


def _plan_engineering(frame: pl.DataFrame | None, st: _State) -> _Plan:
    """Match each row to an account (by id, exact email, email domain, then its domains) and
    mark the accounts impacted; later rows of a matched account are merged into the first.
    Column by column: a million-row list is matched with a few joins, not a million loops."""
    plan = _Plan()
    if frame is None or frame.height == 0:
        return plan
    # Each key in turn, on the rows no earlier key matched and that have one: most rows of a
    # large list are matched by id or address, the domains are worked out for the rest only.
    matched: list[pl.DataFrame] = []

    def look_up(rest: pl.DataFrame, key: str, table: pl.DataFrame) -> pl.DataFrame:
        keyed = pl.col(key).is_not_null()
        looked = rest.filter(keyed).join(table.rename({table.columns[0]: key}), on=key,
                                         how="left")
        matched.append(looked.filter(pl.col("account").is_not_null()).select(
            "line", "value", "account"))
        return pl.concat([rest.filter(~keyed),
                          looked.filter(pl.col("account").is_null()).drop("account")])

    ids = st.keys.filter(pl.col("key").str.starts_with("id:"))
    rest = look_up(frame.select("line", "value", "crm_id", "email", "domain", "host"),
                   "crm_id", ids.select(pl.col("key").str.slice(3), account="account_id"))
    rest = look_up(rest, "email", st.emails.rename({"account_id": "account"}))
    # (A checked address has one "@".)
    rest = rest.with_columns(pl.col("email").str.slice(
        pl.col("email").str.find("@", literal=True) + 1).alias("email_domain"))
    found = _by_domain(pl.concat([rest[c].drop_nulls() for c in ("email_domain", "domain",
                                                                   "host")]).unique(),
                       st.domains)
    for key in ("email_domain", "domain", "host"):
        rest = look_up(rest, key, found)
    plan.unmatched = rest.select("line", "value").sort("line")
    f = pl.concat(matched).sort("line").with_columns(
        pl.col("line").min().over("account").alias("first"))
    yes = Impact.YES.value
    already = st.marks.filter(pl.col("impact") == yes)["account_id"].implode()
    f = f.with_columns(merged=(pl.col("line") != pl.col("first"))
                       | pl.col("account").is_in(already))
    plan.marks = f.filter(~pl.col("merged")).select(
        pl.col("account").alias("account_id"), key=pl.lit(None, pl.String), impact=pl.lit(yes),
        fresh=~pl.col("account").is_in(st.marks["account_id"].implode()))
    plan.imported = plan.marks.height
    merged = f.filter(pl.col("merged"))
    plan.merged_count = merged.height
    plan.merged = [RowIssue(
        line=line, value=value, reason=f"same account as line {first}" if line != first
        else "account already marked impacted")
        for line, value, first in merged.head(MERGED_LINES_LISTED)
        .select("line", "value", "first").iter_rows()]
    return plan


def _report(name: str, source: str, encoding: str, parsed: Parsed[Any], plan: _Plan,
            dry_run: bool) -> ImportReport:
    unmatched = [Unmatched(line=line, value=value) for line, value in plan.unmatched.iter_rows()]
    rejected = [RowIssue(line=x.line, reason=x.reason, value=x.value) for x in parsed.rejected]
    rejected = sorted([*rejected, *unmatched], key=lambda x: x.line)
    layout = parsed.layout
    return ImportReport(
        file=name, source=source, encoding=encoding,
        header_line=layout.header_line if layout and layout.header_line else None,
        columns={f: layout.headers[i] for f, i in layout.columns.items()
                 if i < len(layout.headers)} if layout else {},
        read=parsed.read, imported=plan.imported, merged=plan.merged_count, rejected=rejected,
        unmatched=unmatched,
        ignored=[RowIssue(line=x.line, reason=x.reason) for x in parsed.ignored],
        merged_lines=plan.merged, merged_lines_omitted=plan.merged_count - len(plan.merged),
        accounts_created=plan.new_accounts.height,
        accounts_updated=len(plan.account_updates), contacts_created=plan.new_contacts.height,
        contacts_updated=len(plan.contact_updates), marks_set=plan.marks.height, dry_run=dry_run,
    )


def _apply(s: Session, incident_id: int, plan: _Plan, st: _State, actor: str, now: Any,
           source: str) -> None:
    """Write the plan: the changes to stored rows first, then the new rows with bulk
    statements (COPY on PostgreSQL, multi-row INSERTs on SQLite). The rows each table gets
    decide whether its keys are checked and its indexes built once, at the end."""
    _update(s, incident_id, plan, actor, now, source)
    new_rows = {CustomerAccount: plan.new_accounts.height, AccountDomain: plan.new_domains.height,
                Contact: plan.new_contacts.height, ImpactMark: int(plan.marks["fresh"].sum())}
    with bulk.large_writes(s, new_rows, references=CustomerAccount):
        _insert(s, incident_id, plan, st, actor, now, source)


def _update(s: Session, incident_id: int, plan: _Plan, actor: str, now: Any,
            source: str) -> None:
    """Changed accounts, contacts and marks (by their keys, while every index is there)."""
    if plan.account_updates:
        s.execute(update(CustomerAccount), [
            {"id": i, **v, "updated_at": now} for i, v in plan.account_updates.items()])
    if plan.contact_updates:
        s.execute(update(Contact), [{"id": i, **v} for i, v in plan.contact_updates.items()])
    for (impact,), changed in plan.marks.filter(~pl.col("fresh")).group_by(
            "impact", maintain_order=True):
        bulk.update_where_in(s, ImpactMark, "account_id", changed["account_id"].to_list(), {
            "impact": impact, "by": actor, "at": now, "source": source[:300]},
            where=ImpactMark.incident_id == incident_id)


def _insert(s: Session, incident_id: int, plan: _Plan, st: _State, actor: str, now: Any,
            source: str) -> None:
    """New accounts, domains, contacts and marks."""
    ids = st.keys  # account key -> id, of the stored accounts and then of the new ones
    if plan.new_accounts.height:
        reserved = bulk.reserve_ids(s, CustomerAccount, plan.new_accounts.height)
        accounts = plan.new_accounts.with_columns(
            pl.Series("id", reserved, dtype=pl.Int64), ce_none=pl.lit(False),
            ae_none=pl.lit(False), updated_at=pl.lit(now))
        bulk.insert_rows(s, CustomerAccount,
                         (*_ACCOUNT_COLUMNS, "ce_none", "ae_none", "updated_at"), accounts)
        ids = pl.concat([ids, accounts.select("key", account_id="id")])
    if plan.new_domains.height:
        bulk.insert_rows(s, AccountDomain, ("domain", "account_id"), plan.new_domains.join(
            ids, on="key").sort("domain"))  # (in key order: cheaper)
    if plan.new_contacts.height:
        reserved = bulk.reserve_ids(s, Contact, plan.new_contacts.height)
        bulk.insert_rows(s, Contact, ("id", "account_id", "email", "name", "incident_contact"),
                         plan.new_contacts.join(ids, on="key", maintain_order="left")
                         .with_columns(pl.Series("id", reserved, dtype=pl.Int64)))
    fresh = plan.marks.filter("fresh")
    if fresh["account_id"].null_count():  # the marks of new accounts
        fresh = fresh.join(ids, on="key", how="left", maintain_order="left").select(
            pl.coalesce("account_id", "account_id_right").alias("account_id"), "impact")
    if fresh.height:
        bulk.insert_rows(s, ImpactMark, ("incident_id", "account_id", "impact", "by", "at",
                                         "source"), fresh.with_columns(
            incident_id=pl.lit(incident_id), by=pl.lit(actor), at=pl.lit(now),
            source=pl.lit(source[:300])))


def _remember(s: Session, source: str, mapping: dict[str, str], actor: str, now: Any) -> None:
    row = s.get(ColumnMapping, source)
    if row is None:
        s.add(ColumnMapping(source=source, fields=mapping, updated_at=now, updated_by=actor))
    elif row.fields != mapping:
        row.fields, row.updated_at, row.updated_by = mapping, now, actor
