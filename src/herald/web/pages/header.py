"""Forms that change the incident's header: name and number, severity, flag, people, links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.domain.incident import Role
from herald.errors import InvalidInput
from herald.services import incidents, members
from herald.timeparse import parse_utc
from herald.web.deps import Acting
from herald.web.pages.common import back, optional
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


@router.post("/incidents/{ref}/rename")
def change_rename(
    request: Request, seen: Acting, version: Annotated[int, Form()], title: Text = "",
    number: Text = "", next: Text = "",
) -> Response:
    """Rename the incident or give it its number; refused when the page was stale."""
    new_ref = incidents.rename_incident(seen.h, seen.ref, actor=seen.actor,
                                        title=optional(title), number=optional(number),
                                        expected_version=version)
    target = back(seen.ref, next)
    target = f"/incidents/{new_ref}" + target[len(f"/incidents/{seen.ref}"):]
    return redirect(request, target, message=f"Saved. The incident is now {new_ref}.")


@router.post("/incidents/{ref}/severity")
def change_severity(request: Request, seen: Acting, severity: Text, next: Text = "") -> Response:
    """Set the severity."""
    sev = incidents.set_severity(seen.h, seen.ref, severity, actor=seen.actor)
    return redirect(request, back(seen.ref, next), message=f"Severity is {sev}.")


@router.post("/incidents/{ref}/security")
def change_security(
    request: Request, seen: Acting, on: Annotated[bool, Form()] = False, reason: Text = "",
    next: Text = "",
) -> Response:
    """Raise the security flag, or lower it (the security lead, with a reason)."""
    incidents.set_security(seen.h, seen.ref, on=on, actor=seen.actor, reason=optional(reason))
    text = ("Flagged as a security incident: need-to-know from now on." if on
            else "The security flag is lowered.")
    return redirect(request, back(seen.ref, next), message=text)


@router.post("/incidents/{ref}/status")
def change_status(request: Request, seen: Acting, status: Text, next: Text = "") -> Response:
    """Move the incident between open, resolved and closed."""
    now = incidents.set_status(seen.h, seen.ref, status, actor=seen.actor)
    return redirect(request, back(seen.ref, next), message=f"The incident is {now}.")


@router.post("/incidents/{ref}/roles")
def form_set_role(
    request: Request, seen: Acting, role: Text, email: Text, name: Text = "", next: Text = "",
) -> Response:
    """Put a person in a role."""
    who = incidents.set_role(seen.h, seen.ref, role, email, actor=seen.actor, name=optional(name))
    return redirect(request, back(seen.ref, next),
                    message=f"{who} is now {_label(role)}.")


@router.post("/incidents/{ref}/roles/{role}/clear")
def form_clear_role(request: Request, seen: Acting, role: str, next: Text = "") -> Response:
    """Leave a role empty (the messenger is handed over, never cleared)."""
    incidents.clear_role(seen.h, seen.ref, role, actor=seen.actor)
    return redirect(request, back(seen.ref, next), message=f"Nobody is {_label(role)} now.")


@router.post("/incidents/{ref}/members")
def form_add_member(request: Request, seen: Acting, email: Text, why: Text = "",
                    next: Text = "") -> Response:
    """Let someone in on the incident without a role (need-to-know)."""
    seen.access.require_let_in()
    who = members.add_member(seen.h, seen.ref, email, actor=seen.actor, why=why)
    return redirect(request, back(seen.ref, next), message=f"{who} is let in on the incident.")


@router.post("/incidents/{ref}/members/remove")
def form_remove_member(request: Request, seen: Acting, email: Text, next: Text = "") -> Response:
    """Take someone off the incident."""
    seen.access.require_let_in()
    members.remove_member(seen.h, seen.ref, email, actor=seen.actor)
    return redirect(request, back(seen.ref, next), message=f"{email.strip()} is taken off.")


@router.post("/incidents/{ref}/members/account-team")
def form_add_account_team(request: Request, seen: Acting, next: Text = "") -> Response:
    """Let in the CE and AE of every customer on the list (the CE round)."""
    seen.access.require_let_in()
    added = members.add_account_team(seen.h, seen.ref, actor=seen.actor)
    return redirect(request, back(seen.ref, next), message=(
        f"Let in: {', '.join(added)}." if added
        else "Everyone of the account team of the listed customers is in already."))


@router.post("/incidents/{ref}/links")
def form_add_link(
    request: Request, seen: Acting, url: Text, kind: Text = "other", label: Text = "",
    next: Text = "",
) -> Response:
    """Attach a link (incident channel, thread, folder, other)."""
    incidents.add_link(seen.h, seen.ref, kind, url, actor=seen.actor, label_text=label)
    return redirect(request, back(seen.ref, next), message="Link added.")


@router.post("/incidents/{ref}/deadline")
def change_deadline(
    request: Request, seen: Acting, aware_at: Text, hours: Text = "", next: Text = "",
) -> Response:
    """Record when engineering became aware and the disclosure deadline in hours."""
    when = parse_utc(aware_at, field="aware at")
    try:
        span = float(hours) if optional(hours) else None
    except ValueError:
        raise InvalidInput(f"the deadline is a number of hours (got {hours!r})") from None
    incidents.set_deadline(seen.h, seen.ref, aware_at=when, hours=span, actor=seen.actor)
    return redirect(request, back(seen.ref, next), message="Deadline saved.")


def _label(role: str) -> str:
    try:
        return f"the {Role(role).label}"
    except ValueError:
        return role
