"""The public status page: components, the stored documents, static export, due reminders.

Every document (the page, the Statuspage v2 JSON, the feeds, the page's CSS and script) is
rendered when something changes, inside the transaction that changed it, and stored with
its ETag and Last-Modified. Requests and the static export hand out those bytes.
Security incidents never appear: the queries below leave them out, whatever was posted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from herald.domain import status_posts as rules
from herald.errors import Conflict, InvalidInput, NotFound, Refused
from herald.services.common import actor_email, audit, current_role, label
from herald.services.context import Herald
from herald.store.models import Incident
from herald.store.outbox_models import OutboxItem
from herald.store.status_models import StatusComponent, StatusDocument, StatusPost

log = logging.getLogger("herald.status_page")
DOCUMENTS = Path(__file__).resolve().parent.parent / "templates" / "documents"
HISTORY = 50  # incidents in incidents.json, the history and the feeds (as Statuspage does)
IMPACT_ORDER = ["none", "minor", "major", "critical"]
STATUS_WORDS = {"operational": "Operational", "degraded_performance": "Degraded performance",
                "partial_outage": "Partial outage", "major_outage": "Major outage",
                "under_maintenance": "Under maintenance"}
UPDATE_WORDS = {"investigating": "Investigating", "identified": "Identified",
                "monitoring": "Monitoring", "resolved": "Resolved"}
JSON_TYPE = "application/json"
PATHS = {  # every document, with its content type
    "index.html": "text/html; charset=utf-8",
    "status.css": "text/css; charset=utf-8",
    "status.js": "text/javascript; charset=utf-8",
    "history.atom": "application/atom+xml; charset=utf-8",
    "history.rss": "application/rss+xml; charset=utf-8",
    "api/v2/summary.json": JSON_TYPE,
    "api/v2/status.json": JSON_TYPE,
    "api/v2/components.json": JSON_TYPE,
    "api/v2/incidents.json": JSON_TYPE,
    "api/v2/incidents/unresolved.json": JSON_TYPE,
    "api/v2/scheduled-maintenances.json": JSON_TYPE,
    "api/v2/scheduled-maintenances/upcoming.json": JSON_TYPE,
    "api/v2/scheduled-maintenances/active.json": JSON_TYPE,
}


class ComponentView(BaseModel):
    """A component of the status page."""

    code: str
    name: str
    description: str | None
    position: int
    status: str
    updated_at: datetime


# --- components -----------------------------------------------------------------------------

def _code(text_: str) -> str:
    code = (text_ or "").strip().lower()
    if not code or len(code) > 40 or not all(c.isalnum() or c in "-_" for c in code):
        raise InvalidInput("a component code is 1-40 letters, digits, - or _ (e.g. api)")
    return code


def add_component(h: Herald, code: str, name: str, *, actor: str,
                  description: str | None = None, position: int | None = None) -> ComponentView:
    """Add a component (operational) to the status page."""
    actor = actor_email(actor)
    code = _code(code)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("a component needs a name (at most 200 characters)")
    now = h.clock.now()
    with h.db.transaction() as s:
        if s.scalar(select(StatusComponent.id).where(StatusComponent.code == code)):
            raise Conflict(f"a component {code!r} exists already")
        if position is None:
            position = len(s.scalars(select(StatusComponent.id)).all()) + 1
        row = StatusComponent(code=code, name=name, description=(description or "").strip()
                              or None, position=position, status="operational",
                              created_at=now, updated_at=now)
        s.add(row)
        s.flush()
        audit(s, at=now, actor=actor, action="status.component_added", target=code,
              after={"name": name, "description": row.description})
        rebuild(h, s)
        view = _component_view(row)
    export_after_commit(h)
    return view


def set_component(h: Herald, code: str, status: str, *, actor: str) -> ComponentView:
    """Set a component's status by hand (posts set them too)."""
    actor = actor_email(actor)
    try:
        value = rules.ComponentStatus(status.strip().lower()).value
    except ValueError:
        raise InvalidInput("status must be one of: "
                           + ", ".join(c.value for c in rules.ComponentStatus)) from None
    now = h.clock.now()
    with h.db.transaction() as s:
        row = s.scalar(select(StatusComponent).where(StatusComponent.code == _code(code)))
        if row is None:
            raise NotFound(f"no component {code!r}")
        before, row.status, row.updated_at = row.status, value, now
        audit(s, at=now, actor=actor, action="status.component_set", target=row.code,
              before=before, after=value)
        rebuild(h, s)
        view = _component_view(row)
    export_after_commit(h)
    return view


def list_components(h: Herald) -> list[ComponentView]:
    """Every component in page order."""
    with h.db.sessions() as s:
        return [_component_view(c) for c in _components(s)]


def _components(s: Session) -> list[StatusComponent]:
    return list(s.scalars(select(StatusComponent)
                          .order_by(StatusComponent.position, StatusComponent.id)))


def _component_view(c: StatusComponent) -> ComponentView:
    return ComponentView(code=c.code, name=c.name, description=c.description,
                         position=c.position, status=c.status, updated_at=c.updated_at)


# --- the documents --------------------------------------------------------------------------

SALT_PATH = "_id_salt"  # a row of status_documents that is never served or exported


def id_salt(s: Session) -> bytes:
    """The page's random salt for public ids, made on first use and kept in the database
    (so every process, and every rebuild, gives a row the same id)."""
    row = s.get(StatusDocument, SALT_PATH)
    if row is None:
        row = StatusDocument(path=SALT_PATH, content_type="application/octet-stream",
                             body=secrets.token_bytes(16), etag="",
                             modified_at=datetime.now(UTC).replace(microsecond=0))
        s.add(row)
        s.flush()
    return bytes(row.body)


def public_id(kind: str, n: int, salt: bytes) -> str:
    """A stable 12-character id in Statuspage's style (a-z, 0-9) for a row of ours. Keyed
    with the page's salt: nobody can count internal incident ids from the public ones."""
    number = int.from_bytes(hmac.new(salt, f"{kind}:{n}".encode(), hashlib.sha256)
                            .digest()[:8])
    out = []
    for _ in range(12):
        number, r = divmod(number, 36)
        out.append("0123456789abcdefghijklmnopqrstuvwxyz"[r])
    return "".join(out)


def stamp(value: datetime) -> str:
    """Statuspage's timestamp form: ISO 8601 with milliseconds and the offset."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def page_url(h: Herald) -> str:
    """The public address of the page (ends with a slash)."""
    s = h.settings
    if s.status_page_url:
        return s.status_page_url.rstrip("/") + "/"
    base = (s.base_url or f"http://localhost:{s.port}").rstrip("/")
    return f"{base}/status/"


@dataclass
class _Incident:
    """One public incident with its posts (oldest first)."""

    id: str
    posts: list[StatusPost]

    @property
    def resolved(self) -> bool:
        return self.posts[-1].status == "resolved"


def _public_incidents(s: Session, salt: bytes) -> list[_Incident]:
    """Incidents with posts, newest first; security incidents are never read."""
    rows = s.scalars(select(StatusPost).join(Incident, Incident.id == StatusPost.incident_id)
                     .where(Incident.security.is_(False)).order_by(StatusPost.id)).all()
    grouped: dict[int, list[StatusPost]] = defaultdict(list)
    for p in rows:
        grouped[p.incident_id].append(p)
    found = [_Incident(public_id("incident", n, salt), posts) for n, posts in grouped.items()]
    return sorted(found, key=lambda i: (i.posts[0].posted_at, i.posts[0].id), reverse=True)


def _snapshot(h: Herald, s: Session) -> dict[str, Any]:
    """Everything the documents show, in Statuspage v2 shapes."""
    settings = h.settings
    url = page_url(h)
    comps = _components(s)
    salt = id_salt(s)
    incidents = _public_incidents(s, salt)
    changed = [c.updated_at for c in comps] + [i.posts[-1].posted_at for i in incidents]
    updated = max(changed) if changed else datetime(2000, 1, 1, tzinfo=UTC)
    page = {"id": settings.status_page_id, "name": settings.status_page_name, "url": url,
            "time_zone": "Etc/UTC", "updated_at": stamp(updated)}
    by_code = {c.code: c for c in comps}

    def component(c: StatusComponent) -> dict[str, Any]:
        return {"id": c.code, "name": c.name, "status": c.status,
                "created_at": stamp(c.created_at), "updated_at": stamp(c.updated_at),
                "position": c.position, "description": c.description, "showcase": True,
                "start_date": c.created_at.date().isoformat(), "group_id": None,
                "page_id": settings.status_page_id, "group": False,
                "only_show_if_degraded": False}

    # old_status of an update: the component's status set by the post before (any incident)
    last_seen: dict[str, str] = {}
    old_of: dict[int, dict[str, str]] = {}
    everything = sorted((p for i in incidents for p in i.posts), key=lambda p: p.id)
    for p in everything:
        old_of[p.id] = {code: last_seen.get(code, "operational") for code in p.components or {}}
        last_seen |= dict(p.components or {})

    def incident(i: _Incident) -> dict[str, Any]:
        first, last = i.posts[0], i.posts[-1]
        impact = max((p.impact for p in i.posts), key=IMPACT_ORDER.index)
        codes = [c for c in by_code if any(c in (p.components or {}) for p in i.posts)]
        updates = []
        for p in reversed(i.posts):  # newest first, as Statuspage lists them
            affected = [{"code": code, "name": by_code[code].name if code in by_code else code,
                         "old_status": old_of[p.id].get(code, "operational"),
                         "new_status": value} for code, value in (p.components or {}).items()]
            updates.append({
                "id": public_id("update", p.id, salt), "status": p.status, "body": p.body,
                "incident_id": i.id, "created_at": stamp(p.posted_at),
                "updated_at": stamp(p.posted_at), "display_at": stamp(p.posted_at),
                "affected_components": affected or None, "deliver_notifications": True,
                "custom_tweet": None, "tweet_id": None})
        return {"id": i.id, "name": last.title, "status": last.status,
                "created_at": stamp(first.posted_at), "updated_at": stamp(last.posted_at),
                "monitoring_at": None,
                "resolved_at": stamp(last.posted_at) if i.resolved else None,
                "impact": impact, "shortlink": f"{url}#incident-{i.id}",
                "started_at": stamp(first.posted_at), "page_id": settings.status_page_id,
                "incident_updates": updates,
                "components": [component(by_code[c]) for c in codes]}

    shown = incidents[:HISTORY]
    open_ = [i for i in incidents if not i.resolved]
    indicator, description = rules.overall(
        [rules.ComponentStatus(c.status) for c in comps],
        [rules.Impact(max((p.impact for p in i.posts), key=IMPACT_ORDER.index)) for i in open_])
    return {"page": page, "status": {"indicator": indicator, "description": description},
            "components": [component(c) for c in comps],
            "incidents": [incident(i) for i in shown],
            "unresolved": [incident(i) for i in open_], "updated": updated}


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def build_documents(h: Herald, s: Session) -> dict[str, bytes]:
    """Render every document of the page from the database as it is in this session."""
    snap = _snapshot(h, s)
    page, status = snap["page"], snap["status"]
    docs = {
        "api/v2/summary.json": _json({"page": page, "status": status,
                                      "components": snap["components"],
                                      "incidents": snap["unresolved"],
                                      "scheduled_maintenances": []}),
        "api/v2/status.json": _json({"page": page, "status": status}),
        "api/v2/components.json": _json({"page": page, "components": snap["components"]}),
        "api/v2/incidents.json": _json({"page": page, "incidents": snap["incidents"]}),
        "api/v2/incidents/unresolved.json": _json({"page": page,
                                                   "incidents": snap["unresolved"]}),
        "api/v2/scheduled-maintenances.json": _json({"page": page,
                                                     "scheduled_maintenances": []}),
        "api/v2/scheduled-maintenances/upcoming.json": _json({"page": page,
                                                              "scheduled_maintenances": []}),
        "api/v2/scheduled-maintenances/active.json": _json({"page": page,
                                                            "scheduled_maintenances": []}),
        "history.atom": _atom(snap),
        "history.rss": _rss(snap),
        "index.html": _html(snap),
        "status.css": (DOCUMENTS / "status.css").read_bytes(),
        "status.js": (DOCUMENTS / "status.js").read_bytes(),
    }
    assert docs.keys() == PATHS.keys()
    return docs


@cache
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(DOCUMENTS)),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["when"] = lambda v: datetime.fromisoformat(v).strftime("%Y-%m-%d %H:%M UTC")
    env.globals.update(status_words=STATUS_WORDS, update_words=UPDATE_WORDS)
    return env


def _html(snap: dict[str, Any]) -> bytes:
    history = [i for i in snap["incidents"] if i["status"] == "resolved"]
    return _env().get_template("status.html").render(
        page=snap["page"], status=snap["status"], components=snap["components"],
        active=snap["unresolved"], history=history).encode()


def _entry_html(incident: dict[str, Any]) -> str:
    parts = []
    for u in incident["incident_updates"]:
        when = datetime.fromisoformat(u["display_at"]).strftime("%b %d, %H:%M UTC")
        parts.append(f"<p><small>{_esc(when)}</small><br><strong>"
                     f"{_esc(UPDATE_WORDS.get(u['status'], u['status']))}</strong> - "
                     f"{_esc(u['body'])}</p>")
    return "".join(parts)


def _esc(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _atom(snap: dict[str, Any]) -> bytes:
    page = snap["page"]
    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)
    feed = ET.Element(f"{{{ns}}}feed", {"xml:lang": "en"})

    def sub(parent: ET.Element, tag: str, text_: str | None = None,
            **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
        if text_ is not None:
            el.text = text_
        return el

    sub(feed, "id", page["url"] + "history")
    sub(feed, "link", rel="alternate", type="text/html", href=page["url"])
    sub(feed, "link", rel="self", type="application/atom+xml", href=page["url"] + "history.atom")
    sub(feed, "title", f"{page['name']} - incident history")
    sub(feed, "updated", page["updated_at"])
    author = sub(feed, "author")
    sub(author, "name", page["name"])
    for i in snap["incidents"]:
        entry = sub(feed, "entry")
        sub(entry, "id", i["shortlink"])
        sub(entry, "published", i["created_at"])
        sub(entry, "updated", i["updated_at"])
        sub(entry, "link", rel="alternate", type="text/html", href=i["shortlink"])
        sub(entry, "title", i["name"])
        sub(entry, "content", _entry_html(i), type="html")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(ET.tostring(feed, encoding="utf-8"))


def _rfc822(value: str) -> str:
    return format_datetime(datetime.fromisoformat(value).astimezone(UTC), usegmt=True)


def _rss(snap: dict[str, Any]) -> bytes:
    page = snap["page"]
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    for tag, value in (("title", f"{page['name']} - incident history"), ("link", page["url"]),
                       ("description", f"Incident history of {page['name']}"),
                       ("lastBuildDate", _rfc822(page["updated_at"]))):
        ET.SubElement(channel, tag).text = value
    for i in snap["incidents"]:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = i["name"]
        ET.SubElement(item, "description").text = _entry_html(i)
        ET.SubElement(item, "pubDate").text = _rfc822(i["created_at"])
        ET.SubElement(item, "link").text = i["shortlink"]
        ET.SubElement(item, "guid", {"isPermaLink": "false"}).text = i["shortlink"]
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(ET.tostring(rss, encoding="utf-8"))


# --- storing and serving --------------------------------------------------------------------

class Generation:
    """Bumped after every commit that rebuilt the documents, so this process's page cache
    knows at once (other processes notice within their cache's short lifetime)."""

    value = 0


def _bump(_session: Session) -> None:
    Generation.value += 1


def etag_of(body: bytes) -> str:
    """A strong ETag of the bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def rebuild(h: Herald, s: Session) -> int:
    """Render every document and store those that changed, in the caller's transaction.
    Returns how many documents changed."""
    if s.get_bind().dialect.name == "postgresql":
        # one rebuild at a time: the second waits, then reads what the first committed
        s.execute(text("SELECT pg_advisory_xact_lock(84008)"))
    s.flush()
    now = h.clock.now().replace(microsecond=0)
    changed = 0
    stored = {d.path: d for d in s.scalars(select(StatusDocument))}
    for path, body in build_documents(h, s).items():
        tag = etag_of(body)
        row = stored.get(path)
        if row is None:
            s.add(StatusDocument(path=path, content_type=PATHS[path], body=body, etag=tag,
                                 modified_at=now))
        elif row.etag != tag or row.content_type != PATHS[path]:
            row.body, row.etag, row.content_type, row.modified_at = body, tag, PATHS[path], now
        else:
            continue
        changed += 1
    if changed and not event.contains(s, "after_commit", _bump):
        event.listen(s, "after_commit", _bump, once=True)
    return changed


@dataclass(frozen=True)
class Document:
    """One stored document, as served."""

    path: str
    content_type: str
    body: bytes
    etag: str
    modified_at: datetime


def load_documents(h: Herald) -> dict[str, Document]:
    """The stored documents; the first call on an empty table builds them."""
    with h.db.sessions() as s:
        rows = s.scalars(select(StatusDocument)).all()
        docs = {r.path: Document(r.path, r.content_type, bytes(r.body), r.etag, r.modified_at)
                for r in rows if r.path in PATHS}
    if docs.keys() >= PATHS.keys():
        return docs
    with h.db.transaction() as s:  # a new database, or a Herald that added a document
        rebuild(h, s)
    return load_documents(h)


def document_tags(h: Herald) -> dict[str, str]:
    """Each stored document's ETag (cheap: tells a cache whether to read the bodies)."""
    with h.db.sessions() as s:
        return {p: t for p, t in s.execute(select(StatusDocument.path, StatusDocument.etag))
                if p in PATHS}


def export(h: Herald, folder: Path) -> list[Path]:
    """Write every document under `folder` (index.html, api/v2/*.json, feeds, assets), each
    file replaced atomically; returns the paths written."""
    docs = load_documents(h)
    folder = folder.expanduser()
    written = []
    for path, doc in sorted(docs.items()):
        if path not in PATHS:
            continue
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".herald-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(doc.body)
            os.chmod(tmp, 0o644)  # a web server's user reads it (mkstemp makes it private)
            os.utime(tmp, (doc.modified_at.timestamp(), doc.modified_at.timestamp()))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written


def export_after_commit(h: Herald) -> None:
    """Re-export to HERALD_STATUS_EXPORT_DIR when it is set; a failure is logged, not raised
    (the change is committed; `herald status-page export` repairs the folder)."""
    folder = h.settings.status_export_dir
    if folder is None:
        return
    try:
        export(h, folder)
    except OSError:
        log.exception("exporting the status page to %s failed", folder)


# --- reminders ------------------------------------------------------------------------------

REMIND_EVERY = rules.FOLLOW_UP_EVERY  # while a follow-up stays overdue, remind again this often


def remind_due_posts(h: Herald) -> int:
    """Queue a chat reminder for every incident whose next status follow-up is due: once when
    it falls due, then again every 30 minutes while it stays overdue. Returns how many."""
    from herald.services.chat import _channel  # the chat service's channel choice

    now = h.clock.now()
    queued = 0
    with h.db.transaction() as s:
        posts = s.scalars(select(StatusPost).join(Incident, Incident.id == StatusPost.incident_id)
                          .where(Incident.security.is_(False)).order_by(StatusPost.id)).all()
        by_incident: dict[int, list[StatusPost]] = defaultdict(list)
        for p in posts:
            by_incident[p.incident_id].append(p)
        for incident_id, mine in by_incident.items():
            due = rules.next_due([(rules.PostKind(p.kind), p.posted_at) for p in mine])
            if due is None or due > now:
                continue
            late = int((now - due) / REMIND_EVERY)
            key = f"chat:{incident_id}:chat_status_due:{mine[-1].id}:{late}"
            if s.scalar(select(OutboxItem.id).where(OutboxItem.key == key)) is not None:
                continue
            inc = s.get(Incident, incident_id)
            assert inc is not None
            try:
                purpose, channel = "incident", _channel(h, s, inc, "incident")
            except (Refused, InvalidInput):  # no incident channel yet: the incidents channel
                try:
                    purpose, channel = "incidents", _channel(h, s, inc, "incidents")
                except InvalidInput:
                    log.warning("no chat channel for the status reminder of %s", label(inc))
                    continue
            text_ = reminder_text(h, inc, mine, due, now)
            s.add(OutboxItem(kind="chat", key=key, incident_id=inc.id,
                             payload={"kind": "chat_status_due",
                                      "title": "Chat: status page follow-up due",
                                      "purpose": purpose, "channel": channel, "text": text_},
                             state="queued", attempts=0, next_attempt_at=now, created_at=now))
            audit(s, at=now, actor="herald", action="status.reminder_queued", incident=inc,
                  target=mine[-1].kind, after={"due": due.isoformat(), "channel": channel})
            queued += 1
    return queued


def reminder_text(h: Herald, inc: Incident, posts: list[StatusPost], due: datetime,
                  now: datetime) -> str:
    """The reminder, in the messenger's words."""
    ref = label(inc)
    messenger = current_role(inc, "messenger")
    who = (messenger.person.name or messenger.person.email) if messenger else "Messenger"
    base = (h.settings.base_url or f"http://localhost:{h.settings.port}").rstrip("/")
    kinds = [k.value for k in rules.next_kinds([rules.PostKind(p.kind) for p in posts])]
    late = now - due
    when = (f"due at {due:%H:%M} UTC" if late < timedelta(minutes=1)
            else f"overdue by {int(late.total_seconds() // 60)} minutes (due {due:%H:%M} UTC)")
    return (f"{who}: the next status page update for {ref} is {when}. The last one went out "
            f"at {posts[-1].posted_at:%H:%M} UTC. Post {' or '.join(kinds)} from "
            f"{base}/incidents/{ref}/status-page or with `herald status-page post {ref} --kind "
            f"{kinds[0]}`.")
