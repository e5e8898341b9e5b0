"""The CE round: each customer engineer marks their accounts impacted yes/no."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from herald.domain.access import Viewer
from herald.errors import InvalidInput
from herald.exports import safe_cell
from herald.services.contacts import NO_CE, export_path_ok
from herald.services.context import Herald
from herald.services.guard import visible_incident
from herald.store.contact_models import Contact, CustomerAccount, ImpactMark
from herald.store.models import Fact
from herald.timeparse import fmt

MARK_COLUMN = "Impacted (yes/no)"
SHEET_COLUMNS = ["Account ID", "Account Name", "Deployment Type", "Customer Engineer",
                 "CE Email", "Account Owner", "AE Email", "Incident contacts", MARK_COLUMN]


class CeAccount(BaseModel):
    """One account in a CE's round."""

    account_id: str
    account_name: str
    deployment: str | None
    impact: str
    marked_by: str | None
    contacts: list[str]


class CeProgress(BaseModel):
    """How far one CE is: accounts answered out of accounts on the list."""

    ce_email: str
    ce_name: str
    answered: int
    total: int
    accounts: list[CeAccount]


def ce_round(h: Herald, ref: str, *, viewer: Viewer | None = None,
             ce_email: str | None = None) -> list[CeProgress]:
    """Per CE, their accounts on the incident's list and what they answered so far."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        q = (select(ImpactMark.impact, ImpactMark.by, CustomerAccount.id, CustomerAccount.crm_id,
                    CustomerAccount.name, CustomerAccount.deployment, CustomerAccount.ce_email,
                    CustomerAccount.ce_name)
             .join(CustomerAccount, CustomerAccount.id == ImpactMark.account_id)
             .where(ImpactMark.incident_id == inc.id)
             .order_by(CustomerAccount.ce_email, CustomerAccount.name))
        if ce_email:
            q = q.where(CustomerAccount.ce_email == ce_email.strip().lower())
        rows = s.connection().execute(q).all()  # plain rows: a list can be 100,000 long
        emails = _incident_contacts(s, [r.id for r in rows])
        groups: dict[str, CeProgress] = {}
        for r in rows:
            key = r.ce_email or NO_CE
            group = groups.setdefault(key, CeProgress(ce_email=key, ce_name=r.ce_name,
                                                      answered=0, total=0, accounts=[]))
            group.total += 1
            group.answered += r.impact != "unknown"
            group.accounts.append(CeAccount.model_construct(
                account_id=r.crm_id or f"#{r.id}", account_name=r.name,
                deployment=r.deployment, impact=r.impact,
                marked_by=r.by if r.impact != "unknown" else None,
                contacts=emails.get(r.id, [])))
        return sorted(groups.values(), key=lambda g: (g.answered == g.total, g.ce_email))


class CeSummary(BaseModel):
    """One CE's line in the round's overview: how far they are, and the first accounts they
    have not answered for."""

    ce_email: str
    ce_name: str
    answered: int
    total: int
    open_names: list[str]
    open_more: int  # unanswered accounts past open_names


def ce_overview(h: Herald, ref: str, *, viewer: Viewer | None = None,
                listed: int = 20) -> list[CeSummary]:
    """Per CE, answered out of total (counted by the database) and the names of the first
    `listed` accounts still unanswered: what the overview shows of a list of any length."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        conn = s.connection()
        on_list = (ImpactMark.account_id == CustomerAccount.id) & (
            ImpactMark.incident_id == inc.id)
        summaries = [CeSummary(
            ce_email=r.ce_email or NO_CE, ce_name=r.ce_name or "", total=r.total,
            answered=r.answered, open_names=[], open_more=0) for r in conn.execute(
                select(CustomerAccount.ce_email, func.min(CustomerAccount.ce_name).label(
                    "ce_name"), func.count().label("total"),
                       func.sum(case((ImpactMark.impact != "unknown", 1), else_=0)).label(
                           "answered"))
                .join(ImpactMark, on_list).group_by(CustomerAccount.ce_email))]
        groups = {g.ce_email: g for g in summaries}
        for ce_email, name in conn.execute(
                select(CustomerAccount.ce_email, CustomerAccount.name).join(ImpactMark, on_list)
                .where(ImpactMark.impact == "unknown")
                .order_by(CustomerAccount.ce_email, CustomerAccount.name)):
            group = groups[ce_email or NO_CE]
            if len(group.open_names) < listed:
                group.open_names.append(name)
            else:
                group.open_more += 1
        return sorted(groups.values(), key=lambda g: (g.answered == g.total, g.ce_email))


def _incident_contacts(s: Session, ids: list[int]) -> dict[int, list[str]]:
    """Account id -> its incident contacts' emails, read in bounded batches."""
    emails: dict[int, list[str]] = defaultdict(list)
    for chunk in range(0, len(ids), 5000):  # SQLite limits the number of bound parameters
        for account_id, email in s.execute(
                select(Contact.account_id, Contact.email)
                .where(Contact.account_id.in_(ids[chunk:chunk + 5000]),
                       Contact.incident_contact.is_(True))
                .order_by(Contact.email)):
            emails[account_id].append(email)
    return emails


def export_ce_sheet(h: Herald, ref: str, path: Path, fmt_: str = "xlsx", *,
                    ce_email: str | None = None, viewer: Viewer | None = None) -> int:
    """The sheet CEs fill: one row per account, the marks column last; re-import as a CRM file."""
    fmt_ = fmt_.lower()
    if fmt_ not in {"csv", "xlsx"}:
        raise InvalidInput("format must be csv or xlsx")
    export_path_ok(path)
    rows: list[list[str]] = []
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        q = (select(ImpactMark.impact, CustomerAccount)
             .join(CustomerAccount, CustomerAccount.id == ImpactMark.account_id)
             .where(ImpactMark.incident_id == inc.id)
             .order_by(CustomerAccount.ce_email, CustomerAccount.name))
        if ce_email:
            q = q.where(CustomerAccount.ce_email == ce_email.strip().lower())
        found = s.execute(q).all()
        emails = _incident_contacts(s, [a.id for _i, a in found])
        for impact, a in found:
            contacts = emails.get(a.id, [])
            rows.append([safe_cell(v) for v in (
                a.crm_id or "", a.name, a.deployment or "", a.ce_name, a.ce_email or "",
                a.ae_name, a.ae_email or "", ", ".join(contacts),
                "" if impact == "unknown" else impact)])
    if fmt_ == "csv":
        with path.open("w", newline="", encoding="utf-8-sig") as f:
            writer = csv.writer(f)
            writer.writerow(SHEET_COLUMNS)
            writer.writerows(rows)
    else:
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "impacted"
        sheet.append(SHEET_COLUMNS)
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
        for column, width in zip("ABCDEFGHI", (14, 32, 14, 22, 28, 22, 28, 40, 18),
                                 strict=True):
            sheet.column_dimensions[column].width = width
        book.save(path)
    return len(rows)


def ce_help_message(h: Herald, ref: str, *, sheet_link: str, deadline: datetime,
                    column: str = "I", viewer: Viewer | None = None) -> str:
    """The chat message asking CEs to mark their customers, with every blank filled."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        condition = s.scalar(select(Fact.value).where(Fact.incident_id == inc.id,
                                                      Fact.key == "impact_condition"))
        label = inc.number or f"incident {inc.id}"
    if not condition:
        raise InvalidInput("fill the plan's 'Who is impacted' fact first: the CEs need the "
                           "impact condition")
    if not sheet_link.strip():
        raise InvalidInput("give the link to the sheet the CEs should fill")
    return (
        f"Hi CE team, I'm the messenger for {label} and I need your help finding which of your "
        f"customers are impacted. A customer is impacted if {condition.rstrip('.')}. Please "
        f"open the sheet ({sheet_link.strip()}) and write yes or no in column {column} for each "
        "of your accounts. While you are there, check that the incident contacts are still "
        "right, and fix them in the CRM too. We plan to contact customers soon, so we need "
        f"your answers by {fmt(deadline)}. Thank you!"
    )
