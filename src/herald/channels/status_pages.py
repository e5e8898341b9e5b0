"""Hosted status pages: Atlassian Statuspage (v1 API) and incident.io status pages (v2 API).

Each adapter creates the page's incident with the first post and adds the later posts to it.
Nothing here touches the database; the status lane (delivery/status_lane.py) decides what to
send and records the outcome. Rate limits (429, and Statuspage's 420) and outages come back
as retries with the server's Retry-After; refusals (401, 403, 404, 422) as failures; a request
that may have reached the server without an answer as unknown, which a person settles.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from herald.settings import Settings

RETRY_STATUSES = {420, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class StatusReceipt:
    """What one request did."""

    outcome: str  # sent, retry, failed, unknown
    detail: str
    remote_id: str | None = None
    retry_after: float | None = None
    counted: bool = True  # False: nothing was tried (waiting for an earlier post)


@dataclass(frozen=True)
class Post:
    """One status post, as a hosted page needs it."""

    key: str  # unique per post (idempotency key where the API has one)
    name: str
    status: str  # investigating, identified, resolved
    impact: str  # none, minor, major, critical
    body: str
    components: dict[str, str]  # hosted page component id -> Statuspage component status
    first: bool
    final: bool


class HostedStatusPage(Protocol):
    """A status page that lives elsewhere."""

    name: str
    max_updates: int | None

    def create(self, post: Post) -> StatusReceipt:
        """Open the page's incident with its first post."""
        ...

    def update(self, remote_id: str, post: Post) -> StatusReceipt:
        """Add a post to the page's incident (resolving it with the last one)."""
        ...


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (delta-seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _short(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code}: {text[:300]}"


@dataclass
class _Client:
    """One HTTP client per adapter, with a minimum spacing between requests."""

    base_url: str
    headers: dict[str, str]
    timeout: float = 15.0
    min_interval: float = 0.0  # seconds between two requests (a per-key rate limit)
    _last: float = field(default=0.0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def send(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response | StatusReceipt:
        """The response, or a receipt when there was none."""
        with self._lock:
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # the provider's per-second limit: a pause, not a retry
            self._last = time.monotonic()
        url = self.base_url.rstrip("/") + "/" + path.lstrip("/")
        try:
            with httpx.Client(timeout=self.timeout, headers=self.headers) as client:
                return client.request(method, url, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing reached the page
            return StatusReceipt("retry", f"status page unreachable: {exc}")
        except httpx.HTTPError as exc:  # sent, no answer: it may or may not be posted
            return StatusReceipt("unknown", f"no answer from the status page ({exc}); check "
                                            "the page, then resend or mark it posted")


def _receipt(response: httpx.Response, remote_id: str | None) -> StatusReceipt:
    if response.status_code in RETRY_STATUSES:
        return StatusReceipt("retry", _short(response), retry_after=retry_after(response))
    if response.status_code >= 400:
        return StatusReceipt("failed", _short(response))
    return StatusReceipt("sent", f"HTTP {response.status_code}" +
                         (f", incident {remote_id}" if remote_id else ""), remote_id=remote_id)


@dataclass
class AtlassianStatuspage:
    """Atlassian Statuspage's REST API v1 (`Authorization: OAuth <key>`); about one request
    per second per key, so requests are spaced and 420/429 answers retried after their
    Retry-After."""

    api_key: str
    page_id: str
    base_url: str = "https://api.statuspage.io/"
    min_interval: float = 1.0
    name: str = "atlassian"
    max_updates: int | None = None
    _client: _Client = field(init=False)

    def __post_init__(self) -> None:
        self._client = _Client(self.base_url, {"Authorization": f"OAuth {self.api_key}"},
                               min_interval=self.min_interval)

    def _incident(self, post: Post, *, with_name: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"status": post.status, "body": post.body,
                                "impact_override": post.impact,
                                "deliver_notifications": True}
        if with_name:
            body["name"] = post.name[:255]
        if post.components:
            body["component_ids"] = sorted(post.components)
            body["components"] = dict(post.components)
        return {"incident": body}

    def create(self, post: Post) -> StatusReceipt:
        """POST /v1/pages/{page_id}/incidents."""
        got = self._client.send("POST", f"v1/pages/{self.page_id}/incidents",
                                self._incident(post, with_name=True))
        if isinstance(got, StatusReceipt):
            return got
        remote = _field(got, "id") if got.status_code < 300 else None
        if got.status_code < 300 and not remote:
            return StatusReceipt("unknown", f"{_short(got)}: created, but no incident id came "
                                            "back; check the page")
        return _receipt(got, remote)

    def update(self, remote_id: str, post: Post) -> StatusReceipt:
        """PATCH /v1/pages/{page_id}/incidents/{incident_id}."""
        got = self._client.send("PATCH", f"v1/pages/{self.page_id}/incidents/{remote_id}",
                                self._incident(post, with_name=False))
        return got if isinstance(got, StatusReceipt) else _receipt(got, remote_id)


def _field(response: httpx.Response, *path: str) -> str | None:
    try:
        data: Any = response.json()
    except ValueError:
        return None
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return str(data) if data not in (None, "") else None


# incident.io's component statuses differ from Statuspage's in two values.
INCIDENTIO_STATUS = {"operational": "operational", "degraded_performance": "degraded_performance",
                     "partial_outage": "partial_outage", "major_outage": "full_outage",
                     "under_maintenance": "degraded_performance"}
INCIDENTIO_MESSAGE_MAX = 4096
INCIDENTIO_NAME_MAX = 200
INCIDENTIO_MAX_UPDATES = 100  # per status page incident, the creation included


@dataclass
class IncidentIoStatusPage:
    """incident.io's status page API v2 (`Authorization: Bearer <key>`).

    Creation carries an idempotency key (the post's), so a retried creation never opens a
    second incident. Limits kept: messages up to 4,096 characters, titles up to 200, at most
    100 updates per incident; subscribers are notified as `notify` says (all posts, the first
    and the last, or none), and a page with over 1,000 subscribers, where incident.io refuses
    to notify, gets the post without the notification (said in the outcome)."""

    api_key: str
    status_page_id: str
    base_url: str = "https://api.incident.io/"
    notify: str = "first_and_last"
    min_interval: float = 0.0
    name: str = "incidentio"
    max_updates: int | None = INCIDENTIO_MAX_UPDATES
    _client: _Client = field(init=False)

    def __post_init__(self) -> None:
        self._client = _Client(self.base_url, {"Authorization": f"Bearer {self.api_key}"},
                               min_interval=self.min_interval)

    def _notify(self, post: Post) -> bool:
        return self.notify == "all" or (self.notify == "first_and_last"
                                        and (post.first or post.final))

    def _statuses(self, post: Post) -> list[dict[str, str]]:
        return [{"component_id": c, "component_status": INCIDENTIO_STATUS.get(s, s)}
                for c, s in sorted(post.components.items())]

    def _too_long(self, post: Post) -> StatusReceipt | None:
        if len(post.body) > INCIDENTIO_MESSAGE_MAX:
            return StatusReceipt("failed", f"incident.io takes messages up to "
                                           f"{INCIDENTIO_MESSAGE_MAX} characters; this one "
                                           f"has {len(post.body)}")
        return None

    def _send(self, path: str, body: dict[str, Any]) -> tuple[httpx.Response | StatusReceipt,
                                                               str]:
        got = self._client.send("POST", path, body)
        note = ""
        if (isinstance(got, httpx.Response) and got.status_code == 422 and body.get(
                "notify_subscribers") and "subscriber" in got.text.lower()):
            body = body | {"notify_subscribers": False}
            got = self._client.send("POST", path, body)
            note = "; subscribers not notified (incident.io notifies pages of up to 1,000)"
        return got, note

    def create(self, post: Post) -> StatusReceipt:
        """POST /v2/status_page_incidents."""
        if (problem := self._too_long(post)) is not None:
            return problem
        body: dict[str, Any] = {
            "idempotency_key": post.key, "status_page_id": self.status_page_id,
            "name": post.name[:INCIDENTIO_NAME_MAX], "incident_status": post.status,
            "message": post.body, "notify_subscribers": self._notify(post),
            "component_statuses": self._statuses(post)}
        got, note = self._send("v2/status_page_incidents", body)
        if isinstance(got, StatusReceipt):
            return got
        remote = _field(got, "status_page_incident", "id") if got.status_code < 300 else None
        if got.status_code < 300 and not remote:
            return StatusReceipt("unknown", f"{_short(got)}: created, but no incident id came "
                                            "back; check the page")
        receipt = _receipt(got, remote)
        return StatusReceipt(receipt.outcome, receipt.detail + note, receipt.remote_id,
                             receipt.retry_after)

    def update(self, remote_id: str, post: Post) -> StatusReceipt:
        """POST /v2/status_page_incident_updates (resolving with incident_status resolved,
        whereupon incident.io sets every component operational itself)."""
        if (problem := self._too_long(post)) is not None:
            return problem
        body: dict[str, Any] = {"status_page_incident_id": remote_id, "message": post.body,
                                "incident_status": post.status,
                                "notify_subscribers": self._notify(post)}
        if post.status != "resolved" and post.components:
            body["component_statuses"] = self._statuses(post)
        got, note = self._send("v2/status_page_incident_updates", body)
        if isinstance(got, StatusReceipt):
            return got
        receipt = _receipt(got, remote_id)
        return StatusReceipt(receipt.outcome, receipt.detail + note, receipt.remote_id,
                             receipt.retry_after)


def hosted_page(settings: Settings) -> HostedStatusPage | None:
    """The configured hosted page (None for the built-in page alone)."""
    from herald.errors import InvalidInput

    if settings.statuspage_provider == "atlassian":
        if settings.statuspage_api_key is None or not settings.statuspage_page_id:
            raise InvalidInput("HERALD_STATUSPAGE_PROVIDER=atlassian needs "
                               "HERALD_STATUSPAGE_API_KEY and HERALD_STATUSPAGE_PAGE_ID")
        return AtlassianStatuspage(settings.statuspage_api_key.get_secret_value(),
                                   settings.statuspage_page_id, settings.statuspage_base_url)
    if settings.statuspage_provider == "incidentio":
        if settings.incidentio_api_key is None or not settings.incidentio_status_page_id:
            raise InvalidInput("HERALD_STATUSPAGE_PROVIDER=incidentio needs "
                               "HERALD_INCIDENTIO_API_KEY and HERALD_INCIDENTIO_STATUS_PAGE_ID")
        return IncidentIoStatusPage(settings.incidentio_api_key.get_secret_value(),
                                    settings.incidentio_status_page_id,
                                    settings.incidentio_base_url, settings.incidentio_notify)
    return None
