"""Pure rules of the customer list: emails, domains, deployments, marks, completeness, shares."""

from __future__ import annotations

import pytest

from herald.domain.contacts import (
    AccountFacts,
    Deployment,
    Impact,
    clean_domain,
    clean_email,
    completeness,
    domain_candidates,
    email_domain,
    parse_deployment,
    parse_flag,
    parse_impact,
    shares,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("ann@acme.com", "ann@acme.com"),
    ("Ann.Smith@ACME.com", "ann.smith@acme.com"),
    ("  <ann@acme.com>  ", "ann@acme.com"),
    ("mailto:Bob@acme.com", "bob@acme.com"),
    ("MAILTO:bob@acme.com", "bob@acme.com"),
    ("o'brien+ops@acme.co.uk", "o'brien+ops@acme.co.uk"),
    ("info@Müller.de", "info@müller.de"),  # internationalised domain, kept in Unicode
    ("x@eu.acme.com", "x@eu.acme.com"),
])
def test_clean_email_normalises_valid_addresses(text: str, expected: str) -> None:
    assert clean_email(text) == expected


@pytest.mark.parametrize("text", [
    "", "   ", "ann", "ann@", "@acme.com", "ann@@acme.com@", "ann smith@acme.com",
    "a..b@acme.com", ".ann@acme.com", "ann.@acme.com", '"quoted"@acme.com',
    "ann@localhost", "ann@acme", "ann@acme..com", "ann@-acme.com", "ann@acme.com.",
    "ann@[10.0.0.1]", "ann@acme.test", "ann@acme.invalid",
    "x" * 65 + "@acme.com", "a@" + "b" * 250 + ".com", "Ann Smith <ann@acme.com>",
    "none", "n/a",
])
def test_clean_email_refuses_what_is_not_a_mailbox(text: str) -> None:
    assert clean_email(text) is None


def test_email_domain_is_the_part_after_the_last_at() -> None:
    assert email_domain("ann@eu.acme.com") == "eu.acme.com"
    assert email_domain("ANN@Acme.COM") == "acme.com"


@pytest.mark.parametrize(("text", "expected"), [
    ("acme.com", "acme.com"),
    ("ACME.com", "acme.com"),
    ("www.acme.com", "acme.com"),
    ("https://www.acme.com/about", "acme.com"),
    ("http://sourcegraph.acme.com:8443/search?q=x", "sourcegraph.acme.com"),
    ("https://acme.com.", "acme.com"),
    ("ops@acme.co.uk", "acme.co.uk"),
    ("  acme.de  ", "acme.de"),
    ("https://müller.de", "müller.de"),
])
def test_clean_domain_takes_the_host_of_urls_emails_and_bare_names(
        text: str, expected: str) -> None:
    assert clean_domain(text) == expected


@pytest.mark.parametrize("text", ["", " ", "acme", "localhost", "www.", "https://", "-",
                                  "not a domain.com", "acme..com"])
def test_clean_domain_refuses_non_domains(text: str) -> None:
    assert clean_domain(text) is None


def test_domain_candidates_go_from_the_host_to_the_registrable_domain() -> None:
    assert domain_candidates("sg.eu.acme.com") == ["sg.eu.acme.com", "eu.acme.com", "acme.com"]
    assert domain_candidates("acme.com") == ["acme.com"]
    assert domain_candidates("localhost") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("Self-Hosted", Deployment.SELF_HOSTED),
    ("self hosted", Deployment.SELF_HOSTED),
    ("  Self   Hosted ", Deployment.SELF_HOSTED),
    ("On-Prem", Deployment.SELF_HOSTED),
    ("on-premises", Deployment.SELF_HOSTED),
    ("Server", Deployment.SELF_HOSTED),
    ("Cloud", Deployment.CLOUD),
    ("SaaS", Deployment.CLOUD),
    ("Dedicated Cloud", Deployment.CLOUD),
    ("Managed Instance", Deployment.CLOUD),
])
def test_parse_deployment_reads_crm_spellings(text: str, expected: Deployment) -> None:
    assert parse_deployment(text) is expected


@pytest.mark.parametrize("text", ["", "   ", "hybrid", "cloudy", "Self-Hosted (legacy)", "?"])
def test_parse_deployment_is_none_when_blank_or_unknown(text: str) -> None:
    assert parse_deployment(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", Impact.YES), ("Y", Impact.YES), ("TRUE", Impact.YES), ("x", Impact.YES),
    ("Impacted", Impact.YES), (" ja ", Impact.YES), ("1", Impact.YES),
    ("no", Impact.NO), ("N", Impact.NO), ("false", Impact.NO), ("Not  Impacted", Impact.NO),
    ("nein", Impact.NO), ("0", Impact.NO),
    ("", Impact.UNKNOWN), ("   ", Impact.UNKNOWN),
])
def test_parse_impact_reads_marks_as_people_type_them(text: str, expected: Impact) -> None:
    assert parse_impact(text) is expected


@pytest.mark.parametrize("text", ["maybe", "yes?", "tbd", "2", "n/a"])
def test_parse_impact_is_none_for_anything_else(text: str) -> None:
    assert parse_impact(text) is None


def test_parse_flag_is_true_only_for_yes_like_values() -> None:
    assert [parse_flag(t) for t in ("Yes", "true", "1", "x", " y ")] == [True] * 5
    assert [parse_flag(t) for t in ("", "No", "0", "false", "maybe")] == [False] * 5


def _facts(key: str, impact: Impact = Impact.YES, valid: int = 1, *, ce: bool = True,
           ae: bool = True, invalid: tuple[str, ...] = ()) -> AccountFacts:
    return AccountFacts(key=key, name=f"Account {key}", impact=impact, valid_emails=valid,
                        invalid_emails=invalid, ce=ce, ae=ae)


def test_completeness_is_ready_when_every_impacted_account_has_email_ce_and_ae() -> None:
    result = completeness([_facts("1"), _facts("2", Impact.NO, valid=0, ce=False, ae=False)])
    assert result.ready
    assert result.problems == []


def test_completeness_lists_every_missing_piece_of_impacted_accounts() -> None:
    result = completeness([
        _facts("1", valid=0),
        _facts("2", ce=False),
        _facts("3", ae=False),
        _facts("4", invalid=("bad@",)),
        _facts("5", Impact.NO, valid=0, ce=False, ae=False),  # not impacted: no demands
    ])
    assert not result.ready
    assert result.problems == [
        "Account 1 (1): no valid email address",
        "Account 2 (2): no CE (set one, or mark 'none')",
        "Account 3 (3): no AE (set one, or mark 'none')",
        "Account 4 (4): invalid email 'bad@'",
    ]


def test_completeness_counts_unmarked_accounts_first() -> None:
    result = completeness([_facts("1"), _facts("2", Impact.UNKNOWN),
                           _facts("3", Impact.UNKNOWN, valid=0)])
    assert result.problems == ["2 account(s) not marked impacted yes/no yet"]


def test_completeness_of_an_empty_or_all_no_list_says_nothing_is_impacted() -> None:
    assert completeness([]).problems == ["no account is marked impacted"]
    assert completeness([_facts("1", Impact.NO)]).problems == ["no account is marked impacted"]


def test_completeness_caps_the_listed_problems() -> None:
    result = completeness([_facts(str(i), valid=0) for i in range(7)], max_listed=3)
    assert len(result.problems) == 4
    assert result.problems[-1] == "... and 4 more"


def test_shares_cover_every_deployment_type_with_percent() -> None:
    result = shares({"self-hosted": 7}, {"self-hosted": 20, "cloud": 3})
    assert [(s.deployment, s.impacted, s.total, s.percent) for s in result] == [
        ("self-hosted", 7, 20, 35.0), ("cloud", 0, 3, 0.0)]
    assert shares({}, {})[0].percent == 0.0  # no accounts of a type: 0, not a division error
    assert shares({"cloud": 1}, {"cloud": 3})[1].percent == 33.3
