"""The public status page under /status/: no login, stored bytes, ETag and Last-Modified.

A plain ASGI app: each request looks the path up among the documents the last change stored
(services.status_page) and answers with those bytes, or 304 when the client's copy is
current. The documents are held in memory and read again from the database when this process
changed them, or when they are older than REFRESH seconds (another process may have).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from herald.services import status_page
from herald.services.context import Herald

log = logging.getLogger("herald.status_page")
REFRESH = 1.0  # seconds a process serves its copy before reading the table again
PREFIX = "/status"
# The page needs its own stylesheet and script only; nothing may frame it.
HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; script-src 'self'; "
                                 b"img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                                 b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


@dataclass(frozen=True)
class _Ready:
    """One document with its response headers, prepared once per load."""

    body: bytes
    etag: bytes
    modified: float  # Last-Modified as a timestamp (whole seconds)
    headers: list[tuple[bytes, bytes]]
    not_modified: list[tuple[bytes, bytes]]


def route(path: str) -> str | None:
    """The document a request path asks for (None: not one of ours)."""
    if not path.startswith(PREFIX + "/"):
        return None
    rest = path[len(PREFIX) + 1:]
    if rest in ("", "index.html"):
        return "index.html"
    return rest if rest in status_page.PATHS else None


class StatusPages:
    """ASGI app for GET and HEAD under /status/."""

    def __init__(self, h: Herald) -> None:
        self.h = h
        self._docs: dict[str, _Ready] = {}
        self._generation = -1
        self._loaded_at = 0.0
        self._lock: asyncio.Lock | None = None
        self._refresh: asyncio.Task[None] | None = None

    def _prepare(self) -> dict[str, _Ready]:
        """Read the documents, unless their ETags say the copy held is current."""
        if self._docs and status_page.document_tags(self.h) == {
                path: doc.etag.decode() for path, doc in self._docs.items()}:
            return self._docs  # the usual case: one small query, nothing rebuilt
        max_age = self.h.settings.status_max_age
        cache = f"public, max-age={max_age}".encode()
        ready = {}
        for path, doc in status_page.load_documents(self.h).items():
            modified = int(doc.modified_at.timestamp())
            common = [(b"etag", doc.etag.encode()),
                      (b"last-modified", format_datetime(doc.modified_at.replace(
                          microsecond=0), usegmt=True).encode()),
                      (b"cache-control", cache), *HEADERS]
            if path.endswith(".json"):  # read by widgets and monitors on other sites
                common.append((b"access-control-allow-origin", b"*"))
            ready[path] = _Ready(doc.body, doc.etag.encode(), modified,
                                 [(b"content-type", doc.content_type.encode()),
                                  (b"content-length", str(len(doc.body)).encode()), *common],
                                 common)
        return ready

    async def documents(self) -> dict[str, _Ready]:
        """The current documents. After a change made by this process, or before the first
        load, the request waits for the new copy; a copy merely older than REFRESH is served
        while one background task reads the table again (no request waits for that)."""
        if self._generation != status_page.Generation.value or not self._docs:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self._generation != status_page.Generation.value or not self._docs:
                    await self._reload()
        elif time.monotonic() - self._loaded_at >= REFRESH and self._refresh is None:
            self._refresh = asyncio.get_running_loop().create_task(self._background())
        return self._docs

    async def _reload(self) -> None:
        generation = status_page.Generation.value
        self._docs = await anyio.to_thread.run_sync(self._prepare)
        self._generation, self._loaded_at = generation, time.monotonic()

    async def _background(self) -> None:
        try:
            await self._reload()
        except Exception:  # the database is away: keep serving the copy we have
            log.warning("reading the status page documents failed; serving the last copy",
                        exc_info=True)
            self._loaded_at = time.monotonic()
        finally:
            self._refresh = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request."""
        path = scope.get("path", "")
        if path == PREFIX:
            await _plain(send, 308, b"", [(b"location", b"/status/")])
            return
        name = route(path)
        if name is None:
            await _plain(send, 404, b"not found")
            return
        if scope.get("method") not in ("GET", "HEAD"):
            await _plain(send, 405, b"method not allowed", [(b"allow", b"GET, HEAD")])
            return
        doc = (await self.documents()).get(name)
        if doc is None:
            await _plain(send, 404, b"not found")
            return
        if _fresh(scope, doc):
            await send({"type": "http.response.start", "status": 304,
                        "headers": doc.not_modified})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": doc.headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope.get("method") == "HEAD" else doc.body})


def _fresh(scope: Scope, doc: _Ready) -> bool:
    """The client's copy is current (If-None-Match first, else If-Modified-Since)."""
    since = None
    for key, value in scope.get("headers", []):
        if key == b"if-none-match":
            tags = [t.strip().removeprefix(b"W/") for t in value.split(b",")]
            return b"*" in tags or doc.etag in tags
        if key == b"if-modified-since":
            since = value
    if since is None:
        return False
    try:
        return doc.modified <= parsedate_to_datetime(since.decode("latin-1")).timestamp()
    except (TypeError, ValueError, IndexError):
        return False


async def _plain(send: Send, status: int, body: bytes,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), *HEADERS, *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


class StatusPageMiddleware:
    """Serves /status/ before the rest of the stack (sessions, CSRF, per-route dependencies
    and the header middleware are for the signed-in workspace, and cost more than the page
    itself); everything else passes through."""

    def __init__(self, app: ASGIApp, h: Herald) -> None:
        self.app = app
        self.pages = StatusPages(h)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one request."""
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == PREFIX or path.startswith(PREFIX + "/"):
            await self.pages(scope, receive, send)
        else:
            await self.app(scope, receive, send)
