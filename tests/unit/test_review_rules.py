"""The step-14 policy as pure domain code: who must approve, when the messages are ready to
send, and who may answer for which seat."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from herald.domain.reviews import (
    Decision,
    Reviewer,
    SeatDecision,
    may_review,
    readiness,
    requested_reviewers,
    required_reviewers,
)

R = Reviewer
V1 = {"email_impact_known": 1}
V2 = {"email_impact_known": 2}
NORMAL = [R.BUDDY, R.CS_LEADERSHIP, R.INCIDENT_LEAD]


def approved(seat: Reviewer, versions: dict[str, int] = V1) -> SeatDecision:
    return SeatDecision(seat, Decision.APPROVED, f"{seat.value}@example.com", versions)


def answer(seat: Reviewer, decision: Decision, versions: dict[str, int] = V1) -> SeatDecision:
    return SeatDecision(seat, decision, f"{seat.value}@example.com", versions)


# Who must approve ---------------------------------------------------------------------------

def test_buddy_cs_leadership_and_the_incident_lead_always() -> None:
    assert required_reviewers(security=False, legal_decided=False) == NORMAL


def test_security_incidents_need_the_security_lead() -> None:
    assert required_reviewers(security=True, legal_decided=False) == [*NORMAL, R.SECURITY_LEAD]
    assert R.SECURITY_LEAD not in required_reviewers(security=False, legal_decided=True)


def test_legal_only_when_decided() -> None:
    assert R.LEGAL not in required_reviewers(security=True, legal_decided=False)
    assert required_reviewers(security=False, legal_decided=True) == [*NORMAL, R.LEGAL]


@given(st.booleans(), st.booleans())
def test_marketing_is_asked_but_never_required(security: bool, legal: bool) -> None:
    assert R.MARKETING not in required_reviewers(security=security, legal_decided=legal)
    assert requested_reviewers(security=security, legal_decided=legal)[-1] is R.MARKETING


# Ready to send ------------------------------------------------------------------------------

def test_no_approval_is_not_ready() -> None:
    result = readiness(required=NORMAL, decisions=[], current=V1)
    assert not result.ready
    assert result.missing == ["buddy has not approved", "CS leadership has not approved",
                              "incident lead has not approved"]
    assert result.reason.startswith("not ready: buddy has not approved")


def test_a_request_is_not_an_approval() -> None:
    asked = [answer(seat, Decision.REQUESTED) for seat in NORMAL]
    assert not readiness(required=NORMAL, decisions=asked, current=V1).ready


def test_every_required_approval_on_the_current_drafts_is_ready() -> None:
    result = readiness(required=NORMAL, decisions=[approved(s) for s in NORMAL], current=V1)
    assert result.ready and result.missing == [] and result.reason == "ready to send"


def test_an_edit_after_approval_voids_it_and_asks_again() -> None:
    result = readiness(required=NORMAL, decisions=[approved(s) for s in NORMAL], current=V2)
    assert not result.ready
    assert result.missing == [f"{label} approved an earlier version; asked again"
                              for label in ("buddy", "CS leadership", "incident lead")]


def test_a_new_draft_after_approval_voids_it_too() -> None:
    current = V1 | {"status_investigating": 1}
    result = readiness(required=NORMAL, decisions=[approved(s) for s in NORMAL],
                       current=current)
    assert len(result.missing) == 3


def test_the_latest_answer_of_a_seat_counts() -> None:
    decisions = [approved(R.BUDDY), answer(R.BUDDY, Decision.CHANGES),
                 approved(R.CS_LEADERSHIP), approved(R.INCIDENT_LEAD)]
    assert readiness(required=NORMAL, decisions=decisions, current=V1).missing == [
        "buddy asked for changes"]
    decisions.append(approved(R.BUDDY))
    assert readiness(required=NORMAL, decisions=decisions, current=V1).ready


def test_changes_asked_on_an_earlier_version_are_asked_again() -> None:
    decisions = [answer(R.BUDDY, Decision.CHANGES, V1), approved(R.CS_LEADERSHIP, V2),
                 approved(R.INCIDENT_LEAD, V2)]
    assert readiness(required=NORMAL, decisions=decisions, current=V2).missing == [
        "buddy asked for changes on an earlier version; asked again"]


def test_security_incidents_are_not_ready_without_the_security_lead() -> None:
    required = required_reviewers(security=True, legal_decided=False)
    result = readiness(required=required, decisions=[approved(s) for s in NORMAL], current=V1)
    assert result.missing == ["security lead has not approved"]
    full = [approved(s) for s in required]
    assert readiness(required=required, decisions=full, current=V1).ready


def test_legal_blocks_only_when_decided() -> None:
    answers = [approved(s) for s in NORMAL]
    undecided = required_reviewers(security=False, legal_decided=False)
    assert readiness(required=undecided, decisions=answers, current=V1).ready
    decided = required_reviewers(security=False, legal_decided=True)
    assert readiness(required=decided, decisions=answers, current=V1).missing == [
        "legal has not approved"]


@given(st.sampled_from(list(Decision)), st.booleans(), st.booleans(), st.booleans())
def test_marketing_never_blocks(decision: Decision, security: bool, legal: bool,
                                current_version: bool) -> None:
    required = required_reviewers(security=security, legal_decided=legal)
    others = [approved(s) for s in required]
    marketing = answer(R.MARKETING, decision, V1 if current_version else V2)
    assert readiness(required=required, decisions=[*others, marketing], current=V1).ready
    assert readiness(required=required, decisions=[marketing], current=V1).missing == \
        readiness(required=required, decisions=[], current=V1).missing


def test_nothing_to_send_and_unfilled_blanks_are_not_ready() -> None:
    all_ok = [approved(s) for s in NORMAL]
    empty = readiness(required=NORMAL, decisions=all_ok, current={})
    assert "no customer-facing draft exists yet" in empty.missing
    blanks = readiness(required=NORMAL, decisions=all_ok, current=V1,
                       blocking_drafts=["email_impact_known"])
    assert blanks.missing == ["email_impact_known has unfilled blanks"]


SEATS = st.sampled_from(list(Reviewer))
CHOICES = st.sampled_from([Decision.REQUESTED, Decision.APPROVED, Decision.CHANGES])


@given(st.lists(st.tuples(SEATS, CHOICES, st.booleans()), max_size=12), st.booleans(),
       st.booleans())
def test_ready_exactly_when_every_required_seat_last_approved_the_current_drafts(
        history: list[tuple[Reviewer, Decision, bool]], security: bool, legal: bool) -> None:
    required = required_reviewers(security=security, legal_decided=legal)
    decisions = [answer(seat, d, V2 if now else V1) for seat, d, now in history]
    latest = {d.seat: d for d in decisions}
    expected = all(seat in latest and latest[seat].decision is Decision.APPROVED
                   and dict(latest[seat].versions) == V2 for seat in required)
    result = readiness(required=required, decisions=decisions, current=V2)
    assert result.ready is expected
    assert (result.missing == []) is expected


# Who may answer -------------------------------------------------------------------------------

HOLDERS = {"buddy": "bo@example.com", "incident_lead": "li@example.com",
           "security_lead": "sl@example.com", "cs_leader": "cl@example.com",
           "messenger": "me@example.com"}


def test_the_person_in_the_role_answers_for_their_seat() -> None:
    for seat, who in ((R.BUDDY, "bo@example.com"), (R.INCIDENT_LEAD, "li@example.com"),
                      (R.SECURITY_LEAD, "sl@example.com")):
        assert may_review(seat, actor=who, holders=HOLDERS, account_roles=["support"])
        assert not may_review(seat, actor="me@example.com", holders=HOLDERS,
                              account_roles=["support"])


def test_cs_leadership_is_the_cs_leader_or_any_support_leader() -> None:
    assert may_review(R.CS_LEADERSHIP, actor="cl@example.com", holders=HOLDERS,
                      account_roles=[])
    assert may_review(R.CS_LEADERSHIP, actor="boss@example.com", holders=HOLDERS,
                      account_roles=["support_leadership"])
    assert not may_review(R.CS_LEADERSHIP, actor="bo@example.com", holders=HOLDERS,
                          account_roles=["support"])


def test_legal_and_marketing_answer_with_reviewer_accounts() -> None:
    for seat in (R.LEGAL, R.MARKETING):
        assert may_review(seat, actor="x@example.com", holders=HOLDERS,
                          account_roles=["reviewer"])
        assert not may_review(seat, actor="me@example.com", holders=HOLDERS,
                              account_roles=["support"])


def test_the_messenger_cannot_approve_their_own_messages() -> None:
    assert not any(may_review(seat, actor="me@example.com", holders=HOLDERS,
                              account_roles=["support"]) for seat in Reviewer)


def test_a_seat_with_nobody_in_the_role_is_nobody_s() -> None:
    assert not may_review(R.SECURITY_LEAD, actor="sl@example.com", holders={},
                          account_roles=["security"])
