"""Chat out: post the handbook's internal messages, or hand them to a person to paste.

`manual` (the embedded default) posts nothing: Herald shows the text, the channel and the
mentions, and the messenger confirms "I posted it". `slack` posts with the Web API.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

# Where each kind of message goes (the handbook's channels, by purpose).
PURPOSES = ("support", "support_internal", "incidents", "incident", "security", "marketing",
            "legal", "ce")


@dataclass(frozen=True)
class ChatReceipt:
    """What happened to one post."""

    outcome: str  # sent, manual, retry, failed
    detail: str = ""
    link: str | None = None
    retry_after: float | None = None


class ChatChannel(Protocol):
    """Something that can post a message to a channel."""

    def post(self, *, channel: str, text: str, thread: str | None = None,
             buttons: list[dict[str, str]] | None = None, retry: bool = False,
             people: dict[str, str] | None = None) -> ChatReceipt:
        """Post `text` to `channel` (optionally in a thread, with action buttons); `retry`
        says an earlier try of the same message failed (and may have got through); `people`
        maps a person's mention in the text ("@Liam Chen") to their email, for chats that
        can turn it into a real mention."""
        ...


class ManualChat:
    """Nothing leaves: the message waits for a person to paste it and confirm."""

    def post(self, *, channel: str, text: str, thread: str | None = None,
             buttons: list[dict[str, str]] | None = None, retry: bool = False,
             people: dict[str, str] | None = None) -> ChatReceipt:
        """Leave the message for the messenger to post by hand."""
        return ChatReceipt("manual", f"copy it to {channel} and confirm")


@dataclass
class SlackChat:
    """Slack's Web API: chat.postMessage, then chat.getPermalink for the timeline."""

    token: str
    base_url: str = "https://slack.com/api/"
    timeout: float = 10
    user_ids: dict[str, str | None] = field(default_factory=dict)  # email -> Slack user id

    def post(self, *, channel: str, text: str, thread: str | None = None,
             buttons: list[dict[str, str]] | None = None, retry: bool = False,
             people: dict[str, str] | None = None) -> ChatReceipt:
        """Post and fetch the permalink; rate limits and outages become retries.

        People's mentions become Slack mentions (`<@U…>`, found by their email), so they
        are notified. On a retry the channel's recent history is read first: a try that
        timed out may have reached Slack, and the same message must not be posted twice."""
        from slack_sdk.errors import SlackApiError

        client = _client(self.token, self.base_url, self.timeout)
        text = self._mention(client, text, people or {})
        ts = _already_posted(client, channel, text) if retry else None
        if ts is not None:
            return ChatReceipt("sent", f"an earlier try was posted at {ts}",
                               link=_permalink(client, channel, ts))
        try:
            posted = client.chat_postMessage(channel=channel, text=text, thread_ts=thread,
                                             unfurl_links=False, blocks=_blocks(text, buttons))
        except SlackApiError as exc:
            return _slack_failure(exc)
        except OSError as exc:  # connection refused, timeout, DNS: try again later
            return ChatReceipt("retry", f"Slack unreachable: {exc or type(exc).__name__}")
        ts = str(posted.get("ts") or "")
        link = _permalink(client, str(posted.get("channel") or channel), ts)
        return ChatReceipt("sent", f"posted at {ts}", link=link)

    def _mention(self, client: Any, text: str, people: dict[str, str]) -> str:
        """The text with each person's mention as a Slack mention, where Slack knows their
        email (users.lookupByEmail, once per address); the name stays where it does not."""
        from slack_sdk.errors import SlackApiError

        for said, email in sorted(people.items(), key=lambda p: -len(p[0])):
            key = email.strip().lower()
            if key not in self.user_ids:
                try:
                    found = client.users_lookupByEmail(email=key).get("user") or {}
                    self.user_ids[key] = str(found.get("id") or "") or None
                except SlackApiError:  # users_not_found, missing_scope: keep the name
                    self.user_ids[key] = None
                except OSError:  # unreachable now: the post will say so; ask again next time
                    continue
            if user_id := self.user_ids[key]:
                text = text.replace(said, f"<@{user_id}>")
        return text


def _client(token: str, base_url: str, timeout: float) -> Any:
    from slack_sdk import WebClient

    return WebClient(token=token, base_url=base_url, timeout=max(1, math.ceil(timeout)))


def _permalink(client: Any, channel: str, ts: str) -> str | None:
    """The message's link; a missing permalink is not worth a second post."""
    from slack_sdk.errors import SlackApiError

    try:
        link = client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except (SlackApiError, OSError):
        return None
    return str(link) if link else None


_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


def _unescape(text: str) -> str:
    """Slack stores &, < and > escaped in a message's text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _already_posted(client: Any, channel: str, text: str) -> str | None:
    """The ts of a bot message with exactly this text among the channel's latest, if any.
    Only channel ids can be read back (a #name cannot); when unsure, None (post again)."""
    from slack_sdk.errors import SlackApiError

    if not _CHANNEL_ID.match(channel):
        return None
    try:
        history = client.conversations_history(channel=channel, limit=100)
    except (SlackApiError, OSError):
        return None
    for message in history.get("messages") or []:
        if (message.get("bot_id") or message.get("app_id")) and \
                _unescape(str(message.get("text") or "")) == text:
            return str(message.get("ts"))
    return None


class SlackUnavailable(Exception):
    """Reading from Slack failed; the message says why, for people; `error` is Slack's code
    when Slack answered (thread_not_found...), None when it did not."""

    def __init__(self, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class SlackMessage:
    """One message of a channel, as Slack returned it, with its author resolved."""

    ts: str
    user: str | None
    author: str
    email: str | None
    text: str
    thread_ts: str | None
    reply_count: int


@dataclass
class SlackReader:
    """Reads a channel (conversations.history / .replies), links, and people (users.info)."""

    token: str
    base_url: str = "https://slack.com/api/"
    timeout: float = 10
    _people: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def _call(self, method: str, **args: Any) -> Any:
        from slack_sdk.errors import SlackApiError

        client = _client(self.token, self.base_url, self.timeout)
        try:
            return getattr(client, method)(**args)
        except SlackApiError as exc:
            response = getattr(exc, "response", None)
            error = response.get("error") if response is not None else None
            raise SlackUnavailable(f"Slack refused {method.replace('_', '.', 1)}: "
                                   f"{error or exc}", str(error) if error else None) from None
        except OSError as exc:
            raise SlackUnavailable(f"Slack did not answer: {exc or type(exc).__name__}"
                                   ) from None

    def person(self, user: str | None) -> tuple[str, str | None]:
        """(name, email) of a Slack user; the id itself when Slack cannot say."""
        if not user:
            return "someone", None
        if user not in self._people:
            try:
                info = self._call("users_info", user=user).get("user") or {}
            except SlackUnavailable:
                info = {}
            profile = info.get("profile") or {}
            name = (profile.get("display_name") or profile.get("real_name")
                    or info.get("real_name") or info.get("name") or user)
            self._people[user] = (str(name), profile.get("email"))
        return self._people[user]

    def _message(self, raw: dict[str, Any]) -> SlackMessage:
        user = raw.get("user")
        if raw.get("bot_id") or not user:  # an app (Herald itself, say): no person to ask
            name = (raw.get("username") or (raw.get("bot_profile") or {}).get("name")
                    or "an app")
            user, email = None, None
        else:
            name, email = self.person(user)
        return SlackMessage(ts=str(raw.get("ts")), user=user, author=name, email=email,
                            text=_unescape(str(raw.get("text") or "")),
                            thread_ts=raw.get("thread_ts"),
                            reply_count=int(raw.get("reply_count") or 0))

    def history(self, channel: str, *, limit: int = 50) -> list[SlackMessage]:
        """The channel's latest top-level messages, newest first."""
        found = self._call("conversations_history", channel=channel, limit=limit)
        return [self._message(m) for m in found.get("messages") or []
                if m.get("type", "message") == "message"]

    def replies(self, channel: str, ts: str, *, limit: int = 100) -> list[SlackMessage]:
        """A thread: its parent first, then the replies, oldest first."""
        found = self._call("conversations_replies", channel=channel, ts=ts, limit=limit)
        return [self._message(m) for m in found.get("messages") or []]

    def permalink(self, channel: str, ts: str) -> str:
        """The message's permalink (chat.getPermalink)."""
        link = self._call("chat_getPermalink", channel=channel, message_ts=ts).get("permalink")
        if not link:
            raise SlackUnavailable("Slack gave no link for that message")
        return str(link)


def _blocks(text: str, buttons: list[dict[str, str]] | None) -> list[dict[str, object]] | None:
    """The text plus buttons (e.g. Approve / Request changes), as Block Kit."""
    if not buttons:
        return None
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": b["label"]},
                 "action_id": b["action"], "value": b["value"]} for b in buttons]}]


_PERMANENT = {"channel_not_found", "not_in_channel", "invalid_auth", "account_inactive",
              "token_revoked", "no_permission", "missing_scope", "is_archived",
              "msg_too_long", "restricted_action"}


def _slack_failure(exc: Exception) -> ChatReceipt:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", 0) or 0
    error = ""
    if response is not None:
        try:
            error = str(response.get("error") or "")
        except (AttributeError, TypeError):
            error = ""
    if status == 429 or error == "ratelimited":
        headers = getattr(response, "headers", {}) or {}
        retry = headers.get("Retry-After") or headers.get("retry-after") or "30"
        try:
            wait = float(retry if not isinstance(retry, list) else retry[0])
        except ValueError:
            wait = 30.0
        return ChatReceipt("retry", f"Slack rate limit: waiting {wait:g} s as Slack asked",
                           retry_after=wait)
    if error in _PERMANENT:
        return ChatReceipt("failed", f"Slack refused: {error}")
    if error.startswith("Received a response in a non-JSON format"):
        error = "(not a Slack answer)"
    return ChatReceipt("retry", f"Slack error {status or ''} {error}".strip())
