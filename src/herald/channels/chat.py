"""Chat out: post the handbook's internal messages, or hand them to a person to paste.

`manual` (the embedded default) posts nothing: Herald shows the text, the channel and the
mentions, and the messenger confirms "I posted it". `slack` posts with the Web API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
             buttons: list[dict[str, str]] | None = None) -> ChatReceipt:
        """Post `text` to `channel` (optionally in a thread, with action buttons)."""
        ...


class ManualChat:
    """Nothing leaves: the message waits for a person to paste it and confirm."""

    def post(self, *, channel: str, text: str, thread: str | None = None,
             buttons: list[dict[str, str]] | None = None) -> ChatReceipt:
        """Leave the message for the messenger to post by hand."""
        return ChatReceipt("manual", f"copy it to {channel} and confirm")


@dataclass
class SlackChat:
    """Slack's Web API: chat.postMessage, then chat.getPermalink for the timeline."""

    token: str
    base_url: str = "https://slack.com/api/"
    timeout: int = 10

    def post(self, *, channel: str, text: str, thread: str | None = None,
             buttons: list[dict[str, str]] | None = None) -> ChatReceipt:
        """Post and fetch the permalink; rate limits and outages become retries."""
        from slack_sdk import WebClient
        from slack_sdk.errors import SlackApiError

        client = WebClient(token=self.token, base_url=self.base_url, timeout=self.timeout)
        try:
            posted = client.chat_postMessage(channel=channel, text=text, thread_ts=thread,
                                             unfurl_links=False, blocks=_blocks(text, buttons))
        except SlackApiError as exc:
            return _slack_failure(exc)
        except OSError as exc:  # connection refused, timeout, DNS: try again later
            return ChatReceipt("retry", f"Slack unreachable: {exc}")
        ts = str(posted.get("ts") or "")
        link = None
        try:
            link = client.chat_getPermalink(channel=str(posted.get("channel") or channel),
                                            message_ts=ts).get("permalink")
        except (SlackApiError, OSError):
            link = None  # posted; a missing permalink is not worth a second post
        return ChatReceipt("sent", f"posted at {ts}", link=str(link) if link else None)


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
        return ChatReceipt("retry", "Slack rate limit", retry_after=wait)
    if error in _PERMANENT:
        return ChatReceipt("failed", f"Slack refused: {error}")
    return ChatReceipt("retry", f"Slack error {status or ''} {error}".strip())
