"""A fake Slack for tests: the Web API on real HTTP on loopback, and signed callbacks.

`FakeSlack` serves the Web API methods Herald calls, speaking Slack's documented shapes:
every method is a POST (or a GET, as slack_sdk sends some reads) to /api/<method> whose
arguments come as a query string, a form (urlencoded or multipart) or a JSON body; the token
comes as `Authorization: Bearer`; the
answer is JSON with `ok` and, when it is false, `error` (HTTP 200), except a rate limit:
HTTP 429 with `Retry-After` and `{"ok": false, "error": "ratelimited"}`. It keeps every
posted message per channel (with `ts`, threads and `reply_count`), knows users (users.info
with `profile.email`, users.lookupByEmail), answers chat.getPermalink, conversations.history
and conversations.replies and auth.test, and records what Bolt sends to `response_url`.

Faults are queued per method: `fail("chat.postMessage", "500")`, `"hang"` (no answer until
the client gave up; `keep=True` stores the message first, as when Slack got it but the
answer was lost), `"ratelimited"` with `retry_after`, or any Slack error code.

`Callbacks` plays Slack calling Herald: slash commands and block_actions payloads POSTed to
/slack/events, signed like Slack signs them (v0: HMAC-SHA256 of "v0:{ts}:{body}" with the
signing secret, in X-Slack-Signature, the time in X-Slack-Request-Timestamp).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

TOKEN = "xoxb-test-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0TEST"
BOT_USER = "U0HERALD"
BOT_ID = "B0HERALD"
WORKSPACE = "https://herald-test.slack.example"


@dataclass
class User:
    """A Slack user as users.info describes them."""

    id: str
    name: str
    email: str | None


@dataclass
class Fault:
    """What to do instead of answering one call."""

    kind: str  # "500", "hang", "ratelimited", or a Slack error code
    retry_after: int = 30
    keep: bool = False  # for "hang": store the posted message before hanging


@dataclass
class FakeSlack:
    """The Web API on 127.0.0.1:<free port>; start() it, or use it as a context manager."""

    token: str = TOKEN
    channels: dict[str, str] = field(default_factory=dict)  # id -> name
    users: dict[str, User] = field(default_factory=dict)
    hang_seconds: float = 5.0
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # what went to response_url
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # Setting up ---------------------------------------------------------------------------

    def add_channel(self, channel_id: str, name: str) -> str:
        """A channel Herald may post to (by id, or by #name as chat.postMessage allows)."""
        self.channels[channel_id] = name.lstrip("#")
        self.messages.setdefault(channel_id, [])
        return channel_id

    def add_user(self, user_id: str, name: str, email: str | None) -> str:
        """A workspace member, with the email users.info shares."""
        self.users[user_id] = User(user_id, name, email)
        return user_id

    def fail(self, method: str, kind: str, *, times: int = 1, retry_after: int = 30,
             keep: bool = False) -> None:
        """Make the next `times` calls of `method` fail this way."""
        with self._lock:
            self.faults.setdefault(method, []).extend(
                Fault(kind, retry_after, keep) for _ in range(times))

    def say(self, channel_id: str, user_id: str, text: str, *,
            thread_ts: str | None = None) -> str:
        """A person writes in a channel (or a thread): returns the message's ts."""
        with self._lock:
            return self._store(channel_id, {"type": "message", "user": user_id, "text": text},
                               thread_ts)

    @property
    def url(self) -> str:
        """The server's root URL."""
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL (HERALD_SLACK_BASE_URL)."""
        return self.url + "/api/"

    def start(self) -> FakeSlack:
        """Listen on a free loopback port, in a thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:  # slack_sdk reads some methods (users.lookupByEmail) so
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-slack")
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening; calls left hanging are let go."""
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Reading what happened ----------------------------------------------------------------

    def posted(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        """Messages the bot posted (in one channel, or everywhere), oldest first."""
        with self._lock:
            chans = [channel_id] if channel_id else list(self.messages)
            return [dict(m, channel=c) for c in chans for m in self.messages.get(c, [])
                    if m.get("bot_id") == BOT_ID]

    def called(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every call of a method, in order."""
        with self._lock:
            return [args for name, args in self.calls if name == method]

    def response_url(self) -> str:
        """A fresh response_url, as Slack puts in command and action payloads."""
        return f"{self.url}/respond/{next(self._ts)}"

    # The server side ----------------------------------------------------------------------

    def _store(self, channel_id: str, message: dict[str, Any], thread_ts: str | None) -> str:
        ts = f"{1767258000 + next(self._ts)}.{next(self._ts):06d}"
        message = dict(message, ts=ts)
        if thread_ts:
            parent = self._message(channel_id, thread_ts)
            if parent is None:
                raise KeyError("thread_not_found")
            message["thread_ts"] = parent["ts"]
            message["parent_user_id"] = parent.get("user")
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = int(parent.get("reply_count") or 0) + 1
            parent["latest_reply"] = ts
            users = parent.setdefault("reply_users", [])
            if message.get("user") and message["user"] not in users:
                users.append(message["user"])
        self.messages.setdefault(channel_id, []).append(message)
        return ts

    def _message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(channel_id, []) if m["ts"] == ts), None)

    def _channel(self, value: str) -> str | None:
        """A channel id from an id or a #name; None when unknown."""
        if value in self.channels:
            return value
        name = value.lstrip("#")
        return next((cid for cid, n in self.channels.items() if n == name), None)

    def _args(self, request: BaseHTTPRequestHandler, raw: bytes) -> dict[str, Any]:
        args: dict[str, Any] = dict(parse_qsl(urlsplit(request.path).query))
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            args |= json.loads(raw or b"{}")
        elif kind == "application/x-www-form-urlencoded":
            args |= dict(parse_qsl(raw.decode("utf-8")))
        elif kind == "multipart/form-data":
            head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
            message = BytesParser(policy=HTTP).parsebytes(head + raw)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if name and isinstance(payload, bytes):
                    args[str(name)] = payload.decode("utf-8")
        for key in ("blocks", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    def _answer(self, request: BaseHTTPRequestHandler, status: int, body: Any,
                headers: dict[str, str] | None = None) -> None:
        data = (body if isinstance(body, bytes) else json.dumps(body).encode())
        request.send_response(status)
        request.send_header("content-type", "application/json; charset=utf-8"
                            if not isinstance(body, bytes) else "text/html")
        request.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            request.send_header(k, v)
        request.end_headers()
        request.wfile.write(data)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        raw = request.rfile.read(int(request.headers.get("content-length") or 0))
        path = urlsplit(request.path).path
        if path.startswith("/respond/"):
            with self._lock:
                self.responses.append(json.loads(raw or b"{}"))
            self._answer(request, 200, b"ok")
            return
        if not path.startswith("/api/"):
            self._answer(request, 404, {"ok": False, "error": "unknown_method"})
            return
        method = path.removeprefix("/api/")
        args = self._args(request, raw)
        with self._lock:
            self.calls.append((method, args))
            queue = self.faults.get(method) or []
            fault = queue.pop(0) if queue else None
        auth = request.headers.get("authorization", "")
        if not auth:
            self._answer(request, 200, {"ok": False, "error": "not_authed"})
            return
        if auth != f"Bearer {self.token}":
            self._answer(request, 200, {"ok": False, "error": "invalid_auth"})
            return
        if fault is not None:
            if fault.kind == "500":
                self._answer(request, 500, b"<html><body>Internal Server Error</body></html>")
                return
            if fault.kind == "ratelimited":
                self._answer(request, 429, {"ok": False, "error": "ratelimited"},
                             {"Retry-After": str(fault.retry_after)})
                return
            if fault.kind == "hang":
                if fault.keep:
                    self._call(method, args)  # Slack did it; the answer never arrives
                self._released.wait(self.hang_seconds)
                return  # no answer at all: the connection just closes
            self._answer(request, 200, {"ok": False, "error": fault.kind})
            return
        self._answer(request, 200, self._call(method, args))

    def _call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        with self._lock:
            try:
                result: dict[str, Any] = handler(args)
            except KeyError as exc:
                return {"ok": False, "error": str(exc.args[0])}
        return {"ok": True, **result}

    # The methods (called under the lock) ----------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        """Who the token is (Bolt asks before its first listener runs)."""
        return {"url": f"{WORKSPACE}/", "team": "Herald Test", "user": "herald",
                "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID,
                "is_enterprise_install": False}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(args.get("channel") or ""))
        if channel is None:
            raise KeyError("channel_not_found")
        if not args.get("text") and not args.get("blocks"):
            raise KeyError("no_text")
        escaped = _escape(str(args.get("text") or ""))
        message: dict[str, Any] = {"type": "message", "subtype": "bot_message",
                                   "user": BOT_USER, "bot_id": BOT_ID, "text": escaped,
                                   "app_id": "A0HERALD"}
        if args.get("blocks"):
            message["blocks"] = args["blocks"]
        ts = self._store(channel, message, args.get("thread_ts") or None)
        return {"channel": channel, "ts": ts, "message": self._message(channel, ts)}

    def _chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(args.get("channel") or ""))
        if channel is None:
            raise KeyError("channel_not_found")
        ts = str(args.get("message_ts") or "")
        if self._message(channel, ts) is None:
            raise KeyError("message_not_found")
        return {"channel": channel,
                "permalink": f"{WORKSPACE}/archives/{channel}/p{ts.replace('.', '')}"}

    def _users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        """A member by the email on their profile (needs the users:read.email scope)."""
        email = str(args.get("email") or "").lower()
        found = next((u for u in self.users.values() if (u.email or "").lower() == email), None)
        if found is None:
            raise KeyError("users_not_found")
        return self._users_info({"user": found.id})

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user") or ""))
        if user is None:
            raise KeyError("user_not_found")
        profile: dict[str, Any] = {"real_name": user.name, "display_name": user.name}
        if user.email:
            profile["email"] = user.email
        return {"user": {"id": user.id, "team_id": TEAM, "name": user.name.lower(),
                         "real_name": user.name, "is_bot": False, "profile": profile}}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel not in self.channels:  # ids only, as Slack: a #name is not found
            raise KeyError("channel_not_found")
        limit = int(args.get("limit") or 100)
        top = [m for m in self.messages[channel]
               if "thread_ts" not in m or m["thread_ts"] == m["ts"]]
        newest = sorted(top, key=lambda m: float(m["ts"]), reverse=True)
        return {"messages": newest[:limit], "has_more": len(newest) > limit, "pin_count": 0,
                "response_metadata": {"next_cursor": ""}}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel not in self.channels:
            raise KeyError("channel_not_found")
        found = self._message(channel, str(args.get("ts") or ""))
        if found is None:
            raise KeyError("thread_not_found")
        root = found.get("thread_ts") or found["ts"]
        thread = [m for m in self.messages[channel]
                  if m["ts"] == root or m.get("thread_ts") == root]
        limit = int(args.get("limit") or 1000)
        ordered = sorted(thread, key=lambda m: float(m["ts"]))
        return {"messages": ordered[:limit], "has_more": len(ordered) > limit,
                "response_metadata": {"next_cursor": ""}}


_MARKUP = re.compile(r"(<[!@#][^<>]*>|<https?://[^<>]*>)")


def _escape(text: str) -> str:
    """Slack keeps &, < and > escaped in a message's text, except its own <...> markup."""
    parts = _MARKUP.split(text)
    return "".join(p if i % 2 else
                   p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                   for i, p in enumerate(parts))


# Slack calling Herald -------------------------------------------------------------------------

def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Callbacks:
    """Slack's side of the Slack app: commands and button clicks, signed, sent to Herald."""

    client: httpx.Client  # a TestClient of the Herald app, or an httpx.Client with base_url
    slack: FakeSlack
    secret: str = SIGNING_SECRET
    path: str = "/slack/events"

    def signed_headers(self, body: bytes, *, secret: str | None = None,
                       timestamp: int | None = None) -> dict[str, str]:
        """The headers Slack adds: the request time and the signature over it and the body."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {"x-slack-request-timestamp": ts,
                "x-slack-signature": signature(secret or self.secret, ts, body)}

    def send(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST a form body to /slack/events with exactly these extra headers."""
        return self.client.post(self.path, content=body, headers={
            "content-type": "application/x-www-form-urlencoded", **(headers or {})})

    def command_body(self, text: str, user: str, *, command: str = "/herald",
                     channel: str = "C0INCIDENT") -> bytes:
        """A slash command's urlencoded body, as Slack sends it."""
        return urlencode({
            "token": "deprecated-verification-token", "team_id": TEAM,
            "team_domain": "herald-test", "channel_id": channel, "channel_name": "incident",
            "user_id": user, "user_name": user.lower(), "command": command, "text": text,
            "api_app_id": "A0HERALD", "is_enterprise_install": "false",
            "response_url": self.slack.response_url(),
            "trigger_id": f"{int(time.time())}.1.abc"}).encode()

    def action_body(self, action_id: str, value: str, user: str) -> bytes:
        """A block_actions payload (a button click), form-encoded as Slack sends it."""
        payload = {
            "type": "block_actions", "team": {"id": TEAM, "domain": "herald-test"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A0HERALD", "token": "deprecated-verification-token",
            "container": {"type": "message", "message_ts": "1767258001.000002",
                          "channel_id": "C0INCIDENT", "is_ephemeral": False},
            "trigger_id": f"{int(time.time())}.1.def",
            "channel": {"id": "C0INCIDENT", "name": "incident"},
            "message": {"type": "message", "ts": "1767258001.000002", "text": "review"},
            "response_url": self.slack.response_url(),
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b1",
                         "text": {"type": "plain_text", "text": action_id}, "value": value,
                         "action_ts": f"{time.time():.6f}"}]}
        return urlencode({"payload": json.dumps(payload)}).encode()

    def command(self, text: str, user: str) -> httpx.Response:
        """A signed `/herald TEXT` from a Slack user."""
        body = self.command_body(text, user)
        return self.send(body, self.signed_headers(body))

    def click(self, action_id: str, value: str, user: str) -> httpx.Response:
        """A signed click on a message button."""
        body = self.action_body(action_id, value, user)
        return self.send(body, self.signed_headers(body))

    def last_reply(self) -> str:
        """The text Herald last sent back through a response_url."""
        assert self.slack.responses, "Herald sent nothing to the response_url"
        return str(self.slack.responses[-1].get("text"))
