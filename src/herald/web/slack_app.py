"""The Slack app at /slack/events: `/herald` commands and review buttons, signed by Slack.

Bolt verifies every request's signature with the signing secret (401 otherwise). A Slack
user acts as the Herald account with the same email (read with users.info).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from herald.errors import Forbidden, HeraldError, NotFound
from herald.services import accounts, chat, incidents, reviews, steps, views
from herald.services.context import Herald
from herald.services.guard import authorize

HELP = ("Use: /herald claim REF | status REF | next REF | done REF STEP | "
        "approve REF SEAT | changes REF SEAT COMMENT")


def build(h: Herald) -> Any:
    """The Bolt app, or None when Slack is not configured."""
    s = h.settings
    if s.slack_signing_secret is None or s.slack_token is None:
        return None
    from slack_bolt import App
    from slack_sdk import WebClient

    client = WebClient(token=s.slack_token.get_secret_value(), base_url=s.slack_base_url,
                       timeout=max(1, math.ceil(s.slack_timeout)))
    app = App(signing_secret=s.slack_signing_secret.get_secret_value(), client=client,
              token_verification_enabled=False, process_before_response=True)

    def account_of(user_id: str) -> accounts.Account:
        from slack_sdk.errors import SlackApiError

        try:
            info = client.users_info(user=user_id)
        except (SlackApiError, OSError) as exc:
            raise NotFound(f"Herald could not look you up in Slack ({exc}); try again"
                           ) from None
        email = ((info.get("user") or {}).get("profile") or {}).get("email")
        if not email:
            raise NotFound("your Slack profile has no email Herald can match")
        try:
            account = accounts.get_user(h, email)
        except NotFound:
            raise NotFound(f"no Herald account for {email}") from None
        if not account.active:
            raise Forbidden(f"the Herald account {email} is deactivated")
        return account

    @app.command("/herald")
    def command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        ack()
        words = (command.get("text") or "").split()
        try:
            respond(_run(h, account_of(command["user_id"]), words))
        except HeraldError as exc:
            respond(f"Herald: {exc}")

    @app.action("review_approve")
    def approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        # ref:seat:versions (the drafts the message asked about; older buttons lack them)
        ref, seat, *asked = str(body["actions"][0]["value"]).split(":", 2)
        try:
            who = account_of(body["user"]["id"])
            authorize(h, ref, who.viewer)  # need-to-know, as on the web
            st = reviews.decide(h, ref, seat, "approved", actor=who.email,
                                account_roles=list(who.roles),
                                reviewed=reviews.parse_versions_token(asked[0]) if asked
                                else None)
            respond(f"Approved as {seat}. " + ("Ready to send." if st.ready
                                               else "Still: " + "; ".join(st.missing)))
        except HeraldError as exc:
            respond(f"Herald: {exc}")

    @app.action("review_changes")
    def changes(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        ref, seat = str(body["actions"][0]["value"]).split(":", 2)[:2]
        respond(f"Say what should change: /herald changes {ref} {seat} <your comment>")

    return app


def _run(h: Herald, who: accounts.Account, words: list[str]) -> str:
    """One `/herald` command, as the Slack user's Herald account."""
    if len(words) < 2:
        return HELP
    verb, ref = words[0].lower(), words[1]
    # The same need-to-know as the web: a hidden incident is "no incident" (404), and only
    # those who may act on it claim it or complete its steps.
    authorize(h, ref, who.viewer, act=verb in ("claim", "done"))
    if verb == "claim":
        incidents.set_role(h, ref, "messenger", who.email, actor=who.email, name=who.name)
        try:
            chat.post_step_messages(h, ref, 1, actor=who.email)
        except HeraldError as exc:  # the role is taken all the same
            return (f"You are the messenger for {ref}, but the claim messages could not be "
                    f"written: {exc}. Write them from the Messages tab.")
        return f"You are the messenger for {ref}; the claim messages are on their way."
    if verb in ("status", "next"):
        d = views.incident_detail(h, ref, viewer=who.viewer)
        step = next((x for x in d.steps if x.number == d.next_step), None)
        head = f"{d.ref} {d.title}: " + (f"next is step {step.number}, {step.title}."
                                         if step else "every step is settled.")
        if verb == "next" and step:
            return f"{head} {step.howto}"
        deadline = f" Disclosure: {d.deadline.left}." if d.deadline and d.deadline.left else ""
        return head + deadline
    if verb == "done" and len(words) >= 3:
        done = steps.complete_step(h, ref, words[2], actor=who.email)
        return f"Step {done.number} done: {done.title}."
    if verb == "approve" and len(words) >= 3:
        st = reviews.decide(h, ref, words[2], "approved", actor=who.email,
                            account_roles=list(who.roles))
        # A typed command approves the drafts as they are now: say which versions those are.
        return (f"Approved ({reviews.versions_said(st.versions)}). "
                + ("Ready to send." if st.ready else "Still: " + "; ".join(st.missing)))
    if verb == "changes" and len(words) >= 4:
        reviews.decide(h, ref, words[2], "changes", actor=who.email,
                       account_roles=list(who.roles), comment=" ".join(words[3:]))
        return "Changes requested; the messenger sees your comment."
    return HELP


def router(h: Herald) -> APIRouter:
    """POST /slack/events (commands, actions and events); 404 when Slack is not set up."""
    r = APIRouter(include_in_schema=False)
    app = build(h)

    @r.post("/slack/events")
    async def events(request: Request) -> Response:
        if app is None:
            return Response("Slack is not configured", status_code=404)
        from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

        body = await request.body()
        # Bolt's listeners are synchronous (users.info, the database, response_url): run
        # them on a worker thread, not on the event loop every other request shares.
        answer = await run_in_threadpool(app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(answer)

    return r
