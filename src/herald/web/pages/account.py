"""The signed-in person's own account: password and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from herald.errors import Forbidden, InvalidInput
from herald.services import accounts
from herald.web.render import redirect, render
from herald.web.security import SESSION_COOKIE, Caller, check_csrf, herald_of, require_caller

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


async def changing_caller(
    request: Request, caller: Annotated[Caller, Depends(require_caller)]
) -> Caller:
    """The signed-in caller, with the form's CSRF token checked."""
    await check_csrf(request)
    return caller


Changing = Annotated[Caller, Depends(changing_caller)]


def _page(request: Request, caller: Caller, status_code: int = 200, **context: object
          ) -> Response:
    tokens = accounts.list_api_tokens(herald_of(request), caller.account.email)
    return render(request, "account.html", status_code=status_code, tokens=tokens, **context)


@router.get("/account")
def account_page(request: Request, caller: Annotated[Caller, Depends(require_caller)]
                 ) -> Response:
    """The person's roles, a password form and their API tokens."""
    return _page(request, caller)


@router.post("/account/password")
def change_password(
    request: Request, caller: Changing, current: Text, new: Text, repeat: Text,
) -> Response:
    """Change one's own password after proving the current one; other sessions end."""
    h = herald_of(request)
    email = caller.account.email
    if new != repeat:
        return _page(request, caller, 422, pw_problem="The two new passwords differ.")
    if len(new) < accounts.MIN_PASSWORD:
        return _page(request, caller, 422, pw_problem=(
            f"The new password needs at least {accounts.MIN_PASSWORD} characters."))
    ip = request.client.host if request.client else "unknown"
    try:  # proving the current password the way a login does, rate limit included
        check, _ = accounts.log_in(h, email=email, password=current, ip=ip)
    except (Forbidden, accounts.TooManyAttempts) as exc:
        text = "The current password is wrong." if isinstance(exc, Forbidden) else str(exc)
        return _page(request, caller, exc.status, pw_problem=text)
    accounts.log_out(h, check)
    accounts.set_password(h, email, new, actor=email)  # ends every session, this one too
    session, _ = accounts.log_in(h, email=email, password=new, ip=ip)
    response = redirect(request, "/account", message="Password changed. Other sessions "
                        "were signed out.")
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https",
                        max_age=accounts.SESSION_DAYS * 86400)
    return response


@router.post("/account/tokens")
def create_token(request: Request, caller: Changing, name: Text = "") -> Response:
    """Make an API token and show it this once (it is not stored, so not redirected)."""
    if len(name.strip()) > 100:
        raise InvalidInput("keep the token name under 100 characters")
    token = accounts.create_api_token(herald_of(request), caller.account.email, name,
                                      actor=caller.account.email)
    return _page(request, caller, 201, new_token=token, new_token_name=name.strip() or "script")


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, caller: Changing, token_id: int) -> Response:
    """Revoke one of one's own tokens."""
    accounts.revoke_api_token(herald_of(request), token_id, actor=caller.account.email)
    return redirect(request, "/account", message="Token revoked; scripts using it stop now.")
