"""Pick the chat channel the settings ask for, and the reader of the incident channel."""

from __future__ import annotations

from herald.channels.chat import ChatChannel, ManualChat, SlackChat, SlackReader
from herald.errors import InvalidInput
from herald.settings import Settings


def chat_channel(settings: Settings) -> ChatChannel:
    """Manual (the default: Herald shows the text to paste) or Slack's Web API."""
    if settings.chat_transport == "slack":
        if settings.slack_token is None:
            raise InvalidInput("HERALD_CHAT_TRANSPORT=slack needs HERALD_SLACK_TOKEN")
        return SlackChat(token=settings.slack_token.get_secret_value(),
                         base_url=settings.slack_base_url, timeout=settings.slack_timeout)
    return ManualChat()


def slack_reader(settings: Settings) -> SlackReader | None:
    """What reads the incident channel (step 9), or None when Slack is not configured."""
    token = settings.slack_read_token or settings.slack_token
    if token is None:
        return None
    return SlackReader(token=token.get_secret_value(), base_url=settings.slack_base_url,
                       timeout=settings.slack_timeout)
