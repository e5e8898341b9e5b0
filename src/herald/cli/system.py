"""`herald init`, `herald demo` and `herald serve`."""

from __future__ import annotations

from typing import Annotated

import typer

from herald.cli.common import app, herald, ok
from herald.services.demo import seed_demo


@app.command("init")
def init() -> None:
    """Create or upgrade the database (safe to run again)."""
    h = herald()  # opening applies pending migrations
    ok(f"database ready at revision {h.db.current_revision()} ({h.db.dialect})")


@app.command("demo")
def demo() -> None:
    """Add a realistic example incident, marked DEMO, to explore Herald."""
    ref = seed_demo(herald())
    ok(f"demo incident {ref} is ready; try: herald step list {ref}")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    worker: Annotated[bool, typer.Option(
        "--worker/--no-worker", help="Also run the worker (emails, chat, status page, "
        "follow-up) in this process; use --no-worker when `herald worker` runs apart.")] = True,
) -> None:
    """Start the web workspace (and, unless told not to, the worker)."""
    from herald.web.server import run

    run(herald(), host=host, port=port, worker=worker)
