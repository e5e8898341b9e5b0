"""A realistic example incident, clearly marked as a demo, for exploring and screenshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from herald.clock import FixedClock
from herald.services import incidents, plan, steps, timeline
from herald.services.context import Herald
from herald.store.models import Incident

MESSENGER = "maya.okafor@example.com"
BUDDY = "liam.chen@example.com"
LEAD = "priya.raman@example.com"
CS_LEADER = "sam.ortiz@example.com"
NUMBER = "inc-4217"
TITLE = "DEMO - Search results missing for repositories added after the 5.2 upgrade"


def seed_demo(h: Herald) -> str:
    """Create the demo incident as if the messenger started two hours ago; returns its ref.

    Running it again leaves the existing demo incident as it is.
    """
    with h.db.sessions() as s:
        if s.scalar(select(Incident.id).where(Incident.number == NUMBER)) is not None:
            return NUMBER
    clock = FixedClock(h.clock.now() - timedelta(hours=2))
    d = replace(h, clock=clock)
    ref = incidents.create_incident(d, title=TITLE, actor=MESSENGER, messenger=MESSENGER,
                                    messenger_name="Maya Okafor", severity="sev2", demo=True)
    me = MESSENGER
    incidents.add_link(d, ref, "channel", "https://chat.example.com/archives/C0DEMO42",
                       actor=me, label_text="incident channel")
    for n in (1, 2, 3, 4):
        clock.advance(minutes=2)
        link = "https://chat.example.com/archives/C0DEMO42/p1" if n == 1 else None
        steps.complete_step(d, ref, n, actor=me, link=link)
    clock.advance(minutes=3)
    steps.complete_step(d, ref, "buddy", actor=me)
    incidents.set_role(d, ref, "buddy", BUDDY, actor=me, name="Liam Chen")
    incidents.set_role(d, ref, "incident_lead", LEAD, actor=me, name="Priya Raman")
    incidents.set_role(d, ref, "cs_leader", CS_LEADER, actor=me, name="Sam Ortiz")
    clock.advance(minutes=8)
    steps.complete_step(d, ref, "read", actor=me, note="read together with Liam")
    clock.advance(minutes=4)
    ref = incidents.rename_incident(d, ref, actor=me, number=NUMBER)
    incidents.add_link(d, ref, "folder", f"https://drive.example.com/folders/{NUMBER}",
                       actor=me, label_text="incident folder")
    steps.complete_step(d, ref, "workspace", actor=me)
    clock.advance(minutes=5)
    steps.complete_step(d, ref, "plan", actor=me)
    incidents.set_deadline(d, ref, aware_at=clock.now() - timedelta(hours=1), hours=72, actor=me)
    for key, value in (
        ("release", "5.2.0"),
        ("causes", "repositories added after the upgrade to be left out of search results"),
        ("impact_condition", "you upgraded to 5.2.0 and added repositories afterwards"),
        ("how_to_determine", "search for a file in a recently added repository"),
        ("remediation", "upgrade to 5.2.1, which re-indexes the missing repositories"),
        ("customer_must_act", "yes"),
        ("deployments", "self-hosted"),
        ("self_hosted_share", "35"),
    ):
        clock.advance(minutes=2)
        plan.set_fact(d, ref, key, value, actor=me, provided_by=LEAD,
                      source="https://chat.example.com/archives/C0DEMO42/p2")
    plan.add_retro_note(d, ref, "The CRM report took 20 minutes to find; link it from the plan "
                        "template.", actor=BUDDY)
    clock.advance(minutes=3)
    steps.complete_step(d, ref, "gather", actor=me)
    clock.advance(minutes=10)
    # Planned from the real now, so a fresh demo never starts with past-due rows.
    for key, hours in (("list_ready", 1), ("drafts_ready", 2), ("reviews_requested", 3),
                       ("reviews_approved", 4), ("emails_sent", 5)):
        timeline.plan_event(d, ref, key, h.clock.now() + timedelta(hours=hours), actor=me)
    timeline.event_na(d, ref, "status_page", actor=me,
                      reason="about a third of self-hosted customers: below the threshold")
    return ref
