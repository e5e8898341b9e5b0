"""The need-to-know guard on SQLite and PostgreSQL: what authorize learns for the pages (who
may act), that deciding visibility reads the incident with its roles in one statement, and
that the Messages tab's blanks of every step, read at once, are each step's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from herald.domain.access import Viewer
from herald.errors import Forbidden, NotFound, Refused
from herald.services import chat, incidents
from herald.services.context import Herald
from herald.services.guard import authorize, visible_incident
from tests.helpers import BUDDY, MESSENGER, new_incident, staff

WATCHER = Viewer("watcher@example.com", frozenset({"viewer"}))
SUPPORT = Viewer("someone@example.com", frozenset({"support"}))
SECURITY = Viewer("sec-team@example.com", frozenset({"security"}))
BUDDY_VIEWER = Viewer(BUDDY, frozenset({"viewer"}))


@contextmanager
def statements(h: Herald) -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def log(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(h.db.engine, "before_cursor_execute", log)
    try:
        yield seen
    finally:
        event.remove(h.db.engine, "before_cursor_execute", log)


def test_authorize_says_whether_the_viewer_may_act(h: Herald) -> None:
    ref = new_incident(h)
    access = authorize(h, ref, SUPPORT)
    assert access.may_act and not access.security
    assert access.members == (MESSENGER, MESSENGER)  # the messenger, who also opened it
    assert not authorize(h, ref, WATCHER).may_act
    with pytest.raises(Forbidden, match="may view this incident but not change it"):
        authorize(h, ref, WATCHER, act=True)
    staff(h, ref, "buddy")  # a viewer account holding a role acts on its own incident
    assert authorize(h, ref, BUDDY_VIEWER, act=True).may_act
    incidents.clear_role(h, ref, "buddy", actor=MESSENGER)  # left the role: no longer
    assert not authorize(h, ref, BUDDY_VIEWER).may_act


def test_a_security_incident_stays_hidden_from_outsiders(h: Herald) -> None:
    ref = new_incident(h, security=True)
    for outsider in (SUPPORT, WATCHER):
        with pytest.raises(NotFound):
            authorize(h, ref, outsider)
    access = authorize(h, ref, SECURITY)
    assert access.security and access.may_act
    assert authorize(h, ref, Viewer(MESSENGER, frozenset({"viewer"}))).may_act  # a member


def test_visibility_reads_the_incident_and_its_roles_in_one_statement(h: Herald) -> None:
    ref = new_incident(h, security=True)
    staff(h, ref, "buddy")
    number = authorize(h, ref, SECURITY).incident_id
    for given in (ref, str(number), f"#{number}"):
        with statements(h) as seen, h.db.sessions() as s:
            inc = visible_incident(s, given, BUDDY_VIEWER)
            holders = sorted(r.person.email for r in inc.roles)
        assert holders == [BUDDY, MESSENGER] and len(seen) == 1, given


def test_blanks_of_several_steps_at_once_match_each_step_alone(h: Herald) -> None:
    for security, number in ((False, "inc-1"), (True, "inc-2")):
        ref = new_incident(h, security=security, number=number)
        each = {}
        for step in chat.STEP_MESSAGES:
            try:
                each[step] = chat.step_blanks(h, ref, step)
            except Refused:  # security-only messages on a normal incident
                continue
        assert chat.steps_blanks(h, ref, chat.STEP_MESSAGES) == each
        assert (9 in each) is security
    with pytest.raises(NotFound):
        chat.steps_blanks(h, "inc-2", [1], viewer=WATCHER)
