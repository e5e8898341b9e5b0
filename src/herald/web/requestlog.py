"""One log line per HTTP request: id, method, path, status and duration; never a body."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from herald.logging import request_id

log = logging.getLogger("herald.request")
REQUEST_ID_HEADER = "x-request-id"
_GOOD_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")
# Probes and assets: logged at DEBUG so INFO shows what people did.
_QUIET_PREFIXES = ("/healthz", "/metrics", "/static/")


class RequestLogMiddleware:
    """ASGI middleware: tags the request with an id (kept from a proxy's X-Request-ID when
    sane), returns it in X-Request-ID, and logs the outcome when the response starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (REQUEST_ID_HEADER.encode(), rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            duration = round((time.perf_counter() - started) * 1000, 1)
            level = (logging.WARNING if status >= 500
                     else logging.DEBUG if path.startswith(_QUIET_PREFIXES) else logging.INFO)
            log.log(level, "%s %s %s %.1fms", scope.get("method"), path, status, duration,
                    extra={"request_id": rid, "method": scope.get("method"), "path": path,
                           "status": status, "duration_ms": duration,
                           "client": _client(scope)})
            request_id.reset(token)


def _incoming_id(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            return text if _GOOD_ID.fullmatch(text) else None
    return None


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None
