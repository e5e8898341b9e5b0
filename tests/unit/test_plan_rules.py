"""The plan's gathered facts: names and values."""

from __future__ import annotations

import pytest

from herald.domain.plan import FACT_KEYS, FACTS, check_fact
from herald.errors import InvalidInput


def test_the_plan_has_the_handbook_blanks() -> None:
    assert [f.key for f in FACTS] == [
        "release", "causes", "impact_condition", "how_to_determine", "remediation",
        "customer_must_act", "deployments", "self_hosted_share", "cloud_share", "aware_at",
    ]
    assert set(FACT_KEYS) == {f.key for f in FACTS}


@pytest.mark.parametrize(("key", "norm"), [
    ("release", "release"), (" Release ", "release"), ("self-hosted-share", "self_hosted_share"),
    ("Impact-Condition", "impact_condition"),
])
def test_fact_keys_are_normalised(key: str, norm: str) -> None:
    assert check_fact(key, "5")[0] == norm


@pytest.mark.parametrize("key", ["color", "", "title", "security"])
def test_an_unknown_field_names_the_valid_ones(key: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_fact(key, "x")
    assert str(err.value).startswith(f"unknown plan field {key!r}; fields are: release, causes,")


@pytest.mark.parametrize("value", ["", "   "])
def test_a_fact_needs_a_value(value: str) -> None:
    with pytest.raises(InvalidInput, match="release: a value is required"):
        check_fact("release", value)


def test_free_text_is_kept_trimmed() -> None:
    assert check_fact("causes", "  search to miss results ") == ("causes", "search to miss results")


@pytest.mark.parametrize(("value", "norm"), [("yes", "yes"), ("NO", "no"), (" Yes ", "yes")])
def test_customer_must_act_is_yes_or_no(value: str, norm: str) -> None:
    assert check_fact("customer_must_act", value) == ("customer_must_act", norm)


@pytest.mark.parametrize("value", ["maybe", "y", "true", "1"])
def test_customer_must_act_refuses_anything_else(value: str) -> None:
    with pytest.raises(InvalidInput, match="customer_must_act: answer yes or no"):
        check_fact("customer_must_act", value)


@pytest.mark.parametrize("key", ["self_hosted_share", "cloud_share"])
@pytest.mark.parametrize(("value", "norm"), [
    ("0", "0"), ("35", "35"), ("35%", "35"), ("12.50", "12.5"), ("100", "100"), ("99.9%", "99.9"),
])
def test_shares_are_percentages(key: str, value: str, norm: str) -> None:
    assert check_fact(key, value) == (key, norm)


@pytest.mark.parametrize("key", ["self_hosted_share", "cloud_share"])
@pytest.mark.parametrize("value", ["101", "-1", "100.1", "abc", "nan", "inf", "half"])
def test_shares_outside_0_to_100_are_refused(key: str, value: str) -> None:
    with pytest.raises(InvalidInput, match=f"{key}: a percentage from 0 to 100"):
        check_fact(key, value)


@pytest.mark.parametrize(("value", "norm"), [
    ("cloud", "cloud"), ("self-hosted", "self-hosted"),
    ("Cloud, Self-Hosted", "self-hosted, cloud"),
    ("self-hosted and cloud", "self-hosted, cloud"), ("cloud & self-hosted", "self-hosted, cloud"),
    ("cloud,cloud", "cloud"),
])
def test_deployments(value: str, norm: str) -> None:
    assert check_fact("deployments", value) == ("deployments", norm)


@pytest.mark.parametrize("value", ["on-prem", "cloud, on-prem", ",", "saas", "selfhosted"])
def test_unknown_deployments_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput, match="deployments: self-hosted, cloud, or both"):
        check_fact("deployments", value)
