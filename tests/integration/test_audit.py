"""The audit log: one entry per change with who, when, before and after; append-only in the DB."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from herald.errors import HeraldError, Refused
from herald.services import incidents, plan, steps, timeline, views
from herald.services.context import Herald
from herald.store.models import AuditEntry
from tests.helpers import BUDDY, LEAD, MESSENGER, SECURITY_LEAD, actions, new_incident

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def test_every_change_is_one_entry_with_who_when_and_what(h: Herald) -> None:
    first = new_incident(h, number=None, title="Search is slow")
    ref = "inc-9"
    changes: list[Callable[[], object]] = [
        lambda: incidents.rename_incident(h, first, actor=MESSENGER, number=ref),
        lambda: incidents.set_severity(h, ref, "sev2", actor=MESSENGER),
        lambda: incidents.set_role(h, ref, "buddy", BUDDY, actor=MESSENGER),
        lambda: incidents.set_role(h, ref, "security_lead", SECURITY_LEAD, actor=MESSENGER),
        lambda: incidents.clear_role(h, ref, "buddy", actor=MESSENGER),
        lambda: incidents.set_security(h, ref, on=True, actor=BUDDY),
        lambda: incidents.add_link(h, ref, "channel", "https://chat.example.com/C9",
                                   actor=MESSENGER),
        lambda: incidents.set_deadline(h, ref, aware_at=T0, hours=72, actor=MESSENGER),
        lambda: incidents.set_status(h, ref, "resolved", actor=LEAD),
        lambda: steps.complete_step(h, ref, 1, actor=MESSENGER),
        lambda: steps.mark_step_na(h, ref, 2, actor=MESSENGER, reason="calm already"),
        lambda: steps.reopen_step(h, ref, 2, actor=MESSENGER, reason="count anyway"),
        lambda: plan.set_fact(h, ref, "release", "5.2.0", actor=MESSENGER),
        lambda: plan.sign_off_facts(h, ref, None, actor=SECURITY_LEAD),
        lambda: plan.add_retro_note(h, ref, "park this", actor=BUDDY),
        lambda: timeline.plan_event(h, ref, "list_ready", T0 + timedelta(hours=3),
                                    actor=MESSENGER),
        lambda: timeline.complete_event(h, ref, "faq", actor=MESSENGER),
        lambda: timeline.event_na(h, ref, "status_page", actor=MESSENGER,
                                  reason="security incident"),
        lambda: timeline.add_event(h, ref, "Call the customer", actor=MESSENGER),
        lambda: incidents.set_security(h, ref, on=False, actor=SECURITY_LEAD,
                                       reason="no exposure"),
    ]
    for change in changes:
        h.clock.advance(minutes=1)  # type: ignore[attr-defined]
        change()

    rows = views.audit_log(h, ref)
    assert [r.action for r in rows] == [
        "incident.created", "incident.renamed", "incident.severity", "role.set", "role.set",
        "role.cleared", "incident.security", "link.added", "deadline.set", "incident.status",
        "step.done", "step.na", "step.reopened", "fact.set", "fact.signed_off", "retro.noted",
        "timeline.planned", "timeline.completed", "timeline.na", "timeline.added",
        "incident.security",
    ]
    # one entry per change, each at the time of its change, oldest first
    assert [r.at for r in rows] == [T0 + timedelta(minutes=i) for i in range(len(rows))]
    assert [r.actor for r in rows][-7:] == [SECURITY_LEAD, BUDDY, MESSENGER, MESSENGER,
                                            MESSENGER, MESSENGER, SECURITY_LEAD]
    by_action = {r.action: r for r in rows}
    assert (by_action["incident.status"].before, by_action["incident.status"].after) == (
        "open", "resolved")
    assert by_action["role.cleared"].target == "buddy"
    assert by_action["link.added"].after == {"url": "https://chat.example.com/C9", "label": ""}
    assert by_action["timeline.na"].after == "security incident"
    assert by_action["timeline.added"].after == "Call the customer"
    assert by_action["step.reopened"].before["state"] == "na"


def test_refused_changes_leave_no_entry(h: Herald) -> None:
    ref = new_incident(h)
    with pytest.raises(Refused):
        steps.complete_step(h, ref, 4, actor=MESSENGER)
    with pytest.raises(HeraldError):
        incidents.set_security(h, ref, on=True, actor="not an email")
    assert actions(h, ref) == ["incident.created"]


def test_the_audit_log_is_per_incident(h: Herald) -> None:
    a = new_incident(h, number="inc-1")
    b = new_incident(h, number="inc-2")
    incidents.set_severity(h, b, "sev1", actor=MESSENGER)
    assert actions(h, a) == ["incident.created"]
    assert actions(h, b) == ["incident.created", "incident.severity"]


def _count(h: Herald) -> int:
    with h.db.sessions() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry)) or 0


@pytest.mark.parametrize("sql", [
    "UPDATE audit_log SET actor = 'mallory@example.com'",
    "UPDATE audit_log SET after = NULL WHERE action = 'incident.created'",
    "DELETE FROM audit_log",
    "DELETE FROM audit_log WHERE action = 'step.done'",
])
def test_the_database_refuses_to_change_the_audit_log(h: Herald, sql: str) -> None:
    ref = new_incident(h)
    steps.complete_step(h, ref, 1, actor=MESSENGER)
    before = views.audit_log(h, ref)
    with pytest.raises(DBAPIError, match="the audit log is append-only"):  # noqa: SIM117
        with h.db.engine.begin() as conn:
            conn.execute(text(sql))
    assert views.audit_log(h, ref) == before


def test_the_orm_cannot_change_the_audit_log_either(h: Herald) -> None:
    ref = new_incident(h)
    before = views.audit_log(h, ref)
    with pytest.raises(DBAPIError, match="append-only"), h.db.sessions() as s, s.begin():
        entry = s.scalars(select(AuditEntry)).one()
        entry.actor = "mallory@example.com"
    with pytest.raises(DBAPIError, match="append-only"), h.db.sessions() as s, s.begin():
        s.execute(update(AuditEntry).values(target="x"))
    with pytest.raises(DBAPIError, match="append-only"), h.db.sessions() as s, s.begin():
        s.execute(delete(AuditEntry))
    assert views.audit_log(h, ref) == before
    assert _count(h) == 1
    # appending is still fine
    incidents.set_severity(h, ref, "sev4", actor=MESSENGER)
    assert _count(h) == 2
