"""The quick start as a newcomer meets it: `herald serve` on the embedded defaults prints
where to open Herald and a one-time link that creates the first admin, who is then signed in;
the link works once."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

HERALD = Path(sys.executable).parent / "herald"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lines_until(proc: subprocess.Popen[str], pattern: str, limit: float = 60) -> list[str]:
    """What the server printed, up to the first line matching `pattern` (waits on the pipe,
    no sleeping; fails with everything printed when it does not come)."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if re.search(pattern, line):
            return seen
    raise AssertionError(f"no line matching {pattern!r}; printed:\n" + "\n".join(seen))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`herald serve` in a fresh folder with nothing configured (SQLite in HERALD_HOME)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["HERALD_HOME"] = str(tmp_path / "herald-data")
    proc = subprocess.Popen([str(HERALD), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield proc, port
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_first_start_prints_where_to_open_and_the_one_time_setup_link(
        server: tuple[subprocess.Popen[str], int]) -> None:
    proc, port = server
    printed = "\n".join(_lines_until(proc, r"Uvicorn running|Application startup complete"))
    assert f"Herald is running: open http://localhost:{port}/" in printed
    link = re.search(r"(http://localhost:\d+/setup\?token=[\w-]+)", printed)
    assert link, printed
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as web:
        assert web.get("/healthz").status_code == 200
        assert web.get("/").status_code == 303  # nothing is open without an account
        page = web.get(link.group(1).replace(f"localhost:{port}", f"127.0.0.1:{port}"))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and csrf and token
        form = {"csrf_token": csrf.group(1), "token": token.group(1), "name": "Ada Admin",
                "email": "ada@example.com", "password": "a long first password"}
        r = web.post("/setup", data=form)
        assert r.status_code == 303 and r.headers["location"] == "/"
        home = web.get("/", follow_redirects=True)
        assert "Welcome to Herald. You are the first admin." in home.text
        assert "Ada Admin" in home.text  # signed in
    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as other:
        page = other.get(f"/setup?token={token.group(1)}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        again = other.post("/setup", data=form | {"csrf_token": csrf.group(1),
                                                   "email": "eve@example.com"})
        assert again.status_code == 404
        assert "this setup link is not valid any more" in again.text
