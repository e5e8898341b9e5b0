"""Builders for the status page tests: incidents whose facts fill the status templates,
impacted customers that make the status page recommended, and components."""

from __future__ import annotations

from sqlalchemy import select

from herald.services import contacts, incidents, plan, status_page
from herald.services.context import Herald
from herald.store.contact_models import CustomerAccount
from herald.store.models import AuditEntry

MESSENGER = "messenger@example.com"
FACTS = {
    "release": "5.2.0",
    "causes": "search results to leave out repositories added after the upgrade",
    "impact_condition": "you upgraded to 5.2.0 and added repositories afterwards",
    "remediation": "upgrade to 5.2.1",
    "customer_must_act": "yes",
}
TITLE = "Search misses new repositories"


def incident(h: Herald, number: str = "inc-1", *, security: bool = False,
             title: str = TITLE) -> str:
    """An incident whose plan fills every status template."""
    ref = incidents.create_incident(h, title=title, actor=MESSENGER, messenger=MESSENGER,
                                    number=number, security=security)
    for key, value in FACTS.items():
        plan.set_fact(h, ref, key, value, actor=MESSENGER, provided_by=MESSENGER)
    return ref


def customers(h: Herald, ref: str, *, impacted: int, total: int = 4,
              deployment: str = "cloud") -> None:
    """`total` accounts of one deployment type, `impacted` of them marked impacted."""
    now = h.clock.now()
    with h.db.transaction() as s:
        have = len(s.scalars(select(CustomerAccount.id)).all())
        for n in range(have, have + total):
            s.add(CustomerAccount(crm_id=f"crm-{n}", name=f"Customer {n}", deployment=deployment,
                                  updated_at=now))
    for n in range(have, have + impacted):
        contacts.mark(h, ref, f"crm-{n}", "yes", actor=MESSENGER)


def components(h: Herald) -> None:
    """Three components, operational."""
    status_page.add_component(h, "api", "REST API", actor=MESSENGER,
                              description="The public API")
    status_page.add_component(h, "search", "Search", actor=MESSENGER)
    status_page.add_component(h, "web", "Web app", actor=MESSENGER)


def audit_actions(h: Herald, action: str) -> list[AuditEntry]:
    """Audit entries of one action, oldest first."""
    with h.db.sessions() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                         .order_by(AuditEntry.id)).all()
        s.expunge_all()
        return list(rows)
