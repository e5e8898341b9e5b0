"""The messenger's checklist: read it, do a step, mark it n/a, reopen it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path
from pydantic import ConfigDict, Field

from herald.domain.steps import STEPS
from herald.services import steps, views
from herald.services.views import StepView
from herald.web.api.common import READ, Input, errors, viewer_of
from herald.web.deps import Acting, Seen, Viewing

router = APIRouter(tags=["steps"])

StepPath = Annotated[str, Path(
    description="The step's number (1-24) or key: "
                + ", ".join(f"{s.number} {s.key}" for s in STEPS) + ".",
    examples=["1", "gather"])]
STEP_ERRORS = errors(
    400, 403, 404, 409, 422,
    e404="No such step, or an incident you are not cleared to know about.",
    e409="Refused by the handbook: the step is already settled; earlier steps are pending "
         "and no override was given; or the security stop (step 9) holds.")


class StepDone(Input):
    """How the step was done."""

    link: str | None = Field(None, max_length=2000, description="An http(s) link to what was "
                             "done (the chat message, the document).",
                             examples=["https://chat.example.com/archives/C0DEMO42/p1"])
    note: str | None = Field(None, max_length=2000, description="A short note.",
                             examples=["read together with Liam"])
    override: str | None = Field(None, max_length=1000, description="Why this step is done "
                                 "before earlier pending ones; recorded with the skipped steps. "
                                 "Cannot lift the security stop.",
                                 examples=["the buddy volunteered before I asked"])

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"link": "https://chat.example.com/archives/C0DEMO42/p1"}]})


class StepNA(Input):
    """Why the step does not apply."""

    reason: str = Field(min_length=1, max_length=1000, description="Why it does not apply.",
                        examples=["engineering sent the impacted list; no CE help needed"])
    override: str | None = Field(None, max_length=1000, description="Why it is settled before "
                                 "earlier pending steps.")


class StepReopen(Input):
    """Why a settled step goes back to pending."""

    reason: str = Field(min_length=1, max_length=1000, description="What was wrong.",
                        examples=["marked done by mistake"])


def _view(seen: Seen, number: int) -> StepView:
    # The caller was cleared when the request began (see common.detail_after).
    return next(s for s in views.incident_detail(seen.h, seen.ref).steps if s.number == number)


@router.get("/incidents/{ref}/steps", summary="Read the checklist", responses=READ)
def list_steps(seen: Viewing) -> list[StepView]:
    """The 24 steps in handbook order with their state, who settled them, and overrides."""
    return views.incident_detail(seen.h, seen.ref, viewer=viewer_of(seen)).steps


@router.post("/incidents/{ref}/steps/{step}/done", summary="Do a step", responses=STEP_ERRORS)
def complete_step(
    seen: Acting, step: StepPath, body: Annotated[StepDone | None, Body()] = None
) -> StepView:
    """Mark the step done (the body is optional).

    Steps go in order; an earlier pending step makes this a 409 unless `override` says why.
    On a security incident nothing after step 9 is possible until a security lead and a CS
    leader are in their roles, and step 9 waits for the security lead's sign-off of the facts.
    """
    body = body or StepDone()
    done = steps.complete_step(seen.h, seen.ref, step, actor=seen.actor, link=body.link,
                               note=body.note, override=body.override)
    return _view(seen, done.number)


@router.post("/incidents/{ref}/steps/{step}/na", summary="Mark a step n/a",
             responses=STEP_ERRORS)
def mark_step_na(seen: Acting, step: StepPath, body: StepNA) -> StepView:
    """The step does not apply to this incident; the reason is recorded. Same order rules."""
    done = steps.mark_step_na(seen.h, seen.ref, step, actor=seen.actor, reason=body.reason,
                              override=body.override)
    return _view(seen, done.number)


@router.post("/incidents/{ref}/steps/{step}/reopen", summary="Reopen a step",
             responses=errors(400, 403, 404, 409, 422, e409="The step is already pending."))
def reopen_step(seen: Acting, step: StepPath, body: StepReopen) -> StepView:
    """Put a settled step back to pending; what it was stays in the audit log."""
    done = steps.reopen_step(seen.h, seen.ref, step, actor=seen.actor, reason=body.reason)
    return _view(seen, done.number)
