"""Operations endpoints: health and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from herald.web.security import herald_of

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """The database answers and the schema is current."""
    h = herald_of(request)
    try:
        current = h.db.current_revision()
    except Exception:  # any database failure means unhealthy
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    ok = current == h.db.head_revision()
    return JSONResponse({"status": "ok" if ok else "error",
                         "database": "ok" if ok else f"schema at {current}, needs migration"},
                        status_code=200 if ok else 503)
