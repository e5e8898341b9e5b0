"""What the store knows, as the dicts the row-by-row oracles read and as the frames the
columnar planning reads (`_State`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from herald.services.contact_import import _CONTACTS, _EMAILS, _NEW_ACCOUNT, _State


@dataclass
class Known:
    """Stored accounts (by key and by id), domains, contacts, first addresses and marks."""

    by_key: dict[str, int]
    accounts: dict[int, dict[str, Any]]
    domains: dict[str, int]
    contacts: dict[tuple[int, str], tuple[int, str, bool]]  # -> (id, name, incident_contact)
    by_email: dict[str, int]
    marks: dict[int, str]

    def state(self) -> _State:
        """The same, as `_State.load` would have read it."""
        def two(d: dict[Any, Any], key: str, value: str, key_type: Any = pl.String,
                value_type: Any = pl.Int64) -> pl.DataFrame:
            return pl.DataFrame({key: list(d), value: list(d.values())},
                                schema={key: key_type, value: value_type})

        return _State(
            keys=two(self.by_key, "key", "account_id"),
            accounts=pl.DataFrame(
                [(i, *(a.get(k) for k in _NEW_ACCOUNT)) for i, a in self.accounts.items()],
                schema={"account_id": pl.Int64, **dict.fromkeys(_NEW_ACCOUNT, pl.String)},
                orient="row"),
            domains=two(self.domains, "domain", "account_id"),
            contacts=pl.DataFrame([(a, e, i, n, f) for (a, e), (i, n, f) in self.contacts.items()],
                                  schema=_CONTACTS, orient="row"),
            emails=pl.DataFrame(list(self.by_email.items()), schema=_EMAILS, orient="row"),
            marks=two(self.marks, "account_id", "impact", pl.Int64, pl.String))
