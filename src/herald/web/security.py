"""Who is asking: browser sessions, API tokens, CSRF, and the secret key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from herald.errors import Forbidden, HeraldError
from herald.services import accounts
from herald.services.accounts import Account
from herald.services.context import Herald

SESSION_COOKIE = "herald_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(HeraldError):
    """Nobody is signed in."""

    status = 401


@dataclass(frozen=True)
class Caller:
    """The signed-in account and how it proved itself."""

    account: Account
    csrf: str | None  # None for API tokens, which need no CSRF protection


def herald_of(request: Request) -> Herald:
    """The Herald the app was built with."""
    h: Herald = request.app.state.herald
    return h


def identify(request: Request) -> Caller | None:
    """The caller from a Bearer token or the session cookie (cached per request)."""
    if hasattr(request.state, "caller"):
        cached: Caller | None = request.state.caller
        return cached
    h = herald_of(request)
    caller = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        account = accounts.token_account(h, auth[7:].strip())
        caller = Caller(account, None) if account else None
    else:
        found = accounts.session_account(h, request.cookies.get(SESSION_COOKIE))
        caller = Caller(found[0], found[1]) if found else None
    request.state.caller = caller
    return caller


def require_caller(request: Request) -> Caller:
    """FastAPI dependency: a signed-in caller, else 401 (API) or a redirect to login (pages)."""
    caller = identify(request)
    if caller is None:
        raise LoginRequired("sign in first")
    return caller


async def check_csrf(request: Request) -> None:
    """FastAPI dependency for state-changing requests made with a browser session."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    caller = identify(request)
    if caller is not None and caller.csrf is None:
        return  # API token: no ambient cookie, nothing to forge
    expected = caller.csrf if caller else request.cookies.get("herald_pre_csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and "form" in request.headers.get("content-type", ""):
        form = await request.form()  # cached by Starlette for the endpoint
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise Forbidden("the form's security token is missing or stale; reload the page")


def secret_key(h: Herald) -> str:
    """The signing key: from settings, else generated once into HERALD_HOME."""
    if h.settings.secret_key is not None:
        return h.settings.secret_key.get_secret_value()
    path = Path(h.settings.home) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
