"""Pieces every API module shares: error bodies, declared error responses, request bases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from herald.domain.access import Viewer
from herald.services import views
from herald.services.views import IncidentDetail
from herald.web.deps import Seen, SignedIn
from herald.web.security import Caller, check_csrf


class Problem(BaseModel):
    """Every API error: one sentence for a person, and the HTTP status again."""

    error: str = Field(description="What went wrong and, where it helps, what to do.",
                       examples=["step 5 comes after pending step(s) 2, 3, 4; finish those "
                                 "first or give an override with a reason"])
    status: int = Field(description="The HTTP status code, repeated for scripts.",
                        examples=[409])


class ValidationProblem(Problem):
    """The request's data did not fit: every problem, one per line."""

    problems: list[str] = Field(description="Each invalid field as 'field: why'.",
                                examples=[["title: Field required"]])


_WHY = {
    400: "Malformed request: the body is not JSON.",
    401: "Not signed in: send `Authorization: Bearer hrld_...` (or a browser session cookie).",
    403: "Not allowed: a browser session sent no or a stale `X-CSRF-Token` header, or your "
         "account may see this but not do it.",
    404: "No such thing, or a security incident you are not cleared to know about "
         "(the answer is the same on purpose).",
    409: "Refused by the handbook's rules (step order, security gate) or made against "
         "stale data (someone else changed it; reload and retry).",
    422: "The request's data is invalid; `problems` lists each field.",
}


def errors(*codes: int, **why: str) -> dict[int | str, dict[str, Any]]:
    """A route's error responses for OpenAPI (401 always); e409="..." words one for the route."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({401, *codes}):
        model = ValidationProblem if code in (400, 422) else Problem
        out[code] = {"model": model, "description": why.get(f"e{code}", _WHY[code])}
    return out


READ = errors(404, 422)
WRITE = errors(400, 403, 404, 409, 422)


class Input(BaseModel):
    """Base of request bodies: unknown fields are refused, so a typo is not silently lost."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


async def _writer(request: Request, caller: SignedIn) -> Caller:
    await check_csrf(request)
    return caller


# A signed-in caller changing something that is not an incident (tokens, new incidents):
# 401 first, then the CSRF check for browser sessions (Bearer tokens need none).
Writer = Annotated[Caller, Depends(_writer)]


def viewer_of(seen: Seen) -> Viewer:
    """The need-to-know identity of the caller."""
    return seen.caller.account.viewer


def detail_after(seen: Seen, ref: str | None = None) -> IncidentDetail:
    """The incident as the caller's own change left it.

    The caller was cleared for this incident when the request began; a change of their own
    (handing over a role, raising the flag) must not turn its echo into a 404.
    """
    return views.incident_detail(seen.h, ref or seen.ref)
