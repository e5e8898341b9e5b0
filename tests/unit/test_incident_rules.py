"""Incident identity and people: numbers, severities, roles, emails, titles, the flag rule."""

from __future__ import annotations

import pytest

from herald.domain.incident import (
    Role,
    Severity,
    check_security_change,
    check_title,
    looks_like_number,
    normalize_email,
    parse_number,
    parse_role,
    parse_severity,
)
from herald.errors import Forbidden, InvalidInput


@pytest.mark.parametrize(("text", "number"), [
    ("inc-42", "inc-42"), ("INC-42", "inc-42"), ("Inc-42", "inc-42"), ("inc42", "inc-42"),
    ("#inc-42", "inc-42"), ("  inc-42  ", "inc-42"), ("inc-042", "inc-42"),
    ("inc-999999", "inc-999999"),
])
def test_parse_number_normalises(text: str, number: str) -> None:
    assert parse_number(text) == number


@pytest.mark.parametrize("text", [
    "42", "inc-", "inc", "inc-abc", "inc-4a2", "incident-42", "inc 42", "inc--42",
    "inc-1234567", "inc-42x", "x-inc-42", "", "#42",
])
def test_parse_number_refuses_bad_shapes(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_number(text)
    assert str(err.value) == f"incident number must look like inc-42 (got {text!r})"


@pytest.mark.parametrize(("text", "expected"), [
    ("inc-3", True), ("INC-3", True), ("inc3", True), ("7", False), ("#7", False),
    ("inc-x", False), ("title", False),
])
def test_looks_like_number(text: str, expected: bool) -> None:
    assert looks_like_number(text) is expected


@pytest.mark.parametrize(("text", "severity"), [
    ("sev1", Severity.SEV1), ("SEV2", Severity.SEV2), (" 3 ", Severity.SEV3), ("4", Severity.SEV4),
])
def test_parse_severity(text: str, severity: Severity) -> None:
    assert parse_severity(text) is severity


@pytest.mark.parametrize("text", ["sev5", "5", "0", "high", "", "sev 1"])
def test_parse_severity_refuses_unknown(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"unknown severity .*; use sev1 \(worst\) to sev4"):
        parse_severity(text)


@pytest.mark.parametrize(("text", "role"), [
    ("messenger", Role.MESSENGER), ("Buddy", Role.BUDDY), ("incident_lead", Role.INCIDENT_LEAD),
    ("incident lead", Role.INCIDENT_LEAD), ("Security-Lead", Role.SECURITY_LEAD),
    (" cs_leader ", Role.CS_LEADER), ("CS leader", Role.CS_LEADER),
])
def test_parse_role(text: str, role: Role) -> None:
    assert parse_role(text) is role


@pytest.mark.parametrize("text", ["boss", "", "lead", "security"])
def test_parse_role_names_the_valid_roles(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_role(text)
    assert str(err.value) == (f"unknown role {text!r}; roles are: messenger, buddy, "
                              "incident_lead, security_lead, cs_leader")


def test_role_labels_read_as_people_say_them() -> None:
    assert Role.CS_LEADER.label == "CS leader"
    assert Role.INCIDENT_LEAD.label == "incident lead"
    assert Role.MESSENGER.label == "messenger"


@pytest.mark.parametrize(("text", "email"), [
    ("maya@example.com", "maya@example.com"),
    ("  maya@example.com ", "maya@example.com"),
    ("Maya.Okafor@EXAMPLE.COM", "Maya.Okafor@example.com"),  # the domain is case-insensitive
])
def test_normalize_email(text: str, email: str) -> None:
    assert normalize_email(text) == email


@pytest.mark.parametrize("text", [
    "maya", "maya@", "@example.com", "maya@example", "maya okafor@example.com",
    "maya@@example.com", "maya@exa mple.com", "",
])
def test_normalize_email_refuses_bad_addresses(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalize_email(text)
    message = str(err.value)
    assert message.startswith(f"invalid email {text!r}: ")
    assert "\n" not in message


def test_check_title_collapses_whitespace() -> None:
    assert check_title("  Search   is\tslow \n") == "Search is slow"


@pytest.mark.parametrize("text", ["", "  ", "ab", " a  ", "a\n"])
def test_check_title_needs_a_descriptive_title(text: str) -> None:
    with pytest.raises(InvalidInput, match="descriptive title"):
        check_title(text)


def test_check_title_refuses_a_long_title() -> None:
    assert check_title("x" * 200) == "x" * 200
    with pytest.raises(InvalidInput, match="longer than 200"):
        check_title("x" * 201)


# --- the security flag: raised by anyone, lowered only by the security lead with a reason ---


@pytest.mark.parametrize("lead", [None, "sec@example.com"])
def test_anyone_may_raise_the_flag(lead: str | None) -> None:
    check_security_change(current=False, wanted=True, actor="anyone@example.com",
                          security_lead=lead, reason=None)


def test_keeping_the_flag_as_it_is_needs_nobody() -> None:
    check_security_change(current=True, wanted=True, actor="anyone@example.com",
                          security_lead=None, reason=None)
    check_security_change(current=False, wanted=False, actor="anyone@example.com",
                          security_lead=None, reason=None)


def test_lowering_without_a_security_lead_is_forbidden() -> None:
    with pytest.raises(Forbidden, match="only the incident's security lead"):
        check_security_change(current=True, wanted=False, actor="messenger@example.com",
                              security_lead=None, reason="not security after all")


def test_lowering_by_someone_else_is_forbidden() -> None:
    with pytest.raises(Forbidden, match="only the incident's security lead"):
        check_security_change(current=True, wanted=False, actor="messenger@example.com",
                              security_lead="sec@example.com", reason="not security after all")


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_lowering_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(InvalidInput, match="needs a reason"):
        check_security_change(current=True, wanted=False, actor="sec@example.com",
                              security_lead="sec@example.com", reason=reason)


def test_the_security_lead_may_lower_with_a_reason() -> None:
    check_security_change(current=True, wanted=False, actor="Sec@Example.com",
                          security_lead="sec@example.com", reason="a plain bug, no exposure")
