"""Parse rows of a CRM report or an engineering list into records, each row with its fate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from herald.channels.importers.layout import (
    CRM_ALIASES,
    ENGINEERING_ALIASES,
    Layout,
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


@dataclass
class Rejected:
    """A data row that could not be used, and why."""

    line: int
    reason: str
    value: str


@dataclass
class Ignored:
    """A line that is report noise (blank, footer, summary), listed so nothing vanishes."""

    line: int
    reason: str


@dataclass
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


@dataclass
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
    for line, cells in sheet.rows:
        if line < layout.header_line:
            out.ignored.append(Ignored(line, "report title line before the header"))
            continue
        if line == layout.header_line:
            continue
        if cells is None:
            out.rejected.append(Rejected(line, "unreadable CSV line (broken quoting)", ""))
            continue
        # A one-column list (emails, ids, domains) has one cell per row: after a blank line
        # that is still data, not the single-cell lines of a report footer.
        why = noise(cells, after_blank and len(layout.columns) > 1)
        if why:
            out.ignored.append(Ignored(line, why))
            after_blank = after_blank or why == "blank line"
            continue
        if cells == layout.headers:
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
    get = layout.get
    for line, cells in _data_rows(sheet, layout, out):
        name, crm_id = get(cells, "account_name"), get(cells, "crm_id")
        value = ", ".join(c for c in cells if c)[:200]
        if not name and not crm_id:
            out.rejected.append(Rejected(line, "no account name or account id", value))
            continue
        raw_email = get(cells, "email")
        email = clean_email(raw_email) if raw_email else None
        if raw_email and email is None:
            out.rejected.append(Rejected(line, f"invalid email {raw_email!r}", value))
            continue
        people = {}
        for role in ("ce", "ae"):
            raw = get(cells, f"{role}_email")
            people[role] = clean_email(raw) if raw else None
            if raw and people[role] is None and raw.lower() not in {"none", "n/a", "-"}:
                out.rejected.append(Rejected(line, f"invalid {role.upper()} email {raw!r}", value))
                break
        else:
            raw_dep = get(cells, "deployment")
            deployment = parse_deployment(raw_dep)
            if raw_dep and deployment is None:
                out.rejected.append(Rejected(
                    line, f"unknown deployment type {raw_dep!r} (self-hosted or cloud)", value))
                continue
            raw_impact = get(cells, "impacted")
            # A blank mark is "not answered yet": it leaves any earlier answer as it was.
            impact = parse_impact(raw_impact) if raw_impact else None
            if raw_impact and impact is None:
                out.rejected.append(Rejected(line, f"impacted must be yes or no, not "
                                             f"{raw_impact!r}", value))
                continue
            contact = _one_line(get(cells, "contact_name") or " ".join(
                p for p in (get(cells, "first_name"), get(cells, "last_name")) if p))
            texts = {"account id": crm_id, "account name": _one_line(name or crm_id),
                     "contact name": contact, "CE name": _one_line(get(cells, "ce_name")),
                     "AE name": _one_line(get(cells, "ae_name"))}
            too_long = next((k for k, v in texts.items() if len(v) > _LONGEST[k]), None)
            if too_long:
                out.rejected.append(Rejected(
                    line, f"{too_long} longer than {_LONGEST[too_long]} characters", value))
                continue
            out.records.append(CrmRecord(
                line=line, crm_id=crm_id or None, account_name=texts["account name"],
                domain=clean_domain(get(cells, "domain")) or (
                    email.rpartition("@")[2] if email and not crm_id and not name else None),
                deployment=deployment, contact_name=contact, email=email,
                incident_contact=parse_flag(get(cells, "incident_contact")),
                ce_name=texts["CE name"], ce_email=people["ce"],
                ae_name=texts["AE name"], ae_email=people["ae"], impact=impact))
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
    get = layout.get
    for line, cells in _data_rows(sheet, layout, out):
        raw_email, crm_id = get(cells, "email"), get(cells, "crm_id")
        value = next((c for c in (raw_email, crm_id, get(cells, "domain"),
                                  get(cells, "instance_url")) if c), "")
        email = clean_email(raw_email) if raw_email else None
        domains = [d for d in (clean_domain(get(cells, "domain")),
                               clean_domain(get(cells, "instance_url"))) if d]
        if raw_email and email is None and not crm_id and not domains:
            out.rejected.append(Rejected(line, f"invalid email {raw_email!r}", value))
            continue
        if not (email or crm_id or domains):
            out.rejected.append(Rejected(line, "no email, account id, domain or instance URL",
                                         ", ".join(c for c in cells if c)[:200]))
            continue
        out.records.append(EngineeringRecord(line, value, email, crm_id or None, domains))
    return out


def _one_line(text: str) -> str:
    """Names end up in email headers and greetings: one line, single spaces."""
    return " ".join(text.split())


def _no_header(sheet: Sheet, out: Parsed[Any], reason: str) -> None:
    for line, cells in sheet.rows:
        if cells is not None and not any(cells):
            out.ignored.append(Ignored(line, "blank line"))
        else:
            out.rejected.append(Rejected(line, reason, ", ".join(cells or [])[:200]))
