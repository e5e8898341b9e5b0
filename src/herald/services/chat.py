"""The handbook's internal messages: filled from templates, queued in the outbox, confirmed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from herald.domain.access import Viewer
from herald.errors import InvalidInput, NotFound, Refused
from herald.services.blanks import incident_blanks, pack_for, people_mentioned
from herald.services.common import actor_email, audit, find_incident, touch
from herald.services.context import Herald
from herald.services.guard import visible_incident
from herald.services.incidents import check_url
from herald.store.models import Incident, Link, TimelineEvent
from herald.store.outbox_models import OutboxItem
from herald.templates.engine import render_source

# Which internal messages belong to which step (security ones only on security incidents).
STEP_MESSAGES: dict[int, list[str]] = {
    1: ["chat_claim"],
    5: ["chat_buddy_request"],
    9: ["chat_security_team", "chat_cs_leadership_security"],
    10: ["chat_ce_help"],
}
SECURITY_ONLY = {"chat_security_team", "chat_cs_leadership_security"}


class ChatItem(BaseModel):
    """A message to post (or posted): where, what, and what happened."""

    id: int = Field(description="The message's id (confirm or retry it by this id).")
    kind: str = Field(description="The template it was written from.",
                      examples=["chat_claim"])
    title: str = Field(description="What the message is for.")
    purpose: str = Field(description="Which channel purpose it goes to (support, incident...).")
    channel: str = Field(description="The channel it goes to.", examples=["#support"])
    text: str = Field(description="The filled text, as posted or to paste.")
    mentions: list[str] = Field(description="The people and groups it mentions.")
    state: str = Field(description="queued, sending, manual (waits for a person to paste "
                                   "it), retry (Slack failed; tried again later), failed, "
                                   "unknown or sent.")
    link: str | None = Field(description="The posted message's link, when known.")
    detail: str | None = Field(description="What happened on the last try (the error "
                                           "when it failed).")
    attempts: int = Field(description="How many times Herald tried to post it.")
    next_try_at: datetime | None = Field(description="When Herald tries again (retry).")
    queued_at: datetime = Field(description="When it was written.")
    posted_at: datetime | None = Field(description="When it was posted or given up on.")

    @property
    def pending(self) -> bool:
        """Not posted yet: a person or the worker still has to act."""
        return self.state != "sent"


class BlankNeed(BaseModel):
    """A blank a message needs that Herald cannot fill from the incident."""

    name: str = Field(description="The blank's name (send it under `blanks`).")
    description: str = Field(description="What to write in it.")


def _channel(h: Herald, s: Session, inc: Incident, purpose: str) -> str:
    if purpose == "incident":
        url = s.scalar(select(Link.url).where(Link.incident_id == inc.id,
                                              Link.kind == "channel").order_by(Link.id))
        if not url:
            raise Refused("add the incident channel link first: the message goes there")
        match = re.search(r"/archives/([A-Z0-9]+)", url)  # a Slack channel link
        return match.group(1) if match else url
    channel = h.settings.chat_channels.get(purpose)
    if not channel:
        raise InvalidInput(f"no chat channel is configured for {purpose!r}")
    return channel


# The review seats a review-request message asks, for its Approve / Request changes buttons.
REVIEW_SEATS = {"chat_review_support": ["buddy", "cs_leadership"],
                "chat_review_incident_lead": ["incident_lead"],
                "chat_review_incident_lead_security": ["incident_lead", "security_lead"],
                "chat_review_marketing": ["marketing"], "chat_review_legal": ["legal"]}


def _buttons(kind: str, ref: str, seats: list[str] | None = None, versions: str | None = None
             ) -> list[dict[str, str]] | None:
    """Approve / Request changes buttons per seat; their value carries the draft versions the
    message asked about, so a click after the drafts changed approves nothing."""
    seats = seats or REVIEW_SEATS.get(kind)
    if not seats:
        return None
    out = []
    for seat in seats:
        name = seat.replace("_", " ")
        value = f"{ref}:{seat}" + (f":{versions}" if versions is not None else "")
        out.append({"label": f"Approve ({name})", "action": "review_approve", "value": value})
        out.append({"label": f"Request changes ({name})", "action": "review_changes",
                    "value": value})
    return out


def _clean(extras: dict[str, str] | None) -> dict[str, str]:
    """Blanks typed by a person: trimmed; empty ones are not given."""
    return {k: v.strip() for k, v in (extras or {}).items() if v and v.strip()}


def _is_mention(blank: str) -> bool:
    return blank.startswith("mention_") or blank.endswith(("_mention", "_mentions"))


def needed_blanks(h: Herald, s: Session, inc: Incident, kinds: list[str],
                  extras: dict[str, str] | None = None,
                  known: dict[str, Any] | None = None) -> list[BlankNeed]:
    """The blanks of these messages nobody has filled yet, each once, in template order.

    `known`: the incident's blanks, when the caller has already worked them out."""
    pack = pack_for(h)
    known = (incident_blanks(h, s, inc) if known is None else known) | _clean(extras)
    out: dict[str, str] = {}
    for kind in kinds:
        template = pack.get(kind)
        for name, description in template.blanks.items():
            if known.get(name) in (None, "") and name not in out:
                out[name] = description
    return [BlankNeed(name=k, description=v) for k, v in out.items()]


def queue_messages(h: Herald, s: Session, inc: Incident, kinds: list[str], *, actor: str,
                   extras: dict[str, str] | None = None,
                   purposes: dict[str, list[str]] | None = None,
                   payload: dict[str, Any] | None = None) -> list[int]:
    """Fill and queue internal messages inside the caller's transaction (posted after commit).

    `purposes` overrides a kind's target channels (a reminder goes where its seat was
    asked); `payload` adds fields to every queued row."""
    pack = pack_for(h)
    known = incident_blanks(h, s, inc) | _clean(extras)
    ref = inc.number or str(inc.id)
    now = h.clock.now()
    ids = []
    for kind in kinds:
        template = pack.get(kind)
        missing = [b for b in template.blanks if known.get(b) in (None, "")]
        if missing:
            raise Refused(f"{kind}: fill these blanks first: " + ", ".join(missing))
        context: dict[str, Any] = {b: known[b] for b in template.blanks}
        context |= {b: known.get(b) or None for b in template.optional}
        text = render_source(pack.env, template.path.name, template.source, context)
        mentions = [str(context[b]) for b in template.all_blanks
                    if _is_mention(b) and context.get(b)]
        people = {said: email for said, email in people_mentioned(inc).items() if said in text}
        targets = (purposes or {}).get(kind) or template.targets
        for purpose in targets:
            channel = _channel(h, s, inc, purpose)
            n = s.scalar(select(func.count()).select_from(OutboxItem)
                         .where(OutboxItem.key.like(f"chat:{inc.id}:{kind}:{purpose}:%"))) or 0
            item = OutboxItem(kind="chat", key=f"chat:{inc.id}:{kind}:{purpose}:{n + 1}",
                              incident_id=inc.id,
                              payload={"kind": kind, "title": template.title,
                                       "purpose": purpose, "channel": channel, "text": text,
                                       "mentions": mentions, "people": people,
                                       "buttons": _buttons(kind, ref,
                                                           (payload or {}).get("seats"),
                                                           (payload or {}).get("versions")),
                                       **(payload or {})},
                              state="queued", attempts=0, next_attempt_at=now,
                              created_at=now)
            s.add(item)
            s.flush()
            ids.append(item.id)
        audit(s, at=now, actor=actor, action="chat.queued", incident=inc, target=kind,
              after={"targets": targets})
    return ids


def step_kinds(inc: Incident, step: int) -> list[str]:
    """The messages of a step for this incident (the security ones only when it is one)."""
    kinds = STEP_MESSAGES.get(step)
    if not kinds:
        raise InvalidInput(f"step {step} has no chat message; steps with messages: "
                           + ", ".join(str(n) for n in STEP_MESSAGES))
    chosen = [k for k in kinds if inc.security or k not in SECURITY_ONLY]
    if not chosen:
        raise Refused("these messages are for security incidents only")
    return chosen


def step_blanks(h: Herald, ref: str, step: int, *, viewer: Viewer | None = None,
                extras: dict[str, str] | None = None) -> list[BlankNeed]:
    """What a person must type before the step's messages can be queued."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        return needed_blanks(h, s, inc, step_kinds(inc, step), extras)


def steps_blanks(h: Herald, ref: str, steps: Iterable[int], *,
                 viewer: Viewer | None = None) -> dict[int, list[BlankNeed]]:
    """step_blanks of several steps at once, in one session with the incident's blanks
    worked out once; a step without messages for this incident is left out."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        known = incident_blanks(h, s, inc)
        out = {}
        for step in steps:
            try:
                kinds = step_kinds(inc, step)
            except (InvalidInput, Refused):
                continue
            out[step] = needed_blanks(h, s, inc, kinds, known=known)
        return out


def post_step_messages(h: Herald, ref: str, step: int, *, actor: str,
                       extras: dict[str, str] | None = None) -> list[int]:
    """Queue the messages of a step (claim, buddy request, security, CE help)."""
    actor = actor_email(actor)
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        ids = queue_messages(h, s, inc, step_kinds(inc, step), actor=actor, extras=extras)
        touch(inc, h.clock.now())
        return ids


def confirm_posted(h: Herald, ref: str, item_id: int, *, actor: str,
                   link: str | None = None) -> None:
    """The messenger pasted a message by hand: record it as posted, with its link."""
    actor = actor_email(actor)
    link = check_url(link) if link else None
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        item = s.get(OutboxItem, item_id)
        if item is None or item.incident_id != inc.id or item.kind != "chat":
            raise NotFound(f"no chat message {item_id} on this incident")
        if item.state == "sent":
            raise Refused("this message is already recorded as posted")
        if item.state == "sending":  # the worker is posting it right now
            raise Refused("Herald is posting this message right now; wait a moment and "
                          "reload before confirming it by hand")
        item.state, item.done_at = "sent", now
        item.reply = f"posted by hand by {actor}"
        item.payload = dict(item.payload) | {"link": link}
        record_post(s, inc, item, now)
        touch(inc, now)
        audit(s, at=now, actor=actor, action="chat.posted", incident=inc,
              target=item.payload.get("kind", ""), after={"link": link})


def retry_message(h: Herald, ref: str, item_id: int, *, actor: str) -> None:
    """Queue a failed (or in-doubt) message again, now, with a fresh count of tries."""
    actor = actor_email(actor)
    now = h.clock.now()
    with h.db.transaction() as s:
        inc = find_incident(s, ref)
        item = s.get(OutboxItem, item_id)
        if item is None or item.incident_id != inc.id or item.kind != "chat":
            raise NotFound(f"no chat message {item_id} on this incident")
        if item.state not in ("failed", "unknown", "retry", "manual"):
            raise Refused(f"this message is {item.state}; only failed, in-doubt or waiting "
                          "messages are tried again")
        item.state, item.attempts, item.next_attempt_at = "queued", 0, now
        item.done_at = item.claimed_by = item.claimed_at = None
        touch(inc, now)
        audit(s, at=now, actor=actor, action="chat.retried", incident=inc,
              target=(item.payload or {}).get("kind", ""))


def record_posts(h: Herald, outcomes: list[Any]) -> None:
    """After the worker posted messages: keep each permalink and put the post on the timeline."""
    if not outcomes:
        return
    now = h.clock.now()
    with h.db.transaction() as s:
        for o in outcomes:
            item = s.get(OutboxItem, o.id)
            if item is None or item.incident_id is None:
                continue
            item.payload = dict(item.payload or {}) | {"link": o.link}
            inc = s.get(Incident, item.incident_id)
            if inc is not None:
                record_post(s, inc, item, now)


def record_post(s: Session, inc: Incident, item: OutboxItem, now: Any) -> None:
    """Every post lands on the timeline with its link."""
    payload = item.payload or {}
    position = s.scalar(select(func.max(TimelineEvent.position))
                        .where(TimelineEvent.incident_id == inc.id)) or 0
    s.add(TimelineEvent(incident_id=inc.id, key=f"post_{item.id}",
                        title=f"Posted: {payload.get('title', 'message')} "
                              f"({payload.get('channel', '')})"[:200],
                        position=position + 1, completed_at=now, link=payload.get("link")))


def chat_items(h: Herald, ref: str, *, viewer: Viewer | None = None,
               pending_only: bool = False) -> list[ChatItem]:
    """The incident's messages: what still waits for a person first."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        q = select(OutboxItem).where(OutboxItem.incident_id == inc.id, OutboxItem.kind == "chat")
        if pending_only:
            q = q.where(OutboxItem.state != "sent")
        rows = s.scalars(q.order_by(OutboxItem.id)).all()
        order = {"manual": 0, "queued": 0, "failed": 1, "unknown": 1, "retry": 2,
                 "sending": 3, "sent": 5}
        items = [_item(r) for r in rows]
        return sorted(items, key=lambda i: (order.get(i.state, 4), i.id))


def chat_item(h: Herald, ref: str, item_id: int) -> ChatItem:
    """One message of the incident."""
    found = next((i for i in chat_items(h, ref) if i.id == item_id), None)
    if found is None:
        raise NotFound(f"no chat message {item_id} on this incident")
    return found


def _item(r: OutboxItem) -> ChatItem:
    p = r.payload or {}
    waiting = r.state in ("retry", "queued")
    return ChatItem(id=r.id, kind=p.get("kind", ""), title=p.get("title", ""),
                    purpose=p.get("purpose", ""), channel=p.get("channel", ""),
                    text=p.get("text", ""), mentions=list(p.get("mentions") or []),
                    state=r.state, link=p.get("link"), detail=r.error or r.reply,
                    attempts=r.attempts or 0,
                    next_try_at=r.next_attempt_at if waiting else None,
                    queued_at=r.created_at, posted_at=r.done_at)

