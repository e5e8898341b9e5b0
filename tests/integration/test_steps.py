"""The ordered checklist on both databases: order, overrides, n/a, reopen, the security gate."""

from __future__ import annotations

import pytest

from herald.errors import Forbidden, InvalidInput, NotFound, Refused
from herald.services import incidents, plan, steps, views
from herald.services.context import Herald
from tests.helpers import (
    BUDDY,
    MESSENGER,
    SECURITY_LEAD,
    actions,
    event,
    fill_facts,
    new_incident,
    staff,
    states,
    step_view,
    walk,
)


def test_steps_in_order_move_next_and_record_who_and_when(h: Herald) -> None:
    ref = new_incident(h)
    assert views.incident_detail(h, ref).next_step == 1
    steps.complete_step(h, ref, 1, actor=MESSENGER, link="https://chat.example.com/p1",
                        note="claimed in #support")
    h.clock.advance(minutes=2)  # type: ignore[attr-defined]
    steps.complete_step(h, ref, "pause", actor=MESSENGER)
    d = views.incident_detail(h, ref)
    assert (d.next_step, d.next_title, d.steps_settled) == (3, "Breathe", 2)
    first, second = d.steps[0], d.steps[1]
    assert (first.state, first.by, first.link, first.note, first.override, first.skipped) == (
        "done", MESSENGER, "https://chat.example.com/p1", "claimed in #support", None, None)
    assert second.at == h.clock.now()
    assert actions(h, ref) == ["incident.created", "step.done", "step.done"]


def test_out_of_order_is_refused_without_override(h: Herald) -> None:
    ref = new_incident(h)
    steps.complete_step(h, ref, 1, actor=MESSENGER)
    before = views.incident_detail(h, ref).version
    for override in (None, "", "   "):
        with pytest.raises(Refused) as err:
            steps.complete_step(h, ref, "buddy", actor=MESSENGER, override=override)
        assert str(err.value) == ("step 5 comes after pending step(s) 2, 3, 4; finish those "
                                  "first or give an override with a reason")
    with pytest.raises(Refused, match="step 7 comes after pending step"):
        steps.mark_step_na(h, ref, 7, actor=MESSENGER, reason="no workspace needed")
    assert states(h, ref)[5] == "pending" and states(h, ref)[7] == "pending"
    assert event(h, ref, "buddy").completed_at is None
    assert actions(h, ref) == ["incident.created", "step.done"]  # nothing of the refusals
    assert views.incident_detail(h, ref).version == before


def test_out_of_order_with_override_is_recorded(h: Herald) -> None:
    ref = new_incident(h)
    steps.complete_step(h, ref, 1, actor=MESSENGER)
    reason = "a buddy volunteered before I could breathe"
    steps.complete_step(h, ref, "buddy", actor=MESSENGER, override=f"  {reason} ")
    s5 = step_view(h, ref, 5)
    assert (s5.state, s5.override, s5.skipped) == ("done", reason, [2, 3, 4])
    assert event(h, ref, "buddy").completed_at == h.clock.now()
    d = views.incident_detail(h, ref)
    assert d.next_step == 2  # the skipped calm prompts are still waiting, not skipped silently
    last = views.audit_log(h, ref)[-1]
    assert (last.action, last.actor, last.target) == ("step.done", MESSENGER, "5 buddy")
    assert last.after == {"link": None, "note": None, "reason": None, "override": reason,
                          "skipped": [2, 3, 4]}
    # the skipped steps can still be done afterwards, in order, without an override
    walk(h, ref, 2, 4)
    assert views.incident_detail(h, ref).next_step == 6


def test_an_override_is_not_recorded_when_nothing_is_skipped(h: Herald) -> None:
    ref = new_incident(h)
    steps.complete_step(h, ref, 1, actor=MESSENGER, override="just in case")
    s1 = step_view(h, ref, 1)
    assert (s1.override, s1.skipped) == (None, None)
    assert views.audit_log(h, ref)[-1].after["override"] is None


def test_a_settled_step_cannot_be_settled_again(h: Herald) -> None:
    ref = new_incident(h)
    steps.complete_step(h, ref, 1, actor=MESSENGER)
    with pytest.raises(Refused, match="step 1 is already done"):
        steps.complete_step(h, ref, 1, actor=BUDDY, override="again")
    assert step_view(h, ref, 1).by == MESSENGER


@pytest.mark.parametrize("step", ["25", "0", "nope", 99])
def test_an_unknown_step_is_not_found(h: Herald, step: str | int) -> None:
    ref = new_incident(h)
    with pytest.raises(NotFound, match=f"no step {step!r}; steps are 1-24"):
        steps.complete_step(h, ref, step, actor=MESSENGER)


def test_a_bad_link_is_refused_before_anything_changes(h: Herald) -> None:
    ref = new_incident(h)
    with pytest.raises(InvalidInput, match="links must be http"):
        steps.complete_step(h, ref, 1, actor=MESSENGER, link="chat.example.com/p1")
    assert states(h, ref)[1] == "pending"


def test_na_needs_a_reason_and_marks_the_timeline_event_na(h: Herald) -> None:
    ref = new_incident(h)
    walk(h, ref, 1, 4)
    for reason in ("", "  "):
        with pytest.raises(InvalidInput, match="marking a step n/a needs a reason"):
            steps.mark_step_na(h, ref, 5, actor=MESSENGER, reason=reason)
    steps.mark_step_na(h, ref, "buddy", actor=MESSENGER, reason=" the buddy is already here ")
    s5 = step_view(h, ref, 5)
    assert (s5.state, s5.na_reason, s5.by) == ("na", "the buddy is already here", MESSENGER)
    row = event(h, ref, "buddy")
    assert (row.na, row.na_reason, row.completed_at) == (True, "the buddy is already here", None)
    assert views.incident_detail(h, ref).next_step == 6  # n/a settles the step
    last = views.audit_log(h, ref)[-1]
    assert (last.action, last.target, last.after["reason"]) == (
        "step.na", "5 buddy", "the buddy is already here")


def test_reopen_puts_a_step_back_and_keeps_the_old_state_in_the_log(h: Herald) -> None:
    ref = new_incident(h)
    steps.complete_step(h, ref, 1, actor=MESSENGER)
    done_at = h.clock.now()
    steps.complete_step(h, ref, 3, actor=MESSENGER, override="breathed first")
    with pytest.raises(InvalidInput, match="reopening a step needs a reason"):
        steps.reopen_step(h, ref, 3, actor=MESSENGER, reason=" ")
    with pytest.raises(Refused, match="step 2 is already pending"):
        steps.reopen_step(h, ref, 2, actor=MESSENGER, reason="oops")
    h.clock.advance(minutes=1)  # type: ignore[attr-defined]
    steps.reopen_step(h, ref, "breathe", actor=BUDDY, reason="done out of order by mistake")
    s3 = step_view(h, ref, 3)
    assert (s3.state, s3.at, s3.by, s3.override, s3.skipped) == (
        "pending", None, None, None, None)
    last = views.audit_log(h, ref)[-1]
    assert (last.action, last.actor, last.target) == ("step.reopened", BUDDY, "3 breathe")
    assert last.before == {"state": "done", "at": done_at.isoformat(), "by": MESSENGER,
                           "override": "breathed first"}
    assert last.after == {"reason": "done out of order by mistake"}
    # reopened, it is done again the normal way
    walk(h, ref, 2, 3)
    assert views.incident_detail(h, ref).next_step == 4


def test_the_whole_checklist_can_be_settled(h: Herald) -> None:
    ref = new_incident(h)
    walk(h, ref, 1, 11)
    steps.mark_step_na(h, ref, 12, actor=MESSENGER, reason="a one-hour incident")
    walk(h, ref, 13, 24)
    d = views.incident_detail(h, ref)
    assert (d.next_step, d.next_title, d.steps_settled) == (None, None, 24)


# --- the security branch of step 9 ---------------------------------------------------------


def test_a_security_incident_stops_at_9_until_security_lead_and_cs_leader(h: Herald) -> None:
    ref = new_incident(h, security=True)
    walk(h, ref, 1, 8)
    gate = views.incident_detail(h, ref).security_gate
    assert gate is not None
    assert gate.missing == ["a security lead is assigned", "a CS leader is engaged"]

    with pytest.raises(Refused, match="security incident: step 9 needs a security lead is "
                                      "assigned and a CS leader is engaged"):
        steps.complete_step(h, ref, 9, actor=MESSENGER)
    for step in (10, 11, 24):
        with pytest.raises(Refused) as err:
            steps.complete_step(h, ref, step, actor=MESSENGER, override="customers are waiting")
        assert str(err.value) == (
            "security incident: no step after 9 until a security lead is assigned and a CS "
            "leader is engaged (an override cannot lift this)")
    with pytest.raises(Refused, match="an override cannot lift this"):
        steps.mark_step_na(h, ref, 10, actor=MESSENGER, reason="no list", override="hurry")

    staff(h, ref, "security_lead")
    with pytest.raises(Refused, match=r"no step after 9 until a CS leader is engaged \(an"):
        steps.complete_step(h, ref, 10, actor=MESSENGER, override="customers are waiting")
    staff(h, ref, "cs_leader")
    gate = views.incident_detail(h, ref).security_gate
    assert gate is not None and gate.missing == []
    steps.complete_step(h, ref, 9, actor=MESSENGER)  # no facts recorded yet: nothing to sign
    steps.complete_step(h, ref, 10, actor=MESSENGER)
    assert states(h, ref)[10] == "done"
    assert actions(h, ref).count("step.done") == 10


def test_losing_the_security_lead_closes_the_gate_again(h: Herald) -> None:
    ref = new_incident(h, security=True)
    staff(h, ref, "security_lead", "cs_leader")
    walk(h, ref, 1, 9)
    incidents.clear_role(h, ref, "security_lead", actor=MESSENGER)
    with pytest.raises(Refused, match="no step after 9 until a security lead is assigned"):
        steps.complete_step(h, ref, 10, actor=MESSENGER)


def test_raising_the_flag_later_applies_the_gate(h: Herald) -> None:
    ref = new_incident(h)
    walk(h, ref, 1, 9)
    incidents.set_security(h, ref, on=True, actor=BUDDY)
    with pytest.raises(Refused, match="no step after 9"):
        steps.complete_step(h, ref, 10, actor=MESSENGER)


def test_step_9_needs_the_security_leads_sign_off_on_every_fact(h: Herald) -> None:
    ref = new_incident(h, security=True)
    staff(h, ref, "security_lead", "cs_leader")
    walk(h, ref, 1, 8)
    fill_facts(h, ref)
    with pytest.raises(Refused) as err:
        steps.complete_step(h, ref, "gather", actor=MESSENGER, override="signed in chat")
    assert str(err.value) == (
        "security incident: the security lead has not signed off: causes, customer_must_act, "
        "deployments, how_to_determine, impact_condition, release, remediation, "
        "self_hosted_share (an override cannot lift this)")

    with pytest.raises(Forbidden, match="only the incident's security lead can sign off"):
        plan.sign_off_facts(h, ref, None, actor=MESSENGER)
    assert plan.sign_off_facts(h, ref, ["release"], actor=SECURITY_LEAD) == ["release"]
    with pytest.raises(Refused, match="has not signed off: causes, customer_must_act"):
        steps.complete_step(h, ref, 9, actor=MESSENGER)

    signed = plan.sign_off_facts(h, ref, None, actor=SECURITY_LEAD)
    assert "release" not in signed and len(signed) == 7
    steps.complete_step(h, ref, 9, actor=MESSENGER)
    assert event(h, ref, "info_gathered").completed_at == h.clock.now()


def test_a_changed_fact_needs_signing_again_before_step_9(h: Herald) -> None:
    ref = new_incident(h, security=True)
    staff(h, ref, "security_lead", "cs_leader")
    walk(h, ref, 1, 8)
    plan.set_fact(h, ref, "release", "5.2.0", actor=MESSENGER)
    plan.sign_off_facts(h, ref, None, actor=SECURITY_LEAD)
    plan.set_fact(h, ref, "release", "5.2.1", actor=MESSENGER)
    with pytest.raises(Refused, match="has not signed off: release"):
        steps.complete_step(h, ref, 9, actor=MESSENGER)
    gate = views.incident_detail(h, ref).security_gate
    assert gate is not None and gate.unsigned_facts == ["release"]


def test_an_ordinary_incident_needs_no_sign_off(h: Herald) -> None:
    ref = new_incident(h)
    walk(h, ref, 1, 8)
    fill_facts(h, ref)
    walk(h, ref, 9, 11)
    assert views.incident_detail(h, ref).security_gate is None
