"""A local fake of Zendesk Support's REST API v2, over real HTTP on loopback.

It speaks the parts Herald uses, with Zendesk's shapes: search (`type:ticket subject:"..."
created>...`), tickets by external id, show_many, create (with Idempotency-Key), update
(requester, status, assignee_email, additional_tags, external_id, safe_update), comments.
Auth is `{email}/token:{token}` Basic. Tests drive the world around it: a support copy of an
email becomes a ticket (`support_copy`), a customer writes (`customer_replies`); and inject
faults: a 429 storm (`storm`), a request processed whose answer is lost (`lose_answer`), a
hook run before a request is handled (`before`).
"""

from __future__ import annotations

import base64
import email
import email.policy
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from herald.channels.mail import Envelope
from herald.clock import Clock

AGENT = "herald-bot@example.com"
TOKEN = "fake-zendesk-token"


@dataclass
class Call:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class FakeZendesk:
    """The fake's state: users, tickets, idempotency keys, the calls and the faults."""

    clock: Clock
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # by email
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    keys: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    storm: Callable[[Call], float | None] | None = None  # seconds to answer 429 with, or None
    lose_answer: Callable[[Call], bool] | None = None  # handle it, then answer 503
    before: Callable[[Call], None] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))
    _stamps: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    url: str = ""

    # the world around the desk ---------------------------------------------------------------

    def user(self, address: str, name: str = "") -> dict[str, Any]:
        """Find or create a user by email."""
        with self.lock:
            found = self.users.get(address.lower())
            if found is None:
                found = {"id": next(self._ids), "email": address.lower(),
                         "name": name or address, "role": "end-user"}
                self.users[address.lower()] = found
            return found

    def email_of(self, user_id: int | None) -> str | None:
        """A user's address by id."""
        return next((u["email"] for u in self.users.values() if u["id"] == user_id), None)

    def _stamp(self) -> str:
        return (self.clock.now() + timedelta(milliseconds=next(self._stamps))).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ")

    def _new_ticket(self, subject: str, description: str, requester: dict[str, Any],
                    status: str, channel: str) -> dict[str, Any]:
        now = self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        tid = next(self._ids)
        ticket = {"id": tid, "url": f"{self.url}/api/v2/tickets/{tid}.json",
                  "external_id": None, "subject": subject, "raw_subject": subject,
                  "description": description, "status": status, "type": None,
                  "priority": None, "requester_id": requester["id"],
                  "submitter_id": requester["id"], "assignee_id": None, "tags": [],
                  "created_at": now, "updated_at": self._stamp(),
                  "via": {"channel": channel}}
        self.tickets[tid] = ticket
        self.comments[tid] = [{"id": next(self._ids), "type": "Comment",
                               "author_id": requester["id"], "body": description,
                               "public": True, "created_at": now}]
        return ticket

    def support_copy(self, envelope: Envelope) -> int:
        """The support address's copy of an email becomes a ticket (as Zendesk's email
        channel does): requester is the sender (the messenger), status new."""
        msg = email.message_from_bytes(envelope.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        sender = msg["From"].addresses[0]
        body = msg.get_body(preferencelist=("plain",))
        text = str(body.get_content()) if body is not None else ""
        with self.lock:
            return int(self._new_ticket(str(msg["Subject"]), text,
                                        self.user(sender.addr_spec, sender.display_name),
                                        "new", "email")["id"])

    def customer_replies(self, ticket_id: int, text: str) -> None:
        """The requester writes back: a public comment, and the ticket opens."""
        with self.lock:
            t = self.tickets[ticket_id]
            self.comments[ticket_id].append({
                "id": next(self._ids), "type": "Comment", "author_id": t["requester_id"],
                "body": text, "public": True,
                "created_at": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
            t["status"], t["updated_at"] = "open", self._stamp()

    def by_external_id(self, key: str) -> list[dict[str, Any]]:
        """The tickets carrying an external id."""
        return [t for t in self.tickets.values() if t["external_id"] == key]

    def requests(self, method: str | None = None, prefix: str = "") -> list[Call]:
        """The calls made (answered ones), filtered."""
        return [c for c in self.calls if (method is None or c.method == method)
                and c.path.startswith(prefix)]

    # the API ---------------------------------------------------------------------------------

    def handle(self, call: Call) -> tuple[int, dict[str, str], Any]:
        """One request: (status, headers, JSON body)."""
        auth = call.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{AGENT}/token:{TOKEN}".encode()).decode()
        if auth != expected:
            return 401, {}, {"error": "Couldn't authenticate you"}
        if self.storm is not None:
            wait = self.storm(call)
            if wait is not None:
                return 429, {"Retry-After": f"{wait:g}"}, {"error": "APIRateLimitExceeded"}
        if self.before is not None:
            self.before(call)
        with self.lock:
            status, headers, body = self._route(call)
        if status < 300 and self.lose_answer is not None and self.lose_answer(call):
            return 503, {}, {"error": "the answer was lost on the way back"}
        return status, headers, body

    def _route(self, c: Call) -> tuple[int, dict[str, str], Any]:
        p = c.path
        if c.method == "GET" and p == "/api/v2/search.json":
            return 200, {}, self._search(c.query.get("query", ""))
        if c.method == "GET" and p == "/api/v2/tickets.json":
            found = self.by_external_id(c.query.get("external_id", ""))
            return 200, {}, {"tickets": found, "count": len(found), "next_page": None,
                             "previous_page": None}
        if c.method == "GET" and p == "/api/v2/tickets/show_many.json":
            ids = [int(i) for i in c.query.get("ids", "").split(",") if i.strip()]
            return 200, {}, {"tickets": [self.tickets[i] for i in ids if i in self.tickets]}
        if c.method == "POST" and p == "/api/v2/tickets.json":
            return self._create(c)
        m = re.fullmatch(r"/api/v2/tickets/(\d+)\.json", p)
        if c.method == "PUT" and m:
            return self._update(int(m.group(1)), c.body.get("ticket") or {})
        m = re.fullmatch(r"/api/v2/tickets/(\d+)/comments\.json", p)
        if c.method == "GET" and m:
            comments = list(self.comments.get(int(m.group(1)), []))
            if c.query.get("sort_order") == "desc":
                comments.reverse()
            return 200, {}, {"comments": comments, "next_page": None, "previous_page": None,
                             "count": len(comments)}
        return 404, {}, {"error": "InvalidEndpoint", "description": "Not found"}

    def _search(self, query: str) -> dict[str, Any]:
        subject = re.search(r'subject:"([^"]*)"', query)
        since = re.search(r"created>(\S+)", query)
        out = []
        for t in self.tickets.values():
            if "type:ticket" not in query:
                continue
            if subject and subject.group(1).casefold() not in t["subject"].casefold():
                continue
            if since and not t["created_at"] > since.group(1):
                continue
            out.append(dict(t, result_type="ticket"))
        out.sort(key=lambda t: (t["created_at"], t["id"]))
        return {"results": out, "count": len(out), "next_page": None, "previous_page": None,
                "facets": None}

    def _apply(self, t: dict[str, Any], body: dict[str, Any]) -> None:
        if "requester" in body:
            r = body["requester"]
            t["requester_id"] = self.user(r["email"], r.get("name", ""))["id"]
        if "assignee_email" in body:
            agent = self.user(body["assignee_email"])
            agent["role"] = "agent"
            t["assignee_id"] = agent["id"]
        for key in ("status", "external_id", "subject"):
            if key in body:
                t[key] = body[key]
        if "tags" in body:
            t["tags"] = sorted(set(body["tags"]))
        if "additional_tags" in body:
            t["tags"] = sorted(set(t["tags"]) | set(body["additional_tags"]))
        t["updated_at"] = self._stamp()

    def _create(self, c: Call) -> tuple[int, dict[str, str], Any]:
        key = c.headers.get("idempotency-key")
        fingerprint = json.dumps(c.body, sort_keys=True)
        if key and key in self.keys:
            seen, status, answer = self.keys[key]
            if seen != fingerprint:
                return 400, {}, {"error": "IdempotentRequestError",
                                 "description": "key reused with other parameters"}
            return status, {"x-idempotency-lookup": "hit"}, answer
        body = c.body.get("ticket") or {}
        r = body.get("requester") or {}
        t = self._new_ticket(body.get("subject", ""), (body.get("comment") or {}).get(
            "body", ""), self.user(r.get("email", "unknown@example.com"), r.get("name", "")),
            "new", "api")
        self.comments[t["id"]][0]["public"] = bool((body.get("comment") or {}).get(
            "public", True))
        self._apply(t, {k: v for k, v in body.items() if k not in ("comment", "requester")})
        answer = {"ticket": dict(t), "audit": {"events": []}}
        if key:
            self.keys[key] = (fingerprint, 201, answer)
        return 201, {"x-idempotency-lookup": "miss"} if key else {}, answer

    def _update(self, tid: int, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        t = self.tickets.get(tid)
        if t is None:
            return 404, {}, {"error": "RecordNotFound", "description": "Not found"}
        if body.get("safe_update") and body.get("updated_stamp") != t["updated_at"]:
            return 409, {}, {"error": "UpdateConflict",
                             "description": "Safe Update prevented the update due to "
                                            "outdated ticket data."}
        self._apply(t, {k: v for k, v in body.items()
                        if k not in ("safe_update", "updated_stamp")})
        return 200, {}, {"ticket": dict(t), "audit": {"events": []}}


def _handler(fake: FakeZendesk) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms stalls)

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            call = Call(self.command, parts.path,
                        {k: v[0] for k, v in parse_qs(parts.query).items()},
                        {k.lower(): v for k, v in self.headers.items()},
                        json.loads(raw) if raw else None)
            status, headers, body = fake.handle(call)
            call.status = status
            with fake.lock:
                fake.calls.append(call)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_zendesk(clock: Clock) -> Iterator[FakeZendesk]:
    """Serve a fake Zendesk on a free loopback port while the block runs."""
    fake = FakeZendesk(clock)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="fake-zendesk")
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def utc(text: str) -> datetime:
    """A Zendesk timestamp as a datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
