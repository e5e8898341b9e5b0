"""Parse rows of a CRM report or an engineering list into records, each row with its fate."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import polars as pl

from herald.channels.importers.columnar import (
    ascii_text,
    by_python,
    clean_domains,
    clean_emails,
    column,
    each,
    one_line,
    one_line_plain,
    rows_of,
)
from herald.channels.importers.layout import (
    CRM_ALIASES,
    ENGINEERING_ALIASES,
    NOISE_INITIALS,
    NOISE_START,
    Layout,
    could_be_noise,
    find_layout,
    noise,
)
from herald.channels.importers.tabular import Sheet
from herald.domain.contacts import (
    Deployment,
    Impact,
    clean_domain,
    clean_email,
    parse_deployment,
    parse_flag,
    parse_impact,
)


@dataclass(slots=True)
class Rejected:
    """A data row that could not be used, and why."""

    line: int
    reason: str
    value: str


@dataclass(slots=True)
class Ignored:
    """A line that is report noise (blank, footer, summary), listed so nothing vanishes."""

    line: int
    reason: str


@dataclass(slots=True)
class CrmRecord:
    """One usable CRM report row: an account and (usually) one of its contacts."""

    line: int
    crm_id: str | None
    account_name: str
    domain: str | None
    deployment: Deployment | None
    contact_name: str
    email: str | None
    incident_contact: bool
    ce_name: str
    ce_email: str | None
    ae_name: str
    ae_email: str | None
    impact: Impact | None  # from an "Impacted" column (the CE sheet), else None


@dataclass(slots=True)
class EngineeringRecord:
    """One usable engineering-list row: the keys it offers for matching an account."""

    line: int
    value: str
    email: str | None
    crm_id: str | None
    domain: str | None  # from a domain column
    host: str | None  # from an instance URL column

    @property
    def domains(self) -> list[str]:
        """The names to match by domain, in the order they are tried."""
        return [d for d in (self.domain, self.host) if d]


# The columns of records in a frame (`Parsed.frame`), as the records' fields (a CRM record's
# deployment and impact are their enums' values).
ENGINEERING_COLUMNS = {"line": pl.Int64, "value": pl.String, "email": pl.String,
                       "crm_id": pl.String, "domain": pl.String, "host": pl.String}
CRM_COLUMNS = {"line": pl.Int64, "crm_id": pl.String, "account_name": pl.String,
               "domain": pl.String, "deployment": pl.String, "contact_name": pl.String,
               "email": pl.String, "incident_contact": pl.Boolean, "ce_name": pl.String,
               "ce_email": pl.String, "ae_name": pl.String, "ae_email": pl.String,
               "impact": pl.String}


R = TypeVar("R")
# The longest values the store keeps; longer is a shifted column or a pasted note, not a name.
_LONGEST = {"account id": 64, "account name": 300, "contact name": 300, "CE name": 200,
            "AE name": 200}


@dataclass
class Parsed(Generic[R]):
    """The outcome of reading a file: usable records, rejected rows and ignored lines."""

    records: list[R] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    layout: Layout | None = None
    # The records, a row each (CRM_COLUMNS or ENGINEERING_COLUMNS): a million rows are
    # planned column by column, never made into a million objects. `records` is then empty.
    frame: pl.DataFrame | None = None

    @property
    def read(self) -> int:
        """Data rows read (records and rejected rows; noise lines are not data)."""
        return (len(self.records) + len(self.rejected)
                + (self.frame.height if self.frame is not None else 0))

    def frame_records(self) -> list[Any]:
        """The frame's rows as records (for a look at a few of them, e.g. in tests)."""
        if self.frame is None:
            return []
        if "value" in self.frame.columns:
            return [EngineeringRecord(*row) for row in self.frame.iter_rows()]
        return [CrmRecord(**row | {
            "deployment": Deployment(row["deployment"]) if row["deployment"] else None,
            "impact": Impact(row["impact"]) if row["impact"] else None})
            for row in self.frame.iter_rows(named=True)]


def _records(sheet: Sheet, out: Parsed[Any],
             by_frame: Callable[[pl.DataFrame, Layout, Parsed[Any]], pl.DataFrame],
             by_row: Callable[[list[tuple[int, list[str]]], Layout, Parsed[Any]], None],
             columns: dict[str, Any]) -> None:
    """A sheet's data rows made into `out.frame`: a table's through `by_frame`, column by column,
    the rest (every row of a sheet without a table) through `by_row`, row by row."""
    assert out.layout is not None
    frames = []
    if sheet.table is not None:
        frame, rows = _table_rows(sheet.table, out.layout, out)
        frames.append(by_frame(frame, out.layout, out))
    else:
        rows = _data_rows(sheet.rows, out.layout, out)
    by_row(rows, out.layout, out)
    frames.append(_records_frame(out.records, columns))
    out.records = []
    out.frame = _in_line_order(pl.concat(frames))


def _in_line_order(frame: pl.DataFrame) -> pl.DataFrame:
    """Records in file order (they are, unless the row-by-row code made a record of a row the
    columnar lane handed it; sorting a million rows is not free)."""
    return frame if frame["line"].is_sorted() else frame.sort("line")


def _records_frame(records: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """Records (made row by row) as frame rows."""
    rows = [tuple(v.value if isinstance(v, (Deployment, Impact)) else v
                  for v in map(r.__getattribute__, schema)) for r in records]
    return pl.DataFrame(rows, schema=schema, orient="row")


def _data_rows(rows: Iterable[tuple[int, list[str] | None]], layout: Layout,
               out: Parsed[Any]) -> list[tuple[int, list[str]]]:
    """Rows after the header, with blank/footer/summary lines moved to `ignored`."""
    data: list[tuple[int, list[str]]] = []
    after_blank = False
    header_line, headers = layout.header_line, layout.headers
    # A one-column list (emails, ids, domains) has one cell per row: after a blank line
    # that is still data, not the single-cell lines of a report footer.
    several_columns = len(layout.columns) > 1
    for line, cells in rows:
        if line < header_line:
            out.ignored.append(Ignored(line, "report title line before the header"))
            continue
        if line == header_line:
            continue
        if cells is None:
            out.rejected.append(Rejected(line, "unreadable CSV line (broken quoting)", ""))
            continue
        first = next(filter(None, cells), "")
        if could_be_noise(first) or (after_blank and several_columns):
            why = noise(cells, after_blank and several_columns)
            if why:
                out.ignored.append(Ignored(line, why))
                after_blank = after_blank or why == "blank line"
                continue
        if cells == headers:
            out.ignored.append(Ignored(line, "repeated header line"))
            continue
        data.append((line, cells))
    return data


_NOISE_START_ASCII = f"(?i)^(?:{NOISE_START.pattern})"


def _table_rows(table: pl.DataFrame, layout: Layout, out: Parsed[Any]
                ) -> tuple[pl.DataFrame, list[tuple[int, list[str]]]]:
    """`_data_rows` for a table: the data rows before the first blank line as a frame, and
    the data rows from there on (a report's footer block) as Python rows.

    Rows that may be noise or a repeated header are decided by `_data_rows` itself; the
    frame's test only has to catch every such row (it may catch more)."""
    header_line, headers = layout.header_line, layout.headers
    _data_rows(rows_of(table.head(header_line)), layout, out)  # a table's row i is line i + 1
    data = table.slice(header_line)  # (slices share the table's memory; filters would copy)
    cells = [c for c in data.columns if c.startswith("c")]
    # (The first filled cell is made once, as a column: as an expression used five times,
    # it would be worked out five times.)
    first = pl.col("first")
    maybe = first.is_null() | (first.str.slice(0, 1).is_in(list(NOISE_INITIALS)) & (
        ~ascii_text(first) | first.str.contains(_NOISE_START_ASCII)))
    if headers:
        maybe = maybe | ((pl.col("n") == len(headers)) & (pl.col("c0") == headers[0]))
    marks = data.lazy().with_columns(
        pl.coalesce([pl.when(pl.col(c) != "").then(pl.col(c)) for c in cells]).alias("first")
    ).select(first.is_null().alias("blank"), maybe.alias("maybe")).collect()
    tail: list[tuple[int, list[str]]] = []
    blank = marks["blank"].arg_true()
    if len(layout.columns) > 1 and len(blank):  # a blank line may start a footer block
        tail = _data_rows(rows_of(data.slice(blank[0])), layout, out)
        data, marks = data.head(blank[0]), marks.head(blank[0])
    doubtful = data.filter(marks["maybe"])
    if doubtful.height:
        kept = {line for line, _ in _data_rows(rows_of(doubtful), layout, out)}
        dropped = set(doubtful["line"].to_list()) - kept
        if dropped:
            data = data.filter(~pl.col("line").is_in(list(dropped)))
    return data, tail


def parse_crm(sheet: Sheet, mapping: dict[str, str] | None = None) -> Parsed[CrmRecord]:
    """Read a CRM report export into account/contact records."""
    out: Parsed[CrmRecord] = Parsed()
    layout = find_layout(sheet.head(), CRM_ALIASES, {"account_name", "crm_id", "email"},
                         mapping)
    if layout is None:
        _no_header(sheet, out, "no header row naming Account Name / Account ID / Email")
        return out
    out.layout = layout
    _records(sheet, out, _crm_frame, _crm_rows, CRM_COLUMNS)
    return out


def _crm_rows(rows: list[tuple[int, list[str]]], layout: Layout, out: Parsed[CrmRecord]) -> None:
    """Each row a record or a rejection, row by row (the reference for `_crm_frame`)."""
    pick = layout.picker(_CRM_FIELDS)
    # The account team's addresses and names, a report's websites and deployment types repeat
    # on row after row: each distinct text is checked once per file.
    team_emails = _Memo(clean_email)
    domains = _Memo(clean_domain)
    lines = _Memo(_one_line)
    deployments = _Memo(parse_deployment)
    flags = _Memo(parse_flag)
    reject = out.rejected.append
    add = out.records.append
    shortest_limit = min(_LONGEST.values())
    for line, cells in rows:
        (name, crm_id, raw_email, raw_ce, raw_ae, raw_dep, raw_impact, contact_name, first,
         last, ce_name, ae_name, raw_domain, raw_flag) = pick(cells)
        if not name and not crm_id:
            reject(Rejected(line, "no account name or account id", _value(cells)))
            continue
        email = clean_email(raw_email) if raw_email else None
        if raw_email and email is None:
            reject(Rejected(line, f"invalid email {raw_email!r}", _value(cells)))
            continue
        ce_email = team_emails[raw_ce] if raw_ce else None
        if raw_ce and ce_email is None and raw_ce.lower() not in _NO_ONE:
            reject(Rejected(line, f"invalid CE email {raw_ce!r}", _value(cells)))
            continue
        ae_email = team_emails[raw_ae] if raw_ae else None
        if raw_ae and ae_email is None and raw_ae.lower() not in _NO_ONE:
            reject(Rejected(line, f"invalid AE email {raw_ae!r}", _value(cells)))
            continue
        deployment = deployments[raw_dep]
        if raw_dep and deployment is None:
            reject(Rejected(line, f"unknown deployment type {raw_dep!r} (self-hosted or cloud)",
                            _value(cells)))
            continue
        # A blank mark is "not answered yet": it leaves any earlier answer as it was.
        impact = parse_impact(raw_impact) if raw_impact else None
        if raw_impact and impact is None:
            reject(Rejected(line, f"impacted must be yes or no, not {raw_impact!r}",
                            _value(cells)))
            continue
        contact = _one_line(contact_name or (f"{first} {last}" if first and last
                                             else first or last))
        account_name = lines[name or crm_id]
        ce_name = lines[ce_name]
        ae_name = lines[ae_name]
        if max(len(crm_id), len(account_name), len(contact), len(ce_name),
               len(ae_name)) > shortest_limit:
            texts = {"account id": crm_id, "account name": account_name,
                     "contact name": contact, "CE name": ce_name, "AE name": ae_name}
            too_long = next((k for k, v in texts.items() if len(v) > _LONGEST[k]), None)
            if too_long:
                reject(Rejected(line, f"{too_long} longer than {_LONGEST[too_long]} characters",
                                _value(cells)))
                continue
        add(CrmRecord(line, crm_id or None, account_name, domains[raw_domain], deployment,
                      contact, email, flags[raw_flag], ce_name, ce_email, ae_name, ae_email,
                      impact))


def _crm_frame(frame: pl.DataFrame, layout: Layout, out: Parsed[CrmRecord]) -> pl.DataFrame:
    """`_crm_rows` for a frame of rows, column by column; every row it would reject is handed
    to `_crm_rows`, so rejections (and their reasons) come from one place."""
    if frame.height == 0:
        return pl.DataFrame(schema=CRM_COLUMNS)
    f = frame.select("line", *[column(frame, layout.columns.get(name)).alias(name)
                               for name in _CRM_FIELDS])
    name, crm_id = f["account_name"], f["crm_id"]
    raw_ce, raw_ae, raw_dep, raw_impact = f["ce_email"], f["ae_email"], f["deployment"], \
        f["impacted"]
    first, last = f["first_name"], f["last_name"]
    joined = pl.select(pl.when(f["contact_name"] != "").then(f["contact_name"])
                       .when((first != "") & (last != "")).then(first + " " + last)
                       .otherwise(first + last)).to_series()
    nobody = by_python(pl.concat([raw_ce, raw_ae]), lambda v: v.lower() in _NO_ONE, pl.Boolean)
    v = pl.DataFrame({
        "line": f["line"], "crm_id": crm_id.replace("", None),
        "account_name": one_lines(pl.select(pl.when(name != "").then(name).otherwise(crm_id))
                                  .to_series()),
        "domain": clean_domains(f["domain"]),
        "deployment": by_python(raw_dep, _deployment_value, pl.String),
        "contact": one_lines(joined), "email": clean_emails(f["email"]),
        "flag": by_python(f["incident_contact"], parse_flag, pl.Boolean),
        "ce_name": one_lines(f["ce_name"]), "ce_email": clean_emails(raw_ce),
        "ae_name": one_lines(f["ae_name"]), "ae_email": clean_emails(raw_ae),
        "impact": by_python(raw_impact, _impact_value, pl.String),
        "ce_nobody": nobody.head(len(raw_ce)), "ae_nobody": nobody.tail(len(raw_ae)),
    })
    too_long = pl.any_horizontal(pl.col(c).str.len_chars() > limit for c, limit in (
        ("crm_id", _LONGEST["account id"]), ("account_name", _LONGEST["account name"]),
        ("contact", _LONGEST["contact name"]), ("ce_name", _LONGEST["CE name"]),
        ("ae_name", _LONGEST["AE name"]))).fill_null(False)
    rejected = (((name == "") & (crm_id == ""))
                | ((f["email"] != "") & v["email"].is_null())
                | ((raw_ce != "") & v["ce_email"].is_null() & ~v["ce_nobody"])
                | ((raw_ae != "") & v["ae_email"].is_null() & ~v["ae_nobody"])
                | ((raw_dep != "") & v["deployment"].is_null())
                | ((raw_impact != "") & v["impact"].is_null())
                | v.select(too_long).to_series())
    _crm_rows(rows_of(frame.filter(rejected)), layout, out)
    return v.filter(~rejected).rename({"contact": "contact_name", "flag": "incident_contact"}
                                      ).select(list(CRM_COLUMNS))


def _deployment_value(text: str) -> str | None:
    found = parse_deployment(text)
    return found.value if found else None


def _impact_value(text: str) -> str | None:
    found = parse_impact(text) if text else None
    return found.value if found else None


def one_lines(texts: pl.Series) -> pl.Series:
    """`_one_line` of each text."""
    v = pl.col("v")
    return each(texts, lambda f: f.select(fast=one_line(v), decided=one_line_plain(v)),
                _one_line)


def parse_engineering(sheet: Sheet, mapping: dict[str, str] | None = None
                      ) -> Parsed[EngineeringRecord]:
    """Read engineering's list of affected users, accounts or instances into `frame`."""
    out: Parsed[EngineeringRecord] = Parsed()
    layout = find_layout(sheet.head(), ENGINEERING_ALIASES,
                         {"email", "crm_id", "domain", "instance_url"}, mapping)
    if layout is None:
        first = next((c for _, c in sheet.rows if c and any(c)), None)
        if first is not None and clean_email(first[0]):  # a bare list of emails, no header
            layout = Layout(0, {"email": 0}, [])
        else:
            _no_header(sheet, out, "no header row naming email / account id / domain / "
                       "instance URL")
            return out
    out.layout = layout
    _records(sheet, out, _engineering_frame, _engineering_rows, ENGINEERING_COLUMNS)
    return out


def _engineering_rows(rows: list[tuple[int, list[str]]], layout: Layout,
                      out: Parsed[EngineeringRecord]) -> None:
    """Each row a record or a rejection, row by row (the reference for `_engineering_frame`)."""
    pick = layout.picker(_ENGINEERING_FIELDS)
    add = out.records.append
    for line, cells in rows:
        raw_email, crm_id, raw_domain, raw_url = pick(cells)
        value = raw_email or crm_id or raw_domain or raw_url  # the first key given
        email = clean_email(raw_email) if raw_email else None
        domain = clean_domain(raw_domain) if raw_domain else None
        host = clean_domain(raw_url) if raw_url else None
        if raw_email and email is None and not crm_id and not domain and not host:
            out.rejected.append(Rejected(line, f"invalid email {raw_email!r}", value))
            continue
        if not (email or crm_id or domain or host):
            out.rejected.append(Rejected(line, "no email, account id, domain or instance URL",
                                         _value(cells)))
            continue
        add(EngineeringRecord(line, value, email, crm_id or None, domain, host))


def _engineering_frame(frame: pl.DataFrame, layout: Layout,
                       out: Parsed[EngineeringRecord]) -> pl.DataFrame:
    """`_engineering_rows` for a frame of rows, column by column (rows it would reject are
    handed to `_engineering_rows`)."""
    if frame.height == 0:
        return pl.DataFrame(schema=ENGINEERING_COLUMNS)
    f = frame.select("line", *[column(frame, layout.columns.get(name)).alias(name)
                               for name in _ENGINEERING_FIELDS])
    v = pl.DataFrame({
        "line": f["line"],
        "value": f.select(pl.coalesce([pl.when(pl.col(c) != "").then(pl.col(c))
                                       for c in _ENGINEERING_FIELDS]).fill_null("")
                          ).to_series(),
        "email": clean_emails(f["email"]), "crm_id": f["crm_id"].replace("", None),
        "domain": clean_domains(f["domain"]), "host": clean_domains(f["instance_url"])})
    rejected = v.select(pl.all_horizontal(pl.col(c).is_null() for c in (
        "email", "crm_id", "domain", "host"))).to_series()
    _engineering_rows(rows_of(frame.filter(rejected)), layout, out)
    return v.filter(~rejected)


_CRM_FIELDS = ("account_name", "crm_id", "email", "ce_email", "ae_email", "deployment",
               "impacted", "contact_name", "first_name", "last_name", "ce_name", "ae_name",
               "domain", "incident_contact")
_ENGINEERING_FIELDS = ("email", "crm_id", "domain", "instance_url")
_NO_ONE = {"none", "n/a", "-"}  # an account-team column saying there is nobody, not an address
T = TypeVar("T")


class _Memo(dict[str, T]):
    """convert(text) by text, computed once per distinct text (for values that repeat row after
    row); a hit is a plain dict lookup, with no Python call."""

    def __init__(self, convert: Callable[[str], T]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, text: str) -> T:
        self[text] = result = self.convert(text)
        return result


def _value(cells: list[str]) -> str:
    """A row as a rejection shows it: its filled cells."""
    return ", ".join(c for c in cells if c)[:200]


def _one_line(text: str) -> str:
    """Names end up in email headers and greetings: one line, single spaces."""
    return " ".join(text.split())


def _no_header(sheet: Sheet, out: Parsed[Any], reason: str) -> None:
    for line, cells in sheet.rows:
        if cells is not None and not any(cells):
            out.ignored.append(Ignored(line, "blank line"))
        else:
            out.rejected.append(Rejected(line, reason, ", ".join(cells or [])[:200]))
