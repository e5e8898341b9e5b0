"""An approved incident with N impacted contacts, ready for `start_send` (tests and the bench).

The path is the real one: a CRM report imported as CSV marks the accounts impacted, the plan
gets its facts, the email draft is written from the default template, the three required
seats approve it. Nothing here touches the database directly.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from herald.delivery.outbox import DUE_STATES
from herald.services import contact_import, drafts, incidents, plan, reviews
from herald.services.context import Herald
from herald.store.outbox_models import OutboxItem

MESSENGER = "messenger@example.com"
MESSENGER_NAME = "Mia Messenger"
BUDDY = "buddy@example.com"
CS_LEADER = "csl@example.com"
LEAD = "lead@example.com"
KIND = "email_impact_known"
HEADER = ["Account Name", "Account ID", "Website", "Deployment Type", "Contact Name", "Email",
          "Customer Engineer", "Customer Engineer Email", "Account Owner",
          "Account Owner Email", "Impacted (yes/no)"]


@dataclass(frozen=True)
class Person:
    """One contact the send must reach, with what their email must carry."""

    email: str
    name: str
    account: str
    ce_email: str
    ae_email: str


def people(n: int, *, per_account: int = 2, start: int = 0,
           names: dict[int, str] | None = None, accounts: dict[int, str] | None = None,
           ) -> list[Person]:
    """`n` contacts, `per_account` to an account, each account with its own CE and AE."""
    out = []
    for i in range(start, start + n):
        a = i // per_account
        out.append(Person(email=f"c{i}@cust{a}.example", name=(names or {}).get(i, f"Contact {i}"),
                          account=(accounts or {}).get(a, f"Customer {a}"),
                          ce_email=f"ce{a % 7}@vendor.example",
                          ae_email=f"ae{a % 5}@vendor.example"))
    return out


def crm_csv(contacts: list[Person]) -> bytes:
    """A CRM report listing the contacts, every account marked impacted."""
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    for p in contacts:
        key = p.email.rpartition("@")[2].split(".")[0]
        w.writerow([p.account, f"ACC-{key}", f"{key}.example", "self-hosted", p.name, p.email,
                    f"CE of {key}", p.ce_email, f"AE of {key}", p.ae_email, "yes"])
    return out.getvalue().encode("utf-8")


def import_people(h: Herald, ref: str, contacts: list[Person], folder: Path) -> None:
    """Import (more) contacts into the incident's list through the CRM importer."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"crm-{len(list(folder.iterdir()))}.csv"
    path.write_bytes(crm_csv(contacts))
    report = contact_import.import_file(h, ref, path, source="crm", actor=MESSENGER)
    assert not report.rejected, report.rejected[:3]


def approved_incident(h: Herald, contacts: list[Person], folder: Path, *,
                      number: str = "inc-7", approve: bool = True) -> str:
    """An incident whose email draft is approved by every required seat; returns its ref."""
    ref = incidents.create_incident(h, title="Search misses new repositories", actor=MESSENGER,
                                    messenger=MESSENGER, messenger_name=MESSENGER_NAME,
                                    number=number)
    if contacts:
        import_people(h, ref, contacts, folder)
    for key, value in (("release", "5.2.0"),
                       ("causes", "repositories added after the upgrade to be left out of "
                                  "search results"),
                       ("remediation", "upgrade to 5.2.1")):
        plan.set_fact(h, ref, key, value, actor=MESSENGER, provided_by=LEAD)
    drafts.new_draft(h, ref, KIND, actor=MESSENGER)
    for role, holder in (("buddy", BUDDY), ("cs_leader", CS_LEADER), ("incident_lead", LEAD)):
        incidents.set_role(h, ref, role, holder, actor=MESSENGER)
    # step 14 posts the review requests in the incident channel
    incidents.add_link(h, ref, "channel", "https://chat.example.com/archives/C0INC7",
                       actor=MESSENGER)
    if approve:
        approve_all(h, ref)
    return ref


def approve_all(h: Herald, ref: str) -> None:
    """Ask for reviews and have every required seat approve the current drafts."""
    reviews.request_reviews(h, ref, actor=MESSENGER,
                            extras={"send_time_utc": "14:00", "send_date": "2026-01-01"})
    for seat, holder in (("buddy", BUDDY), ("cs_leadership", CS_LEADER),
                         ("incident_lead", LEAD)):
        reviews.decide(h, ref, seat, "approved", actor=holder, account_roles=[])
    status = reviews.review_status(h, ref)
    assert status.ready, status.missing


def emails_pending(h: Herald) -> int:
    """Email rows a worker could still act on (the outbox also carries chat posts)."""
    with h.db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.kind == "email", OutboxItem.state.in_((*DUE_STATES, "sending"))))
            or 0)
