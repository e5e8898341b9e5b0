"""Hosted status pages through the outbox: the real adapters over real HTTP against fakes of
Atlassian Statuspage v1 and incident.io v2 on loopback (rate limits and limits included)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from herald.channels.status_pages import (
    AtlassianStatuspage,
    IncidentIoStatusPage,
    hosted_page,
    retry_after,
)
from herald.clock import FixedClock
from herald.delivery.status_lane import post_due_status
from herald.errors import InvalidInput
from herald.services import status_posts
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.outbox_models import OutboxItem
from herald.store.status_models import StatusRemote
from tests.fake_status_pages import fake_service
from tests.status_setup import MESSENGER, components, incident

WORKER = "worker@test:1"
WHY = "most customers are impacted"


def rows(h: Herald) -> list[OutboxItem]:
    """The status outbox rows, in order."""
    with h.db.sessions() as s:
        found = s.scalars(select(OutboxItem).where(OutboxItem.kind == "status")
                          .order_by(OutboxItem.id)).all()
        s.expunge_all()
        return list(found)


def post(h: Herald, ref: str, kind: str, **kw: object) -> None:
    status_posts.post_status(h, ref, kind, actor=MESSENGER, override=WHY, **kw)  # type: ignore[arg-type]


def test_atlassian_sequence_creates_then_updates_one_incident(
        h: Herald, clock: FixedClock) -> None:
    h.settings.statuspage_provider = "atlassian"
    h.settings.status_component_ids = {"search": "cmp-search-1"}
    components(h)
    ref = incident(h)
    with fake_service("atlassian") as fake:
        page = AtlassianStatuspage("k-secret", "pg1", fake.url, min_interval=0)
        post(h, ref, "investigating", impact="major", components={"search": "partial_outage"})
        assert [r.state for r in rows(h)] == ["queued"]
        assert post_due_status(h, WORKER, page) == 1
        clock.advance(minutes=30)
        post(h, ref, "identified", impact="major",
             components={"search": "degraded_performance"})
        clock.advance(minutes=30)
        post(h, ref, "resolved", impact="major")
        assert post_due_status(h, WORKER, page) == 2
    assert [r.state for r in rows(h)] == ["sent"] * 3
    (created, *updates) = fake.requests
    assert created[0] == "POST" and created[1] == "/v1/pages/pg1/incidents"
    assert created[2]["Authorization"] == "OAuth k-secret"
    body = created[3]["incident"]
    assert body["name"] == "Search misses new repositories" and body["status"] == "investigating"
    assert body["impact_override"] == "major" and "It affects you only if" in body["body"]
    assert body["component_ids"] == ["cmp-search-1"]
    assert body["components"] == {"cmp-search-1": "partial_outage"}
    assert [(m, p) for m, p, _, _ in updates] == [("PATCH", "/v1/pages/pg1/incidents/atl0001")] * 2
    assert [u[3]["incident"]["status"] for u in updates] == ["identified", "resolved"]
    assert updates[1][3]["incident"]["components"] == {"cmp-search-1": "operational"}
    assert fake.incidents["atl0001"]["status"] == "resolved"
    with h.db.sessions() as s:
        remote = s.scalar(select(StatusRemote))
        assert remote is not None and (remote.remote_id, remote.updates) == ("atl0001", 3)


def test_atlassian_429_waits_for_retry_after_and_keeps_the_order(
        h: Herald, clock: FixedClock) -> None:
    h.settings.statuspage_provider = "atlassian"
    ref = incident(h)
    post(h, ref, "investigating")
    clock.advance(minutes=30)
    post(h, ref, "identified")
    with fake_service("atlassian") as fake:
        page = AtlassianStatuspage("k-secret", "pg1", fake.url, min_interval=0)
        fake.busy = 1  # the first request gets 429, Retry-After: 7
        assert post_due_status(h, WORKER, page) == 2
        first, second = rows(h)
        assert first.state == "retry" and "HTTP 429" in (first.error or "")
        assert first.next_attempt_at == clock.now() + timedelta(seconds=7)
        # the update must not overtake the creation: it waits without spending an attempt
        assert second.state == "retry" and "waiting for the incident's earlier post" in (
            second.error or "")
        assert second.attempts == 0 and second.next_attempt_at >= first.next_attempt_at
        assert post_due_status(h, WORKER, page) == 0  # nothing is due before Retry-After
        clock.advance(seconds=8)
        assert post_due_status(h, WORKER, page) == 2
    assert [r.state for r in rows(h)] == ["sent", "sent"]
    assert [(m, p) for m, p, _, _ in fake.requests] == [
        ("POST", "/v1/pages/pg1/incidents"), ("POST", "/v1/pages/pg1/incidents"),
        ("PATCH", "/v1/pages/pg1/incidents/atl0001")]


def test_atlassian_refusals_fail_and_outages_retry(h: Herald, clock: FixedClock) -> None:
    h.settings.statuspage_provider = "atlassian"
    post(h, incident(h), "resolved-only")
    post(h, incident(h, "inc-2"), "resolved-only")
    with fake_service("atlassian") as fake:
        wrong_key = AtlassianStatuspage("not-the-key", "pg1", fake.url, min_interval=0)
        fake.down = 1
        assert post_due_status(h, WORKER, wrong_key, batch=1) == 2
        first, second = rows(h)
        assert first.state == "retry" and "HTTP 503" in (first.error or "")
        assert second.state == "failed" and "HTTP 401" in (second.error or "")
    with fake_service("atlassian") as gone:
        url = gone.url
    dead = AtlassianStatuspage("k-secret", "pg1", url, min_interval=0)
    clock.advance(hours=1)
    assert post_due_status(h, WORKER, dead) == 1
    assert rows(h)[0].state == "retry" and "unreachable" in (rows(h)[0].error or "")


def test_incidentio_sequence_notifies_first_and_last_and_maps_statuses(
        h: Herald, clock: FixedClock) -> None:
    h.settings.statuspage_provider = "incidentio"
    components(h)
    ref = incident(h)
    with fake_service("incidentio", page_id="01PAGE") as fake:
        page = IncidentIoStatusPage("k-secret", "01PAGE", fake.url)
        post(h, ref, "investigating", impact="critical", components={"api": "major_outage"})
        for _ in range(2):
            clock.advance(minutes=30)
            post(h, ref, "identified", components={"api": "partial_outage"})
        clock.advance(minutes=30)
        post(h, ref, "resolved")
        assert post_due_status(h, WORKER, page) == 4
    assert [r.state for r in rows(h)] == ["sent"] * 4
    paths = [p for _, p, _, _ in fake.requests]
    assert paths == ["/v2/status_page_incidents"] + ["/v2/status_page_incident_updates"] * 3
    assert {r[2]["Authorization"] for r in fake.requests} == {"Bearer k-secret"}
    create, *ups = fake.bodies()
    assert create["idempotency_key"] and create["status_page_id"] == "01PAGE"
    assert create["component_statuses"] == [{"component_id": "api",
                                             "component_status": "full_outage"}]
    assert [b["notify_subscribers"] for b in fake.bodies()] == [True, False, False, True]
    assert [b["incident_status"] for b in ups] == ["identified", "identified", "resolved"]
    assert "component_statuses" not in ups[-1]  # resolving sets them operational there
    (record,) = fake.incidents.values()
    assert record["incident_status"] == "resolved" and len(record["updates"]) == 4


def test_incidentio_posts_without_notifying_a_page_over_1000_subscribers(
        h: Herald) -> None:
    h.settings.statuspage_provider = "incidentio"
    post(h, incident(h), "resolved-only")
    with fake_service("incidentio") as fake:
        fake.subscribers = 1500
        assert post_due_status(h, WORKER, IncidentIoStatusPage("k-secret", "pg1", fake.url)) == 1
    (row,) = rows(h)
    assert row.state == "sent" and "subscribers not notified" in (row.reply or "")
    assert [b["notify_subscribers"] for b in fake.bodies()] == [True, False]


def test_incidentio_retried_creation_reuses_its_idempotency_key(h: Herald,
                                                                clock: FixedClock) -> None:
    h.settings.statuspage_provider = "incidentio"
    post(h, incident(h), "investigating")
    with fake_service("incidentio") as fake:
        page = IncidentIoStatusPage("k-secret", "pg1", fake.url)
        fake.busy = 1
        fake.retry_after = "Wed, 21 Oct 2015 07:28:00 GMT"  # a date in the past: at once
        post_due_status(h, WORKER, page)
        clock.advance(seconds=60)
        post_due_status(h, WORKER, page)
    keys = [b["idempotency_key"] for b in fake.bodies()]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert len(fake.incidents) == 1 and rows(h)[0].state == "sent"


def test_incidentio_limits_updates_per_incident(h: Herald, clock: FixedClock) -> None:
    h.settings.statuspage_provider = "incidentio"
    ref = incident(h)
    post(h, ref, "investigating")
    with fake_service("incidentio") as fake:
        page = IncidentIoStatusPage("k-secret", "pg1", fake.url)
        assert post_due_status(h, WORKER, page) == 1
        with h.db.transaction() as s:
            remote = s.scalar(select(StatusRemote))
            assert remote is not None
            remote.updates = 100  # as if a hundred updates had gone out
        clock.advance(minutes=30)
        post(h, ref, "resolved")
        assert post_due_status(h, WORKER, page) == 1
    assert rows(h)[1].state == "failed" and "at most 100 updates" in (rows(h)[1].error or "")
    assert len(fake.requests) == 1


def test_incidentio_refuses_too_long_messages_before_sending(h: Herald) -> None:
    page = IncidentIoStatusPage("k", "pg1", "http://127.0.0.1:9/")
    from herald.channels.status_pages import Post

    long = Post(key="k1", name="x", status="investigating", impact="minor", body="a" * 4097,
                components={}, first=True, final=False)
    assert page.create(long).outcome == "failed"


def test_builtin_provider_queues_nothing_and_configuration_is_checked(h: Herald) -> None:
    post(h, incident(h), "resolved-only")
    assert rows(h) == [] and post_due_status(h, WORKER) == 0
    with pytest.raises(InvalidInput, match="HERALD_STATUSPAGE_API_KEY"):
        hosted_page(Settings(statuspage_provider="atlassian"))
    with pytest.raises(InvalidInput, match="HERALD_INCIDENTIO_API_KEY"):
        hosted_page(Settings(statuspage_provider="incidentio"))
    atlassian = hosted_page(Settings(statuspage_provider="atlassian",
                                     statuspage_api_key="k",  # type: ignore[arg-type]
                                     statuspage_page_id="pg"))
    assert isinstance(atlassian, AtlassianStatuspage) and atlassian.min_interval == 1.0
    secret = Settings(statuspage_api_key="sekrit-value-123")  # type: ignore[arg-type]
    assert "sekrit-value-123" not in repr(secret)


def test_a_post_queued_for_another_provider_is_not_sent_elsewhere(h: Herald) -> None:
    h.settings.statuspage_provider = "atlassian"
    post(h, incident(h), "resolved-only")
    with fake_service("incidentio") as fake:
        post_due_status(h, WORKER, IncidentIoStatusPage("k-secret", "pg1", fake.url))
    assert rows(h)[0].state == "failed" and fake.requests == []


def test_retry_after_reads_seconds_and_dates() -> None:
    import httpx

    assert retry_after(httpx.Response(429, headers={"Retry-After": "12"})) == 12.0
    assert retry_after(httpx.Response(429)) is None
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    past = retry_after(httpx.Response(429, headers={"Retry-After":
                                                    "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert past == 0.0


def test_the_worker_round_reminds_and_sends(h: Herald, clock: FixedClock) -> None:
    from herald.delivery.status_lane import run_status_work

    ref = incident(h)
    post(h, ref, "investigating")
    assert run_status_work(h, WORKER) == 0  # built-in page alone, nothing due yet
    clock.advance(minutes=30)
    h.settings.statuspage_provider = "atlassian"  # misconfigured: reminders still go
    assert run_status_work(h, WORKER) == 1
    h.settings.statuspage_api_key = SecretStr("k-secret")
    with fake_service("atlassian") as fake:
        h.settings.statuspage_page_id, h.settings.statuspage_base_url = "pg1", fake.url
        post(h, ref, "identified")
        assert run_status_work(h, WORKER) == 1  # the identified post (queued as atlassian)
        assert run_status_work(h, WORKER) == 0
    assert [r.state for r in rows(h)] == ["sent"]
    assert fake.requests[0][3]["incident"]["status"] == "identified"


def test_a_post_queued_before_the_security_flag_is_never_sent(h: Herald) -> None:
    from herald.services import incidents

    h.settings.statuspage_provider = "atlassian"
    ref = incident(h)
    post(h, ref, "investigating")
    incidents.set_security(h, ref, on=True, actor=MESSENGER)
    with fake_service("atlassian") as fake:
        assert post_due_status(h, WORKER, AtlassianStatuspage("k-secret", "pg1", fake.url,
                                                              min_interval=0)) == 1
    assert fake.requests == []
    assert rows(h)[0].state == "failed" and "security incident" in (rows(h)[0].error or "")
