"""Reviews and sign-offs (step 14): request every review at once, answer for a seat on the
current drafts, record the legal decision, and read whether the messages may leave."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path
from pydantic import ConfigDict, Field

from herald.domain import reviews as rules
from herald.services import reviewing, reviews
from herald.services.reviewing import RequestPreview
from herald.services.reviews import ReviewStatus
from herald.web.api.common import READ, WRITE, Input, errors, viewer_of
from herald.web.deps import Acting, Answering, Viewing

router = APIRouter(tags=["reviews"])

SeatPath = Annotated[str, Path(
    description="The review seat: " + ", ".join(r.value for r in rules.Reviewer) + ".",
    examples=["buddy"])]


class RequestIn(Input):
    """What the review requests say beyond what Herald knows from the plan."""

    status_page_proposal: str | None = Field(
        None, max_length=2000, description="Your status page recommendation with its reason; "
        "the one computed from the impact shares when left out.",
        examples=["no status page post (35% of self-hosted customers: below the threshold)"])
    send_date: str | None = Field(None, max_length=20, description="The date customer emails "
                                  "start, yyyy-mm-dd (default: the planned 'emails sent' event).",
                                  examples=["2026-01-01"])
    send_time_utc: str | None = Field(None, max_length=10, description="The time they start, "
                                      "HH:MM in UTC (default: the planned event).",
                                      examples=["14:00"])
    blanks: dict[str, str] = Field(default_factory=dict, description="Any other blank the "
                                   "messages need, by name (GET .../reviews/request lists them).",
                                   examples=[{"incident_lead_mention": "@priya"}])

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"send_date": "2026-01-01", "send_time_utc": "14:00"}]})


class AnswerIn(Input):
    """A reviewer's answer for one seat, on the drafts as they are now."""

    decision: Literal["approved", "changes"] = Field(
        description="approved, or changes (then `comment` says what to change).",
        examples=["approved"])
    comment: str | None = Field(None, max_length=5000, description="What should change "
                                "(required for changes), or a remark.",
                                examples=["Say 5.2.1 fixes it, not 5.2."])
    reviewed_versions: dict[str, int] | None = Field(
        None, description="The draft versions you read (`versions` of the review status). "
        "When given, an approval is refused with 409 if the drafts changed since.",
        examples=[{"customer_email": 3}])


class LegalIn(Input):
    """The messenger's and CS leadership's decision on a legal review."""

    needed: bool = Field(description="Whether legal reviews the customer messages.",
                         examples=[True])
    reason: str | None = Field(None, max_length=2000, description="Why, for the record.",
                               examples=["customer data was exposed"])


@router.get("/incidents/{ref}/reviews", summary="Read the reviews", responses=READ)
def read_reviews(seen: Viewing) -> ReviewStatus:
    """Every seat's latest answer (and whether it was given on the current drafts), the
    legal decision, and whether the customer messages are ready to send, or what is missing.
    """
    return reviews.review_status(seen.h, seen.ref, viewer=viewer_of(seen))


@router.get("/incidents/{ref}/reviews/request", summary="Preview the review request",
            responses=READ)
def preview_request(seen: Viewing) -> RequestPreview:
    """What requesting reviews would do: the seats asked, the messages posted, the status
    page proposal and send time they carry, and any blank still to give."""
    return reviewing.request_preview(seen.h, seen.ref, viewer=viewer_of(seen))


@router.post("/incidents/{ref}/reviews/request", summary="Request all reviews (step 14)",
             responses=WRITE)
def request_reviews(seen: Acting,
                    body: Annotated[RequestIn | None, Body()] = None) -> ReviewStatus:
    """Ask every seat at once on the current drafts and queue the review request messages
    (support and CS leadership, the incident lead and security lead, marketing, legal when
    decided, the CE team informed). Approvals already given on these very drafts are kept.
    """
    b = body or RequestIn()
    extras = dict(b.blanks) | {k: v for k, v in (
        ("status_page_proposal", b.status_page_proposal), ("send_date", b.send_date),
        ("send_time_utc", b.send_time_utc)) if v}
    reviews.request_reviews(seen.h, seen.ref, actor=seen.actor, extras=extras)
    return reviews.review_status(seen.h, seen.ref)


@router.post("/incidents/{ref}/reviews/seats/{seat}", summary="Answer for a seat",
             responses=errors(400, 403, 404, 409, 422, e403="You do not hold this seat on the "
                              "incident (or: CSRF token missing)."))
def answer_review(seen: Answering, seat: SeatPath, body: AnswerIn) -> ReviewStatus:
    """Approve the drafts, or ask for changes, for a seat you hold. The answer is bound to
    the current draft versions: a later edit voids it. With `reviewed_versions`, an approval
    of drafts that changed since you read them is refused (409)."""
    account = seen.caller.account
    reviews.decide(seen.h, seen.ref, seat, body.decision, actor=seen.actor,
                   account_roles=sorted(account.roles), comment=body.comment,
                   reviewed=body.reviewed_versions)
    return reviews.review_status(seen.h, seen.ref)


@router.put("/incidents/{ref}/reviews/legal-decision", summary="Decide on a legal review",
            responses=WRITE)
def decide_legal(seen: Acting, body: LegalIn) -> ReviewStatus:
    """Record whether legal reviews; legal becomes a required seat only when it does."""
    reviews.decide_legal(seen.h, seen.ref, body.needed, actor=seen.actor, reason=body.reason)
    return reviews.review_status(seen.h, seen.ref)
