"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from herald.services.context import Herald


def create_app(h: Herald) -> FastAPI:
    """Build the web app around a Herald (nothing is read at import time)."""
    app = FastAPI(title="Herald", version="0.1.0")
    app.state.herald = h

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness and database reachability."""
        h.db.current_revision()
        return {"status": "ok"}

    return app
