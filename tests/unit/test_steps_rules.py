"""The ordered checklist: order, overrides, what's next, and the security branch of step 9."""

from __future__ import annotations

import pytest

from herald.domain.steps import (
    BY_NUMBER,
    SECURITY_STEP,
    STEPS,
    SecurityGate,
    StepState,
    can_complete,
    find_step,
    next_step,
    skipped_before,
)
from herald.domain.timeline import EVENT_KEYS

P, D, NA = StepState.PENDING, StepState.DONE, StepState.NA
FULL_GATE = SecurityGate(security_lead=True, cs_leader=True)


def states(done: int = 0, **overrides: StepState) -> dict[int, StepState]:
    """Steps 1..done settled as done, the rest pending; s<N>=state changes one."""
    out = {s.number: (D if s.number <= done else P) for s in STEPS}
    for key, value in overrides.items():
        out[int(key.removeprefix("s"))] = value
    return out


def test_the_handbook_has_24_steps_in_order_with_unique_keys() -> None:
    assert [s.number for s in STEPS] == list(range(1, 25))
    assert len({s.key for s in STEPS}) == 24
    assert [s.number for s in STEPS if s.calm] == [2, 3, 4]
    assert SECURITY_STEP == 9 and BY_NUMBER[9].key == "gather"


def test_every_step_event_is_a_timeline_event() -> None:
    for step in STEPS:
        assert step.event is None or step.event in EVENT_KEYS, step


@pytest.mark.parametrize(("ref", "number"), [
    (9, 9), ("9", 9), (" 11 ", 11), ("gather", 9), (" GATHER ", 9), ("claim", 1),
    ("celebrate", 24),
])
def test_find_step_by_number_or_key(ref: str | int, number: int) -> None:
    found = find_step(ref)
    assert found is not None and found.number == number


@pytest.mark.parametrize("ref", [0, 25, "0", "99", "nope", "", "-1"])
def test_find_step_unknown(ref: str | int) -> None:
    assert find_step(ref) is None


def test_the_first_step_may_be_done_on_a_fresh_checklist() -> None:
    assert can_complete(BY_NUMBER[1], states(), security=None).allowed


def test_the_next_step_in_order_is_allowed() -> None:
    assert can_complete(BY_NUMBER[5], states(done=4), security=None).allowed


def test_a_step_after_a_pending_one_is_refused_without_override() -> None:
    decision = can_complete(BY_NUMBER[3], states(), security=None)
    assert not decision.allowed
    assert decision.needs_override
    assert "step 3 comes after pending step(s) 1, 2" in decision.reason
    assert "override" in decision.reason


def test_a_long_skip_lists_the_first_five_pending_steps() -> None:
    decision = can_complete(BY_NUMBER[24], states(), security=None)
    assert "pending step(s) 1, 2, 3, 4, 5..." in decision.reason


@pytest.mark.parametrize("override", [None, "", "   "])
def test_an_empty_override_is_no_override(override: str | None) -> None:
    decision = can_complete(BY_NUMBER[7], states(done=4), security=None, override=override)
    assert not decision.allowed and decision.needs_override


def test_an_override_with_a_reason_allows_out_of_order() -> None:
    decision = can_complete(BY_NUMBER[7], states(done=4), security=None,
                            override="the number already exists")
    assert decision.allowed


def test_a_step_marked_na_counts_as_settled_for_order() -> None:
    assert can_complete(BY_NUMBER[6], states(done=5, s5=NA), security=None).allowed


@pytest.mark.parametrize("state", [D, NA])
def test_a_settled_step_cannot_be_settled_again(state: StepState) -> None:
    decision = can_complete(BY_NUMBER[2], states(done=1, s2=state), security=None,
                            override="again")
    assert not decision.allowed
    assert not decision.needs_override
    assert decision.reason == f"step 2 is already {state.value}"


def test_next_step_is_the_first_pending_in_handbook_order() -> None:
    assert next_step(states()) is BY_NUMBER[1]
    assert next_step(states(done=3)) is BY_NUMBER[4]
    # a step done out of order does not move "next" past an earlier pending one
    assert next_step(states(done=3, s7=D)) is BY_NUMBER[4]
    assert next_step(states(done=4, s5=NA)) is BY_NUMBER[6]


def test_next_step_is_none_when_every_step_is_settled() -> None:
    everything = states(done=24, s12=NA)
    assert next_step(everything) is None


def test_next_step_treats_an_unknown_state_as_pending() -> None:
    assert next_step({}) is BY_NUMBER[1]


def test_skipped_before_lists_pending_earlier_steps() -> None:
    assert skipped_before(states(), 5) == [1, 2, 3, 4]
    assert skipped_before(states(done=4), 5) == []
    assert skipped_before(states(done=4, s2=P, s3=NA), 7) == [2, 5, 6]
    assert skipped_before(states(), 1) == []


# --- the security branch -------------------------------------------------------------------


def test_security_gate_missing_names_what_is_needed() -> None:
    assert SecurityGate(False, False).missing == ["a security lead is assigned",
                                                  "a CS leader is engaged"]
    assert SecurityGate(True, False).missing == ["a CS leader is engaged"]
    assert SecurityGate(False, True).missing == ["a security lead is assigned"]
    assert FULL_GATE.missing == []


@pytest.mark.parametrize("gate", [SecurityGate(False, False), SecurityGate(True, False),
                                  SecurityGate(False, True)])
@pytest.mark.parametrize("number", [10, 11, 16, 24])
def test_no_step_after_9_without_security_lead_and_cs_leader(
    gate: SecurityGate, number: int
) -> None:
    decision = can_complete(BY_NUMBER[number], states(done=number - 1), security=gate)
    assert not decision.allowed
    assert "security incident: no step after 9" in decision.reason
    for need in gate.missing:
        assert need in decision.reason


def test_an_override_does_not_lift_the_security_gate() -> None:
    decision = can_complete(BY_NUMBER[10], states(done=8), security=SecurityGate(True, False),
                            override="we are in a hurry")
    assert not decision.allowed
    assert not decision.needs_override  # nothing the messenger can type lifts it
    assert "an override cannot lift this" in decision.reason
    assert "a CS leader is engaged" in decision.reason


def test_after_9_with_the_gate_met_only_order_matters() -> None:
    assert can_complete(BY_NUMBER[10], states(done=9), security=FULL_GATE).allowed
    decision = can_complete(BY_NUMBER[11], states(done=9), security=FULL_GATE)
    assert not decision.allowed and decision.needs_override


def test_step_9_needs_the_security_lead_and_the_cs_leader() -> None:
    decision = can_complete(BY_NUMBER[9], states(done=8), security=SecurityGate(False, True))
    assert not decision.allowed
    assert decision.reason == "security incident: step 9 needs a security lead is assigned"


def test_step_9_needs_every_fact_signed_off() -> None:
    gate = SecurityGate(True, True, unsigned_facts=("cloud_share", "release"))
    decision = can_complete(BY_NUMBER[9], states(done=8), security=gate,
                            override="signed on chat")
    assert not decision.allowed
    assert decision.reason == ("security incident: the security lead has not signed off: "
                               "cloud_share, release (an override cannot lift this)")


def test_no_step_after_9_while_a_fact_is_unsigned_even_with_an_override() -> None:
    gate = SecurityGate(True, True, unsigned_facts=("release",))
    decision = can_complete(BY_NUMBER[10], states(done=9), security=gate, override="urgent")
    assert not decision.allowed
    assert decision.reason.endswith("release (an override cannot lift this)")


def test_step_9_with_signed_facts_and_people_is_allowed() -> None:
    assert can_complete(BY_NUMBER[9], states(done=8), security=FULL_GATE).allowed


def test_steps_before_9_ignore_the_security_gate() -> None:
    gate = SecurityGate(False, False, unsigned_facts=("release",))
    for number in range(1, 9):
        assert can_complete(BY_NUMBER[number], states(done=number - 1), security=gate).allowed


def test_unsigned_facts_do_not_matter_without_the_security_flag() -> None:
    assert can_complete(BY_NUMBER[9], states(done=8), security=None).allowed
