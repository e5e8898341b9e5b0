"""The plan's header: security flag, people in their roles, links and the disclosure deadline."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, ConfigDict, Field

from herald.domain.incident import Role
from herald.errors import NotFound
from herald.services import incidents, members
from herald.services.views import IncidentDetail, LinkView
from herald.web.api.common import WRITE, Input, detail_after, errors
from herald.web.deps import Acting

router = APIRouter(tags=["incidents"])

RolePath = Annotated[Role, Path(description="The incident role: messenger, buddy, "
                                "incident_lead, security_lead or cs_leader.")]


class SecurityChange(Input):
    """Raise or lower the security flag."""

    on: bool = Field(description="true raises the flag (anyone who may act on the incident); "
                     "false lowers it (the incident's security lead only, with a reason).")
    reason: str | None = Field(None, max_length=1000,
                               description="Why; required to lower the flag.",
                               examples=["assessed: no customer data was exposed"])

    model_config = ConfigDict(json_schema_extra={"examples": [{"on": True}]})


class PersonIn(Input):
    """Who takes the role."""

    email: str = Field(max_length=320, description="Their email.",
                       examples=["liam.chen@example.com"])
    name: str | None = Field(None, max_length=200, description="Their name (updates the "
                             "stored one).", examples=["Liam Chen"])


class NewLink(Input):
    """A link people need during the incident."""

    kind: Literal["channel", "thread", "folder", "other"] = Field(
        description="What it points to.", examples=["channel"])
    url: str = Field(max_length=2000, description="An http(s) URL.",
                     examples=["https://chat.example.com/archives/C0DEMO42"])
    label: str = Field("", max_length=200, description="A short label.",
                       examples=["incident channel"])


class DeadlineIn(Input):
    """When engineering became aware, and the legal disclosure deadline if there is one."""

    aware_at: AwareDatetime = Field(description="When engineering became aware, with a zone "
                                    "(UTC preferred).", examples=["2026-11-28T09:00:00Z"])
    hours: float | None = Field(None, gt=0, le=2160, description="Disclosure deadline in hours "
                                "from awareness (e.g. 72); null when there is none.",
                                examples=[72])


@router.post("/incidents/{ref}/security", summary="Raise or lower the security flag",
             responses=errors(400, 403, 404, 409, 422, e403="Only the security lead may lower "
                              "the flag (or: CSRF token missing, or you may not act here)."))
def change_security(seen: Acting, body: SecurityChange) -> IncidentDetail:
    """Raising makes the incident need-to-know and adds the security stop at step 9.

    Lowering is for the incident's security lead, with a reason; both are audited.
    """
    incidents.set_security(seen.h, seen.ref, on=body.on, actor=seen.actor, reason=body.reason)
    return detail_after(seen)


@router.put("/incidents/{ref}/roles/{role}", summary="Put a person in a role", responses=WRITE)
def set_role(seen: Acting, role: RolePath, body: PersonIn) -> IncidentDetail:
    """Whoever held the role before moves to the role's history."""
    incidents.set_role(seen.h, seen.ref, role.value, body.email, actor=seen.actor,
                       name=body.name)
    return detail_after(seen)


@router.delete("/incidents/{ref}/roles/{role}", summary="Leave a role empty",
               responses=errors(403, 404, 409, 422, e422="Unknown role, or the messenger "
                                "role, which can only be handed over."))
def clear_role(seen: Acting, role: RolePath) -> IncidentDetail:
    """The holder moves to the role's history. The messenger role cannot be emptied."""
    incidents.clear_role(seen.h, seen.ref, role.value, actor=seen.actor)
    return detail_after(seen)


class MemberIn(Input):
    """Someone to let in on the incident without a role."""

    email: str = Field(max_length=320, description="Their email.",
                       examples=["counsel@example.com"])
    why: str = Field("", max_length=300, description="Why they need to know.",
                     examples=["legal review"])


@router.post("/incidents/{ref}/members", summary="Let someone in", responses=WRITE)
def add_member(seen: Acting, body: MemberIn) -> IncidentDetail:
    """Let someone in on the incident without a role (a CE, legal, marketing). On a security
    incident, they see it from now on. Adding someone already in changes nothing. Someone
    who was only let in may not let in others (403)."""
    seen.access.require_let_in()
    members.add_member(seen.h, seen.ref, body.email, actor=seen.actor, why=body.why)
    return detail_after(seen)


@router.post("/incidents/{ref}/members/account-team", summary="Let the account team in",
             responses=WRITE)
def add_account_team(seen: Acting) -> IncidentDetail:
    """Let in the CE and AE of every customer on the incident's list, for the CE round on a
    security incident."""
    seen.access.require_let_in()
    members.add_account_team(seen.h, seen.ref, actor=seen.actor)
    return detail_after(seen)


@router.delete("/incidents/{ref}/members/{email}", summary="Take someone off",
               responses=WRITE)
def remove_member(seen: Acting, email: Annotated[str, Path(
        description="The email of someone let in.", examples=["counsel@example.com"])]
                  ) -> IncidentDetail:
    """Take someone off the incident (the history stays in the audit log). People in a role
    leave it with the role."""
    seen.access.require_let_in()
    members.remove_member(seen.h, seen.ref, email, actor=seen.actor)
    return detail_after(seen)


@router.post("/incidents/{ref}/links", status_code=201, summary="Add a link", responses=WRITE)
def add_link(seen: Acting, body: NewLink) -> LinkView:
    """Attach the incident channel, a thread, the folder or another http(s) link."""
    link_id = incidents.add_link(seen.h, seen.ref, body.kind, body.url, actor=seen.actor,
                                 label_text=body.label)
    found = next((li for li in detail_after(seen).links if li.id == link_id), None)
    if found is None:  # deleted in between: nothing deletes links today
        raise NotFound(f"link {link_id} is gone")
    return found


@router.put("/incidents/{ref}/deadline", summary="Set awareness time and disclosure deadline",
            responses=WRITE)
def set_deadline(seen: Acting, body: DeadlineIn) -> IncidentDetail:
    """The incident's `deadline` then shows the due time, time left and a warning state."""
    incidents.set_deadline(seen.h, seen.ref, aware_at=body.aware_at, hours=body.hours,
                           actor=seen.actor)
    return detail_after(seen)
