"""The internal chat messages (steps 1, 5, 9, 10, 14): what waits, what failed, what was
posted; queueing a step's messages, confirming a hand-posted one, trying a failed one
again; and the incident channel read from Slack, whose messages can become facts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from pydantic import Field

from herald.services import channel, chat, views
from herald.services.channel import ChannelView
from herald.services.chat import BlankNeed, ChatItem
from herald.services.views import FactView
from herald.web.api.common import READ, WRITE, Input, viewer_of
from herald.web.deps import Acting, Viewing

router = APIRouter(tags=["chat"])

StepPath = Annotated[int, Path(description="A step with messages: "
                               + ", ".join(str(n) for n in chat.STEP_MESSAGES) + ".",
                               examples=[1])]
ItemPath = Annotated[int, Path(description="The message's id (from the list).", examples=[3])]


class StepMessagesIn(Input):
    """Blanks the step's messages need that Herald cannot fill from the plan."""

    blanks: dict[str, str] = Field(default_factory=dict, description="Values by blank name "
                                   "(GET the step to see which are needed).",
                                   examples=[{"sheet_link": "https://sheets.example.com/42",
                                              "column": "F",
                                              "deadline_utc": "2026-01-01 15:00"}])


class PostedIn(Input):
    """A message the messenger posted by hand."""

    link: str | None = Field(None, max_length=2000, description="Link to the post; it goes "
                             "on the timeline.",
                             examples=["https://chat.example.com/archives/C42/p17"])


class ChannelFactIn(Input):
    """A message of the incident channel to record as a plan fact."""

    key: str = Field(max_length=40, description="The fact's key (as in the plan).",
                     examples=["release"])
    ts: str = Field(max_length=40, description="The message's Slack ts (from the channel "
                    "listing).", examples=["1767258000.000100"])
    value: str | None = Field(None, max_length=5000, description="The fact in your words; "
                              "the message's text when left out.", examples=["5.2.0"])
    expected_version: int | None = Field(None, ge=1, description="The fact's version you "
                                         "loaded; 409 when it changed since.", examples=[1])


@router.get("/incidents/{ref}/chat", summary="List the chat messages", responses=READ)
def list_messages(
    seen: Viewing,
    pending: Annotated[bool, Query(description="Only those not posted yet.")] = False,
) -> list[ChatItem]:
    """Every internal message of the incident: waiting ones first (to paste by hand, failed,
    retrying, with the reason), then the posted ones with their links."""
    return chat.chat_items(seen.h, seen.ref, viewer=viewer_of(seen), pending_only=pending)


@router.get("/incidents/{ref}/chat/steps/{step}", summary="What a step's messages need",
            responses=READ)
def step_needs(seen: Viewing, step: StepPath) -> list[BlankNeed]:
    """The blanks to give before the step's messages can be queued (empty: none)."""
    return chat.step_blanks(seen.h, seen.ref, step, viewer=viewer_of(seen))


@router.post("/incidents/{ref}/chat/steps/{step}", status_code=201,
             summary="Queue a step's messages", responses=WRITE)
def queue_step(seen: Acting, step: StepPath,
               body: Annotated[StepMessagesIn | None, Body()] = None) -> list[ChatItem]:
    """Fill the step's messages from the plan (and `blanks`) and queue them: Slack posts
    them, or with the manual channel they wait here for a person to paste."""
    ids = set(chat.post_step_messages(seen.h, seen.ref, step, actor=seen.actor,
                                      extras=(body or StepMessagesIn()).blanks))
    return [i for i in chat.chat_items(seen.h, seen.ref) if i.id in ids]


@router.post("/incidents/{ref}/chat/{item}/posted", summary="Confirm a hand-posted message",
             responses=WRITE)
def confirm_posted(seen: Acting, item: ItemPath,
                   body: Annotated[PostedIn | None, Body()] = None) -> ChatItem:
    """Record that you pasted the message yourself, with its link for the timeline."""
    chat.confirm_posted(seen.h, seen.ref, item, actor=seen.actor,
                        link=(body or PostedIn()).link)
    return chat.chat_item(seen.h, seen.ref, item)


@router.post("/incidents/{ref}/chat/{item}/retry", summary="Try a failed message again",
             responses=WRITE)
def retry_message(seen: Acting, item: ItemPath) -> ChatItem:
    """Queue a failed or in-doubt message again, now."""
    chat.retry_message(seen.h, seen.ref, item, actor=seen.actor)
    return chat.chat_item(seen.h, seen.ref, item)


@router.get("/incidents/{ref}/chat/channel", summary="Read the incident channel",
            responses=READ)
def read_channel(seen: Viewing) -> ChannelView:
    """The incident channel's latest messages and threads, from Slack (step 9). When Slack
    is not configured or cannot be read, `problem` says why."""
    return channel.channel_messages(seen.h, seen.ref, viewer=viewer_of(seen))


@router.post("/incidents/{ref}/chat/channel/facts", summary="Make a channel message a fact",
             responses=WRITE)
def fact_from_channel(seen: Acting, body: ChannelFactIn) -> FactView:
    """Record a plan fact from a channel message: provided by its author, with the message's
    permalink as the fact's source."""
    channel.fact_from_message(seen.h, seen.ref, body.key, body.ts, actor=seen.actor,
                              value=body.value, expected_version=body.expected_version)
    norm = body.key.strip().lower().replace("-", "_")
    return next(f for f in views.plan(seen.h, seen.ref).facts if f.key == norm)
