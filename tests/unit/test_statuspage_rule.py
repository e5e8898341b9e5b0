"""The status page recommendation: never for security, only for wide reach, always with a reason."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from herald.domain.statuspage import recommend
from herald.errors import InvalidInput
from herald.settings import Settings


@pytest.mark.parametrize("shares", [
    {}, {"self-hosted": 10.0}, {"self-hosted": 100.0, "cloud": 100.0}, {"cloud": 80.0},
])
@pytest.mark.parametrize("threshold", [50.0, 65.0, 80.0])
def test_a_security_incident_never_goes_on_the_status_page(
        shares: dict[str, float], threshold: float) -> None:
    r = recommend(security=True, shares=shares, threshold=threshold)
    assert (r.post, r.allowed) == (False, False)
    assert r.reason.startswith("security incident")
    assert "never goes on the status page" in r.reason


@pytest.mark.parametrize(("threshold", "share", "post"), [
    (50, 49.9, False), (50, 50, True), (50, 51, True),
    (80, 50, False), (80, 79.9, False), (80, 80, True), (80, 100, True),
    (65, 64, False), (65, 65, True),
])
@pytest.mark.parametrize("deployment", ["self-hosted", "cloud"])
def test_the_team_threshold_decides_for_either_deployment_type(
        threshold: float, share: float, post: bool, deployment: str) -> None:
    other = "cloud" if deployment == "self-hosted" else "self-hosted"
    r = recommend(security=False, shares={deployment: share, other: 5}, threshold=threshold)
    assert (r.post, r.allowed) == (post, True)
    assert f"threshold {threshold:g}%" in r.reason
    if post:
        assert r.reason.startswith("wide reach:")
        assert f"{share:g}% of {deployment} customers are impacted" in r.reason
        assert "post on the status page and email each customer" in r.reason
    else:
        assert r.reason.startswith("limited reach")
        assert f"{deployment} {share:g}%" in r.reason and f"{other} 5%" in r.reason
        assert "no status page post" in r.reason


def test_the_default_threshold_is_fifty() -> None:
    assert recommend(security=False, shares={"cloud": 50}).post
    assert not recommend(security=False, shares={"cloud": 49}).post
    assert Settings().status_page_threshold == 50


def test_both_deployment_types_over_the_threshold_are_named() -> None:
    r = recommend(security=False, shares={"cloud": 90, "self-hosted": 60}, threshold=55)
    assert r.post
    assert r.reason == ("wide reach: 90% of cloud customers and 60% of self-hosted customers "
                        "are impacted (threshold 55%); post on the status page and email each "
                        "customer")


def test_without_known_shares_the_reason_says_so() -> None:
    r = recommend(security=False, shares={})
    assert (r.post, r.allowed) == (False, True)
    assert r.reason == ("limited reach (no shares known yet; threshold 50%): email the impacted "
                        "customers one to one, no status page post")


@pytest.mark.parametrize("threshold", [49.9, 0, 80.1, 100])
def test_a_threshold_outside_fifty_to_eighty_is_refused(threshold: float) -> None:
    with pytest.raises(InvalidInput, match="50 to 80"):
        recommend(security=False, shares={"cloud": 90}, threshold=threshold)
    with pytest.raises(ValidationError):
        Settings(status_page_threshold=threshold)


@pytest.mark.parametrize("threshold", [50, 80])
def test_the_bounds_themselves_are_allowed(threshold: float) -> None:
    assert Settings(status_page_threshold=threshold).status_page_threshold == threshold
    assert recommend(security=False, shares={"cloud": threshold}, threshold=threshold).post
