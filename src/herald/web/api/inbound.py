"""Customer replies arriving by mail: the mail system posts each raw message here."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from herald.errors import HeraldError
from herald.services import followup
from herald.web.security import herald_of

router = APIRouter(tags=["inbound"])


class Unauthorized(HeraldError):
    """The inbound secret is missing or wrong."""

    status = 401


@router.post(
    "/inbound/email", summary="Receive a customer reply (raw RFC 822)",
    description="The mail system posts each reply as the raw message (Content-Type "
                "message/rfc822), with the shared secret in `X-Herald-Inbound-Secret`. "
                "Replies are matched to the email they answer by In-Reply-To/References; "
                "anything unmatched, or not from the customer, is parked, never attributed.",
    responses={401: {"description": "Missing or wrong secret."},
               422: {"description": "Not an email."}},
)
async def inbound_email(request: Request) -> JSONResponse:
    """Match a reply to its follow-up item, or park it."""
    h = herald_of(request)
    expected = h.settings.inbound_secret
    sent = request.headers.get("x-herald-inbound-secret", "")
    if expected is None or not secrets.compare_digest(sent, expected.get_secret_value()):
        raise Unauthorized("missing or wrong X-Herald-Inbound-Secret")
    result = followup.receive_reply(h, await request.body())
    return JSONResponse(result.model_dump(), status_code=200 if result.matched else 202)
