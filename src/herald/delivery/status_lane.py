"""Sending due status posts to the hosted status page, one at a time, in order per incident.

The first post of an incident creates the page's incident; its id is kept (status_remote) and
every later post updates that incident. A later post whose incident is not created yet waits
for the earlier one (a short retry), so posts never arrive out of order.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from herald.channels.status_pages import HostedStatusPage, Post, StatusReceipt, hosted_page
from herald.delivery import outbox
from herald.errors import InvalidInput
from herald.services.context import Herald
from herald.services.status_page import remind_due_posts
from herald.store.models import Incident
from herald.store.outbox_models import OutboxItem
from herald.store.status_models import StatusRemote

log = logging.getLogger("herald.worker")
WAIT_FOR_CREATION = 5.0  # seconds before a later post looks again for its incident's id


def run_status_work(h: Herald, worker: str) -> int:
    """The worker's status page round: queue chat reminders for follow-ups that fell due, then
    send due posts to the hosted page (if one is configured). Returns rows queued + sent.

    `worker` is the worker's own name (not a lane name): its recover() at the start of
    run_once settles what an earlier process of that name left half-sent."""
    handled = remind_due_posts(h)
    try:
        page = hosted_page(h.settings)
    except InvalidInput as exc:  # misconfigured: say so, keep the reminders going
        log.warning("status posts are not sent: %s", exc)
        return handled
    return handled + (post_due_status(h, worker, page) if page is not None else 0)


def post_due_status(h: Herald, worker: str, page: HostedStatusPage | None = None, *,
                    batch: int = 5) -> int:
    """Claim and send every due status post; returns how many rows were handled.
    Does nothing with the built-in page alone (HERALD_STATUSPAGE_PROVIDER=builtin)."""
    page = page or hosted_page(h.settings)
    if page is None:
        return 0
    handled = 0
    while rows := outbox.claim(h, worker, limit=batch, kinds=("status",)):
        for row in rows:
            receipt = _deliver(h, page, row)
            attempts = row.attempts if receipt.counted else 0
            outbox.finish(h, worker, [outbox.Outcome(row.id, receipt.outcome, receipt.detail,
                                                     attempts, delay=receipt.retry_after)])
            if not receipt.counted:  # nothing was tried: the wait costs no attempt
                with h.db.transaction() as s:
                    s.execute(update(OutboxItem).where(OutboxItem.id == row.id)
                              .values(attempts=OutboxItem.attempts - 1))
            handled += 1
    return handled


def _deliver(h: Herald, page: HostedStatusPage, row: outbox.Claimed) -> StatusReceipt:
    p = row.payload or {}
    if p.get("provider") != page.name:
        return StatusReceipt("failed", f"queued for {p.get('provider')}, but the configured "
                                       f"status page is {page.name}; post it by hand")
    incident_id = int(p["incident_id"])
    ids = h.settings.status_component_ids
    post = Post(key=f"herald-{row.id}-{p.get('post_id')}", name=str(p.get("name", "")),
                status=str(p.get("status", "")), impact=str(p.get("impact", "none")),
                body=str(p.get("body", "")),
                components={ids.get(c, c): s for c, s in (p.get("components") or {}).items()},
                first=bool(p.get("first")), final=bool(p.get("final")))
    with h.db.sessions() as s:
        if s.scalar(select(Incident.security).where(Incident.id == incident_id)):
            return StatusReceipt("failed", "not sent: the incident became a security incident "
                                           "after this post was queued")
        remote = s.scalar(select(StatusRemote).where(StatusRemote.incident_id == incident_id,
                                                     StatusRemote.provider == page.name))
        remote_id, updates = (remote.remote_id, remote.updates) if remote else (None, 0)
        earlier = s.scalar(select(OutboxItem.next_attempt_at).where(
            OutboxItem.kind == "status", OutboxItem.incident_id == incident_id,
            OutboxItem.id < row.id,
            OutboxItem.state.in_(("queued", "retry", "sending", "unknown")))
            .order_by(OutboxItem.id).limit(1))
    if remote_id is None:
        if earlier is not None:  # the creating post has not gone yet: keep the order
            wait = max(WAIT_FOR_CREATION, (earlier - h.clock.now()).total_seconds() + 1)
            return StatusReceipt("retry", "waiting for the incident's earlier post to reach "
                                 f"{page.name} (a post in doubt waits for a person)",
                                 retry_after=wait, counted=False)
        receipt = page.create(post)
        if receipt.outcome == "sent" and receipt.remote_id:
            _remember(h, incident_id, page.name, receipt.remote_id)
        return receipt
    if page.max_updates is not None and updates >= page.max_updates:
        return StatusReceipt("failed", f"{page.name} takes at most {page.max_updates} updates "
                                       "per incident; post this one by hand")
    receipt = page.update(remote_id, post)
    if receipt.outcome == "sent":
        _remember(h, incident_id, page.name, remote_id)
    return receipt


def _remember(h: Herald, incident_id: int, provider: str, remote_id: str) -> None:
    now = h.clock.now()
    with h.db.transaction() as s:
        remote = s.scalar(select(StatusRemote).where(StatusRemote.incident_id == incident_id,
                                                     StatusRemote.provider == provider))
        if remote is None:
            s.add(StatusRemote(incident_id=incident_id, provider=provider, remote_id=remote_id,
                               updates=1, created_at=now))
        else:
            remote.updates += 1
