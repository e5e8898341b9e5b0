"""Sign in, sign out, and the one-time setup of the first admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from herald.errors import Forbidden
from herald.services import accounts
from herald.web.render import redirect, render, safe_path
from herald.web.security import SESSION_COOKIE, check_csrf, herald_of, identify

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    if identify(request) is not None:
        return redirect(request, safe_path(next))
    return render(request, "login.html", next=safe_path(next), email="")


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and start a session."""
    h = herald_of(request)
    ip = request.client.host if request.client else "unknown"
    try:
        token, _account = accounts.log_in(h, email=email, password=password, ip=ip)
    except (Forbidden, accounts.TooManyAttempts) as exc:
        return render(request, "login.html", status_code=exc.status, next=safe_path(next),
                      email=email, error=str(exc))
    response = redirect(request, safe_path(next))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https",
                        max_age=accounts.SESSION_DAYS * 86400)
    return response


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    """End the session."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.log_out(herald_of(request), token)
    response = redirect(request, "/login", message="Signed out.")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/setup")
def setup_page(request: Request, token: str = "") -> Response:
    """The first-admin form reached through the link `herald serve` prints."""
    return render(request, "setup.html", token=token)


@router.post("/setup", dependencies=[Depends(check_csrf)])
def setup(
    request: Request,
    token: Annotated[str, Form()],
    email: Annotated[str, Form()],
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    """Create the first admin and sign them in."""
    h = herald_of(request)
    accounts.complete_setup(h, token, email=email, name=name, password=password)
    ip = request.client.host if request.client else "unknown"
    session, _ = accounts.log_in(h, email=email, password=password, ip=ip)
    response = redirect(request, "/", message="Welcome to Herald. You are the first admin.")
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https",
                        max_age=accounts.SESSION_DAYS * 86400)
    return response
