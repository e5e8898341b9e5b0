"""Posting due chat messages: one at a time, in order, honouring the chat API's Retry-After."""

from __future__ import annotations

from herald.channels.chat import ChatChannel
from herald.delivery import outbox
from herald.services.chat import record_posts
from herald.services.context import Herald


def post_due_chat(h: Herald, worker: str, chat: ChatChannel, *, batch: int = 10) -> int:
    """Claim and post every due chat message; returns how many rows were handled.

    Each outcome is recorded before the next message is posted, so a crash leaves at most
    one message in doubt (see outbox.recover). A message tried before is posted with
    `retry`, so the channel can check that the earlier try did not get through."""
    handled = 0
    while rows := outbox.claim(h, worker, limit=batch, kinds=("chat",)):
        for row in rows:
            p = row.payload or {}
            try:
                receipt = chat.post(channel=p.get("channel", ""), text=p.get("text", ""),
                                    thread=p.get("thread"), buttons=p.get("buttons"),
                                    retry=row.attempts > 1, people=p.get("people"))
            except Exception as exc:  # a bug or an unexpected answer: keep the message
                outcome = outbox.Outcome(row.id, "retry", f"posting failed: {exc}",
                                         row.attempts)
            else:
                outcome = outbox.Outcome(row.id, receipt.outcome,
                                         receipt.detail or receipt.outcome, row.attempts,
                                         delay=receipt.retry_after, link=receipt.link)
            kept = outbox.finish(h, worker, [outcome])
            handled += 1
            if kept == 0:  # another worker took our claims back: posting on would duplicate
                return handled
            if outcome.state == "sent":
                record_posts(h, [outcome])
    return handled
