"""Server time of every page and API read with 1,000 incidents, against the 100 ms target.

Seeds a fresh SQLite database (and PostgreSQL when --pg URL or HERALD_TEST_DATABASE_URL is
given: the bench uses its own database, "<name>_pages_bench", on that server and empties it), then
calls every GET route the app has, in-process, N times each, as a support account (so the
need-to-know filter runs). Server time is measured around the ASGI app, from the request to
the last byte of the response. Each figure is also shown as a ratio to a baseline measured in
the same run: a trivial response through the same middleware stack.

    .venv/bin/python -m bench.pages            # SQLite, and PostgreSQL if configured
    .venv/bin/python -m bench.pages -n 50 --pg postgresql://postgres@127.0.0.1/herald
    .venv/bin/python -m bench.pages --profile /incidents/{ref}/plan   # cProfile one route
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import platform
import pstats
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench.seed import ADMIN, MESSENGER, NOW, PASSWORD, Seeded, seed
from herald.clock import FixedClock
from herald.services import accounts
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database
from herald.web.app import create_app

TARGET_MS = 100.0
BASELINE = "/__bench/baseline"
SKIP = re.compile(r"^/(static|api/docs|docs/|api/v1/openapi\.json|login|setup|__bench)")
QUERIES = {"/search": "q=search", "/api/v1/search": "q=search"}
EXTRA = ("/?show=all",)  # the dashboard with closed incidents too


class Timed:
    """ASGI wrapper recording server time: request in to the last body byte out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last_ms = 0.0
        self.last_cpu_ms = 0.0
        self.queries = 0  # counted by an engine event while a request runs
        self.last_queries = 0

    def count_query(self, *_: Any) -> None:
        """SQLAlchemy before_cursor_execute hook: one more statement."""
        self.queries += 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the app, timing it."""
        started, cpu = time.perf_counter(), time.process_time()
        self.queries = 0

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last_ms = (time.perf_counter() - started) * 1000
                self.last_cpu_ms = (time.process_time() - cpu) * 1000
                self.last_queries = self.queries

        await self.app(scope, receive, timed_send)


@dataclass
class Figure:
    """The timings of one URL."""

    url: str
    status: int
    times: list[float]
    cpu: list[float] = field(default_factory=list)
    queries: int = 0

    def pct(self, q: float) -> float:
        """The q-th percentile (nearest rank)."""
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def get_routes(app: FastAPI) -> list[str]:
    """Every GET path of the app worth measuring, as registered."""
    paths = []
    for ctx in iter_route_contexts(app.routes):
        methods = getattr(ctx.original_route, "methods", None) or set()
        if "GET" in methods and not SKIP.match(ctx.path) and ctx.path not in paths:
            paths.append(ctx.path)
    return paths


def urls_for(path: str, ref: str) -> str | None:
    """A concrete URL for a route path, or None when it needs a parameter we cannot fill."""
    url = path.replace("{ref}", ref)
    if "{" in url:
        return None
    return f"{url}?{QUERIES[path]}" if path in QUERIES else url


@dataclass
class Target:
    """One URL to time, with the client (account) and headers that may open it."""

    url: str
    client: TestClient
    headers: dict[str, str] | None
    figure: Figure


def measure(timed: Timed, targets: list[Target], n: int) -> None:
    """Warm every URL up, then time n rounds over all of them.

    Rounds interleave the URLs, so a burst of load from elsewhere on the machine spreads
    over every figure instead of spoiling the one measured at that moment.
    """
    for t in targets:
        for _ in range(3):
            t.figure.status = t.client.get(t.url, headers=t.headers).status_code
    for _ in range(n):
        for t in targets:
            t.client.get(t.url, headers=t.headers)
            t.figure.times.append(timed.last_ms)
            t.figure.cpu.append(timed.last_cpu_ms)
            t.figure.queries = timed.last_queries


def bench_backend(name: str, url: str, home: Path, n: int, profile: str | None,
                  only: str | None = None, sql: str | None = None
                  ) -> tuple[list[Figure], Figure, float, str]:
    """Seed one database and time every page; returns figures, baseline, seed time, version."""
    db = Database(url)
    db.migrate()
    h = Herald(db=db, settings=Settings(home=home, database_url=url,  # type: ignore[arg-type]
                                        secret_key="bench-secret"),  # type: ignore[arg-type]
               clock=FixedClock(NOW))
    started = time.perf_counter()
    seeded = seed(h)
    seed_s = time.perf_counter() - started
    app = create_app(h)
    app.add_api_route(BASELINE, lambda: PlainTextResponse("ok"), include_in_schema=False)
    timed = Timed(app)
    event.listen(db.engine, "before_cursor_execute", timed.count_query)
    support = _client(h, timed, MESSENGER)
    admin = _client(h, timed, ADMIN)
    token = accounts.create_api_token(h, MESSENGER, "bench", actor=MESSENGER)
    api = {"authorization": f"Bearer {token}"}
    if sql:
        _show_sql(db, sql.replace("{ref}", seeded.normal), *_who_may_open(
            sql.replace("{ref}", seeded.normal), support, admin, api))
    if profile:
        _profile(app, profile.replace("{ref}", seeded.normal), support.cookies["herald_session"],
                 api)
    baseline = Target(BASELINE, support, None, Figure(BASELINE, 0, []))
    targets = [baseline]
    skipped = set()
    for path in [*get_routes(app), *EXTRA]:
        for ref in _refs(path, seeded):
            url = urls_for(path, ref)
            if url is None:
                skipped.add(path)
            elif not only or re.search(only, url):
                who = _who_may_open(url, support, admin, api)
                targets.append(Target(url, who[0], who[1], Figure(url, 0, [])))
    for path in sorted(skipped):
        print(f"  skipped {path}: a parameter the bench cannot fill", file=sys.stderr)
    measure(timed, targets, n)
    raw = _raw_sql_ms(db, n)
    figures = [t.figure for t in targets[1:]]
    version = f"{_server_version(db)}; raw SQL select of all incident rows: p50 {raw:.2f} ms"
    db.dispose()
    print(f"  {name}: seeded {seeded.incidents} incidents in {seed_s:.1f} s", file=sys.stderr)
    return figures, baseline.figure, seed_s, version


def _who_may_open(url: str, support: TestClient, admin: TestClient,
                  api: dict[str, str]) -> tuple[TestClient, dict[str, str] | None]:
    """The support account (need-to-know applies), or the admin for admin-only pages."""
    if url.startswith("/api/"):
        return support, api
    if support.get(url).status_code in (401, 403, 404):
        return admin, None
    return support, None


def _refs(path: str, seeded: Seeded) -> list[str]:
    return [seeded.normal, seeded.security] if "{ref}" in path else [""]


def _client(h: Herald, timed: Timed, email: str) -> TestClient:
    client = TestClient(timed, client=("127.0.0.1", 9000), follow_redirects=False)
    session, _ = accounts.log_in(h, email=email, password=PASSWORD, ip="127.0.0.1")
    client.cookies.set("herald_session", session)
    return client


def _show_sql(db: Database, url: str, client: TestClient,
              headers: dict[str, str] | None) -> None:
    """Print the statements one request of the URL runs, in order."""
    seen: list[str] = []

    def log(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split())[:160])

    client.get(url, headers=headers)  # warm caches first
    event.listen(db.engine, "before_cursor_execute", log)
    try:
        client.get(url, headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", log)
    print(f"--- {len(seen)} statements for {url} ---")
    for number, statement in enumerate(seen, 1):
        print(f"{number:3} {statement}")


def _profile(app: ASGIApp, url: str, cookie: str, api: dict[str, str]) -> None:
    """cProfile 10 requests of one URL, with sync endpoints run on the profiled thread."""
    import fastapi.dependencies.utils as deps_utils
    import fastapi.routing as routing

    async def inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    async def run() -> None:
        headers = api if url.startswith("/api/") else {"cookie": f"herald_session={cookie}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.get(url, headers=headers)
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(10):
                await client.get(url, headers=headers)
            prof.disable()
        print(f"--- cProfile of 10 x {url} ---")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)

    saved = routing.run_in_threadpool, deps_utils.run_in_threadpool
    routing.run_in_threadpool = deps_utils.run_in_threadpool = inline  # type: ignore[assignment]
    try:
        asyncio.run(run())
    finally:
        routing.run_in_threadpool, deps_utils.run_in_threadpool = saved


def _raw_sql_ms(db: Database, n: int) -> float:
    """A second reference: the database alone returning every incident's list columns."""
    sql = text("SELECT id, number, title, severity, security, status, created_at "
               "FROM incidents ORDER BY created_at DESC, id DESC")
    times = []
    with db.engine.connect() as conn:
        for _ in range(n):
            started = time.perf_counter()
            conn.execute(sql).all()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _server_version(db: Database) -> str:
    if db.dialect == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with db.engine.connect() as conn:
        return "PostgreSQL " + str(conn.scalar(text("SHOW server_version"))).split()[0]


def bench_database(url: str) -> str:
    """The bench's own PostgreSQL database beside the given one, created and emptied."""
    base = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    target = base.set(database=f"{base.database or 'herald'}_pages_bench")
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                           {"n": target.database}):
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(target, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return target.render_as_string(hide_password=False)


def report(name: str, version: str, figures: list[Figure], baseline: Figure, n: int) -> bool:
    """Print one backend's table; True when every page met the target."""
    base = statistics.median(baseline.times)
    print(f"\n### {name} ({version}), {n} requests per URL\n")
    print(f"Baseline (trivial response through the same middleware): p50 {base:.2f} ms\n")
    print("| URL | status | SQL | min ms | p50 ms | p95 ms | max ms | CPU p50 ms "
          "| p50 / baseline | p95 <= 100 ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for fig in figures:
        p50, p95, worst = statistics.median(fig.times), fig.pct(95), max(fig.times)
        passed = p95 <= TARGET_MS and fig.status == 200
        ok &= passed
        print(f"| `{fig.url}` | {fig.status} | {fig.queries} | {min(fig.times):.1f} | {p50:.1f} | "
              f"{p95:.1f} | {worst:.1f} | {statistics.median(fig.cpu):.1f} | "
              f"{p50 / base:.1f}x | {'PASS' if passed else 'FAIL'} |")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Seed, measure and print the tables; exit 1 when a page misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("-n", type=int, default=30, help="requests per URL (default 30)")
    parser.add_argument("--pg", help="PostgreSQL server URL (default HERALD_TEST_DATABASE_URL)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--profile", help="cProfile this URL path first ({ref} is filled)")
    parser.add_argument("--only", help="measure only URLs matching this regular expression")
    parser.add_argument("--sql", help="print the statements one request of this URL path runs "
                                      "({ref} is filled)")
    args = parser.parse_args(argv)
    print(f"Herald page benchmark, {NOW:%Y-%m-%d} data; machine: {platform.platform()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average "
          f"{os.getloadavg()[0]:.1f} at the start")
    backends = []
    with tempfile.TemporaryDirectory() as tmp:
        backends.append(("SQLite", f"sqlite:///{tmp}/herald.db", Path(tmp)))
        pg = args.pg or os.environ.get("HERALD_TEST_DATABASE_URL")
        if pg and not args.no_pg:
            backends.append(("PostgreSQL", bench_database(pg), Path(tmp) / "pg"))
        ok = True
        for name, url, home in backends:
            figures, baseline, _, version = bench_backend(name, url, home, args.n, args.profile,
                                                          args.only, args.sql)
            ok &= report(name, version, figures, baseline, args.n)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
