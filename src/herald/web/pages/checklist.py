"""The incident page as a guided checklist: the current step, its one button, the full list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.domain import steps as rules
from herald.services import steps, views
from herald.services.views import IncidentDetail, StepView
from herald.web.deps import Acting, Viewing
from herald.web.pages.common import back, incident_page, optional
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)

# What the one button of each step says: the thing the messenger just did.
ACTIONS = {
    1: "I claimed it", 2: "Counted to ten", 3: "Breathed", 4: "Had a sip of water",
    5: "Buddy requested", 6: "Read them together", 7: "Workspace named", 8: "Plan started",
    9: "Facts gathered", 10: "The list is ready", 11: "Drafts written", 12: "Timeline planned",
    13: "I will keep it current", 14: "Reviews requested", 15: "Messages are final",
    16: "Posted and sent", 17: "Tickets triaged", 18: "Timeline checked",
    19: "Queue kept light", 20: "Replies followed up", 21: "Post-mortems handled",
    22: "Quiet tickets closed", 23: "Retro joined", 24: "Celebrated",
}


def security_gate(d: IncidentDetail) -> rules.SecurityGate | None:
    """The domain's view of the security branch, rebuilt from the read model."""
    if d.security_gate is None:
        return None
    held = {r.role for r in d.roles}
    return rules.SecurityGate(security_lead="security_lead" in held, cs_leader="cs_leader" in held,
                              unsigned_facts=tuple(d.security_gate.unsigned_facts))


def hard_blocks(d: IncidentDetail) -> dict[int, str]:
    """Pending steps that even an override cannot unlock now, with the reason."""
    states = {s.number: rules.StepState(s.state) for s in d.steps}
    gate = security_gate(d)
    out = {}
    for s in d.steps:
        if s.state != rules.StepState.PENDING.value:
            continue
        decision = rules.can_complete(rules.BY_NUMBER[s.number], states, security=gate,
                                      override="preview")
        if not decision.allowed:
            out[s.number] = decision.reason
    return out


def current_step(d: IncidentDetail) -> StepView | None:
    """The first pending step: what the messenger should do now."""
    return next((s for s in d.steps if s.state == rules.StepState.PENDING.value), None)


def behind(d: IncidentDetail) -> list[StepView]:
    """Pending steps that a later settled step jumped over (still open behind the messenger)."""
    last = max((s.number for s in d.steps if s.state != "pending"), default=0)
    return [s for s in d.steps if s.state == "pending" and s.number < last]


@router.get("/incidents/{ref}")
def checklist(request: Request, seen: Viewing) -> Response:
    """The guided checklist: the current step first, then every step in order."""
    d = views.incident_detail(seen.h, seen.ref, viewer=seen.caller.account.viewer)
    if d.ref != seen.ref:
        return redirect(request, f"/incidents/{d.ref}")
    current = current_step(d)
    blocks = hard_blocks(d)
    return incident_page(request, seen, d, "incident.html", "checklist", current=current,
                         blocked=blocks.get(current.number) if current else None,
                         blocks=blocks, actions=ACTIONS, behind=behind(d))


@router.post("/incidents/{ref}/steps/{number}/done")
def step_done(
    request: Request, seen: Acting, number: int,
    link: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
    override: Annotated[str, Form()] = "",
) -> Response:
    """Mark a step done (out of order only with an override reason)."""
    step = steps.complete_step(seen.h, seen.ref, number, actor=seen.actor, link=optional(link),
                               note=optional(note), override=optional(override))
    return redirect(request, back(seen.ref, None),
                    message=f"Step {step.number} done: {step.title}.")


@router.post("/incidents/{ref}/steps/{number}/na")
def step_na(
    request: Request, seen: Acting, number: int,
    reason: Annotated[str, Form()] = "", override: Annotated[str, Form()] = "",
) -> Response:
    """Mark a step not applicable, with the reason."""
    step = steps.mark_step_na(seen.h, seen.ref, number, actor=seen.actor, reason=reason,
                              override=optional(override))
    return redirect(request, back(seen.ref, None),
                    message=f"Step {step.number} marked n/a: {step.title}.")


@router.post("/incidents/{ref}/steps/{number}/reopen")
def step_reopen(
    request: Request, seen: Acting, number: int, reason: Annotated[str, Form()] = "",
) -> Response:
    """Put a settled step back to pending (the old state stays in the audit log)."""
    step = steps.reopen_step(seen.h, seen.ref, number, actor=seen.actor, reason=reason)
    return redirect(request, back(seen.ref, None),
                    message=f"Step {step.number} is pending again.")
