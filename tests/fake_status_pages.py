"""Fake hosted status pages speaking the vendors' documented APIs over real HTTP on loopback:
Atlassian Statuspage v1 and incident.io status pages v2. They check what a real service
checks (authentication, required fields, value sets, the documented limits) and keep every
request so tests can read what Herald sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ATLASSIAN_STATUSES = {"investigating", "identified", "monitoring", "resolved", "scheduled",
                      "in_progress", "verifying", "completed"}
ATLASSIAN_COMPONENT = {"operational", "under_maintenance", "degraded_performance",
                       "partial_outage", "major_outage", ""}
IMPACTS = {"none", "minor", "major", "critical"}
INCIDENTIO_STATUSES = {"investigating", "identified", "monitoring", "resolved"}
INCIDENTIO_COMPONENT = {"operational", "degraded_performance", "partial_outage", "full_outage"}


@dataclass
class Fake:
    """State of one fake service."""

    key: str
    page_id: str
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    busy: int = 0  # answer this many next requests with 429
    retry_after: str = "7"
    down: int = 0  # answer this many next requests with 503
    subscribers: int = 10  # incident.io refuses to notify more than 1,000
    idempotency: dict[str, dict[str, Any]] = field(default_factory=dict)
    url: str = ""

    def bodies(self) -> list[Any]:
        """The JSON bodies received, in order (rate-limited ones included)."""
        return [r[3] for r in self.requests]


class _Handler(BaseHTTPRequestHandler):
    fake: Fake
    vendor: str

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            self._answer(400, {"error": "body is not JSON"})
            return
        f = self.fake
        f.requests.append((self.command, self.path, dict(self.headers), data))
        if f.busy:
            f.busy -= 1
            self._answer(429, {"error": "rate limited"}, {"Retry-After": f.retry_after})
            return
        if f.down:
            f.down -= 1
            self._answer(503, {"error": "unavailable"})
            return
        if self.vendor == "atlassian":
            self._atlassian(data)
        else:
            self._incidentio(data)

    do_POST = _handle
    do_PATCH = _handle

    # Atlassian Statuspage v1 ---------------------------------------------------------------
    def _atlassian(self, data: Any) -> None:
        f = self.fake
        if self.headers.get("Authorization") != f"OAuth {f.key}":
            self._answer(401, {"error": "Could not authenticate"})
            return
        base = f"/v1/pages/{f.page_id}/incidents"
        if not isinstance(data, dict) or not isinstance(data.get("incident"), dict):
            self._answer(422, {"error": "incident is missing"})
            return
        inc = data["incident"]
        problems = []
        if inc.get("status") not in ATLASSIAN_STATUSES:
            problems.append("status")
        if "impact_override" in inc and inc["impact_override"] not in IMPACTS:
            problems.append("impact_override")
        comps = inc.get("components", {})
        if not isinstance(comps, dict) or not set(comps.values()) <= ATLASSIAN_COMPONENT:
            problems.append("components")
        if "component_ids" in inc and sorted(inc["component_ids"]) != sorted(comps):
            problems.append("component_ids")
        if not isinstance(inc.get("body", ""), str):
            problems.append("body")
        if self.command == "POST" and self.path == base:
            if not inc.get("name"):
                problems.append("name")
            if problems:
                self._answer(422, {"error": f"invalid: {', '.join(problems)}"})
                return
            incident_id = f"atl{len(f.incidents) + 1:04d}"
            f.incidents[incident_id] = {"id": incident_id, "name": inc["name"],
                                        "status": inc["status"],
                                        "incident_updates": [inc["body"]]}
            self._answer(201, f.incidents[incident_id])
            return
        if self.command == "PATCH" and self.path.startswith(base + "/"):
            incident_id = self.path.removeprefix(base + "/")
            if incident_id not in f.incidents:
                self._answer(404, {"error": "not found"})
                return
            if problems:
                self._answer(422, {"error": f"invalid: {', '.join(problems)}"})
                return
            record = f.incidents[incident_id]
            record["status"] = inc["status"]
            record["incident_updates"].append(inc.get("body"))
            self._answer(200, record)
            return
        self._answer(404, {"error": "not found"})

    # incident.io v2 ---------------------------------------------------------------------------
    def _incidentio(self, data: Any) -> None:
        f = self.fake
        if self.headers.get("Authorization") != f"Bearer {f.key}":
            self._answer(401, {"type": "authentication_error", "status": 401})
            return
        if not isinstance(data, dict):
            self._answer(400, {"type": "bad_request"})
            return
        problems = []
        message = data.get("message")
        if not isinstance(message, str) or not message or len(message) > 4096:
            problems.append("message")
        if not isinstance(data.get("notify_subscribers"), bool):
            problems.append("notify_subscribers")
        statuses = data.get("component_statuses", [])
        if any(s.get("component_status") not in INCIDENTIO_COMPONENT or not s.get("component_id")
               for s in statuses):
            problems.append("component_statuses")
        if self.path == "/v2/status_page_incidents":
            if data.get("idempotency_key") in f.idempotency:
                self._answer(201, {"status_page_incident":
                                   f.idempotency[data["idempotency_key"]]})
                return
            for key in ("idempotency_key", "status_page_id"):
                if not data.get(key):
                    problems.append(key)
            if data.get("status_page_id") not in (None, f.page_id):
                problems.append("status_page_id")
            if not data.get("name") or len(data["name"]) > 200:
                problems.append("name")
            if data.get("incident_status") not in INCIDENTIO_STATUSES:
                problems.append("incident_status")
        elif self.path == "/v2/status_page_incident_updates":
            record = f.incidents.get(data.get("status_page_incident_id", ""))
            if record is None:
                self._answer(404, {"type": "not_found"})
                return
            if data.get("incident_status") not in (None, *INCIDENTIO_STATUSES):
                problems.append("incident_status")
            if data.get("incident_status") == "resolved" and "component_statuses" in data:
                problems.append("component_statuses must not be set when resolving")
            if len(record["updates"]) >= 100:
                problems.append("an incident takes at most 100 updates")
        else:
            self._answer(404, {"type": "not_found"})
            return
        if data.get("notify_subscribers") and f.subscribers > 1000:
            problems.append("notify_subscribers: cannot notify subscribers of a status page "
                            "with more than 1000 subscribers")
        if problems:
            self._answer(422, {"type": "validation_error", "status": 422,
                               "errors": [{"message": p} for p in problems]})
            return
        update = {"id": f"upd{sum(len(i['updates']) for i in f.incidents.values()) + 1}",
                  "incident_status": data.get("incident_status"), "message": message,
                  "component_statuses": statuses,
                  "published_at": "2026-01-01T09:00:00.000000Z"}
        if self.path == "/v2/status_page_incidents":
            incident_id = f"01SPI{len(f.incidents) + 1:04d}"
            record = {"id": incident_id, "name": data["name"],
                      "incident_status": data["incident_status"],
                      "status_page_id": f.page_id, "component_impacts": [],
                      "published_at": update["published_at"],
                      "updates": [update | {"status_page_incident_id": incident_id}]}
            f.incidents[incident_id] = record
            f.idempotency[data["idempotency_key"]] = record
            self._answer(201, {"status_page_incident": record})
            return
        record = f.incidents[data["status_page_incident_id"]]
        update["status_page_incident_id"] = record["id"]
        record["updates"].append(update)
        if data.get("incident_status"):
            record["incident_status"] = data["incident_status"]
        self._answer(201, {"status_page_incident_update": update})


@contextmanager
def fake_service(vendor: str, *, key: str = "k-secret", page_id: str = "pg1") -> Iterator[Fake]:
    """Run a fake `atlassian` or `incidentio` service on a free loopback port."""
    fake = Fake(key=key, page_id=page_id)
    handler = type("Handler", (_Handler,), {"fake": fake, "vendor": vendor})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True, name=f"fake-{vendor}")
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
