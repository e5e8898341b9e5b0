"""Gathering from the incident channel (step 9): read its messages and threads from Slack,
and turn any message into a plan fact whose source is the message's permalink."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field
from sqlalchemy import select

from herald.channels.chat import SlackMessage, SlackReader, SlackUnavailable
from herald.delivery.chat_transports import slack_reader
from herald.domain.access import Viewer
from herald.errors import Refused
from herald.services import plan
from herald.services.context import Herald
from herald.services.guard import visible_incident
from herald.store.models import Link

SLACK_CHANNEL = re.compile(r"/archives/([CG][A-Z0-9]+)")


class ChannelPost(BaseModel):
    """A message of the incident channel, with its thread's replies."""

    ts: str = Field(description="Slack's id of the message (its timestamp).",
                    examples=["1767258000.000100"])
    author: str = Field(description="Who wrote it, as Slack names them.")
    email: str | None = Field(description="Their email, when Slack shares it: the fact's "
                                          "'provided by'.")
    text: str = Field(description="The message.")
    reply_count: int = Field(description="Replies in its thread.")
    replies: list[ChannelPost] = Field(default_factory=list,
                                       description="The thread's replies, oldest first.")


class ChannelView(BaseModel):
    """The incident channel as Herald can read it."""

    configured: bool = Field(description="Slack is set up (a bot or read token).")
    channel: str | None = Field(description="The incident channel's Slack id.")
    link: str | None = Field(description="The incident's channel link.")
    messages: list[ChannelPost] = Field(description="Latest messages first.")
    problem: str | None = Field(description="Why nothing could be read, if so.")


def _post(m: SlackMessage, replies: list[SlackMessage] | None = None) -> ChannelPost:
    return ChannelPost(ts=m.ts, author=m.author, email=m.email, text=m.text,
                       reply_count=m.reply_count,
                       replies=[_post(r) for r in replies or [] if r.ts != m.ts])


def _channel_link(h: Herald, ref: str, viewer: Viewer | None) -> tuple[str | None, str | None]:
    """The incident's channel link and the Slack channel id in it."""
    with h.db.sessions() as s:
        inc = visible_incident(s, ref, viewer)
        url = s.scalar(select(Link.url).where(Link.incident_id == inc.id,
                                              Link.kind == "channel").order_by(Link.id))
    match = SLACK_CHANNEL.search(url or "")
    return url, match.group(1) if match else None


def channel_messages(h: Herald, ref: str, *, viewer: Viewer | None = None, limit: int = 30,
                     threads: int = 10) -> ChannelView:
    """The channel's latest messages with the replies of the `threads` latest threads.
    Slack being down or refusing is a `problem` on the view, not an error of the page."""
    url, channel = _channel_link(h, ref, viewer)
    reader = slack_reader(h.settings)
    view = ChannelView(configured=reader is not None, channel=channel, link=url, messages=[],
                       problem=None)
    if reader is None:
        return view
    if channel is None:
        view.problem = ("add the incident's Slack channel link (…/archives/C…) to read it "
                        "here" if not url else
                        f"the channel link {url} is not a Slack channel link (…/archives/C…)")
        return view
    try:
        posts = []
        for m in reader.history(channel, limit=limit):
            thread = None
            if m.reply_count and threads > 0:
                threads -= 1
                thread = reader.replies(channel, m.thread_ts or m.ts)
            posts.append(_post(m, thread))
        view.messages = posts
    except SlackUnavailable as exc:
        view.problem = str(exc)
    return view


def _find(reader: SlackReader, channel: str, ts: str) -> SlackMessage:
    """One message by its ts, a thread reply included (conversations.replies returns the
    whole thread for the ts of any message in it)."""
    try:
        thread = reader.replies(channel, ts, limit=1000)
    except SlackUnavailable as exc:
        if exc.error in ("thread_not_found", "message_not_found"):
            raise Refused(f"no message {ts} in the incident channel") from None
        raise
    for m in thread:
        if m.ts == ts:
            return m
    raise Refused(f"no message {ts} in the incident channel")


def fact_from_message(h: Herald, ref: str, key: str, ts: str, *, actor: str,
                      value: str | None = None, expected_version: int | None = None) -> int:
    """Record a plan fact from a channel message: its text (or `value`, the person's
    wording of it), provided by the message's author, with the permalink as source."""
    reader = slack_reader(h.settings)
    if reader is None:
        raise Refused("Slack is not configured: set HERALD_SLACK_TOKEN to read the channel")
    _url, channel = _channel_link(h, ref, None)
    if channel is None:
        raise Refused("the incident has no Slack channel link (…/archives/C…) to read from")
    try:
        message = _find(reader, channel, ts.strip())
        link = reader.permalink(channel, message.ts)
    except SlackUnavailable as exc:
        raise Refused(f"{exc}; try again") from None
    text = (value or "").strip() or message.text
    return plan.set_fact(h, ref, key, text, actor=actor, provided_by=message.email,
                         source=link, expected_version=expected_version)
