"""Incidents: list, search, open, read, change the header fields, and the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ConfigDict, Field

from herald.domain.access import can_open_incidents
from herald.domain.incident import Severity
from herald.errors import Forbidden
from herald.services import incidents, views
from herald.services.views import AuditRow, IncidentDetail, IncidentSummary
from herald.web.api.common import READ, Input, Writer, detail_after, errors, viewer_of
from herald.web.deps import Acting, SignedIn, Viewing
from herald.web.security import Caller, herald_of

router = APIRouter(tags=["incidents"])

Status = Literal["open", "resolved", "closed"]


class NewIncident(Input):
    """A new incident workspace; the checklist and timeline come with it."""

    title: str = Field(min_length=3, max_length=200,
                       description="A descriptive name people recognise.",
                       examples=["Search results missing after the 5.2 upgrade"])
    number: str | None = Field(None, description="The incident number (inc-NN), when "
                               "engineering has one; it can be given later.",
                               examples=["inc-4217"])
    severity: Severity | None = Field(None, description="sev1 (worst) to sev4.")
    security: bool = Field(False, description="A security incident: need-to-know from now "
                           "on, and the security stop at step 9.")
    messenger: str | None = Field(None, description="The messenger's email; you when left out.",
                                  examples=["maya.okafor@example.com"])
    messenger_name: str | None = Field(None, max_length=200,
                                       description="The messenger's name, when not you.",
                                       examples=["Maya Okafor"])

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"title": "Search results missing after the 5.2 upgrade", "number": "inc-4217",
         "severity": "sev2"}]})


class IncidentChange(Input):
    """Header fields to change; the ones left out stay as they are. All or nothing."""

    title: str | None = Field(None, min_length=3, max_length=200,
                              description="A new descriptive name (the old one is kept "
                              "in the audit log).")
    number: str | None = Field(None, description="Give or change the incident number.",
                               examples=["inc-4217"])
    severity: Severity | None = Field(None, description="sev1 (worst) to sev4.")
    status: Status | None = Field(None, description="open, resolved or closed.")
    expected_version: int | None = Field(None, ge=1, description="The `version` you loaded; "
                                         "when the incident changed since, 409 and nothing "
                                         "is changed.", examples=[3])

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"number": "inc-4217", "severity": "sev1", "expected_version": 3}]})


def _opener(caller: Writer) -> Caller:
    if not can_open_incidents(caller.account.viewer):
        raise Forbidden("your account may not open incidents; ask an admin for the support role")
    return caller


@router.get("/incidents", summary="List incidents", responses=errors(422))
def list_incidents(
    request: Request,
    caller: SignedIn,
    status: Annotated[Status | Literal["all"], Query(
        description="Which incidents: open (default), resolved, closed or all.")] = "open",
) -> list[IncidentSummary]:
    """Incidents newest first, each with where its messenger stands.

    Security incidents appear only for their members, the security role and admins.
    """
    return views.list_incidents(herald_of(request), viewer=caller.account.viewer,
                                status=None if status == "all" else status)


@router.get("/search", summary="Search incidents", responses=errors(422))
def search(
    request: Request,
    caller: SignedIn,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Text to find in an "
                            "incident's number, title or plan facts (any case).",
                            examples=["5.2.0"])],
) -> list[IncidentSummary]:
    """Incidents of any status matching the text, newest first (at most 50).

    Need-to-know applies: security incidents are found only by those who may see them.
    """
    return views.search_incidents(herald_of(request), q, viewer=caller.account.viewer)


@router.post("/incidents", status_code=201, summary="Open an incident",
             responses=errors(400, 403, 409, 422,
                              e409="The incident number is already used."))
def open_incident(
    request: Request,
    response: Response,
    caller: Annotated[Caller, Depends(_opener)],
    body: NewIncident,
) -> IncidentDetail:
    """Open a new incident workspace with its 24-step checklist and timeline.

    The messenger is you unless another email is given. Needs an account that runs
    incidents (support, support leadership, security, admin).
    """
    me = caller.account
    h = herald_of(request)
    ref = incidents.create_incident(
        h, title=body.title, actor=me.email, messenger=body.messenger or me.email,
        messenger_name=body.messenger_name or (None if body.messenger else me.name),
        number=body.number, security=body.security,
        severity=body.severity.value if body.severity else None)
    response.headers["location"] = f"/api/v1/incidents/{ref}"
    return views.incident_detail(h, ref, viewer=me.viewer)


@router.get("/incidents/{ref}", summary="Read an incident", responses=READ)
def read_incident(seen: Viewing) -> IncidentDetail:
    """The incident's header, people, links, deadline, security gate and checklist."""
    return views.incident_detail(seen.h, seen.ref, viewer=viewer_of(seen))


@router.patch("/incidents/{ref}", summary="Change title, number, severity or status",
              responses=errors(400, 403, 404, 409, 422, e409="The incident changed since "
                               "`expected_version`, or the number is already used."))
def change_incident(seen: Acting, body: IncidentChange) -> IncidentDetail:
    """Change any of the header fields in one all-or-nothing change.

    Send `expected_version` (the `version` you loaded) to be told, with 409, when someone
    else changed the incident in between. A new number changes the incident's `ref`.
    """
    ref = incidents.update_incident(
        seen.h, seen.ref, actor=seen.actor, title=body.title, number=body.number,
        severity=body.severity.value if body.severity else None, status=body.status,
        expected_version=body.expected_version)
    return detail_after(seen, ref)


@router.get("/incidents/{ref}/audit", summary="Read the audit log", responses=READ)
def audit_log(seen: Viewing) -> list[AuditRow]:
    """Every change to the incident, oldest first: who, when, what, before and after."""
    return views.audit_log(seen.h, seen.ref, viewer=viewer_of(seen))
