"""The FastAPI application factory: pages, JSON API, operations endpoints."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from herald import __version__
from herald.errors import HeraldError
from herald.services.context import Herald
from herald.web import api, api_docs, ops, pages, slack_app
from herald.web.render import back_to, redirect, render
from herald.web.requestlog import RequestLogMiddleware
from herald.web.security import LoginRequired
from herald.web.status_public import StatusPageMiddleware

log = logging.getLogger("herald.web")
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(h: Herald) -> FastAPI:
    """Build the web app around a Herald (nothing is read at import time)."""
    app = FastAPI(title="Herald", version=__version__, docs_url=None,
                  openapi_url="/api/v1/openapi.json", redoc_url=None,
                  description="The messenger's workspace during incidents. Authenticate with "
                              "`Authorization: Bearer <token>` (tokens: Account page or "
                              "`herald user token`).")
    app.state.herald = h
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(ops.router)
    app.include_router(api.router)
    app.include_router(api.machine)
    app.include_router(api_docs.router)
    app.include_router(slack_app.router(h))
    app.include_router(pages.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("cache-control", "no-store")
        return response

    app.add_middleware(RequestLogMiddleware)  # outermost but one: times everything below
    # The public status page (no login, stored bytes, its own caching headers) is answered
    # first, from memory, before the workspace's middleware and the request log.
    app.add_middleware(StatusPageMiddleware, h=h)

    @app.exception_handler(HeraldError)
    async def herald_error(request: Request, exc: HeraldError) -> Response:
        if _is_api(request):
            return JSONResponse({"error": str(exc), "status": exc.status}, status_code=exc.status)
        if isinstance(exc, LoginRequired):
            if request.method in {"GET", "HEAD"}:
                target = request.url.path + (f"?{request.url.query}" if request.url.query
                                             else "")
            else:  # a form's target has no page to come back to: return to the form's page
                target = back_to(request, "/")
            return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
        if request.method == "POST" and exc.status not in (403, 404):
            return redirect(request, back_to(request, "/"), error=str(exc))
        return render(request, "error.html", status_code=exc.status, message=str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}"
                    for e in exc.errors()]
        message = "; ".join(problems)
        if _is_api(request):
            # A body that is not JSON at all is a malformed request (400), not invalid data.
            bad_json = next((e for e in exc.errors() if e["type"] == "json_invalid"), None)
            if bad_json is not None:
                why = (bad_json.get("ctx") or {}).get("error", "cannot be parsed")
                return JSONResponse({"error": f"the request body is not valid JSON: {why} "
                                     f"(at character {bad_json['loc'][-1]})",
                                     "status": 400, "problems": problems}, status_code=400)
            return JSONResponse({"error": message, "status": 422, "problems": problems},
                                status_code=422)
        return render(request, "error.html", status_code=422, message=message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        text = "not found" if exc.status_code == 404 else str(exc.detail)
        if _is_api(request):
            return JSONResponse({"error": text, "status": exc.status_code},
                                status_code=exc.status_code)
        return render(request, "error.html", status_code=exc.status_code, message=text)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = "something went wrong on our side; it was logged. Please try again"
        if _is_api(request):
            return JSONResponse({"error": message, "status": 500}, status_code=500)
        return render(request, "error.html", status_code=500, message=message)

    return app
