"""Pick the chat channel the settings ask for."""

from __future__ import annotations

from herald.channels.chat import ChatChannel, ManualChat, SlackChat
from herald.errors import InvalidInput
from herald.settings import Settings


def chat_channel(settings: Settings) -> ChatChannel:
    """Manual (the default: Herald shows the text to paste) or Slack's Web API."""
    if settings.chat_transport == "slack":
        if settings.slack_token is None:
            raise InvalidInput("HERALD_CHAT_TRANSPORT=slack needs HERALD_SLACK_TOKEN")
        return SlackChat(token=settings.slack_token.get_secret_value(),
                         base_url=settings.slack_base_url)
    return ManualChat()
