"""Support desks: where each customer email's follow-up (a ticket) lives.

`builtin` keeps nothing outside Herald: the follow-up items are the tickets. `zendesk` keeps a
ticket per email in Zendesk (REST API v2, `{email}/token:{token}` Basic auth): it finds the
ticket the support address's copy of the email created, or creates one; sets the customer as
requester, the status to pending, the messenger as assignee and the incident's tags; reads
statuses back (a customer reply turns a pending ticket open); solves quiet ones.

Nothing here touches the database; services/tickets.py decides what to do and records it.
A 429 (or 5xx, or no answer) raises DeskBusy with the server's Retry-After: the caller stops
its pass and tries again later, so nothing is lost, only postponed. Other refusals raise
DeskRefused, which names the request.
"""

from __future__ import annotations

import difflib
import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from herald.channels.status_pages import retry_after
from herald.errors import InvalidInput
from herald.settings import Settings

SHOW_MANY_MAX = 100  # ids per show_many request
CREATED_SLACK = timedelta(minutes=10)  # clocks differ: a support copy may predate our record
MATCH_WINDOW = timedelta(days=2)  # a support copy arrives within this after the email


class DeskBusy(Exception):
    """The desk cannot take requests now (rate limit, outage): try again after `retry_after`."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeskRefused(Exception):
    """The desk refused a request (bad credentials, unknown agent, invalid field)."""


class StaleTicket(DeskRefused):
    """The ticket changed since it was read (safe update refused): read it again first."""


@dataclass(frozen=True)
class TicketSpec:
    """What one customer email's ticket must carry."""

    key: str  # the email's Message-ID: external_id and idempotency key
    subject: str  # the subject the customer received
    sent_at: datetime
    requester_email: str
    requester_name: str
    assignee_email: str | None
    tags: tuple[str, ...]
    note: str  # the internal note of a ticket Herald creates itself
    body: str = ""  # the text the customer received (tells apart emails of one subject)


@dataclass(frozen=True)
class Ticket:
    """A ticket as the desk reports it."""

    id: str
    status: str  # new, open, pending, hold, solved, closed
    updated_at: str | None = None  # the desk's stamp, for safe updates
    external_id: str | None = None
    subject: str = ""


class TicketDesk(Protocol):
    """A support desk holding a ticket per customer email."""

    name: str
    external: bool  # False: the follow-up items are the tickets (nothing to call)

    def ensure(self, spec: TicketSpec, taken: set[str], *, create: bool) -> Ticket | None:
        """The email's ticket, set up as `spec` says: found, or created when `create`;
        None when it is not there yet. `taken` are ticket ids other emails already own."""
        ...

    def tickets(self, ids: list[str]) -> dict[str, Ticket]:
        """The current state of these tickets (missing ones are left out)."""
        ...

    def latest_comment(self, ticket_id: str) -> str | None:
        """The newest public comment's text (the customer's reply, when it turned open)."""
        ...

    def solve(self, ticket: Ticket) -> Ticket:
        """Solve a ticket nobody touched since it was read (raises StaleTicket otherwise)."""
        ...


@dataclass
class BuiltinDesk:
    """Herald's own follow-up items are the tickets: nothing to call."""

    name: str = "builtin"
    external: bool = False

    def ensure(self, spec: TicketSpec, taken: set[str], *, create: bool) -> Ticket | None:
        """Nothing outside Herald."""
        return None

    def tickets(self, ids: list[str]) -> dict[str, Ticket]:
        """Nothing outside Herald."""
        return {}

    def latest_comment(self, ticket_id: str) -> str | None:
        """Nothing outside Herald."""
        return None

    def solve(self, ticket: Ticket) -> Ticket:
        """Nothing outside Herald."""
        return ticket


def _same_subject(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _words(text: str) -> str:
    return " ".join(text.split())[:3000]


def _ticket(data: dict[str, Any]) -> Ticket:
    return Ticket(id=str(data["id"]), status=str(data.get("status") or "new"),
                  updated_at=data.get("updated_at"), external_id=data.get("external_id"),
                  subject=str(data.get("subject") or ""))


def idempotency_key(key: str) -> str:
    """A stable Idempotency-Key for the creation of one email's ticket (at most 255 chars)."""
    return "herald-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:48]


@dataclass
class ZendeskDesk:
    """Zendesk Support's REST API v2."""

    base_url: str
    email: str
    token: str
    timeout: float = 15.0
    name: str = "zendesk"
    external: bool = True
    _http: httpx.Client | None = field(default=None, init=False, repr=False)

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=self.timeout,
                                      auth=(f"{self.email}/token", self.token),
                                      headers={"accept": "application/json"})
        return self._http

    def close(self) -> None:
        """Close the kept connection (a new one opens on the next request)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def _request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                 body: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                 ok: tuple[int, ...] = (200, 201)) -> dict[str, Any]:
        url = self.base_url.rstrip("/") + path
        try:
            response = self._client().request(method, url, params=params, json=body,
                                              headers=headers)
        except httpx.HTTPError as exc:  # unreachable or no answer: the next pass tries again
            raise DeskBusy(f"Zendesk did not answer {method} {path}: {exc}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise DeskBusy(f"Zendesk answered {method} {path} with HTTP "
                           f"{response.status_code}", retry_after(response))
        if response.status_code == 409:
            raise StaleTicket(f"{method} {path}: the ticket changed meanwhile")
        if response.status_code not in ok:
            raise DeskRefused(f"Zendesk refused {method} {path}: HTTP {response.status_code} "
                              f"{response.text.strip()[:300]}")
        try:
            data = response.json()
        except ValueError:
            raise DeskRefused(f"Zendesk answered {method} {path} with no JSON") from None
        if not isinstance(data, dict):
            raise DeskRefused(f"Zendesk answered {method} {path} with unexpected JSON")
        return data

    # finding -------------------------------------------------------------------------------

    def by_external_id(self, key: str) -> Ticket | None:
        """The ticket Herald already set up for this email (found by its external id)."""
        data = self._request("GET", "/api/v2/tickets.json", params={"external_id": key})
        found = [t for t in data.get("tickets") or [] if t.get("external_id") == key]
        return _ticket(found[0]) if found else None

    def support_copy(self, spec: TicketSpec, taken: set[str]) -> Ticket | None:
        """The ticket the support address's copy created: same subject, created around the
        send, no external id yet (no other email's), not owned by another email. Where the
        same subject went to several contacts, the one whose description (the email's text)
        is closest to this contact's email wins."""
        since = (spec.sent_at - CREATED_SLACK).strftime("%Y-%m-%dT%H:%M:%SZ")
        words = spec.subject.replace('"', " ").replace("\\", " ")
        query = f'type:ticket subject:"{" ".join(words.split())}" created>{since}'
        data = self._request("GET", "/api/v2/search.json",
                             params={"query": query, "sort_by": "created_at",
                                     "sort_order": "asc"})
        candidates = []
        for r in data.get("results") or []:
            if r.get("result_type", "ticket") != "ticket" or str(r.get("id")) in taken:
                continue
            if r.get("external_id") or not _same_subject(str(r.get("subject") or ""),
                                                        spec.subject):
                continue
            created = _when(r.get("created_at"))
            if created is not None and not (spec.sent_at - CREATED_SLACK <= created
                                            <= spec.sent_at + MATCH_WINDOW):
                continue
            candidates.append(r)
        if not candidates:
            return None
        if len(candidates) == 1 or not spec.body:
            return _ticket(candidates[0])
        # One subject, several contacts (an account's people get the same subject): the
        # ticket whose first comment reads most like this contact's email is theirs.
        mine = _words(spec.body)
        best = max(candidates, key=lambda r: difflib.SequenceMatcher(
            None, mine, _words(str(r.get("description") or "")), autojunk=False).ratio())
        return _ticket(best)

    # writing -------------------------------------------------------------------------------

    def _fields(self, spec: TicketSpec) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "requester": {"email": spec.requester_email,
                          "name": spec.requester_name or spec.requester_email},
            "status": "pending", "external_id": spec.key}
        if spec.assignee_email:
            fields["assignee_email"] = spec.assignee_email
        return fields

    def claim(self, ticket: Ticket, spec: TicketSpec) -> Ticket:
        """Make a found ticket this email's: requester, pending, assignee, tags, external id."""
        body = self._fields(spec) | {"additional_tags": list(spec.tags)}
        data = self._request("PUT", f"/api/v2/tickets/{ticket.id}.json", body={"ticket": body})
        return _ticket(data["ticket"])

    def create(self, spec: TicketSpec) -> Ticket:
        """A ticket for an email whose support copy never became one (an internal note, so
        the customer is not emailed again). The Idempotency-Key makes a repeated request
        return the first ticket instead of a second one."""
        body = self._fields(spec) | {"subject": spec.subject, "tags": list(spec.tags),
                                     "comment": {"body": spec.note, "public": False}}
        data = self._request("POST", "/api/v2/tickets.json", body={"ticket": body},
                             headers={"Idempotency-Key": idempotency_key(spec.key)})
        return _ticket(data["ticket"])

    def ensure(self, spec: TicketSpec, taken: set[str], *, create: bool) -> Ticket | None:
        """Ours already (external id), else the support copy made ours, else a new one."""
        mine = self.by_external_id(spec.key)
        if mine is not None:
            return mine
        found = self.support_copy(spec, taken)
        if found is not None:
            return self.claim(found, spec)
        return self.create(spec) if create else None

    def tickets(self, ids: list[str]) -> dict[str, Ticket]:
        """GET /api/v2/tickets/show_many.json?ids=..., 100 at a time."""
        out: dict[str, Ticket] = {}
        for start in range(0, len(ids), SHOW_MANY_MAX):
            chunk = ids[start:start + SHOW_MANY_MAX]
            data = self._request("GET", "/api/v2/tickets/show_many.json",
                                 params={"ids": ",".join(chunk)})
            for t in data.get("tickets") or []:
                ticket = _ticket(t)
                out[ticket.id] = ticket
        return out

    def latest_comment(self, ticket_id: str) -> str | None:
        """The newest public comment (GET /api/v2/tickets/{id}/comments.json)."""
        data = self._request("GET", f"/api/v2/tickets/{ticket_id}/comments.json",
                             params={"sort_order": "desc"})
        public = [c for c in data.get("comments") or [] if c.get("public", True)]
        return str(public[0].get("body") or "") if public else None

    def solve(self, ticket: Ticket) -> Ticket:
        """PUT status solved, as a safe update: refused (StaleTicket) if the ticket changed
        since it was read, e.g. the customer wrote meanwhile."""
        body: dict[str, Any] = {"status": "solved"}
        if ticket.updated_at:
            body |= {"safe_update": True, "updated_stamp": ticket.updated_at}
        data = self._request("PUT", f"/api/v2/tickets/{ticket.id}.json", body={"ticket": body})
        return _ticket(data["ticket"])


def desk_for(settings: Settings) -> TicketDesk:
    """The configured desk (HERALD_TICKETS)."""
    if settings.tickets == "builtin":
        return BuiltinDesk()
    missing = [name for name, value in (("HERALD_ZENDESK_URL", settings.zendesk_url),
                                        ("HERALD_ZENDESK_EMAIL", settings.zendesk_email),
                                        ("HERALD_ZENDESK_TOKEN", settings.zendesk_token))
               if not value]
    if missing:
        raise InvalidInput("HERALD_TICKETS=zendesk needs " + ", ".join(missing))
    assert settings.zendesk_url and settings.zendesk_email and settings.zendesk_token
    return ZendeskDesk(settings.zendesk_url, settings.zendesk_email,
                       settings.zendesk_token.get_secret_value(),
                       timeout=settings.zendesk_timeout)


def sleep_for(seconds: float | None, cap: float) -> None:
    """Wait as the desk asked, at most `cap` seconds (the CLI's patient sync)."""
    time.sleep(min(cap, max(0.0, seconds if seconds is not None else 1.0)))
