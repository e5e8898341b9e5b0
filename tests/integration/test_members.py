"""People let in on an incident without a role: on a security incident they see it (lists,
search, pages) and may act, until they are taken off; every change is audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from herald.domain.access import Viewer
from herald.errors import InvalidInput, NotFound
from herald.services import contact_import, marking, members, views
from herald.services.context import Herald
from herald.services.guard import authorize
from tests.contact_files import CRM_HEADER, crm_row, csv_bytes, write
from tests.helpers import BUDDY, MESSENGER, actions, new_incident, staff

LEGAL = Viewer("legal@example.com", frozenset({"reviewer"}))
CE = Viewer("carla@vendor.example", frozenset({"account_team"}))


def sees(h: Herald, ref: str, viewer: Viewer) -> bool:
    """Whether the viewer finds the incident in the list, in search and by its page."""
    listed = ref in {i.ref for i in views.list_incidents(h, viewer=viewer, status=None)}
    found = ref in {i.ref for i in views.search_incidents(h, "Search", viewer=viewer)}
    try:
        authorize(h, ref, viewer)
        opened = True
    except NotFound:
        opened = False
    assert listed == found == opened, (listed, found, opened)
    return opened


def test_someone_let_in_sees_a_security_incident_until_taken_off(h: Herald) -> None:
    ref = new_incident(h, security=True)
    assert not sees(h, ref, LEGAL)
    assert members.add_member(h, ref, " Legal@Example.com ", actor=MESSENGER,
                              why="legal review") == "Legal@example.com"
    assert sees(h, ref, LEGAL)
    assert authorize(h, ref, LEGAL, act=True).may_act  # a member takes part
    assert [(m.email, m.why, m.added_by) for m in members.list_members(h, ref)] == [
        ("Legal@example.com", "legal review", MESSENGER)]
    members.remove_member(h, ref, "legal@example.com", actor=BUDDY)
    assert not sees(h, ref, LEGAL) and members.list_members(h, ref) == []
    assert [a for a in actions(h, ref) if a.startswith("member.")] == [
        "member.added", "member.removed"]


def test_adding_is_idempotent_and_bad_input_is_named(h: Herald) -> None:
    ref = new_incident(h, security=True)
    staff(h, ref, "buddy")
    members.add_member(h, ref, LEGAL.email, actor=MESSENGER)
    members.add_member(h, ref, LEGAL.email.upper(), actor=MESSENGER)  # already in
    members.add_member(h, ref, BUDDY, actor=MESSENGER)  # in by their role
    assert [m.email for m in members.list_members(h, ref)] == [LEGAL.email]
    with pytest.raises(InvalidInput, match="invalid email 'legal at example'"):
        members.add_member(h, ref, "legal at example", actor=MESSENGER)
    with pytest.raises(NotFound, match=f"{BUDDY} was not let in on inc-1"):
        members.remove_member(h, ref, BUDDY, actor=MESSENGER)
    with pytest.raises(NotFound):  # the list of an incident one may not see is hidden too
        members.list_members(h, ref, viewer=CE)


def test_the_account_team_of_the_list_is_let_in_for_the_ce_round(
        h: Herald, tmp_path: Path) -> None:
    ref = new_incident(h, security=True)
    rows = [CRM_HEADER, crm_row("Acme", "001A", "acme.com", email="ops@acme.com"),
            crm_row("Globex", "001B", "globex.com", email="it@globex.com",
                    ce_email="gil@vendor.example", ae_email="aaron@vendor.example")]
    contact_import.import_file(h, ref, write(tmp_path, "crm.csv", csv_bytes(rows)),
                               source="crm", actor=MESSENGER)
    with pytest.raises(NotFound):  # the CE cannot open the incident to mark yet
        marking.check_mark(h, ref, "001A", CE)
    added = members.add_account_team(h, ref, actor=MESSENGER)
    assert added == ["aaron@vendor.example", "carla@vendor.example", "gil@vendor.example"]
    assert members.add_account_team(h, ref, actor=MESSENGER) == []  # nobody twice
    marking.check_mark(h, ref, "001A", CE)  # now they may
    assert sees(h, ref, CE)
    assert {m.why for m in members.list_members(h, ref)} == {members.TEAM_WHY}
