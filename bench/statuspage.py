"""The public status page under load: `herald serve` against nginx serving the static export.

Seeds a fresh Herald (SQLite in a temporary folder) with components and incidents on the
status page, exports the page, then in the same run loads four URLs with 100 concurrent
connections each, in alternating rounds:

    Herald  /status/                      (uvicorn, the stored bytes)
    Herald  /status/api/v2/summary.json
    nginx   /status/index.html            (the static export)
    nginx   /status/api/v2/summary.json

wrk does the loading when it is installed (Debian: `apt-get install wrk`); otherwise a
bounded asyncio load generator (keep-alive HTTP/1.1 on raw streams, slower than wrk: its
own CPU use lowers both servers' figures). Each run is bounded in time (--seconds) and stays
on 127.0.0.1. Prints requests/s, p99 latency and Herald's ratio to nginx. Targets: at least
0.2x nginx, p99 under 60 ms, for both Herald URLs.

    .venv/bin/python -m bench.statuspage                 # 3 rounds of 10 s per URL
    .venv/bin/python -m bench.statuspage --seconds 5 --rounds 5 --connections 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from herald.clock import FixedClock
from herald.services import incidents, plan, status_page, status_posts
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database

TARGET_RATIO = 0.2
TARGET_P99_MS = 60.0
MESSENGER = "messenger@example.com"
FACTS = {"release": "5.2.0", "causes": "search results to leave out new repositories",
         "impact_condition": "you added repositories after upgrading to 5.2.0",
         "remediation": "upgrade to 5.2.1", "customer_must_act": "yes"}
COMPONENTS = [("api", "API", "The REST and GraphQL API"), ("web", "Web app", None),
              ("search", "Search", "Code search and indexing"), ("git", "Git operations", None),
              ("webhooks", "Webhooks", None), ("auth", "Sign-in", None)]


def seed(h: Herald, clock: FixedClock, *, history: int = 12) -> None:
    """Components, `history` resolved incidents with a full sequence each, one active."""
    for code, name, description in COMPONENTS:
        status_page.add_component(h, code, name, description=description, actor=MESSENGER)
    for n in range(history + 1):
        ref = incidents.create_incident(h, title=f"Search misses new repositories ({n})",
                                        actor=MESSENGER, messenger=MESSENGER, number=f"inc-{n}")
        for key, value in FACTS.items():
            plan.set_fact(h, ref, key, value, actor=MESSENGER, provided_by=MESSENGER)
        why = "benchmark data"
        status_posts.post_status(h, ref, "investigating", actor=MESSENGER, override=why,
                                 impact="major", components={"search": "partial_outage"})
        clock.advance(minutes=30)
        status_posts.post_status(h, ref, "identified", actor=MESSENGER, override=why,
                                 impact="major", components={"search": "degraded_performance"})
        if n < history:  # the last one stays active
            clock.advance(minutes=30)
            status_posts.post_status(h, ref, "resolved", actor=MESSENGER, override=why)
        clock.advance(hours=20)


@dataclass
class Result:
    """One URL's figures."""

    label: str
    url: str
    requests: int
    rps: float
    p99_ms: float
    errors: int
    p50_ms: float = 0.0


def median_of(results: list[Result]) -> Result:
    """The median requests/s and the median p99 of a URL's rounds."""
    first = results[0]
    return Result(first.label, first.url, sum(r.requests for r in results),
                  statistics.median(r.rps for r in results),
                  statistics.median(r.p99_ms for r in results), sum(r.errors for r in results),
                  statistics.median(r.p50_ms for r in results))


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, seconds: float = 20.0) -> None:
    """Wait until a server answers (its start-up, not a measurement)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {seconds:g} s")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


WRK_THREADS = 2


def run_wrk(label: str, url: str, seconds: int, connections: int) -> Result:
    """Load one URL with wrk and read its summary."""
    threads = WRK_THREADS
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                          "--timeout", "5s", "--latency", url],
                         capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    failed = (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors
                                                   else 0)
    return Result(label, url, total, rps, p99, failed, p50)


async def _connection(host: str, port: int, request: bytes, end: float,
                      latencies: list[float]) -> int:
    """One keep-alive connection sending GETs back to back until `end`; returns errors."""
    errors = 0
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < end:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - start) * 1000)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
    except (OSError, asyncio.IncompleteReadError):
        errors += 1
    finally:
        writer.close()
    return errors


async def _load(url: str, seconds: float, connections: int) -> tuple[int, list[float], int]:
    parts = httpx.URL(url)
    request = (f"GET {parts.raw_path.decode()} HTTP/1.1\r\nHost: {parts.host}:{parts.port}"
               f"\r\nUser-Agent: herald-bench\r\n\r\n").encode()
    latencies: list[float] = []
    end = time.monotonic() + seconds
    errors = await asyncio.gather(*(_connection(parts.host, parts.port or 80, request, end,
                                                latencies) for _ in range(connections)))
    return len(latencies), latencies, sum(errors)


def run_python(label: str, url: str, seconds: int, connections: int) -> Result:
    """Load one URL with the bounded asyncio generator (when wrk is missing)."""
    started = time.monotonic()
    total, latencies, errors = asyncio.run(_load(url, seconds, connections))
    elapsed = time.monotonic() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    p50 = latencies[len(latencies) // 2] if latencies else 0.0
    return Result(label, url, total, total / elapsed, p99, errors, p50)


NGINX_CONF = """worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  types {{ text/html html; application/json json; text/css css; text/javascript js;
          application/atom+xml atom; application/rss+xml rss; }}
  client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  server {{
    listen 127.0.0.1:{port};
    location /status/ {{ alias {site}/; index index.html; etag on;
                        add_header Cache-Control "public, max-age=30"; }}
  }}
}}
"""


def start_nginx(root: Path, site: Path, port: int) -> subprocess.Popen[bytes]:
    """nginx serving the export at /status/ (one worker, like the one Herald process)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("nginx is missing: apt-get install nginx-light")
    (root / "tmp").mkdir(exist_ok=True)
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=root, site=site, port=port), encoding="utf-8")
    return subprocess.Popen([nginx, "-c", str(conf), "-e", str(root / "nginx-error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_herald(home: Path, port: int, *, worker: bool) -> subprocess.Popen[bytes]:
    """`herald serve` (uvicorn, one process) on the seeded folder; the worker runs in the
    same process only when asked (a busy site runs `herald worker` apart)."""
    herald = Path(sys.executable).parent / "herald"
    env = {**os.environ, "HERALD_HOME": str(home), "HERALD_LOG_LEVEL": "INFO",
           "HERALD_BASE_URL": f"http://127.0.0.1:{port}"}  # the default log level
    env.pop("HERALD_DATABASE_URL", None)
    command = [str(herald), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if not worker:
        command.append("--no-worker")
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server this bench started."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    """Seed, export, start both servers, load each URL, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seconds", type=int, default=10, help="seconds per URL (max 60)")
    ap.add_argument("--connections", type=int, default=100, help="concurrent connections")
    ap.add_argument("--rounds", type=int, default=3, help="rounds over the four URLs (max 10)")
    ap.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--with-worker", action="store_true",
                    help="let `herald serve` run the worker in its process (its default)")
    ap.add_argument("--python-load", action="store_true",
                    help="use the asyncio load generator even when wrk is installed")
    args = ap.parse_args(argv)
    seconds = max(1, min(args.seconds, 60))
    rounds = max(1, min(args.rounds, 10))
    global WRK_THREADS
    WRK_THREADS = max(1, min(args.wrk_threads, 8))
    load = run_python if args.python_load or not shutil.which("wrk") else run_wrk
    with tempfile.TemporaryDirectory(prefix="herald-statuspage-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx's workers read the export
        home = root / "home"
        home.mkdir()
        herald_port, nginx_port = free_port(), free_port()
        settings = Settings(home=home, base_url=f"http://127.0.0.1:{herald_port}")
        clock = FixedClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=12))
        db = Database(settings.sqlalchemy_url())
        db.migrate()
        h = Herald(db=db, settings=settings, clock=clock)
        seed(h, clock)
        site = root / "site"
        status_page.export(h, site)
        db.dispose()
        servers = [start_herald(home, herald_port, worker=args.with_worker),
                   start_nginx(root, site, nginx_port)]
        try:
            wait_up(f"http://127.0.0.1:{herald_port}/status/")
            wait_up(f"http://127.0.0.1:{nginx_port}/status/")
            herald_base = f"http://127.0.0.1:{herald_port}/status/"
            nginx_base = f"http://127.0.0.1:{nginx_port}/status/"
            targets = (("Herald page", herald_base), ("nginx page", nginx_base + "index.html"),
                       ("Herald summary.json", herald_base + "api/v2/summary.json"),
                       ("nginx summary.json", nginx_base + "api/v2/summary.json"))
            # Rounds alternate Herald and nginx, so a change in the machine's other load
            # falls on both; each figure is the median of its rounds.
            for label, url in targets:  # warm-up, not counted: connections, first loads
                load(label, url, 2, args.connections)
            runs: dict[str, list[Result]] = {label: [] for label, _ in targets}
            for _ in range(rounds):
                for label, url in targets:
                    runs[label].append(load(label, url, seconds, args.connections))
            results = [median_of(runs[label]) for label in (
                "Herald page", "Herald summary.json", "nginx page", "nginx summary.json")]
        finally:
            for server in servers:
                stop(server)
    tool = "wrk" if load is run_wrk else "asyncio+httpx"
    worker = "worker embedded" if args.with_worker else "--no-worker"
    print(f"# status page load: {args.connections} connections, {rounds} rounds of {seconds} s "
          f"per URL (medians), {tool}, herald serve {worker}; "
          f"Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'what':<22} {'requests':>9} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>8} "
          f"{'errors':>7} {'vs nginx':>9}")
    by = {r.label: r for r in results}
    ok = True
    for r in results:
        twin = by.get(r.label.replace("Herald", "nginx")) if r.label.startswith("Herald") \
            else None
        ratio = r.rps / twin.rps if twin and twin.rps else 1.0
        print(f"{r.label:<22} {r.requests:>9} {r.rps:>9.0f} {r.p50_ms:>7.1f} {r.p99_ms:>8.1f} "
              f"{r.errors:>7} {ratio:>8.2f}x")
        if r.label.startswith("Herald"):
            ok &= ratio >= TARGET_RATIO and r.p99_ms < TARGET_P99_MS and r.errors == 0
    print(("PASS" if ok else "FAIL") + f": target at least {TARGET_RATIO}x nginx and p99 under "
          f"{TARGET_P99_MS:g} ms for both Herald URLs")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
