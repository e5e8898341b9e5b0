"""Posting due chat messages: one at a time, in order, honouring the chat API's Retry-After."""

from __future__ import annotations

from herald.channels.chat import ChatChannel
from herald.delivery import outbox
from herald.services.chat import record_posts
from herald.services.context import Herald


def post_due_chat(h: Herald, worker: str, chat: ChatChannel, *, batch: int = 10) -> int:
    """Claim and post every due chat message; returns how many rows were handled."""
    handled = 0
    while rows := outbox.claim(h, worker, limit=batch, kinds=("chat",)):
        outcomes = []
        for row in rows:
            p = row.payload or {}
            receipt = chat.post(channel=p.get("channel", ""), text=p.get("text", ""),
                                buttons=p.get("buttons"))
            outcomes.append(outbox.Outcome(row.id, receipt.outcome,
                                           receipt.detail or receipt.outcome, row.attempts,
                                           delay=receipt.retry_after, link=receipt.link))
        outbox.finish(h, worker, outcomes)
        record_posts(h, [o for o in outcomes if o.state == "sent"])
        handled += len(rows)
    return handled
