"""Run the web app with uvicorn and say where to open it."""

from __future__ import annotations

import uvicorn

from herald.services.context import Herald
from herald.web.app import create_app


def run(h: Herald, *, host: str | None = None, port: int | None = None) -> None:
    """Serve Herald until interrupted."""
    host = host or h.settings.host
    port = port or h.settings.port
    app = create_app(h)
    shown = "localhost" if host in {"127.0.0.1", "0.0.0.0"} else host  # noqa: S104
    print(f"Herald is running: open http://{shown}:{port}/  (Ctrl+C stops it)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
