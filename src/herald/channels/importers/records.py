"""Parse rows of a CRM report or an engineering list into records, each row with its fate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from herald.channels.importers.layout import (
    CRM_ALIASES,
    ENGINEERING_ALIASES,
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

    @property
    def account_key(self) -> str:
        """How rows of the same account are recognised: CRM id, else the name."""
        return f"id:{self.crm_id}" if self.crm_id else f"name:{self.account_name.lower()}"


@dataclass(slots=True)
class EngineeringRecord:
    """One usable engineering-list row: the keys it offers for matching an account."""

    line: int
    value: str
    email: str | None
    crm_id: str | None
    domains: list[str]


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

    @property
    def read(self) -> int:
        """Data rows read (records and rejected rows; noise lines are not data)."""
        return len(self.records) + len(self.rejected)


def _data_rows(sheet: Sheet, layout: Layout, out: Parsed[Any]) -> list[tuple[int, list[str]]]:
    """Rows after the header, with blank/footer/summary lines moved to `ignored`."""
    rows: list[tuple[int, list[str]]] = []
    after_blank = False
    header_line, headers = layout.header_line, layout.headers
    # A one-column list (emails, ids, domains) has one cell per row: after a blank line
    # that is still data, not the single-cell lines of a report footer.
    several_columns = len(layout.columns) > 1
    for line, cells in sheet.rows:
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
        rows.append((line, cells))
    return rows


def parse_crm(sheet: Sheet, mapping: dict[str, str] | None = None) -> Parsed[CrmRecord]:
    """Read a CRM report export into account/contact records."""
    out: Parsed[CrmRecord] = Parsed()
    layout = find_layout(sheet.rows, CRM_ALIASES, {"account_name", "crm_id", "email"}, mapping)
    if layout is None:
        _no_header(sheet, out, "no header row naming Account Name / Account ID / Email")
        return out
    out.layout = layout
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
    for line, cells in _data_rows(sheet, layout, out):
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
        add(CrmRecord(
            line, crm_id or None, account_name,
            domains[raw_domain] or (
                email.rpartition("@")[2] if email and not crm_id and not name else None),
            deployment, contact, email, flags[raw_flag], ce_name, ce_email,
            ae_name, ae_email, impact))
    return out


def parse_engineering(sheet: Sheet, mapping: dict[str, str] | None = None
                      ) -> Parsed[EngineeringRecord]:
    """Read engineering's list of affected users, accounts or instances."""
    out: Parsed[EngineeringRecord] = Parsed()
    layout = find_layout(sheet.rows, ENGINEERING_ALIASES,
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
    pick = layout.picker(("email", "crm_id", "domain", "instance_url"))
    add = out.records.append
    for line, cells in _data_rows(sheet, layout, out):
        raw_email, crm_id, raw_domain, raw_url = pick(cells)
        value = raw_email or crm_id or raw_domain or raw_url  # the first key given
        email = clean_email(raw_email) if raw_email else None
        domain = clean_domain(raw_domain) if raw_domain else None
        host = clean_domain(raw_url) if raw_url else None
        domains = [d for d in (domain, host) if d] if domain or host else []
        if raw_email and email is None and not crm_id and not domains:
            out.rejected.append(Rejected(line, f"invalid email {raw_email!r}", value))
            continue
        if not (email or crm_id or domains):
            out.rejected.append(Rejected(line, "no email, account id, domain or instance URL",
                                         _value(cells)))
            continue
        add(EngineeringRecord(line, value, email, crm_id or None, domains))
    return out


_CRM_FIELDS = ("account_name", "crm_id", "email", "ce_email", "ae_email", "deployment",
               "impacted", "contact_name", "first_name", "last_name", "ce_name", "ae_name",
               "domain", "incident_contact")
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
