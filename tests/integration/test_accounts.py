"""Accounts: an address is one account whatever its case, and signing in does not depend on
how the person types it."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from herald.errors import Conflict
from herald.services import accounts
from herald.services.context import Herald
from herald.store.models import User

PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                            parallelism=1))


def test_an_address_in_any_case_is_the_same_account(h: Herald) -> None:
    made = accounts.create_user(h, email="Ada.Lovelace@Example.COM", name="Ada",
                                roles=["support"], password=PASSWORD, actor="ops@example.com")
    assert made.email == "ada.lovelace@example.com"
    for typed in ("ada.lovelace@example.com", "ADA.LOVELACE@example.com", " Ada.Lovelace@"
                  "example.com "):
        _, account = accounts.log_in(h, email=typed, password=PASSWORD, ip="10.0.0.1")
        assert account.email == "ada.lovelace@example.com"
    assert accounts.get_user(h, "ADA.lovelace@EXAMPLE.com").name == "Ada"
    with pytest.raises(Conflict, match="already exists"):
        accounts.create_user(h, email="ada.lovelace@example.com", name="Ada again",
                             roles=["support"], password=PASSWORD, actor="ops@example.com")


def test_an_account_stored_with_capitals_still_signs_in(h: Herald) -> None:
    """Accounts made before addresses were stored lower-cased keep working."""
    with h.db.transaction() as s:
        s.add(User(email="Old.Timer@example.com", name="Old", roles=["support"], active=True,
                   password_hash=accounts._hasher.hash(PASSWORD), created_at=h.clock.now()))
    _, account = accounts.log_in(h, email="old.timer@example.com", password=PASSWORD, ip="t")
    assert account.name == "Old"
    with pytest.raises(Conflict):
        accounts.create_user(h, email="OLD.TIMER@example.com", name="Twin", roles=["viewer"],
                             password=PASSWORD, actor="ops@example.com")
