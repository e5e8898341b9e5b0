"""The Reviews tab (step 14): every seat's answer on the current drafts, ready to send or
what is missing, the legal decision, "Request all reviews", and the answer forms of the
seats the signed-in person may answer for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from herald.domain import reviews as rules
from herald.errors import InvalidInput
from herald.services import reviewing, reviews, views
from herald.web.deps import Acting, Answering, Seen, Viewing
from herald.web.pages.common import incident_page, optional
from herald.web.render import redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
BLANK = "blank_"  # form fields named blank_<name> fill a message's blank


def my_seats(seen: Seen, holders: dict[str, str]) -> list[rules.Reviewer]:
    """The seats the signed-in person may answer for on this incident."""
    account = seen.caller.account
    return [seat for seat in rules.Reviewer
            if rules.may_review(seat, actor=account.email.lower(), holders=holders,
                                account_roles=account.roles)]


def holders_of(d: views.IncidentDetail) -> dict[str, str]:
    """Who holds each incident role now (the seats of persons follow the roles)."""
    return {r.role: r.email.lower() for r in d.roles}


@router.get("/incidents/{ref}/reviews")
def reviews_page(request: Request, seen: Viewing) -> Response:
    """Each seat's latest answer, readiness, the legal decision and the request form."""
    viewer = seen.caller.account.viewer
    d = views.incident_detail(seen.h, seen.ref, viewer=viewer)
    status = reviews.review_status(seen.h, seen.ref, viewer=viewer)
    preview = reviewing.request_preview(seen.h, seen.ref, viewer=viewer)
    mine = my_seats(seen, holders_of(d))
    labels = {x.value: x.label for x in rules.Reviewer}
    return incident_page(request, seen, d, "reviews.html", "reviews", status=status,
                         preview=preview, mine=[(x.value, x.label) for x in mine],
                         seat_labels=labels, asked={s.seat for s in status.seats if s.decision},
                         reviewed=reviews.versions_token(status.versions))


def blanks_from(form: dict[str, object]) -> dict[str, str]:
    """The blank_<name> fields of a form, as blanks."""
    return {k.removeprefix(BLANK): v for k, v in form.items()
            if k.startswith(BLANK) and isinstance(v, str)}


@router.post("/incidents/{ref}/reviews/request")
async def request_reviews(
    request: Request, seen: Acting, status_page_proposal: Text = "", send_date: Text = "",
    send_time_utc: Text = "",
) -> Response:
    """Step 14: ask every seat at once and post the review requests."""
    form = await request.form()
    extras = blanks_from(dict(form)) | {
        "status_page_proposal": status_page_proposal, "send_date": send_date,
        "send_time_utc": send_time_utc}
    seats = reviews.request_reviews(seen.h, seen.ref, actor=seen.actor, extras=extras)
    names = ", ".join(rules.Reviewer(x).label for x in seats)
    return redirect(request, f"/incidents/{seen.ref}/reviews",
                    message=f"Reviews requested from {names}; the messages are queued "
                            "(see Messages).")


@router.post("/incidents/{ref}/reviews/seats/{seat}")
def answer(request: Request, seen: Answering, seat: str, decision: Text = "",
           comment: Text = "", reviewed: Annotated[str | None, Form()] = None) -> Response:
    """Approve the drafts shown on the page (refused if they changed since), or ask for
    changes, for one seat."""
    account = seen.caller.account
    st = reviews.decide(seen.h, seen.ref, seat, decision, actor=seen.actor,
                        account_roles=sorted(account.roles), comment=optional(comment),
                        reviewed=None if reviewed is None
                        else reviews.parse_versions_token(reviewed))
    label = rules.Reviewer(seat).label
    said = "approved" if decision == "approved" else "asked for changes"
    return redirect(request, f"/incidents/{seen.ref}/reviews",
                    message=f"{label[:1].upper()}{label[1:]}: {said}. "
                            + ("Ready to send." if st.ready else "Not ready yet."))


@router.post("/incidents/{ref}/reviews/legal-decision")
def legal(request: Request, seen: Acting, needed: Text = "", reason: Text = "") -> Response:
    """Record whether legal reviews (decided by the messenger with CS leadership)."""
    if needed not in {"yes", "no"}:
        raise InvalidInput("say whether legal reviews: yes or no")
    reviews.decide_legal(seen.h, seen.ref, needed == "yes", actor=seen.actor,
                         reason=optional(reason))
    return redirect(request, f"/incidents/{seen.ref}/reviews",
                    message="Legal reviews: " + ("yes. Request reviews to ask them."
                                                 if needed == "yes" else "no."))
