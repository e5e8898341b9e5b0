"""Rendering pages: templates, flash messages and redirects back to where the person was."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer

from herald.domain.incident import Role
from herald.timeparse import fmt
from herald.web.security import herald_of, identify, secret_key

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["utc"] = fmt
TEMPLATES.env.globals["role_label"] = lambda r: Role(r).label
FLASH_COOKIE = "herald_flash"


def _signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(herald_of(request)), salt="flash")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with the caller, CSRF token and any flash message."""
    caller = identify(request)
    flash = None
    raw = request.cookies.get(FLASH_COOKIE)
    if raw:
        try:
            flash = _signer(request).loads(raw)
        except BadSignature:
            flash = None
    pre_csrf = None
    csrf = caller.csrf if caller else request.cookies.get("herald_pre_csrf")
    if caller is None and not csrf:
        csrf = pre_csrf = secrets.token_urlsafe(32)
    response = TEMPLATES.TemplateResponse(
        request, template, {"caller": caller, "account": caller.account if caller else None,
                            "csrf_token": csrf, "flash": flash, "status_code": status_code,
                            **context},
        status_code=status_code,
    )
    if raw:
        response.delete_cookie(FLASH_COOKIE)
    if pre_csrf:
        response.set_cookie("herald_pre_csrf", pre_csrf, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
    return response


def redirect(request: Request, to: str, *, message: str | None = None,
             error: str | None = None) -> RedirectResponse:
    """A 303 redirect (POST, then GET) carrying a one-time message."""
    response = RedirectResponse(safe_path(to), status_code=303)
    if message or error:
        response.set_cookie(FLASH_COOKIE, _signer(request).dumps(
            {"kind": "error" if error else "ok", "text": error or message}),
            httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


def safe_path(target: str | None, default: str = "/") -> str:
    """Only redirect to paths on this site (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


def back_to(request: Request, default: str) -> str:
    """Where a failed form should send the person: the page they came from."""
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        if parts.netloc == request.url.netloc:
            return safe_path(parts.path + (f"?{parts.query}" if parts.query else ""), default)
    return default
