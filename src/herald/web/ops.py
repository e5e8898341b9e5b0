"""Operations endpoints: /healthz for load balancers, /metrics for Prometheus."""

from __future__ import annotations

import ipaddress
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from herald.services import health, metrics
from herald.web.security import herald_of

router = APIRouter(include_in_schema=False)
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """200 when the database answers at the current schema and no worker is stale, else 503."""
    found = health.check(herald_of(request))
    body: dict[str, object] = {"status": "ok" if found.ok else "error",
                               "database": found.database, "schema": found.schema}
    if found.worker is not None:
        w = found.worker
        body["worker"] = w.state
        body["workers"] = {"alive": w.alive, "stale": w.stale,
                           "last_beat_at": w.last_beat_at.isoformat() if w.last_beat_at
                           else None}
    return JSONResponse(body, status_code=200 if found.ok else 503)


@router.get("/metrics")
def prometheus_metrics(request: Request) -> Response:
    """Counts for Prometheus; needs HERALD_METRICS_TOKEN as a Bearer token, else loopback only."""
    h = herald_of(request)
    refusal = _refuse_scrape(request, h.settings.metrics_token.get_secret_value()
                             if h.settings.metrics_token else None)
    if refusal is not None:
        return refusal
    try:
        text = metrics.exposition(metrics.collect(h))
    except Exception:  # the database is down: a failed scrape is Prometheus's signal
        return PlainTextResponse("# database unreachable\n", status_code=503)
    return Response(text, media_type=PROMETHEUS_TEXT)


def _refuse_scrape(request: Request, token: str | None) -> Response | None:
    """None when the scrape may proceed, else the 401/403 answer."""
    if token:
        auth = request.headers.get("authorization", "")
        sent = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if sent and secrets.compare_digest(sent.encode(), token.encode()):
            return None
        return PlainTextResponse("metrics need the HERALD_METRICS_TOKEN bearer token\n",
                                 status_code=401, headers={"www-authenticate": "Bearer"})
    if _is_loopback(request):
        return None
    return PlainTextResponse("metrics are served to this machine only; set "
                             "HERALD_METRICS_TOKEN to scrape from elsewhere\n", status_code=403)


def _is_loopback(request: Request) -> bool:
    """A direct client on 127.0.0.0/8 or ::1; a proxied request is never local."""
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
