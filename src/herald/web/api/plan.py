"""The communication plan: gathered facts with provenance, security sign-off, retro notes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from herald.domain.plan import FACTS
from herald.errors import Conflict
from herald.services import plan, views
from herald.services.views import FactView, PlanView, RetroView
from herald.web.api.common import READ, WRITE, Input, Problem, errors, viewer_of
from herald.web.deps import Acting, Seen, Viewing

router = APIRouter(tags=["plan"])

FactPath = Annotated[str, Path(
    description="The fact's key: " + ", ".join(f.key for f in FACTS) + ".",
    examples=["release"])]


class FactIn(Input):
    """A gathered fact and where it came from."""

    value: str = Field(min_length=1, max_length=5000, description="The fact, plainly. "
                       "aware_at takes a UTC time; shares take a percentage; "
                       "customer_must_act takes yes or no.", examples=["5.2.0"])
    provided_by: str | None = Field(None, max_length=320, description="Who provided it "
                                    "(email); you when left out.",
                                    examples=["priya.raman@example.com"])
    source: str | None = Field(None, max_length=2000, description="Where it was said (a link).",
                               examples=["https://chat.example.com/archives/C0DEMO42/p2"])
    expected_version: int | None = Field(None, ge=1, description="The fact's `version` you "
                                         "loaded; when it changed since, 409 with the current "
                                         "fact and nothing is changed.", examples=[1])

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"value": "5.2.0", "provided_by": "priya.raman@example.com", "expected_version": 1}]})


class FactConflict(Problem):
    """The fact changed since it was loaded: what it says now."""

    current: FactView = Field(description="The fact as it is now.")


class SignOff(Input):
    """Which facts the security lead signs off."""

    keys: list[str] | None = Field(None, description="Fact keys; every unsigned fact when "
                                   "left out.", examples=[["release", "causes"]])


class RetroIn(Input):
    """A process idea parked for the retro."""

    text: str = Field(min_length=1, max_length=5000, description="The idea.",
                      examples=["Link the CRM report from the plan template."])


FACT_ERRORS = {**WRITE, 409: {
    "model": FactConflict,
    "description": "The fact changed since `expected_version`: the body holds the current "
                   "fact. Reload, then save again."}}


def _plan_after(seen: Seen) -> PlanView:
    # The caller was cleared when the request began (see common.detail_after).
    return views.plan(seen.h, seen.ref)


def _fact(seen: Seen, key: str) -> FactView:
    norm = key.strip().lower().replace("-", "_")
    return next(f for f in _plan_after(seen).facts if f.key == norm)


@router.get("/incidents/{ref}/plan", summary="Read the communication plan", responses=READ)
def read_plan(seen: Viewing) -> PlanView:
    """The plan's header (the incident), every fact with its provenance, and retro notes."""
    return views.plan(seen.h, seen.ref, viewer=viewer_of(seen))


@router.put("/incidents/{ref}/plan/facts/{key}", summary="Record a fact",
            response_model=FactView, responses=FACT_ERRORS)
def set_fact(seen: Acting, key: FactPath, body: FactIn) -> FactView | JSONResponse:
    """Record or change one fact with who provided it; a change voids its security sign-off.

    Send `expected_version` to avoid overwriting someone else's change unseen.
    """
    try:
        plan.set_fact(seen.h, seen.ref, key, body.value, actor=seen.actor,
                      provided_by=body.provided_by, source=body.source,
                      expected_version=body.expected_version)
    except Conflict as exc:
        clash = FactConflict(error=str(exc), status=exc.status, current=_fact(seen, key))
        return JSONResponse(clash.model_dump(mode="json"), status_code=exc.status)
    return _fact(seen, key)


@router.post("/incidents/{ref}/plan/signoff", summary="Sign off facts (security lead)",
             responses=errors(400, 403, 404, 409, 422, e403="Only the incident's security "
                              "lead signs off (or: CSRF token missing, or you may not act)."))
def sign_off(seen: Acting, body: Annotated[SignOff | None, Body()] = None) -> PlanView:
    """The security lead confirms facts of a security incident; step 9 waits for this."""
    plan.sign_off_facts(seen.h, seen.ref, (body or SignOff()).keys, actor=seen.actor)
    return _plan_after(seen)


@router.post("/incidents/{ref}/plan/retro", status_code=201, summary="Park a retro note",
             responses=WRITE)
def add_retro_note(seen: Acting, body: RetroIn) -> RetroView:
    """Park a process idea for the retro instead of changing the process mid-incident."""
    plan.add_retro_note(seen.h, seen.ref, body.text, actor=seen.actor)
    # Newest first from the end: the note just parked by this caller.
    return next(r for r in reversed(_plan_after(seen).retro) if r.by == seen.actor)
