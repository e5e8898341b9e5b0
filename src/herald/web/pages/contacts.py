"""The customer list page: readiness, shares, accounts with marks, exports and team gaps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from herald.errors import InvalidInput
from herald.services import contacts, marking, views
from herald.services.contact_export import export_contacts
from herald.services.contacts import ContactRow
from herald.web.deps import Acting, Marking, Viewing
from herald.web.files import download
from herald.web.pages.common import back, incident_page
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
PAGE_SIZE = 200
FILTERS = {"all": None, "yes": "yes", "no": "no", "unknown": "unknown"}  # the filter -> impact


@dataclass
class AccountRow:
    """One account on the list with its contacts (the page shows accounts, not lines)."""

    first: ContactRow
    people: list[ContactRow] = field(default_factory=list)


def accounts_of(rows: list[ContactRow]) -> list[AccountRow]:
    """Group the list's lines (one per contact) into accounts, keeping their order."""
    out: list[AccountRow] = []
    for row in rows:
        if not out or out[-1].first.account_id != row.account_id:
            out.append(AccountRow(row))
        if row.email:
            out[-1].people.append(row)
    return out


@router.get("/incidents/{ref}/contacts")
def contacts_page(
    request: Request, seen: Viewing,
    impact: Annotated[str, Query()] = "all", page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """The list: ready or what is missing, shares, counts, accounts with their marks."""
    viewer = seen.caller.account.viewer
    d = views.incident_detail(seen.h, seen.ref, viewer=viewer)
    status = contacts.list_status(seen.h, seen.ref, viewer=viewer)
    impact = impact if impact in FILTERS else "all"
    wanted = FILTERS[impact]  # only the page's accounts are read: a list can be 100,000 long
    shown = sum(status.accounts.values()) if wanted is None else status.accounts[wanted]
    pages = max(1, -(-shown // PAGE_SIZE))
    page = min(page, pages)
    rows = contacts.list_contacts(seen.h, seen.ref, viewer=viewer, impact=wanted,
                                  offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return incident_page(
        request, seen, d, "contacts.html", "contacts", status=status,
        accounts=accounts_of(rows), shown=shown, impact=impact, page=page, pages=pages,
        may_mark=marking.marker(viewer, seen.access.members))


@router.post("/incidents/{ref}/contacts/marks")
def mark(request: Request, seen: Marking, account: Text = "", impact: Text = "",
         next: Text = "") -> Response:
    """Mark one account impacted yes/no (members, or the account's own CE)."""
    name = marking.mark_as(seen.h, seen.ref, account, impact,
                           viewer=seen.caller.account.viewer)
    return redirect(request, back(seen.ref, next, "/contacts"),
                    message=f"{name}: impacted {impact.strip().lower()}.")


@router.post("/incidents/{ref}/contacts/none")
def team_none(request: Request, seen: Acting, account: Text = "", role: Text = "",
              next: Text = "") -> Response:
    """Record that an account has no CE (or no AE), so the list can be ready without one."""
    contacts.set_account_team_none(seen.h, account, role, actor=seen.actor)
    return redirect(request, back(seen.ref, next, "/contacts"),
                    message=f"Recorded: {account} has no {role.upper()}.")


@router.get("/incidents/{ref}/contacts/export")
def export(seen: Viewing, format: Annotated[str, Query()] = "csv") -> Response:
    """The list as a CSV or XLSX download (cells that could run as formulas neutralised)."""
    fmt = format.strip().lower()
    if fmt not in {"csv", "xlsx"}:
        raise InvalidInput("format must be csv or xlsx")
    viewer = seen.caller.account.viewer
    return download(lambda path: export_contacts(seen.h, seen.ref, path, fmt, viewer=viewer),
                    f"{seen.ref}-customers.{fmt}")
