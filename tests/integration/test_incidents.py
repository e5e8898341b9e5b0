"""Incidents on both databases: create, rename, numbers, severity, security flag, roles, links."""

from __future__ import annotations

import pytest

from herald.domain.access import Viewer
from herald.errors import Conflict, Forbidden, InvalidInput, NotFound
from herald.services import incidents, views
from herald.services.context import Herald
from tests.helpers import (
    BUDDY,
    CS_LEADER,
    LEAD,
    MESSENGER,
    SECURITY_LEAD,
    actions,
    new_incident,
    staff,
)


def test_create_with_title_alone_then_number_later_keeps_history(h: Herald) -> None:
    ref = incidents.create_incident(h, title="Search is slow", actor=MESSENGER,
                                    messenger=MESSENGER, messenger_name="Maya Okafor",
                                    severity="2")
    assert ref == "1"
    d = views.incident_detail(h, ref)
    assert (d.number, d.title, d.severity, d.security, d.status) == (
        None, "Search is slow", "sev2", False, "open")
    assert d.messenger == MESSENGER
    assert [(r.role, r.email, r.name) for r in d.roles] == [
        ("messenger", MESSENGER, "Maya Okafor")]
    assert d.next_step == 1 and d.steps_settled == 0
    assert len(d.steps) == 24 and {s.state for s in d.steps} == {"pending"}

    h.clock.advance(minutes=5)  # type: ignore[attr-defined]
    assert incidents.rename_incident(h, ref, actor=BUDDY, number="INC-42") == "inc-42"
    h.clock.advance(minutes=5)  # type: ignore[attr-defined]
    incidents.rename_incident(h, "inc-42", actor=MESSENGER,
                              title="Search misses repositories added after 5.2")

    d = views.incident_detail(h, "INC-42")  # numbers are found whatever their case
    assert (d.ref, d.number, d.title) == ("inc-42", "inc-42",
                                           "Search misses repositories added after 5.2")
    assert d.previous_names == ["Search is slow", "inc-42 Search is slow"]
    assert views.incident_detail(h, str(d.id)).ref == "inc-42"  # and by id
    renames = [r for r in views.audit_log(h, ref) if r.action == "incident.renamed"]
    assert [(r.actor, r.before, r.after) for r in renames] == [
        (BUDDY, {"title": "Search is slow", "number": None},
         {"title": "Search is slow", "number": "inc-42"}),
        (MESSENGER, {"title": "Search is slow", "number": "inc-42"},
         {"title": "Search misses repositories added after 5.2", "number": "inc-42"}),
    ]


def test_create_records_who_and_when(h: Herald) -> None:
    ref = new_incident(h, number="inc-007")
    assert ref == "inc-7"
    d = views.incident_detail(h, ref)
    assert d.created_at == h.clock.now() and d.updated_at == h.clock.now()
    [created] = views.audit_log(h, ref)
    assert (created.action, created.actor, created.at) == (
        "incident.created", MESSENGER, h.clock.now())
    assert created.before is None
    assert created.after == {"title": "Search is slow for large repositories",
                             "number": "inc-7", "security": False, "severity": None,
                             "messenger": MESSENGER, "demo": False}


def test_a_duplicate_number_is_a_conflict_on_create(h: Herald) -> None:
    new_incident(h, number="inc-5")
    with pytest.raises(Conflict, match="incident number inc-5 is already used"):
        new_incident(h, number="INC-005", title="Another incident")
    assert [i.title for i in views.list_incidents(h)] == ["Search is slow for large repositories"]


def test_a_duplicate_number_is_a_conflict_on_rename(h: Herald) -> None:
    new_incident(h, number="inc-5")
    other = new_incident(h, number=None, title="Login fails")
    with pytest.raises(Conflict, match="incident number inc-5 is already used"):
        incidents.rename_incident(h, other, actor=MESSENGER, number="inc-5",
                                  title="Login fails for SSO users")
    d = views.incident_detail(h, other)
    assert (d.number, d.title) == (None, "Login fails")  # nothing of the rename was kept
    assert actions(h, other) == ["incident.created"]


def test_rename_needs_something_to_change(h: Herald) -> None:
    ref = new_incident(h)
    with pytest.raises(InvalidInput, match="give a new --title, a --number, or both"):
        incidents.rename_incident(h, ref, actor=MESSENGER)
    incidents.rename_incident(h, ref, actor=MESSENGER, number="inc-1")  # the same number
    assert actions(h, ref) == ["incident.created"]
    assert views.incident_detail(h, ref).version == 1


@pytest.mark.parametrize(("number", "title"), [("inc-x", None), ("42", None), (None, "ab")])
def test_rename_refuses_bad_input(h: Herald, number: str | None, title: str | None) -> None:
    ref = new_incident(h)
    with pytest.raises(InvalidInput):
        incidents.rename_incident(h, ref, actor=MESSENGER, number=number, title=title)


@pytest.mark.parametrize("ref", ["inc-99", "99", "#99"])
def test_an_unknown_incident_is_not_found(h: Herald, ref: str) -> None:
    new_incident(h)
    with pytest.raises(NotFound, match=f"no incident '{ref}'"):
        views.incident_detail(h, ref)
    with pytest.raises(NotFound):
        incidents.set_severity(h, ref, "sev1", actor=MESSENGER)


def test_a_reference_that_is_neither_number_nor_id(h: Herald) -> None:
    with pytest.raises(InvalidInput, match="neither a number"):
        views.incident_detail(h, "search")


def test_create_refuses_bad_input(h: Herald) -> None:
    with pytest.raises(InvalidInput, match="invalid email 'maya'"):
        incidents.create_incident(h, title="Search", actor=MESSENGER, messenger="maya")
    with pytest.raises(InvalidInput, match="say who you are"):
        incidents.create_incident(h, title="Search", actor=" ", messenger=MESSENGER)
    with pytest.raises(InvalidInput, match="must look like inc-42"):
        incidents.create_incident(h, title="Search", actor=MESSENGER, messenger=MESSENGER,
                                  number="42")
    with pytest.raises(InvalidInput, match="unknown severity"):
        incidents.create_incident(h, title="Search", actor=MESSENGER, messenger=MESSENGER,
                                  severity="high")
    assert views.list_incidents(h) == []


def test_severity_change_is_audited(h: Herald) -> None:
    ref = new_incident(h)
    assert incidents.set_severity(h, ref, "sev3", actor=MESSENGER) == "sev3"
    incidents.set_severity(h, ref, "3", actor=MESSENGER)  # no change, no entry
    incidents.set_severity(h, ref, "SEV1", actor=LEAD)
    rows = [r for r in views.audit_log(h, ref) if r.action == "incident.severity"]
    assert [(r.actor, r.before, r.after) for r in rows] == [
        (MESSENGER, None, "sev3"), (LEAD, "sev3", "sev1")]
    assert views.incident_detail(h, ref).severity == "sev1"


# --- the security flag ---------------------------------------------------------------------


def test_anyone_may_raise_the_security_flag_later(h: Herald) -> None:
    ref = new_incident(h)
    assert incidents.set_security(h, ref, on=True, actor=BUDDY) is True
    assert views.incident_detail(h, ref).security
    [row] = [r for r in views.audit_log(h, ref) if r.action == "incident.security"]
    assert (row.actor, row.before, row.after) == (
        BUDDY, {"security": False}, {"security": True, "reason": None})


def test_the_flag_is_never_silently_lowered(h: Herald) -> None:
    ref = new_incident(h, security=True)
    with pytest.raises(Forbidden, match="only the incident's security lead"):
        incidents.set_security(h, ref, on=False, actor=MESSENGER, reason="not security")
    staff(h, ref, "security_lead")
    with pytest.raises(Forbidden, match="only the incident's security lead"):
        incidents.set_security(h, ref, on=False, actor=MESSENGER, reason="not security")
    with pytest.raises(InvalidInput, match="needs a reason"):
        incidents.set_security(h, ref, on=False, actor=SECURITY_LEAD, reason="  ")
    assert views.incident_detail(h, ref).security
    assert "incident.security" not in actions(h, ref)

    incidents.set_security(h, ref, on=False, actor=SECURITY_LEAD,
                           reason="a plain bug: no data exposed")
    assert not views.incident_detail(h, ref).security
    [row] = [r for r in views.audit_log(h, ref) if r.action == "incident.security"]
    assert (row.actor, row.before, row.after) == (
        SECURITY_LEAD, {"security": True},
        {"security": False, "reason": "a plain bug: no data exposed"})


def test_a_former_security_lead_cannot_lower_the_flag(h: Herald) -> None:
    ref = new_incident(h, security=True)
    staff(h, ref, "security_lead")
    incidents.set_role(h, ref, "security_lead", "other-sec@example.com", actor=MESSENGER)
    with pytest.raises(Forbidden):
        incidents.set_security(h, ref, on=False, actor=SECURITY_LEAD, reason="not security")


def test_a_security_incident_is_need_to_know(h: Herald) -> None:
    secret = new_incident(h, security=True, number="inc-2", title="Tokens in logs")
    new_incident(h, number="inc-3", title="Slow search")
    staff(h, secret, "security_lead")
    stranger = Viewer("stranger@example.com", frozenset({"support"}))
    assert [i.ref for i in views.list_incidents(h, viewer=stranger)] == ["inc-3"]
    with pytest.raises(NotFound, match="no incident 'inc-2'"):
        views.incident_detail(h, secret, viewer=stranger)
    with pytest.raises(NotFound):
        views.audit_log(h, secret, viewer=stranger)
    for viewer in (Viewer(SECURITY_LEAD), Viewer(MESSENGER),
                   Viewer("someone@example.com", frozenset({"security"}))):
        assert views.incident_detail(h, secret, viewer=viewer).ref == "inc-2"
        assert {i.ref for i in views.list_incidents(h, viewer=viewer)} == {"inc-2", "inc-3"}


# --- people in roles -----------------------------------------------------------------------


def test_roles_change_and_keep_their_history(h: Herald) -> None:
    ref = new_incident(h)
    incidents.set_role(h, ref, "buddy", BUDDY, actor=MESSENGER, name="Liam Chen")
    h.clock.advance(hours=1)  # type: ignore[attr-defined]
    handover = h.clock.now()
    incidents.set_role(h, ref, "Buddy", "noor@example.com", actor=MESSENGER, name="Noor")
    incidents.set_role(h, ref, "buddy", "Noor@Example.com", actor=MESSENGER)  # already holds it
    staff(h, ref, "incident_lead", "cs_leader")

    d = views.incident_detail(h, ref)
    assert {(r.role, r.email) for r in d.roles} == {
        ("messenger", MESSENGER), ("buddy", "noor@example.com"),
        ("incident_lead", LEAD), ("cs_leader", CS_LEADER)}
    [old] = d.role_history
    assert (old.role, old.email, old.name, old.ended_at) == ("buddy", BUDDY, "Liam Chen",
                                                             handover)
    rows = [r for r in views.audit_log(h, ref) if r.action == "role.set"]
    assert [(r.target, r.before, r.after) for r in rows] == [
        ("buddy", None, BUDDY), ("buddy", BUDDY, "noor@example.com"),
        ("incident_lead", None, LEAD), ("cs_leader", None, CS_LEADER)]


def test_the_messenger_is_handed_over_never_emptied(h: Herald) -> None:
    ref = new_incident(h)
    with pytest.raises(InvalidInput, match="always has a messenger"):
        incidents.clear_role(h, ref, "messenger", actor=MESSENGER)
    incidents.set_role(h, ref, "messenger", BUDDY, actor=MESSENGER)
    d = views.incident_detail(h, ref)
    assert d.messenger == BUDDY
    assert [(r.role, r.email) for r in d.role_history] == [("messenger", MESSENGER)]


def test_clearing_a_role_keeps_history(h: Herald) -> None:
    ref = new_incident(h)
    staff(h, ref, "incident_lead")
    incidents.clear_role(h, ref, "incident lead", actor=MESSENGER)
    incidents.clear_role(h, ref, "incident_lead", actor=MESSENGER)  # already empty: no entry
    d = views.incident_detail(h, ref)
    assert [r.role for r in d.roles] == ["messenger"]
    assert [(r.role, r.email) for r in d.role_history] == [("incident_lead", LEAD)]
    assert actions(h, ref)[-2:] == ["role.set", "role.cleared"]


def test_roles_refuse_bad_input(h: Herald) -> None:
    ref = new_incident(h)
    with pytest.raises(InvalidInput, match="unknown role 'boss'"):
        incidents.set_role(h, ref, "boss", BUDDY, actor=MESSENGER)
    with pytest.raises(InvalidInput, match="invalid email 'liam@'"):
        incidents.set_role(h, ref, "buddy", "liam@", actor=MESSENGER)
    assert actions(h, ref) == ["incident.created"]


def test_a_person_is_one_person_across_incidents(h: Herald) -> None:
    a = new_incident(h, number="inc-1")
    b = new_incident(h, number="inc-2")
    incidents.set_role(h, a, "buddy", BUDDY, actor=MESSENGER, name="Liam")
    incidents.set_role(h, b, "incident_lead", BUDDY, actor=MESSENGER, name="Liam Chen")
    names = {r.name for ref in (a, b) for r in views.incident_detail(h, ref).roles
             if r.email == BUDDY}
    assert names == {"Liam Chen"}


# --- links, status -------------------------------------------------------------------------


def test_links(h: Herald) -> None:
    ref = new_incident(h)
    incidents.add_link(h, ref, "channel", "https://chat.example.com/C1", actor=MESSENGER,
                       label_text="incident channel")
    incidents.add_link(h, ref, "Folder", "https://drive.example.com/f/1", actor=BUDDY)
    d = views.incident_detail(h, ref)
    assert [(li.kind, li.url, li.label, li.added_by) for li in d.links] == [
        ("channel", "https://chat.example.com/C1", "incident channel", MESSENGER),
        ("folder", "https://drive.example.com/f/1", "", BUDDY)]
    with pytest.raises(InvalidInput, match="unknown link kind 'ticket'"):
        incidents.add_link(h, ref, "ticket", "https://x.example.com", actor=MESSENGER)
    for bad in ("javascript:alert(1)", "chat.example.com/C1", "https://a b.example.com"):
        with pytest.raises(InvalidInput, match="links must be http"):
            incidents.add_link(h, ref, "thread", bad, actor=MESSENGER)
    assert actions(h, ref).count("link.added") == 2


def test_status(h: Herald) -> None:
    ref = new_incident(h)
    incidents.set_status(h, ref, "resolved", actor=MESSENGER)
    assert views.list_incidents(h) == []
    assert [i.status for i in views.list_incidents(h, status=None)] == ["resolved"]
    with pytest.raises(InvalidInput, match="open, resolved or closed"):
        incidents.set_status(h, ref, "done", actor=MESSENGER)
