"""The incident's customer list: marks, the list itself, readiness, shares and exports."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, aliased

from herald.domain import contacts as rules
from herald.domain.access import Viewer
from herald.errors import InvalidInput, NotFound
from herald.services.common import actor_email, audit, find_incident, touch
from herald.services.context import Herald
from herald.services.guard import visible_incident
from herald.store.contact_models import Contact, CustomerAccount, ImpactMark

NO_CE = "(no CE)"  # how lists name the accounts nobody is the CE of


class ContactRow(BaseModel):
    """One line of the list: a contact of an account on the incident's list."""

    account_id: str
    account_name: str
    deployment: str | None
    impacted: bool | None
    marked_by: str | None
    mark_source: str | None
    name: str | None
    email: str | None
    incident_contact: bool
    recipient: bool
    ce_name: str
    ce_email: str | None
    ae_name: str
    ae_email: str | None


class ShareView(BaseModel):
    """Impact share of one deployment type."""

    deployment: str
    impacted: int
    total: int
    percent: float


class ListStatus(BaseModel):
    """Whether the list is ready, what is missing, and the impact shares."""

    ready: bool
    problems: list[str]
    shares: dict[str, ShareView]
    accounts: dict[str, int]
    recipients: int


def _account(s: Session, text: str) -> CustomerAccount:
    """Find an account by CRM id, exact name, or internal id ('#12')."""
    key = (text or "").strip()
    if key.startswith("#") and key[1:].isdigit():
        found = s.get(CustomerAccount, int(key[1:]))
    else:
        found = s.scalar(select(CustomerAccount).where(CustomerAccount.crm_id == key))
        if found is None:
            matches = s.scalars(select(CustomerAccount).where(
                func.lower(CustomerAccount.name) == key.lower())).all()
            if len(matches) > 1:
                raise InvalidInput(f"several accounts are named {key!r}; use the account id")
            found = matches[0] if matches else None
    if found is None:
        raise NotFound(f"no customer account {key!r} (use its CRM id or exact name)")
    return found


def mark(h: Herald, ref: str, account: str, impact: str, *, actor: str,
         source: str = "manual") -> str:
    """Mark one account impacted yes/no (or back to unknown) for this incident."""
    actor = actor_email(actor)
    word = (impact or "").strip().lower()
    wanted = rules.Impact.UNKNOWN if word == "unknown" else rules.parse_impact(impact)
    if wanted is None or not word:
        raise InvalidInput(f"impact must be yes, no or unknown (got {impact!r})")
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        acc = _account(s, account)
        row = s.get(ImpactMark, (inc.id, acc.id))
        before = row.impact if row else None
        if row is None:
            s.add(ImpactMark(incident_id=inc.id, account_id=acc.id, impact=wanted.value,
                             by=actor, at=now, source=source))
        else:
            row.impact, row.by, row.at, row.source = wanted.value, actor, now, source
        touch(inc, now)
        audit(s, at=now, actor=actor, action="contacts.marked", incident=inc,
              target=acc.crm_id or acc.name, before=before, after=wanted.value)
        return acc.name


def set_account_team_none(h: Herald, account: str, role: str, *, actor: str) -> None:
    """Record that an account explicitly has no CE (or AE), so the list can be ready."""
    actor = actor_email(actor)
    if role not in {"ce", "ae"}:
        raise InvalidInput("role must be ce or ae")
    with h.db.transaction() as s:
        acc = _account(s, account)
        setattr(acc, f"{role}_none", True)
        audit(s, at=h.clock.now(), actor=actor, action=f"account.{role}_none",
              target=acc.crm_id or acc.name)


def _recipients(contacts: Sequence[Any]) -> set[int]:
    """Incident contacts are told; when an account flags none, every contact is."""
    flagged = {c.id for c in contacts if c.incident_contact}
    return flagged or {c.id for c in contacts}


class _Person(NamedTuple):
    """A contact as the list needs it."""

    id: int
    name: str | None
    email: str
    incident_contact: bool


# What the list reads: plain rows, streamed and grouped per account, so the memory it takes
# is one account's, not the list's (100,000 contacts as ORM objects would be ~200 MB). The
# account row answers both as the mark (impact, by, source) and as the account (id, name...).
_ACCOUNT = (ImpactMark.impact, ImpactMark.by, ImpactMark.source, CustomerAccount.id,
            CustomerAccount.crm_id, CustomerAccount.name, CustomerAccount.deployment,
            CustomerAccount.ce_name, CustomerAccount.ce_email, CustomerAccount.ce_none,
            CustomerAccount.ae_name, CustomerAccount.ae_email, CustomerAccount.ae_none)
_CONTACT = (Contact.id.label("contact_id"), Contact.name.label("contact_name"),
            Contact.email.label("contact_email"), Contact.incident_contact.label("flagged"))


def _accounts(s: Session, incident_id: int, *, impact: str | None = None, offset: int = 0,
              limit: int | None = None) -> Iterator[tuple[Any, list[_Person]]]:
    """The accounts on the incident's list (those marked `impact`, or all) with their
    contacts, in list order (account name, then contact email), read in chunks; `offset` and
    `limit` take one page of accounts."""
    q = (select(*_ACCOUNT, *_CONTACT)
         .join(CustomerAccount, CustomerAccount.id == ImpactMark.account_id)
         .outerjoin(Contact, Contact.account_id == CustomerAccount.id)
         .where(ImpactMark.incident_id == incident_id))
    if impact is not None:
        q = q.where(ImpactMark.impact == impact)
    if limit is not None:
        page = (select(ImpactMark.account_id)
                .join(CustomerAccount, CustomerAccount.id == ImpactMark.account_id)
                .where(ImpactMark.incident_id == incident_id)
                .order_by(CustomerAccount.name, CustomerAccount.id).offset(offset).limit(limit))
        if impact is not None:
            page = page.where(ImpactMark.impact == impact)
        q = q.where(CustomerAccount.id.in_(page.scalar_subquery()))
    rows = s.connection().execute(q.order_by(CustomerAccount.name, CustomerAccount.id,
                                             Contact.email).execution_options(yield_per=1000))
    for _, group in itertools.groupby(rows, key=lambda r: r.id):
        first, *rest = group
        yield first, [_Person(r.contact_id, r.contact_name, r.contact_email, r.flagged)
                      for r in (first, *rest) if r.contact_id is not None]


def told_contacts(s: Session, incident_id: int) -> Iterator[tuple[Any, _Person]]:
    """(account, contact) of everyone the incident's emails go to, in list order: the told
    contacts, with an address, of the accounts marked impacted (the rows list_contacts shows
    as recipients)."""
    for a, people in _accounts(s, incident_id, impact=rules.Impact.YES.value):
        told = _recipients(people)
        for c in people:
            if c.id in told and c.email:
                yield a, c


def list_contacts(h: Herald, ref: str, *, viewer: Viewer | None = None,
                  impacted_only: bool = False, impact: str | None = None, offset: int = 0,
                  limit: int | None = None) -> list[ContactRow]:
    """The list: every contact of every account on it (or of those marked `impact`, or a
    page of `limit` accounts from `offset`), with its mark and account team."""
    impact = rules.Impact.YES.value if impacted_only else impact
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        rows = []
        for a, people in _accounts(s, inc.id, impact=impact, offset=offset, limit=limit):
            m = a
            impacted = {"yes": True, "no": False}.get(m.impact)
            told = _recipients(people)
            base = dict(account_id=a.crm_id or f"#{a.id}", account_name=a.name,
                        deployment=a.deployment, impacted=impacted, marked_by=m.by,
                        mark_source=m.source, ce_name=a.ce_name,
                        ce_email=a.ce_email or ("none" if a.ce_none else None),
                        ae_name=a.ae_name,
                        ae_email=a.ae_email or ("none" if a.ae_none else None))
            if not people:
                rows.append(ContactRow(**base, name=None, email=None, incident_contact=False,
                                       recipient=False))
            for c in people:
                rows.append(ContactRow(**base, name=c.name, email=c.email,
                                       incident_contact=c.incident_contact,
                                       recipient=impacted is True and c.id in told))
        return rows


def list_status(h: Herald, ref: str, *, viewer: Viewer | None = None) -> ListStatus:
    """Ready or not (with every problem), impact shares per deployment type, counts."""
    with h.db.sessions() as s:
        return status_of(s, visible_incident(s, ref, viewer).id)


def status_of(s: Session, incident_id: int) -> ListStatus:
    """list_status in the caller's session, of an incident it has already found. The database
    counts the marks and, per impacted account, its contacts; Python reads only the addresses
    that will be told, to check each again (a list of 100,000 accounts with 35,000 impacted
    reads 35,000 short rows and their told addresses)."""
    yes = rules.Impact.YES.value
    counts = dict(s.execute(select(ImpactMark.impact, func.count())
                            .where(ImpactMark.incident_id == incident_id)
                            .group_by(ImpactMark.impact)).all())
    impacted = (ImpactMark.account_id == CustomerAccount.id) & (
        ImpactMark.incident_id == incident_id) & (ImpactMark.impact == yes)
    flagged = func.coalesce(func.sum(case((Contact.incident_contact, 1), else_=0)), 0)
    conn = s.connection()  # plain rows, no ORM loading
    per_account = conn.execute(
        select(CustomerAccount.id, CustomerAccount.crm_id, CustomerAccount.name,
               CustomerAccount.deployment, CustomerAccount.ce_email, CustomerAccount.ce_none,
               CustomerAccount.ae_email, CustomerAccount.ae_none,
               func.count(Contact.id).label("contacts"), flagged.label("flagged"))
        .join(ImpactMark, impacted).outerjoin(Contact, Contact.account_id == CustomerAccount.id)
        .group_by(CustomerAccount.id).order_by(CustomerAccount.name, CustomerAccount.id)).all()
    # Who is told: the incident contacts, or every contact of an account that flags none.
    others = aliased(Contact)
    none_flagged = ~select(others.id).where(others.account_id == Contact.account_id,
                                            others.incident_contact.is_(True)).exists()
    invalid: dict[int, list[str]] = defaultdict(list)
    for account_id, email in conn.execute(
            select(Contact.account_id, Contact.email)
            .join(ImpactMark, (ImpactMark.account_id == Contact.account_id)
                  & (ImpactMark.incident_id == incident_id) & (ImpactMark.impact == yes))
            .where(or_(Contact.incident_contact.is_(True), none_flagged))
            .order_by(Contact.account_id, Contact.email)):
        if not rules.clean_email(email):
            invalid[account_id].append(email)
    facts = []
    impacted_by_type: dict[str, int] = defaultdict(int)
    recipients = 0
    for a in per_account:
        bad = invalid.get(a.id, [])
        valid = (a.flagged or a.contacts) - len(bad)
        recipients += valid
        if a.deployment:
            impacted_by_type[a.deployment] += 1
        facts.append(rules.AccountFacts(
            key=a.crm_id or f"#{a.id}", name=a.name, impact=rules.Impact.YES,
            valid_emails=valid, invalid_emails=tuple(bad),
            ce=bool(a.ce_email) or a.ce_none, ae=bool(a.ae_email) or a.ae_none))
    totals = {d: n for d, n in s.execute(
        select(CustomerAccount.deployment, func.count())
        .group_by(CustomerAccount.deployment)) if d}
    result = rules.completeness(facts, unknown=counts.get(rules.Impact.UNKNOWN.value, 0))
    return ListStatus(
        ready=result.ready, problems=result.problems,
        shares={sh.deployment: ShareView(deployment=sh.deployment, impacted=sh.impacted,
                                         total=sh.total, percent=sh.percent)
                for sh in rules.shares(dict(impacted_by_type), totals)},
        accounts={k: counts.get(k, 0) for k in ("yes", "no", "unknown")},
        recipients=recipients)


def unanswered_by_ce(h: Herald, ref: str) -> dict[str, list[str]]:
    """CE email -> names of their accounts still marked unknown (who has not answered)."""
    with h.db.sessions() as s:
        inc = find_incident(s, ref)
        rows = s.execute(select(CustomerAccount.ce_email, CustomerAccount.name)
                         .join(ImpactMark, ImpactMark.account_id == CustomerAccount.id)
                         .where(ImpactMark.incident_id == inc.id,
                                ImpactMark.impact == rules.Impact.UNKNOWN.value)
                         .order_by(CustomerAccount.name)).all()
        out: dict[str, list[str]] = defaultdict(list)
        for ce, name in rows:
            out[ce or NO_CE].append(name)
        return dict(out)


def search_accounts(h: Herald, text: str, limit: int = 20) -> list[str]:
    """Account names matching a piece of text (for pickers)."""
    with h.db.sessions() as s:
        like = f"%{text.strip().lower()}%"
        return list(s.scalars(select(CustomerAccount.name).where(or_(
            func.lower(CustomerAccount.name).like(like), CustomerAccount.crm_id == text.strip()))
            .order_by(CustomerAccount.name).limit(limit)))


def export_path_ok(path: Path) -> Path:
    """Refuse to write an export over a folder or into a missing one."""
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; give a file name")
    if not path.parent.exists():
        raise InvalidInput(f"folder {path.parent} does not exist")
    return path
