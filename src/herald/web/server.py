"""Run the web app with uvicorn and say where to open it."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from herald.delivery.rounds import start_embedded
from herald.logging import configure_logging
from herald.services import accounts
from herald.services.context import Herald, open_herald
from herald.web.app import create_app


def run(h: Herald, *, host: str | None = None, port: int | None = None,
        worker: bool = True) -> None:
    """Serve Herald until interrupted; the first start prints the one-time setup link.
    With `worker`, the worker runs in a background thread of this process."""
    host = host or h.settings.host
    port = port or h.settings.port
    configure_logging(h.settings)
    app = create_app(h)
    shown = "localhost" if host in {"127.0.0.1", "0.0.0.0"} else host  # noqa: S104
    base = (h.settings.base_url or f"http://{shown}:{port}").rstrip("/")
    print(f"Herald is running: open {base}/  (Ctrl+C stops it)", flush=True)
    token = accounts.setup_link_token(h)
    if token:
        print(f"No account exists yet. Create the first admin here (works once):\n"
              f"  {base}/setup?token={token}\n"
              f"or run: herald user add EMAIL --name NAME --role admin", flush=True)
    print("Want an example incident to explore? Run: herald demo", flush=True)
    stop = None
    if worker:
        stop, _thread = start_embedded(h)
        print("The worker runs inside this process (emails go to "
              f"{h.settings.mail_transport}; chat: {h.settings.chat_transport}).", flush=True)
    try:
        # log_config=None keeps the logging set up above; our middleware replaces the access log.
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False,
                    log_level=h.settings.log_level.lower())
    finally:
        if stop is not None:
            stop.set()


def asgi_app() -> FastAPI:
    """App factory for several processes: `uvicorn --factory herald.web.server:asgi_app`.

    Settings come from HERALD_* variables; the schema must be current (`herald init` first).
    """
    h = open_herald(migrate=False)  # processes starting together must not race to migrate
    configure_logging(h.settings)
    current, head = h.db.current_revision(), h.db.head_revision()
    if current != head:
        raise SystemExit(f"the database schema is at {current}, this Herald needs {head}: "
                         "run `herald init` once, then start the web processes")
    return create_app(h)
