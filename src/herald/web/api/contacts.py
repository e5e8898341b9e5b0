"""The impacted customer list: contacts, readiness, imports, marks, exports, the CE round."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from herald.services import ce_round, contacts, marking
from herald.services.ce_round import CeProgress
from herald.services.contact_export import export_contacts
from herald.services.contact_import import SOURCES, ImportReport, import_file
from herald.services.contacts import ContactRow, ListStatus
from herald.web.api.common import READ, Input, errors, viewer_of
from herald.web.deps import Marking, Viewing
from herald.web.files import MEDIA, Uploading, download, read_import_form

router = APIRouter(tags=["contacts"])

AccountPath = Annotated[str, Path(
    description="The account's CRM id, its exact name, or its internal id as `#12` "
                "(URL-encoded: `%2312`).", examples=["0011"])]


class MarkIn(Input):
    """Whether the account is impacted by this incident."""

    impact: Literal["yes", "no", "unknown"] = Field(
        description="yes: tell them; no: they are not affected; unknown: not answered yet.",
        examples=["yes"])


class MarkOut(BaseModel):
    """The account as marked."""

    account: str = Field(description="The account as given in the path.")
    account_name: str = Field(description="The account's name.")
    impact: str = Field(description="The mark now: yes, no or unknown.")


_FORM = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "source"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "The CSV or XLSX file (UTF-8 with or without BOM, Latin-1)."},
        "source": {"type": "string", "enum": list(SOURCES),
                   "description": "engineering: a list of affected users, accounts or "
                                  "instances; crm: a CRM report export (or a filled CE sheet)."},
        "dry_run": {"type": "boolean", "default": False,
                    "description": "true: report what would happen and write nothing."},
        "mapping": {"type": "string", "format": "binary",
                    "description": "Optional JSON or TOML file mapping fields to header names "
                                   "for other layouts; remembered for later imports."}}}}}
_FILE = {"description": "The file, as an attachment.",
         "content": {media: {"schema": {"type": "string", "format": "binary"}}
                     for media in MEDIA.values()}}


@router.get("/incidents/{ref}/contacts", summary="Read the customer list", responses=READ)
def list_contacts(
    seen: Viewing,
    impacted_only: Annotated[bool, Query(description="Only accounts marked impacted.")] = False,
    impact: Annotated[Literal["yes", "no", "unknown"] | None, Query(
        description="Only accounts with this mark.")] = None,
    offset: Annotated[int, Query(ge=0, description="Accounts to skip (list order).")] = 0,
    limit: Annotated[int | None, Query(ge=1, le=10_000, description="At most this many "
                                       "accounts (all their contacts); all when left out.")
                     ] = None,
) -> list[ContactRow]:
    """Every contact of every account on the incident's list, with the account's mark
    (`impacted` true/false/null), its CE and AE, and whether the contact will be told. The
    list is in account-name order; `offset` and `limit` page it by account."""
    return contacts.list_contacts(seen.h, seen.ref, viewer=viewer_of(seen),
                                  impacted_only=impacted_only, impact=impact, offset=offset,
                                  limit=limit)


@router.get("/incidents/{ref}/contacts/status", summary="Is the list ready",
            responses=READ)
def list_status(seen: Viewing) -> ListStatus:
    """Ready only when every impacted account has a valid email, a CE and an AE (or an
    explicit none) and no account is left unanswered; otherwise every problem. Also the
    impact shares per deployment type and the counts."""
    return contacts.list_status(seen.h, seen.ref, viewer=viewer_of(seen))


@router.post("/incidents/{ref}/contacts/import", summary="Import a customer file",
             openapi_extra={"requestBody": {"required": True, "content": _FORM}},
             responses=errors(400, 403, 404, 409, 422, e422="The file cannot be read, is "
                              "too large, or the source or mapping is invalid."))
async def import_contacts(request: Request, seen: Uploading) -> ImportReport:
    """Import an engineering list or a CRM report (multipart form). Every line ends up
    imported, merged or rejected with its line and reason; with `dry_run` nothing is written.
    Re-importing the same file changes nothing."""
    form = await read_import_form(request)
    report: ImportReport = await run_in_threadpool(
        lambda: import_file(seen.h, seen.ref, FilePath(form.filename), source=form.source,
                            actor=seen.actor, mapping=form.mapping, dry_run=form.dry_run,
                            data=form.data))
    return report


@router.put("/incidents/{ref}/contacts/marks/{account}", summary="Mark an account",
            responses=errors(400, 403, 404, 409, 422, e403="A browser session sent no or a "
                             "stale `X-CSRF-Token`, or you are a CE and this account is not "
                             "yours or not on the list.", e404="No such incident (or one you "
                             "may not know of), or no such account."))
def mark_account(seen: Marking, account: AccountPath, body: MarkIn) -> MarkOut:
    """Mark one account impacted yes/no (or back to unknown) for this incident. The
    incident's people may mark any account; a CE may mark the accounts they are the CE of."""
    name = marking.mark_as(seen.h, seen.ref, account, body.impact, viewer=viewer_of(seen))
    return MarkOut(account=account, account_name=name, impact=body.impact)


@router.get("/incidents/{ref}/contacts/export", summary="Download the customer list",
            response_class=Response, responses={200: _FILE, **READ})
def export_list(seen: Viewing, format: Annotated[Literal["csv", "xlsx"], Query(
        description="csv (UTF-8 with BOM) or xlsx.")] = "csv") -> Any:
    """The list as a CSV or XLSX attachment, one line per contact; cells that a spreadsheet
    would run as formulas are neutralised."""
    viewer = viewer_of(seen)
    return download(lambda path: export_contacts(seen.h, seen.ref, path, format,
                                                 viewer=viewer),
                    f"{seen.ref}-customers.{format}")


@router.get("/incidents/{ref}/contacts/ce", summary="Read the CE round", responses=READ)
def ce_progress(
    seen: Viewing,
    ce: Annotated[str | None, Query(description="Only this CE (their email).")] = None,
) -> list[CeProgress]:
    """Per customer engineer: their accounts on the list, what they answered, and how many
    are still unanswered (CEs still working first)."""
    return ce_round.ce_round(seen.h, seen.ref, viewer=viewer_of(seen), ce_email=ce)
