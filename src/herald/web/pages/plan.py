"""The communication plan: header, gathered facts edited in place, sign-off, retro notes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.domain.plan import FACT_KEYS
from herald.errors import Conflict, InvalidInput, NotFound
from herald.services import channel, plan, views
from herald.web.deps import Acting, Seen, Viewing
from herald.web.pages.common import incident_page, optional
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


def _plan_page(request: Request, seen: Seen, status_code: int = 200,
               **context: object) -> Response:
    viewer = seen.caller.account.viewer
    p = views.plan(seen.h, seen.ref, viewer=viewer)
    lead = next((r.email for r in p.incident.roles if r.role == "security_lead"), "")
    found = channel.channel_messages(seen.h, seen.ref, viewer=viewer)
    return incident_page(request, seen, p.incident, "plan.html", "plan", status_code=status_code,
                         plan=p, is_security_lead=lead.lower() == seen.actor.lower(),
                         channel=found if found.configured else None, **context)


@router.get("/incidents/{ref}/plan")
def plan_page(request: Request, seen: Viewing) -> Response:
    """The plan: header, every fact with its provenance, and the retro notes."""
    return _plan_page(request, seen)


@router.post("/incidents/{ref}/plan/facts/{key}")
def save_fact(
    request: Request, seen: Acting, key: str, value: Text = "",
    version: Annotated[int, Form()] = 0, provided_by: Text = "", source: Text = "",
) -> Response:
    """Save one fact; a stale edit shows both texts instead of losing either."""
    if key not in FACT_KEYS:
        raise NotFound(f"no plan field {key!r}")
    typed = {"key": key, "value": value, "provided_by": provided_by, "source": source}
    try:
        plan.set_fact(seen.h, seen.ref, key, value, actor=seen.actor,
                      provided_by=optional(provided_by), source=optional(source),
                      expected_version=version)
    except Conflict as exc:
        return _plan_page(request, seen, status_code=409, typed=typed, conflict=str(exc))
    except InvalidInput as exc:
        return _plan_page(request, seen, status_code=422, typed=typed, problem=str(exc))
    return redirect(request, f"/incidents/{seen.ref}/plan",
                    message=f"Saved: {FACT_KEYS[key].label}.")


@router.post("/incidents/{ref}/plan/signoff")
def sign_off(request: Request, seen: Acting, key: Text = "") -> Response:
    """The security lead signs off one fact, or every unsigned one."""
    done = plan.sign_off_facts(seen.h, seen.ref, [key] if optional(key) else None,
                               actor=seen.actor)
    labels = ", ".join(FACT_KEYS[k].label if k in FACT_KEYS else k for k in done)
    return redirect(request, f"/incidents/{seen.ref}/plan",
                    message=f"Signed off: {labels}." if done else "Nothing left to sign off.")


@router.post("/incidents/{ref}/plan/retro")
def retro_note(request: Request, seen: Acting, text: Text = "") -> Response:
    """Park a process idea for the retro."""
    plan.add_retro_note(seen.h, seen.ref, text, actor=seen.actor)
    return redirect(request, f"/incidents/{seen.ref}/plan",
                    message="Parked for the retro.")


@router.post("/incidents/{ref}/plan/channel/facts")
def fact_from_channel(request: Request, seen: Acting, key: Text = "", ts: Text = "",
                      value: Text = "") -> Response:
    """A message of the incident channel becomes a fact, its permalink the fact's source."""
    channel.fact_from_message(seen.h, seen.ref, key, ts, actor=seen.actor,
                              value=optional(value))
    label = FACT_KEYS[key].label if key in FACT_KEYS else key
    return redirect(request, f"/incidents/{seen.ref}/plan",
                    message=f"Saved from the channel: {label}, with the message's link.")
