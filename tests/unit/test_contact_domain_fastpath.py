"""The fast path of domain checks answers exactly as email_validator does (it only skips it)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from herald.domain.contacts import _clean_email_checked, _domain_checked, _domain_ok, clean_email

EDGES = [
    "acme.com", "a.co", "a.b", "1.com", "acme.c0m", "acme.123", "x.co.uk", "sg.eu.acme.com",
    "-acme.com", "acme-.com", "ac-me.com", "a--b.com", "ab--c.com", "xn--mller-kva.de",
    "axn--b.com", "acme.xn--p1ai", "acme..com", ".acme.com", "acme.com.", "acme", "acme.test",
    "test", "acme.local", "local.acme.com", "acme.localhost", "onion.io", "x.arpa",
    "a" * 63 + ".com", "a" * 64 + ".com", ".".join(["abcdefghi"] * 25) + ".com",
    ".".join(["a" * 60] * 4) + ".xyz", "müller.de", "ACME.com", "acme.com-", "acme.c-m",
    "acme.-com", "1.2.3.4", "acme.co-", "a-.b", "ac_me.com", "acme.com/x", "",
    *(".".join(["a" * 63] * 3) + "." + "b" * k + ".c" for k in (57, 58, 59, 60)),  # 251..254
]


@pytest.mark.parametrize("domain", EDGES)
def test_fast_path_agrees_with_email_validator_on_edge_cases(domain: str) -> None:
    assert _domain_ok(domain) == _domain_checked(domain)


LABELS = st.one_of(st.text("abz09-", min_size=0, max_size=8),
                   st.sampled_from(["xn--", "ab--", "test", "local", "arpa", "onion", "com",
                                    "a" * 63, "a" * 64, "ü", "_", "A"]))


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(st.lists(LABELS, min_size=1, max_size=6))
def test_fast_path_agrees_with_email_validator(labels: list[str]) -> None:
    domain = ".".join(labels)
    assert _domain_ok(domain) == _domain_checked(domain)


EMAILS = [
    "ann@acme.com", "Ann.Smith@ACME.com", "  <ann@acme.com>  ", "mailto:Bob@acme.com",
    "o'brien+ops@acme.co.uk", "info@Müller.de", "a..b@acme.com", ".ann@acme.com", "ann.@acme.com",
    "ann@acme.test", "ann@local.acme.test", "ann@a--b.com", "ann--x@acme.com",
    "ann@xn--mller-kva.de",
    "x" * 64 + "@acme.com", "x" * 65 + "@acme.com", "a@" + "b" * 248 + ".com",
    "a@" + "b" * 249 + ".com", "\u212a@acme.com", "k@\u212acme.com", "ann@acme.c0m", "ann@acme.1",
    "ann@@acme.com", "ann@", "@acme.com", "", "none", "ann@acme.com.", "ann@-acme.com",
    "a/b=c?d@acme.io", "ann@acme.co-uk", "ANN@ACME.LOCAL",
]


@pytest.mark.parametrize("text", EMAILS)
def test_email_fast_path_agrees_with_the_full_check_on_edge_cases(text: str) -> None:
    assert clean_email(text) == _clean_email_checked(text)


LOCALS = st.text("aZ09.+-'_ü<> ", min_size=0, max_size=10)


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(LOCALS, st.lists(LABELS, min_size=1, max_size=4), st.sampled_from(["", " ", "mailto:"]))
def test_email_fast_path_agrees_with_the_full_check(
        local: str, labels: list[str], prefix: str) -> None:
    text = f"{prefix}{local}@{'.'.join(labels)}"
    assert clean_email(text) == _clean_email_checked(text)


@settings(max_examples=2000, deadline=None, derandomize=True)
@given(st.text(max_size=30))
def test_email_fast_path_agrees_with_the_full_check_on_any_text(text: str) -> None:
    assert clean_email(text) == _clean_email_checked(text)
