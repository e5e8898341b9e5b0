"""Shared plumbing of the browser tests: Debian's Chromium under Playwright, and the real
app served by uvicorn on a loopback port. Chromium missing is a failure, never a skip."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from herald.services.context import Herald
from herald.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Launch Debian's Chromium; a missing or broken browser fails the test run."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: the browser tests must run. Install "
                    "Debian's package (`sudo apt-get install chromium`; `make test` and "
                    ".ci/run do it as root). Playwright never downloads its own browsers here.",
                    pytrace=False)
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            pytest.fail(f"Chromium at {CHROMIUM} did not start under Playwright: {exc}",
                        pytrace=False)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serve(h: Herald) -> Iterator[str]:
    """Serve Herald's app on a free loopback port in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(h), log_config=None, access_log=False, lifespan="off",
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="herald-browser-test-server")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start for the browser tests", pytrace=False)
        time.sleep(0.02)  # polling for the server to listen, not timing a test
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
