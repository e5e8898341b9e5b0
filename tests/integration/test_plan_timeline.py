"""The plan's facts with provenance and sign-off, the timeline, and disclosure deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from herald.errors import Forbidden, InvalidInput, NotFound
from herald.services import incidents, plan, steps, timeline, views
from herald.services.context import Herald
from tests.helpers import (
    BUDDY,
    LEAD,
    MESSENGER,
    SECURITY_LEAD,
    actions,
    event,
    fact,
    new_incident,
    staff,
    walk,
)

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)  # the FixedClock's start


# --- facts ---------------------------------------------------------------------------------


def test_a_fact_records_who_provided_it_and_when(h: Herald) -> None:
    ref = new_incident(h)
    version = plan.set_fact(h, ref, "Self-Hosted-Share", "35%", actor=MESSENGER,
                            provided_by=LEAD, source="https://chat.example.com/p2")
    assert version == 1
    f = fact(h, ref, "self_hosted_share")
    assert (f.value, f.provided_by, f.source, f.recorded_by, f.recorded_at, f.version) == (
        "35", LEAD, "https://chat.example.com/p2", MESSENGER, T0, 1)
    assert (f.signed_off_by, f.signed_off_at) == (None, None)
    # without --provided-by the messenger is the provider
    plan.set_fact(h, ref, "release", "5.2.0", actor=BUDDY)
    assert fact(h, ref, "release").provided_by == BUDDY
    # blanks not filled stay blank
    assert fact(h, ref, "cloud_share").value is None


def test_changing_a_fact_keeps_the_old_value_in_the_log(h: Herald) -> None:
    ref = new_incident(h)
    plan.set_fact(h, ref, "release", "5.2.0", actor=MESSENGER, provided_by=LEAD)
    h.clock.advance(minutes=3)  # type: ignore[attr-defined]
    assert plan.set_fact(h, ref, "release", "5.2.1", actor=BUDDY) == 2
    assert plan.set_fact(h, ref, "release", "5.2.1", actor=BUDDY) == 2  # the same: no change
    f = fact(h, ref, "release")
    assert (f.value, f.provided_by, f.recorded_by, f.recorded_at) == (
        "5.2.1", BUDDY, BUDDY, T0 + timedelta(minutes=3))
    rows = [r for r in views.audit_log(h, ref) if r.action == "fact.set"]
    assert [(r.actor, r.target, r.before, r.after) for r in rows] == [
        (MESSENGER, "release", None,
         {"value": "5.2.0", "provided_by": LEAD, "source": None}),
        (BUDDY, "release", {"value": "5.2.0", "provided_by": LEAD},
         {"value": "5.2.1", "provided_by": BUDDY, "source": None}),
    ]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("color", "red", "unknown plan field 'color'"),
    ("cloud_share", "150", "cloud_share: a percentage from 0 to 100"),
    ("customer_must_act", "maybe", "answer yes or no"),
    ("deployments", "on-prem", "deployments: self-hosted, cloud, or both"),
    ("aware_at", "yesterday", "aware_at: 'yesterday' is not a time"),
    ("release", " ", "release: a value is required"),
])
def test_bad_facts_are_refused(h: Herald, key: str, value: str, message: str) -> None:
    ref = new_incident(h)
    with pytest.raises(InvalidInput, match=message):
        plan.set_fact(h, ref, key, value, actor=MESSENGER)
    assert actions(h, ref) == ["incident.created"]


def test_the_provider_must_be_an_email(h: Herald) -> None:
    ref = new_incident(h)
    with pytest.raises(InvalidInput, match="invalid email 'Priya'"):
        plan.set_fact(h, ref, "release", "5.2.0", actor=MESSENGER, provided_by="Priya")


def test_only_the_security_lead_can_sign_off(h: Herald) -> None:
    ref = new_incident(h, security=True)
    plan.set_fact(h, ref, "release", "5.2.0", actor=MESSENGER)
    plan.set_fact(h, ref, "causes", "tokens to be logged", actor=MESSENGER)
    with pytest.raises(Forbidden, match="only the incident's security lead can sign off"):
        plan.sign_off_facts(h, ref, None, actor=SECURITY_LEAD)  # not assigned yet
    staff(h, ref, "security_lead", "cs_leader")
    for someone in (MESSENGER, LEAD, "csl@example.com"):
        with pytest.raises(Forbidden):
            plan.sign_off_facts(h, ref, ["release"], actor=someone)
    with pytest.raises(NotFound, match="no fact recorded for: remediation"):
        plan.sign_off_facts(h, ref, ["release", "remediation"], actor=SECURITY_LEAD)
    assert fact(h, ref, "release").signed_off_by is None

    h.clock.advance(minutes=10)  # type: ignore[attr-defined]
    assert plan.sign_off_facts(h, ref, None, actor=SECURITY_LEAD) == ["causes", "release"]
    for key in ("causes", "release"):
        f = fact(h, ref, key)
        assert (f.signed_off_by, f.signed_off_at) == (SECURITY_LEAD, h.clock.now())
    assert plan.sign_off_facts(h, ref, None, actor=SECURITY_LEAD) == []  # nothing left
    rows = [r for r in views.audit_log(h, ref) if r.action == "fact.signed_off"]
    assert [(r.actor, r.target) for r in rows] == [(SECURITY_LEAD, "causes, release")]


def test_a_changed_fact_voids_its_sign_off(h: Herald) -> None:
    ref = new_incident(h, security=True)
    staff(h, ref, "security_lead")
    plan.set_fact(h, ref, "release", "5.2.0", actor=MESSENGER)
    plan.set_fact(h, ref, "causes", "tokens to be logged", actor=MESSENGER)
    plan.sign_off_facts(h, ref, None, actor=SECURITY_LEAD)
    plan.set_fact(h, ref, "release", "5.2.0", actor=MESSENGER)  # same value: still signed
    assert fact(h, ref, "release").signed_off_by == SECURITY_LEAD
    plan.set_fact(h, ref, "release", "5.2.1", actor=MESSENGER)
    assert (fact(h, ref, "release").signed_off_by, fact(h, ref, "release").signed_off_at) == (
        None, None)
    assert fact(h, ref, "causes").signed_off_by == SECURITY_LEAD  # the others keep theirs


def test_retro_notes(h: Herald) -> None:
    ref = new_incident(h)
    plan.add_retro_note(h, ref, " Link the CRM report from the template ", actor=BUDDY)
    with pytest.raises(InvalidInput, match="a retro note needs some text"):
        plan.add_retro_note(h, ref, "  ", actor=BUDDY)
    [note] = views.plan(h, ref).retro
    assert (note.text, note.by, note.at) == ("Link the CRM report from the template", BUDDY, T0)
    assert views.audit_log(h, ref)[-1].after == "Link the CRM report from the template"


# --- the timeline --------------------------------------------------------------------------


def test_the_timeline_starts_with_the_standard_events_open(h: Herald) -> None:
    ref = new_incident(h)
    rows = views.timeline(h, ref)
    assert [r.key for r in rows][:7] == ["claim", "buddy", "workspace", "plan_created",
                                         "info_gathered", "list_ready", "drafts_ready"]
    assert rows[-1].key == "celebrated"
    assert all(r.planned_at is None and r.completed_at is None and not r.na for r in rows)


def test_steps_complete_their_timeline_events_with_links(h: Herald) -> None:
    ref = new_incident(h)
    expected = {}
    for number, key in ((1, "claim"), (2, None), (3, None), (4, None), (5, "buddy"), (6, None),
                        (7, "workspace"), (8, "plan_created"), (9, "info_gathered"),
                        (10, "list_ready"), (11, "drafts_ready")):
        h.clock.advance(minutes=5)  # type: ignore[attr-defined]
        link = f"https://chat.example.com/p{number}"
        steps.complete_step(h, ref, number, actor=MESSENGER, link=link)
        if key:
            expected[key] = (h.clock.now(), link)
    done = {r.key: (r.completed_at, r.link) for r in views.timeline(h, ref) if r.completed_at}
    assert done == expected
    assert event(h, ref, "timeline_planned").completed_at is None


def test_planned_dates_and_na_events(h: Herald) -> None:
    ref = new_incident(h)
    at = T0 + timedelta(hours=4)
    timeline.plan_event(h, ref, "emails-sent", at, actor=MESSENGER)
    timeline.plan_event(h, ref, "emails_sent", at + timedelta(hours=1), actor=MESSENGER)
    with pytest.raises(InvalidInput, match="needs a reason"):
        timeline.event_na(h, ref, "status_page", actor=MESSENGER, reason=" ")
    timeline.event_na(h, ref, "status_page", actor=MESSENGER,
                      reason="a third of self-hosted customers: below the threshold")
    assert event(h, ref, "emails_sent").planned_at == at + timedelta(hours=1)
    row = event(h, ref, "status_page")
    assert (row.na, row.na_reason) == (True, "a third of self-hosted customers: below the "
                                             "threshold")
    # planning an n/a event means it will happen after all
    timeline.plan_event(h, ref, "status_page", at, actor=MESSENGER)
    row = event(h, ref, "status_page")
    assert (row.na, row.na_reason, row.planned_at) == (False, None, at)
    planned = [r for r in views.audit_log(h, ref) if r.action == "timeline.planned"]
    assert [(r.target, r.before, r.after) for r in planned] == [
        ("emails_sent", None, at.isoformat()),
        ("emails_sent", at.isoformat(), (at + timedelta(hours=1)).isoformat()),
        ("status_page", None, at.isoformat()),
    ]
    assert "timeline.na" in actions(h, ref)


def test_completing_an_event_by_hand(h: Herald) -> None:
    ref = new_incident(h)
    when = T0 - timedelta(minutes=30)
    timeline.complete_event(h, ref, "status_page", actor=MESSENGER, at=when,
                            link="https://status.example.com/i/1")
    row = event(h, ref, "status_page")
    assert (row.completed_at, row.link) == (when, "https://status.example.com/i/1")
    timeline.complete_event(h, ref, "retro", actor=MESSENGER)
    assert event(h, ref, "retro").completed_at == T0
    with pytest.raises(InvalidInput, match="links must be http"):
        timeline.complete_event(h, ref, "faq", actor=MESSENGER, link="ftp://x")


def test_custom_events(h: Herald) -> None:
    ref = new_incident(h)
    at = T0 + timedelta(hours=2)
    assert timeline.add_event(h, ref, "Second status update!", actor=MESSENGER,
                              planned_at=at) == "second_status_update"
    assert timeline.add_event(h, ref, "second status update", actor=MESSENGER) == (
        "second_status_update_2")
    with pytest.raises(InvalidInput, match="needs a title"):
        timeline.add_event(h, ref, "   ", actor=MESSENGER)
    rows = views.timeline(h, ref)
    assert [(r.key, r.title, r.planned_at) for r in rows[-2:]] == [
        ("second_status_update", "Second status update!", at),
        ("second_status_update_2", "second status update", None)]
    timeline.complete_event(h, ref, "second_status_update", actor=MESSENGER)
    assert event(h, ref, "second_status_update").completed_at == T0


def test_an_unknown_event_names_the_known_ones(h: Herald) -> None:
    ref = new_incident(h)
    with pytest.raises(NotFound, match="no timeline event 'party'; events are: claim, buddy,"):
        timeline.plan_event(h, ref, "party", T0, actor=MESSENGER)


# --- deadlines -----------------------------------------------------------------------------


def test_a_disclosure_deadline_counts_down_and_goes_overdue(h: Herald) -> None:
    ref = new_incident(h)
    assert views.incident_detail(h, ref).deadline is None
    aware = T0 - timedelta(hours=1)
    incidents.set_deadline(h, ref, aware_at=aware, hours=72, actor=MESSENGER)
    d = views.incident_detail(h, ref).deadline
    assert d is not None
    assert (d.aware_at, d.hours, d.due_at, d.state, d.left) == (
        aware, 72, aware + timedelta(hours=72), "ok", "2d 23h 00m left")

    h.clock.advance(hours=60)  # type: ignore[attr-defined]
    d = views.incident_detail(h, ref).deadline
    assert d is not None and (d.state, d.left) == ("soon", "11h 00m left")
    h.clock.advance(hours=10, minutes=30)  # type: ignore[attr-defined]
    [summary] = views.list_incidents(h)
    assert summary.deadline is not None
    assert (summary.deadline.state, summary.deadline.left) == ("soon", "0h 30m left")
    h.clock.advance(minutes=45)  # type: ignore[attr-defined]
    d = views.incident_detail(h, ref).deadline
    assert d is not None and (d.state, d.left) == ("overdue", "0h 15m overdue")


def test_sending_the_emails_meets_the_deadline(h: Herald) -> None:
    ref = new_incident(h)
    incidents.set_deadline(h, ref, aware_at=T0, hours=72, actor=MESSENGER)
    timeline.complete_event(h, ref, "emails_sent", actor=MESSENGER)
    h.clock.advance(days=10)  # type: ignore[attr-defined]
    d = views.incident_detail(h, ref).deadline
    assert d is not None and (d.state, d.left) == ("met", None)


def test_the_deadline_follows_the_aware_at_fact(h: Herald) -> None:
    ref = new_incident(h)
    plan.set_fact(h, ref, "aware_at", "2026-01-01T10:00+02:00", actor=MESSENGER, provided_by=LEAD)
    assert fact(h, ref, "aware_at").value == "2026-01-01 08:00 UTC"  # shown in UTC
    d = views.incident_detail(h, ref).deadline
    assert d is not None
    assert (d.aware_at, d.hours, d.due_at, d.state) == (
        datetime(2026, 1, 1, 8, 0, tzinfo=UTC), None, None, None)

    incidents.set_deadline(h, ref, aware_at=datetime(2026, 1, 1, 8, 0, tzinfo=UTC), hours=72,
                           actor=MESSENGER)
    # engineering corrects when it became aware: the deadline moves with the fact
    plan.set_fact(h, ref, "aware_at", "2025-12-31 20:00", actor=MESSENGER, provided_by=LEAD)
    d = views.incident_detail(h, ref).deadline
    assert d is not None
    assert (d.aware_at, d.due_at) == (datetime(2025, 12, 31, 20, 0, tzinfo=UTC),
                                      datetime(2026, 1, 3, 20, 0, tzinfo=UTC))
    assert d.left == "2d 11h 00m left"


def test_deadline_input_is_checked(h: Herald) -> None:
    ref = new_incident(h)
    with pytest.raises(InvalidInput, match="needs a zone"):
        incidents.set_deadline(h, ref, aware_at=datetime(2026, 1, 1, 8), hours=72,
                               actor=MESSENGER)
    for hours in (0, -5, 24 * 90 + 1):
        with pytest.raises(InvalidInput, match="between 0 and 2160 hours"):
            incidents.set_deadline(h, ref, aware_at=T0, hours=hours, actor=MESSENGER)
    assert views.incident_detail(h, ref).deadline is None


def test_the_deadline_change_is_audited(h: Herald) -> None:
    ref = new_incident(h)
    incidents.set_deadline(h, ref, aware_at=T0, hours=72, actor=MESSENGER)
    incidents.set_deadline(h, ref, aware_at=T0, hours=24, actor=LEAD)
    rows = [r for r in views.audit_log(h, ref) if r.action == "deadline.set"]
    assert [(r.actor, r.before, r.after) for r in rows] == [
        (MESSENGER, {"aware_at": None, "hours": None},
         {"aware_at": T0.isoformat(), "hours": 72}),
        (LEAD, {"aware_at": T0.isoformat(), "hours": 72},
         {"aware_at": T0.isoformat(), "hours": 24}),
    ]


def test_plan_view_carries_header_facts_and_checklist(h: Herald) -> None:
    ref = new_incident(h, security=True)
    staff(h, ref, "security_lead")
    walk(h, ref, 1, 2)
    plan.set_fact(h, ref, "release", "5.2.0", actor=MESSENGER, provided_by=LEAD)
    p = views.plan(h, ref)
    assert p.incident.ref == ref and p.incident.security
    assert p.incident.next_step == 3
    assert len(p.facts) == 10
    assert {r.role for r in p.incident.roles} == {"messenger", "security_lead"}
    assert p.incident.security_gate is not None
    assert p.incident.security_gate.unsigned_facts == ["release"]


def test_the_deadline_start_fills_the_aware_fact(h: Herald) -> None:
    from datetime import UTC, datetime

    from herald.services import incidents as inc_svc
    from herald.services import views as v

    ref = new_incident(h)
    inc_svc.set_deadline(h, ref, aware_at=datetime(2026, 1, 1, 7, 30, tzinfo=UTC), hours=72,
                         actor=MESSENGER)
    fact = next(f for f in v.plan(h, ref).facts if f.key == "aware_at")
    assert fact.value == "2026-01-01 07:30 UTC"
