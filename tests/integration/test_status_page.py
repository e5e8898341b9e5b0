"""The status page services on SQLite and PostgreSQL: posting rules, the recommendation and
overrides on record, reminders at the right times, the stored documents (Statuspage v2 shapes,
feeds), the static export, and security incidents kept off the page everywhere."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import select

from herald.clock import FixedClock
from herald.errors import InvalidInput, Refused
from herald.services import incidents, status_page, status_posts, views
from herald.services.context import Herald
from herald.store.outbox_models import OutboxItem
from herald.store.status_models import StatusPost
from tests.status_setup import MESSENGER, TITLE, audit_actions, components, customers, incident

# Statuspage's public API v2: every field of each object, and the values each may take.
PAGE = {"id", "name", "url", "time_zone", "updated_at"}
STATUS = {"indicator", "description"}
COMPONENT = {"id", "name", "status", "created_at", "updated_at", "position", "description",
             "showcase", "start_date", "group_id", "page_id", "group", "only_show_if_degraded"}
INCIDENT = {"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at",
            "impact", "shortlink", "started_at", "page_id", "incident_updates", "components"}
UPDATE = {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
          "affected_components", "deliver_notifications", "custom_tweet", "tweet_id"}
AFFECTED = {"code", "name", "old_status", "new_status"}
INDICATORS = {"none", "minor", "major", "critical"}
COMPONENT_STATUSES = {"operational", "degraded_performance", "partial_outage", "major_outage",
                      "under_maintenance"}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
IMPACTS = {"none", "minor", "major", "critical"}
DOCUMENTS = {  # path -> the top-level keys
    "api/v2/summary.json": {"page", "status", "components", "incidents",
                            "scheduled_maintenances"},
    "api/v2/status.json": {"page", "status"},
    "api/v2/components.json": {"page", "components"},
    "api/v2/incidents.json": {"page", "incidents"},
    "api/v2/incidents/unresolved.json": {"page", "incidents"},
    "api/v2/scheduled-maintenances.json": {"page", "scheduled_maintenances"},
}


def _time(value: Any) -> None:
    assert isinstance(value, str) and datetime.fromisoformat(value).utcoffset() is not None


def check_v2(path: str, data: dict[str, Any]) -> None:
    """Every field name and value set of a Statuspage v2 document."""
    assert set(data) == DOCUMENTS[path], path
    page = data["page"]
    assert set(page) == PAGE and page["time_zone"] == "Etc/UTC"
    _time(page["updated_at"])
    if "status" in data:
        assert set(data["status"]) == STATUS and data["status"]["indicator"] in INDICATORS
    for c in data.get("components", []):
        assert set(c) == COMPONENT and c["status"] in COMPONENT_STATUSES
        assert isinstance(c["id"], str) and isinstance(c["position"], int)
        assert isinstance(c["showcase"], bool) and c["group"] is False
        assert c["page_id"] == page["id"]
        _time(c["created_at"])
        _time(c["updated_at"])
    for i in data.get("incidents", []):
        assert set(i) == INCIDENT, i.keys()
        assert i["status"] in INCIDENT_STATUSES and i["impact"] in IMPACTS
        assert i["page_id"] == page["id"] and i["shortlink"].startswith(page["url"])
        for key in ("created_at", "updated_at", "started_at"):
            _time(i[key])
        assert (i["resolved_at"] is None) == (i["status"] != "resolved")
        for u in i["incident_updates"]:
            assert set(u) == UPDATE and u["status"] in INCIDENT_STATUSES
            assert u["incident_id"] == i["id"] and isinstance(u["deliver_notifications"], bool)
            for key in ("created_at", "updated_at", "display_at"):
                _time(u[key])
            for a in u["affected_components"] or []:
                assert set(a) == AFFECTED
                assert {a["old_status"], a["new_status"]} <= COMPONENT_STATUSES
        for c in i["components"]:
            assert set(c) == COMPONENT
    assert data.get("scheduled_maintenances", []) == []


def docs(h: Herald) -> dict[str, Any]:
    """The stored JSON documents, parsed."""
    return {p: json.loads(d.body) for p, d in status_page.load_documents(h).items()
            if p.endswith(".json")}


def sequence(h: Herald, clock: FixedClock, ref: str) -> None:
    """investigating -> identified -> identified -> resolved, 30 minutes apart."""
    why = "most cloud customers are impacted"
    status_posts.post_status(h, ref, "investigating", actor=MESSENGER, impact="major",
                             components={"search": "partial_outage"}, override=why)
    for _ in range(2):
        clock.advance(minutes=30)
        status_posts.post_status(h, ref, "identified", actor=MESSENGER, impact="major",
                                 components={"search": "degraded_performance"}, override=why)
    clock.advance(minutes=30)
    status_posts.post_status(h, ref, "resolved", actor=MESSENGER, impact="major", override=why)


# Refusals -------------------------------------------------------------------------------------

def test_security_incidents_are_refused_even_with_an_override(h: Herald) -> None:
    components(h)
    ref = incident(h, security=True)
    for kind in ("investigating", "resolved-only", "identified", "resolved"):
        with pytest.raises(Refused, match="security incidents never go on the status page"):
            status_posts.post_status(h, ref, kind, actor=MESSENGER, override="customers ask")
    plan = status_posts.status_plan(h, ref)
    assert not plan.allowed and plan.security and plan.next_kinds == []
    assert "security incident" in plan.reason
    with h.db.sessions() as s:
        assert s.scalars(select(StatusPost)).all() == []
        assert s.scalars(select(OutboxItem).where(OutboxItem.kind == "status")).all() == []


def test_posting_against_the_recommendation_needs_a_reason_which_is_kept(h: Herald) -> None:
    ref = incident(h)
    customers(h, ref, impacted=1, total=4)  # 25% of cloud customers: below the threshold
    plan = status_posts.status_plan(h, ref)
    assert plan.allowed and not plan.recommended and "limited reach" in plan.reason
    with pytest.raises(Refused, match="give an override reason"):
        status_posts.post_status(h, ref, "resolved-only", actor=MESSENGER)
    with pytest.raises(Refused, match="give an override reason"):
        status_posts.post_status(h, ref, "resolved-only", actor=MESSENGER, override="   ")
    post = status_posts.post_status(h, ref, "resolved-only", actor=MESSENGER,
                                    override="the CEO asked for a public note")
    assert post.override_reason == "the CEO asked for a public note"
    assert status_posts.status_plan(h, ref).posts[0].override_reason == post.override_reason
    entry = audit_actions(h, "status.posted")[-1]
    assert entry.after["override"] == "the CEO asked for a public note"
    assert entry.after["recommended"] is False and "limited reach" in entry.after["recommendation"]


def test_recommended_posts_need_no_override_and_record_the_recommendation(h: Herald) -> None:
    ref = incident(h)
    customers(h, ref, impacted=3, total=4)  # 75% of cloud customers
    plan = status_posts.status_plan(h, ref)
    assert plan.recommended and "wide reach" in plan.reason
    post = status_posts.post_status(h, ref, "investigating", actor=MESSENGER,
                                    override="ignored when recommended")
    assert post.override_reason is None and post.status == "investigating"
    assert "It affects you only if you upgraded" in post.body
    entry = audit_actions(h, "status.posted")[-1]
    assert entry.after["recommended"] is True and "wide reach" in entry.after["recommendation"]


def test_posts_follow_the_sequence(h: Herald, clock: FixedClock) -> None:
    ref = incident(h)
    for kind in ("identified", "resolved"):
        with pytest.raises(Refused, match="cannot come now"):
            status_posts.post_status(h, ref, kind, actor=MESSENGER, override="x")
    status_posts.post_status(h, ref, "investigating", actor=MESSENGER, override="x")
    with pytest.raises(Refused, match="cannot come now"):
        status_posts.post_status(h, ref, "resolved-only", actor=MESSENGER, override="x")
    with pytest.raises(InvalidInput, match="kind must be one of"):
        status_posts.post_status(h, ref, "monitoring", actor=MESSENGER, override="x")
    with pytest.raises(InvalidInput, match="unknown component"):
        status_posts.post_status(h, ref, "identified", actor=MESSENGER, override="x",
                                 components={"nope": "major_outage"})
    assert status_posts.status_plan(h, ref).next_kinds == ["identified", "resolved"]


# Reminders -------------------------------------------------------------------------------------

def test_follow_ups_fall_due_every_30_minutes_and_remind_through_chat(
        h: Herald, clock: FixedClock) -> None:
    ref = incident(h)
    start = clock.now()
    status_posts.post_status(h, ref, "investigating", actor=MESSENGER, override="wide enough")
    assert status_posts.status_due(h, ref).next_due == start + timedelta(minutes=30)
    clock.advance(minutes=29, seconds=59)
    assert status_page.remind_due_posts(h) == 0
    assert not status_posts.status_due(h, ref).overdue
    clock.advance(seconds=1)  # exactly 30 minutes: due
    assert status_posts.status_due(h, ref).overdue
    header = status_posts.due_of(h, views.incident_detail(h, ref).id, security=False)
    assert header == status_posts.status_due(h, ref)  # what the incident pages show
    assert status_page.remind_due_posts(h) == 1
    assert status_page.remind_due_posts(h) == 0  # once per due time
    clock.advance(minutes=29)
    assert status_page.remind_due_posts(h) == 0
    clock.advance(minutes=1)  # still overdue 30 minutes later: reminded again
    assert status_page.remind_due_posts(h) == 1

    clock.advance(minutes=5)  # the follow-up goes out at 65 minutes
    status_posts.post_status(h, ref, "identified", actor=MESSENGER, override="wide enough")
    second = clock.now()
    assert status_posts.status_due(h, ref).next_due == second + timedelta(minutes=30)
    assert status_page.remind_due_posts(h) == 0
    clock.advance(minutes=30)
    assert status_page.remind_due_posts(h) == 1
    status_posts.post_status(h, ref, "identified", actor=MESSENGER, override="wide enough")
    clock.advance(hours=2)  # two follow-ups made: only resolved remains, nothing more is due
    assert status_posts.status_due(h, ref).next_due is None
    assert status_page.remind_due_posts(h) == 0

    with h.db.sessions() as s:
        rows = s.scalars(select(OutboxItem).where(OutboxItem.kind == "chat")
                         .order_by(OutboxItem.id)).all()
        texts = [r.payload["text"] for r in rows]
        assert [r.payload["channel"] for r in rows] == ["#incidents"] * 3
        assert all(r.payload["kind"] == "chat_status_due" for r in rows)
    assert "next status page update for inc-1 is due at 09:30 UTC" in texts[0]
    assert "overdue by 30 minutes" in texts[1]
    assert f"herald status-page post {ref} --kind identified" in texts[0]
    assert "due at 10:35 UTC" in texts[2]


def test_reminders_go_to_the_incident_channel_and_never_for_resolved_or_security(
        h: Herald, clock: FixedClock) -> None:
    ref = incident(h)
    incidents.add_link(h, ref, "channel", "https://acme.slack.com/archives/C0INC1",
                       actor=MESSENGER)
    status_posts.post_status(h, ref, "investigating", actor=MESSENGER, override="x")
    done = incident(h, "inc-2")
    status_posts.post_status(h, done, "resolved-only", actor=MESSENGER, override="x")
    secret = incident(h, "inc-3")
    status_posts.post_status(h, secret, "investigating", actor=MESSENGER, override="x")
    incidents.set_security(h, secret, on=True, actor=MESSENGER)  # a leak after all
    clock.advance(minutes=45)
    assert status_posts.status_due(h, secret).next_due is None
    assert status_posts.due_of(h, views.incident_detail(h, secret).id,
                               security=True).next_due is None
    assert status_page.remind_due_posts(h) == 1
    with h.db.sessions() as s:
        (row,) = s.scalars(select(OutboxItem).where(OutboxItem.kind == "chat")).all()
        assert row.payload["channel"] == "C0INC1" and row.payload["purpose"] == "incident"
        assert "for inc-1 is overdue by 15 minutes" in row.payload["text"]


# Documents --------------------------------------------------------------------------------------

def test_documents_follow_statuspage_v2_field_names_and_values(
        h: Herald, clock: FixedClock) -> None:
    components(h)
    ref = incident(h)
    sequence(h, clock, ref)
    clock.advance(hours=1)
    active = incident(h, "inc-2", title="Webhooks are delayed")
    status_posts.post_status(h, active, "investigating", actor=MESSENGER, override="x",
                             impact="minor", components={"web": "degraded_performance",
                                                         "api": "major_outage"})
    found = docs(h)
    for path in DOCUMENTS:
        check_v2(path, found[path])
    summary = found["api/v2/summary.json"]
    assert summary["status"] == {"indicator": "critical", "description": "Major System Outage"}
    assert [c["id"] for c in summary["components"]] == ["api", "search", "web"]
    assert {c["id"]: c["status"] for c in summary["components"]} == {
        "api": "major_outage", "search": "operational", "web": "degraded_performance"}
    assert [i["name"] for i in summary["incidents"]] == ["Webhooks are delayed"]
    assert found["api/v2/incidents/unresolved.json"]["incidents"] == summary["incidents"]
    listed = found["api/v2/incidents.json"]["incidents"]
    assert [i["name"] for i in listed] == ["Webhooks are delayed", TITLE]
    resolved = listed[1]
    assert resolved["status"] == "resolved" and resolved["impact"] == "major"
    assert [u["status"] for u in resolved["incident_updates"]] == [
        "resolved", "identified", "identified", "investigating"]  # newest first
    first = resolved["incident_updates"][-1]
    assert first["affected_components"] == [{"code": "search", "name": "Search",
                                             "old_status": "operational",
                                             "new_status": "partial_outage"}]
    assert resolved["incident_updates"][0]["affected_components"] == [
        {"code": "search", "name": "Search", "old_status": "degraded_performance",
         "new_status": "operational"}]
    assert resolved["resolved_at"] == resolved["updated_at"]
    assert [c["id"] for c in resolved["components"]] == ["search"]
    assert found["api/v2/status.json"] == {"page": summary["page"],
                                           "status": summary["status"]}


def test_feeds_carry_each_incident_and_its_updates(h: Herald, clock: FixedClock) -> None:
    components(h)
    ref = incident(h)
    sequence(h, clock, ref)
    stored = status_page.load_documents(h)
    for path in ("history.atom", "history.rss"):
        feed = feedparser.parse(stored[path].body)
        assert not feed.bozo, (path, feed.get("bozo_exception"))
        assert feed.feed.title == "Service status - incident history"
        (entry,) = feed.entries
        assert entry.title == TITLE
        assert entry.link.startswith("http://localhost:8400/status/#incident-")
        text = entry.content[0].value if path.endswith("atom") else entry.description
        for word in ("Investigating", "Identified", "Resolved"):
            assert word in text
        assert "It affects you only if you upgraded to 5.2.0" in text
        assert "We have a fix. To apply it on your side: upgrade to 5.2.1." in text
    assert feedparser.parse(stored["history.atom"].body).version == "atom10"
    assert feedparser.parse(stored["history.rss"].body).version == "rss20"


def test_documents_change_only_when_their_bytes_do(h: Herald, clock: FixedClock) -> None:
    components(h)
    before = status_page.load_documents(h)
    clock.advance(minutes=5)
    status_page.set_component(h, "web", "partial_outage", actor=MESSENGER)
    after = status_page.load_documents(h)
    assert after["api/v2/components.json"].etag != before["api/v2/components.json"].etag
    assert after["api/v2/components.json"].modified_at == clock.now().replace(microsecond=0)
    assert after["status.css"].etag == before["status.css"].etag
    assert after["status.css"].modified_at == before["status.css"].modified_at
    same = "api/v2/scheduled-maintenances/active.json"  # its page.updated_at moved: new
    assert after[same].etag != before[same].etag


def test_the_page_shows_components_incidents_and_history(h: Herald, clock: FixedClock) -> None:
    components(h)
    sequence(h, clock, incident(h))
    clock.advance(hours=1)
    status_posts.post_status(h, incident(h, "inc-2", title="Webhooks <b>late</b>"),
                             "investigating", actor=MESSENGER, override="x")
    page = status_page.load_documents(h)["index.html"].body.decode()
    assert "<h2 id=\"active-h\">Active incidents</h2>" in page
    assert "Webhooks &lt;b&gt;late&lt;/b&gt;" in page and "<b>late" not in page
    assert "<h2 id=\"history-h\">Past incidents</h2>" in page and TITLE in page
    assert "<time datetime=\"" in page and " UTC</time>" in page
    assert 'href="history.atom"' in page and 'src="status.js"' in page


def test_security_incidents_never_appear_even_when_flagged_after_posting(
        h: Herald, clock: FixedClock) -> None:
    components(h)
    ref = incident(h, title="Tokens leaked in logs")
    status_posts.post_status(h, ref, "investigating", actor=MESSENGER, override="x")
    assert "Tokens leaked" in status_page.load_documents(h)["index.html"].body.decode()
    incidents.set_security(h, ref, on=True, actor=MESSENGER)  # raising it takes it off
    stored = status_page.load_documents(h)
    for path, doc in stored.items():
        assert b"Tokens leaked" not in doc.body, path
    assert status_page.remind_due_posts(h) == 0


def test_static_export_writes_the_served_bytes(h: Herald, clock: FixedClock,
                                               tmp_path: Path) -> None:
    components(h)
    sequence(h, clock, incident(h))
    written = status_page.export(h, tmp_path / "site")
    stored = status_page.load_documents(h)
    assert {p.relative_to(tmp_path / "site").as_posix() for p in written} == set(stored)
    for path, doc in stored.items():
        assert (tmp_path / "site" / path).read_bytes() == doc.body, path


def test_every_change_re_exports_when_a_folder_is_set(h: Herald, clock: FixedClock,
                                                      tmp_path: Path) -> None:
    h.settings.status_export_dir = tmp_path / "public"
    components(h)
    ref = incident(h)
    status_posts.post_status(h, ref, "investigating", actor=MESSENGER, override="x")
    summary = json.loads((tmp_path / "public" / "api/v2/summary.json").read_bytes())
    assert [i["status"] for i in summary["incidents"]] == ["investigating"]
    clock.advance(minutes=30)
    status_posts.post_status(h, ref, "resolved", actor=MESSENGER, override="x")
    summary = json.loads((tmp_path / "public" / "api/v2/summary.json").read_bytes())
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"


def test_components_are_managed_with_their_rules(h: Herald) -> None:
    components(h)
    with pytest.raises(Exception, match="exists already"):
        status_page.add_component(h, "API", "Again", actor=MESSENGER)
    with pytest.raises(InvalidInput, match="component code"):
        status_page.add_component(h, "no spaces", "X", actor=MESSENGER)
    with pytest.raises(InvalidInput, match="status must be one of"):
        status_page.set_component(h, "api", "down", actor=MESSENGER)
    assert [(c.code, c.position) for c in status_page.list_components(h)] == [
        ("api", 1), ("search", 2), ("web", 3)]
    assert audit_actions(h, "status.component_added")[0].target == "api"
