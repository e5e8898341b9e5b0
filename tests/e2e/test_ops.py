"""Operations over HTTP: /metrics, /healthz and the structured, redacted logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError

from herald import __version__
from herald.clock import FixedClock
from herald.logging import configure_logging
from herald.services import health, incidents
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database
from herald.store.outbox_models import OutboxItem
from herald.web.app import create_app
from tests.helpers import MESSENGER, new_incident

LOCAL = ("127.0.0.1", 50000)
SECRET_TITLE = "Customer Zephyrine Analytics lost exports"
UNREACHABLE = "postgresql://herald:pw@127.0.0.1:1/nowhere?connect_timeout=2"


def client(h: Herald, address: tuple[str, int] = LOCAL) -> TestClient:
    """An in-process HTTP client calling from the given address."""
    return TestClient(create_app(h), client=address)


def scrape(h: Herald) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parse /metrics with Prometheus's own parser: {(sample name, labels): value}."""
    response = client(h).get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(response.text) for s in fam.samples}


def open_count(h: Herald, severity: str, security: bool) -> float:
    """herald_incidents_open for one severity and security flag."""
    key = ("herald_incidents_open",
           (("security", "true" if security else "false"), ("severity", severity)))
    return scrape(h)[key]


def test_metrics_parse_and_expose_every_family(h: Herald) -> None:
    samples = scrape(h)
    assert samples[("herald_build_info", (("version", __version__),))] == 1
    for state in ("queued", "sending", "retry", "unknown"):
        assert samples[("herald_outbox_depth", (("state", state),))] == 0
    for state in ("sent", "failed", "cancelled"):
        assert samples[("herald_sends_total", (("state", state),))] == 0
    assert samples[("herald_incidents_open", (("security", "true"), ("severity", "sev1")))] == 0
    assert samples[("herald_workers", (("state", "alive"),))] == 0


def test_open_incident_counts_follow_opening_and_closing(h: Herald) -> None:
    assert open_count(h, "sev2", False) == 0
    ref = incidents.create_incident(h, title="Slow search", actor=MESSENGER,
                                    messenger=MESSENGER, severity="sev2")
    sec = incidents.create_incident(h, title="Leaked keys", actor=MESSENGER,
                                    messenger=MESSENGER, severity="sev2", security=True)
    new_incident(h, number="inc-9")  # no severity yet
    incidents.create_incident(h, title="Demo", actor=MESSENGER, messenger=MESSENGER,
                              severity="sev2", demo=True)  # demos are not counted
    assert open_count(h, "sev2", False) == 1
    assert open_count(h, "sev2", True) == 1
    assert open_count(h, "none", False) == 1
    incidents.set_status(h, ref, "closed", actor=MESSENGER)
    incidents.set_status(h, sec, "resolved", actor=MESSENGER)
    assert open_count(h, "sev2", False) == 0
    assert open_count(h, "sev2", True) == 0


def test_outbox_rows_are_counted_by_state(h: Herald) -> None:
    now = h.clock.now()
    states = ["queued", "queued", "unknown", "sent", "sent", "sent", "cancelled", "failed"]
    with h.db.transaction() as s:  # rows as the sending service leaves them
        s.add_all(OutboxItem(kind="email", key=f"k{i}", payload={}, state=state, attempts=1,
                             next_attempt_at=now, created_at=now,
                             recipient="someone@customer.example")
                  for i, state in enumerate(states))
    samples = scrape(h)
    depth = {st: samples[("herald_outbox_depth", (("state", st),))]
             for st in ("queued", "sending", "retry", "unknown")}
    sends = {st: samples[("herald_sends_total", (("state", st),))]
             for st in ("sent", "failed", "cancelled")}
    assert depth == {"queued": 2, "sending": 0, "retry": 0, "unknown": 1}
    assert sends == {"sent": 3, "failed": 1, "cancelled": 1}
    assert "customer.example" not in client(h).get("/metrics").text


def test_metrics_show_no_titles_or_emails(h: Herald) -> None:
    incidents.create_incident(h, title=SECRET_TITLE, actor="lena.quist@example.com",
                              messenger="lena.quist@example.com", severity="sev1",
                              security=True, number="inc-77")
    body = client(h).get("/metrics").text
    assert "Zephyrine" not in body
    assert "@" not in body
    assert "inc-77" not in body


@pytest.mark.parametrize("address", [("10.1.2.3", 4000), ("testclient", 50000),
                                     ("203.0.113.9", 4000)])
def test_metrics_without_a_token_refuse_remote_clients(h: Herald,
                                                      address: tuple[str, int]) -> None:
    response = client(h, address).get("/metrics")
    assert response.status_code == 403
    assert "HERALD_METRICS_TOKEN" in response.text


def test_metrics_without_a_token_serve_loopback_but_not_through_a_proxy(h: Herald) -> None:
    assert client(h, ("::1", 4000)).get("/metrics").status_code == 200
    assert client(h, ("127.0.0.2", 4000)).get("/metrics").status_code == 200
    proxied = client(h).get("/metrics", headers={"x-forwarded-for": "198.51.100.7"})
    assert proxied.status_code == 403


def test_metrics_with_a_token_require_it_from_everyone(h: Herald) -> None:
    h.settings = h.settings.model_copy(update={"metrics_token": SecretStr("scrape-me-please")})
    remote = client(h, ("10.1.2.3", 4000))
    assert client(h).get("/metrics").status_code == 401  # loopback is no longer enough
    wrong = remote.get("/metrics", headers={"authorization": "Bearer scrape-me-not"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    right = remote.get("/metrics", headers={"authorization": "Bearer scrape-me-please"})
    assert right.status_code == 200
    assert "herald_incidents_open" in right.text


def test_healthz_is_ok_without_any_worker(h: Herald) -> None:
    response = client(h).get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["schema"] == h.db.head_revision()
    assert body["worker"] == "none"


def test_healthz_turns_stale_when_the_worker_stops_beating(h: Herald, clock: FixedClock) -> None:
    health.beat(h, "worker@host-1")
    ok = client(h).get("/healthz")
    assert ok.status_code == 200
    assert ok.json()["worker"] == "ok"
    assert ok.json()["workers"]["alive"] == 1

    clock.advance(seconds=h.settings.worker_stale_seconds + 1)
    stale = client(h).get("/healthz")
    assert stale.status_code == 503
    assert stale.json()["status"] == "error"
    assert stale.json()["worker"] == "stale"

    health.beat(h, "worker@host-1")
    assert client(h).get("/healthz").json()["worker"] == "ok"
    health.stopped(h, "worker@host-1")  # a clean stop is not a failure
    assert client(h).get("/healthz").json()["worker"] == "none"


def test_one_live_worker_keeps_health_ok_beside_a_silent_one(h: Herald,
                                                            clock: FixedClock) -> None:
    health.beat(h, "worker@host-1")
    clock.advance(seconds=h.settings.worker_stale_seconds * 2)
    health.beat(h, "worker@host-2")
    body = client(h).get("/healthz").json()
    assert body["worker"] == "ok"
    assert body["workers"] == {"alive": 1, "stale": 1,
                               "last_beat_at": clock.now().isoformat()}
    scraped = scrape(h)
    assert scraped[("herald_workers", (("state", "stale"),))] == 1

    # A worker silent for a day (crashed, its name never used again) is forgotten when
    # another starts; one that still beats is kept.
    clock.advance(days=1)
    health.beat(h, "worker@host-2")
    health.beat(h, "worker@host-3")
    assert client(h).get("/healthz").json()["workers"]["stale"] == 0
    assert client(h).get("/healthz").json()["workers"]["alive"] == 2


def test_healthz_and_metrics_answer_503_when_the_database_is_unreachable(h: Herald) -> None:
    down = replace(h, db=Database(UNREACHABLE))
    try:
        response = client(down).get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "error", "database": "unreachable", "schema": None}
        assert client(down).get("/metrics").status_code == 503
    finally:
        down.db.dispose()


def test_healthz_fails_on_an_empty_database(h: Herald, tmp_path: Path) -> None:
    empty = replace(h, db=Database(f"sqlite:///{tmp_path / 'empty.db'}"))
    try:
        response = client(empty).get("/healthz")
        assert response.status_code == 503
        assert "herald init" in response.json()["database"]
    finally:
        empty.db.dispose()


# --- logs -----------------------------------------------------------------------------------

DB_PASSWORD = "Tr0ub4dor-and-3"
API_TOKEN = "hrld_AbCdEf0123456789ghIJkl_mnOPqrs"


@pytest.fixture
def log_lines(tmp_path: Path) -> Iterator[io.StringIO]:
    """Configure JSON logging (DEBUG) into a buffer, as `herald serve` does; undo afterwards."""
    root = logging.getLogger()
    level = root.level
    settings = Settings(home=tmp_path, log_format="json", log_level="DEBUG",
                        database_url=f"postgresql://herald:{DB_PASSWORD}@db.internal/herald",  # type: ignore[arg-type]
                        secret_key="s3ss10n-signing-key-value")  # type: ignore[arg-type]
    buffer = io.StringIO()
    handler = configure_logging(settings, stream=buffer)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def parsed(buffer: io.StringIO) -> list[dict[str, object]]:
    """Every line must be one JSON object."""
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_request_logs_are_json_lines_with_request_fields(h: Herald,
                                                         log_lines: io.StringIO) -> None:
    response = client(h).get("/healthz?token=setup-secret", headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    request = next(e for e in parsed(log_lines) if e["logger"] == "herald.request")
    assert request["request_id"] == "abc-123"
    assert request["method"] == "GET"
    assert request["path"] == "/healthz"  # never the query string
    assert request["status"] == 200
    assert isinstance(request["duration_ms"], float)
    assert request["level"] == "debug"  # health probes stay out of INFO
    assert {"ts", "level", "logger", "message"} <= request.keys()
    assert "setup-secret" not in log_lines.getvalue()


def test_logs_redact_tokens_passwords_and_the_database_password(
        h: Herald, log_lines: io.StringIO) -> None:
    web = client(h)
    web.get("/", headers={"authorization": f"Bearer {API_TOKEN}",
                          "cookie": "herald_session=cookie-value-123456"})
    login = web.post("/login", data={"email": "a@example.com", "password": "hunter2-form-pw"})
    assert login.status_code == 403  # no CSRF token: refused before anything else
    log = logging.getLogger("herald.test")
    log.warning("connecting to postgresql://herald:%s@db.internal/herald", DB_PASSWORD)
    log.info("form was email=a@example.com&password=hunter2-form-pw&csrf_token=xyz987654")
    log.info("headers: %s", {"Authorization": f"Bearer {API_TOKEN}", "Cookie": "herald_session=c"})
    log.info("calling the API with Authorization: Bearer sk-live-0123456789")
    log.info("the database said %s", DB_PASSWORD)  # the literal configured password
    log.info("signing with %s", "s3ss10n-signing-key-value")  # any secret setting's value
    try:
        raise IntegrityError("INSERT INTO people (email) VALUES (?)",
                             ("customer@bigcorp.example",), Exception("UNIQUE failed"))
    except IntegrityError:
        log.exception("insert failed")
    out = log_lines.getvalue()
    entries = parsed(log_lines)
    assert any(e.get("path") == "/login" and e.get("status") == 403 for e in entries)
    for secret in (API_TOKEN, "hunter2-form-pw", DB_PASSWORD, "xyz987654", "cookie-value-123456",
                   "sk-live-0123456789", "customer@bigcorp.example", "s3ss10n-signing-key"):
        assert secret not in out, secret
    assert "[REDACTED]" in out
    failed = next(e for e in entries if e["message"] == "insert failed")
    assert "IntegrityError" in str(failed["exception"])


def test_text_format_is_one_readable_line(tmp_path: Path) -> None:
    root = logging.getLogger()
    level = root.level
    buffer = io.StringIO()
    handler = configure_logging(Settings(home=tmp_path, log_format="text"), stream=buffer)
    try:
        logging.getLogger("herald.test").info("token=abcdef123456 issued", extra={"status": 201})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    line = buffer.getvalue().strip()
    assert "INFO" in line and "herald.test: token=[REDACTED] issued" in line
    assert line.endswith("status=201")



def settings_row(name: str) -> str:
    """A table row for docs/operations.md, from the setting's own default and description."""
    field = Settings.model_fields[name]
    default = field.get_default(call_default_factory=True)
    text = json.dumps(default) if isinstance(default, list | dict) else str(default)
    shown = "unset" if default is None else f"`{text}`"
    secret = " Secret: never logged." if "SecretStr" in str(field.annotation) else ""
    return f"| `HERALD_{name.upper()}` | {shown} | {field.description}{secret} |"


def test_operations_doc_lists_every_setting() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    missing = [settings_row(name) for name in Settings.model_fields
               if f"`HERALD_{name.upper()}`" not in doc]
    assert not missing, ("add these rows (edit as needed) to the configuration table in "
                         "docs/operations.md:\n" + "\n".join(missing))
