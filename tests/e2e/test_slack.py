"""Herald with Slack, against a fake Slack on real HTTP (tests/fake_slack.py).

Posts of steps 1, 5, 9, 10 and 14 land in the configured channels with the configured
mentions; slash commands and button clicks signed with the signing secret act as the Slack
user's Herald account, and anything unsigned or badly signed gets 401; a chat outage (HTTP
500, no answer, rate limited with Retry-After) loses no message: it waits, visible, and
goes out once the clock passes the delay; and the incident channel's messages become facts
with their permalink as source.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from herald.channels.chat import SlackChat
from herald.delivery.chat_lane import post_due_chat
from herald.delivery.chat_transports import chat_channel
from herald.services import accounts, chat, drafts, incidents, plan, reviews, views
from herald.services.channel import channel_messages, fact_from_message
from herald.services.context import Herald
from herald.settings import Settings
from herald.web.app import create_app
from herald.web.security import SESSION_COOKIE
from tests.fake_slack import SIGNING_SECRET, TOKEN, WORKSPACE, Callbacks, FakeSlack
from tests.helpers import BUDDY, CS_LEADER, LEAD, MESSENGER, SECURITY_LEAD, fill_facts

CHANNELS = {"support": "C0SUPPORT", "support_internal": "C0SUPINT", "incidents": "C0INCS",
            "security": "C0SECURITY", "marketing": "C0MARKETING", "legal": "C0LEGAL",
            "ce": "C0CE"}
INCIDENT_CHANNEL = "C0INC7"
MENTIONS = {"support_team": "<!subteam^S0SUPPORT>", "cs_leadership": "<!subteam^S0CSL>",
            "cs_triage": "<!subteam^S0TRIAGE>", "security_team": "<!subteam^S0SEC>",
            "ce_team": "<!subteam^S0CE>", "marketing": "<!subteam^S0MKT>",
            "legal": "<!subteam^S0LEGAL>"}
# Slack users, and the Herald accounts their emails map to.
SLACK_USERS = {"U0MIA": ("Mia", MESSENGER), "U0BO": ("Bo", BUDDY), "U0LIA": ("Lia", LEAD),
               "U0SAM": ("Sam", SECURITY_LEAD), "U0CLO": ("Clo", CS_LEADER),
               "U0OMAR": ("Omar", "omar@example.com"), "U0VIC": ("Vic", "vic@example.com"),
               "U0NOBODY": ("Nobody", "nobody@example.com"), "U0PRIVATE": ("Private", None)}
ACCOUNT_ROLES = {MESSENGER: ["support"], BUDDY: ["support"], LEAD: ["reviewer"],
                 SECURITY_LEAD: ["security"], CS_LEADER: ["support_leadership"],
                 "omar@example.com": ["support"], "vic@example.com": ["viewer"]}
PASSWORD = "correct horse battery staple"
SEND = {"send_time_utc": "14:00", "send_date": "2026-01-01"}
STEP_10 = {"sheet_link": "https://sheets.example.com/d/inc-7", "column": "F",
           "deadline_utc": "2026-01-01 15:00 UTC"}


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(hang_seconds=4)
    for purpose, cid in CHANNELS.items():
        fake.add_channel(cid, purpose.replace("_", "-"))
    fake.add_channel(INCIDENT_CHANNEL, "inc-7-search")
    for uid, (name, email) in SLACK_USERS.items():
        fake.add_user(uid, name, email)
    with fake:
        yield fake


@pytest.fixture
def settings(tmp_path: Path, database_url: str, slack: FakeSlack) -> Settings:
    """Herald set to post through the fake Slack (overrides conftest's settings)."""
    return Settings(home=tmp_path / "home", database_url=database_url,  # type: ignore[arg-type]
                    chat_transport="slack", slack_token=TOKEN,  # type: ignore[arg-type]
                    slack_signing_secret=SIGNING_SECRET,  # type: ignore[arg-type]
                    slack_base_url=slack.api_url, slack_timeout=1, chat_channels=CHANNELS,
                    mentions=MENTIONS)


def staffed(h: Herald, *, security: bool = True, number: str = "inc-7",
            draft: bool = True) -> str:
    """An incident with named people in every role, its Slack channel, facts and (unless
    told otherwise: writing one runs the proofreader, seconds) a customer draft."""
    ref = incidents.create_incident(h, title="Search misses new repositories", actor=MESSENGER,
                                    messenger=MESSENGER, messenger_name="Mia",
                                    number=number, security=security)
    for role, email, name in (("buddy", BUDDY, "Bo"), ("incident_lead", LEAD, "Lia"),
                              ("cs_leader", CS_LEADER, "Clo"),
                              *([("security_lead", SECURITY_LEAD, "Sam")] if security else [])):
        incidents.set_role(h, ref, role, email, actor=MESSENGER, name=name)
    incidents.add_link(h, ref, "channel", f"{WORKSPACE}/archives/{INCIDENT_CHANNEL}",
                       actor=MESSENGER)
    fill_facts(h, ref)
    if draft:
        drafts.new_draft(h, ref, "email_impact_known", actor=MESSENGER)
    return ref


def post_all(h: Herald) -> int:
    """What the worker's chat lane does, once."""
    return post_due_chat(h, "worker@test#lane0", chat_channel(h.settings))


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# Posts land in the right channels with the right mentions -----------------------------------

def test_steps_1_5_9_10_and_14_post_to_their_channels_with_their_mentions(
        h: Herald, slack: FakeSlack) -> None:
    ref = staffed(h)
    chat.post_step_messages(h, ref, 1, actor=MESSENGER)
    chat.post_step_messages(h, ref, 5, actor=MESSENGER)
    chat.post_step_messages(h, ref, 9, actor=MESSENGER)
    chat.post_step_messages(h, ref, 10, actor=MESSENGER, extras=STEP_10)
    reviews.request_reviews(h, ref, actor=MESSENGER, extras=SEND)
    assert post_all(h) == 12

    by_kind: dict[str, list[tuple[str, str]]] = {}
    items = chat.chat_items(h, ref)
    assert {i.state for i in items} == {"sent"}
    for item in items:
        by_kind.setdefault(item.kind, []).append((item.channel, item.text))
    # Slack got each text with the people in roles as real mentions (found by their email),
    # so they are notified; Herald keeps the names for people to read.
    real = {"@Bo": "<@U0BO>", "@Lia": "<@U0LIA>", "@Sam": "<@U0SAM>"}

    def as_slack(text: str) -> str:
        for name, mention in real.items():
            text = text.replace(name, mention)
        return text

    posted = {(m["channel"], unescape(m["text"])) for m in slack.posted()}
    assert posted == {(c, as_slack(t)) for pairs in by_kind.values() for c, t in pairs}
    assert any("<@U0LIA> <@U0SAM>" in t for _, t in posted)
    assert len(slack.called("users.lookupByEmail")) == 3  # once per person, then remembered

    where = {kind: [c for c, _ in pairs] for kind, pairs in by_kind.items()}
    assert where == {
        "chat_claim": ["C0SUPPORT", "C0SUPINT", "C0INCS", INCIDENT_CHANNEL],
        "chat_buddy_request": ["C0SUPINT"],
        "chat_security_team": ["C0SECURITY"],
        "chat_cs_leadership_security": ["C0SUPINT"],
        "chat_ce_help": ["C0CE"],
        "chat_review_support": ["C0SUPINT"],
        "chat_review_incident_lead_security": [INCIDENT_CHANNEL],
        "chat_review_marketing": ["C0MARKETING"],
        "chat_inform_ce_helped": ["C0CE"],  # the CE team helped with the list (step 10)
    }
    text = {kind: pairs[0][1] for kind, pairs in by_kind.items()}
    mentions = {
        "chat_buddy_request": ["<!subteam^S0SUPPORT>"],
        "chat_security_team": ["<!subteam^S0SEC>"],
        "chat_cs_leadership_security": ["<!subteam^S0CSL>"],
        "chat_ce_help": ["<!subteam^S0CE>"],
        "chat_review_support": ["<!subteam^S0SUPPORT>", "<!subteam^S0CSL>",
                                "<!subteam^S0TRIAGE>", "@Bo"],
        "chat_review_incident_lead_security": ["@Lia", "@Sam"],
        "chat_review_marketing": ["<!subteam^S0MKT>"],
        "chat_inform_ce_helped": ["<!subteam^S0CE>"],
    }
    for kind, expected in mentions.items():
        assert all(m in text[kind] for m in expected), (kind, text[kind])
        item = next(i for i in items if i.kind == kind)
        assert sorted(item.mentions) == sorted(expected), kind
    assert "column F" in text["chat_ce_help"] and "14:00 UTC on 2026-01-01" in \
        text["chat_inform_ce_helped"]
    # Slack got the user-group markup as is (not escaped), so the groups are pinged.
    raw = next(m for m in slack.posted("C0SECURITY"))
    assert raw["text"].startswith("<!subteam^S0SEC> inc-7 looks like a security incident")

    # The review requests carry Approve / Request changes buttons for their seats.
    review = next(m for m in slack.posted(INCIDENT_CHANNEL) if m.get("blocks"))
    elements = review["blocks"][1]["elements"]
    # Their value names the drafts the message asks about.
    lead, sec = (f"inc-7:{x}:email_impact_known=1" for x in ("incident_lead", "security_lead"))
    assert [(e["action_id"], e["value"]) for e in elements] == [
        ("review_approve", lead), ("review_changes", lead),
        ("review_approve", sec), ("review_changes", sec)]

    # Every post is on the timeline with its permalink.
    rows = [r for r in views.timeline(h, ref) if r.key.startswith("post_")]
    assert len(rows) == 12
    assert all(r.link and r.link.startswith(f"{WORKSPACE}/archives/") and r.completed_at
               for r in rows)
    assert {i.link for i in items} == {r.link for r in rows}


def test_a_normal_incident_has_no_step_9_messages(h: Herald, slack: FakeSlack) -> None:
    ref = staffed(h, security=False)
    with pytest.raises(Exception, match="security incidents only"):
        chat.post_step_messages(h, ref, 9, actor=MESSENGER)
    reviews.request_reviews(h, ref, actor=MESSENGER, extras=SEND)
    post_all(h)
    assert not slack.posted("C0SECURITY")
    lead = [m for m in slack.posted(INCIDENT_CHANNEL)]
    assert len(lead) == 1 and "@Sam" not in lead[0]["text"]


def test_a_person_slack_cannot_find_keeps_their_name(h: Herald, slack: FakeSlack) -> None:
    ref = staffed(h, security=False)
    incidents.set_role(h, ref, "incident_lead", "stranger@example.com", actor=MESSENGER,
                       name="Stan")  # not in the Slack workspace
    slack.fail("users.lookupByEmail", "missing_scope")  # and the first lookup is refused
    reviews.request_reviews(h, ref, actor=MESSENGER, extras=SEND)
    post_all(h)
    lead = unescape(slack.posted(INCIDENT_CHANNEL)[0]["text"])
    assert lead.startswith("@Stan could you check the draft customer messages")
    support = unescape(slack.posted("C0SUPINT")[0]["text"])
    assert "@Bo" in support  # the refused lookup (missing scope): the name, posted all the same
    assert {i.state for i in chat.chat_items(h, ref)} == {"sent"}


# A chat outage loses no message ----------------------------------------------------------------

@pytest.mark.parametrize("fault", ["500", "hang", "ratelimited"])
def test_an_outage_loses_no_message_and_the_messenger_sees_it_waiting(
        h: Herald, slack: FakeSlack, fault: str) -> None:
    ref = staffed(h, security=False, draft=False)
    [item] = chat.post_step_messages(h, ref, 5, actor=MESSENGER)
    slack.fail("chat.postMessage", fault, retry_after=7)
    started = time.monotonic()
    assert post_all(h) == 1
    if fault == "hang":  # the client gave up after HERALD_SLACK_TIMEOUT (1 s), not later
        assert time.monotonic() - started < 3.5
    assert slack.posted() == []

    [waiting] = chat.chat_items(h, ref, pending_only=True)
    assert (waiting.id, waiting.state, waiting.attempts) == (item, "retry", 1)
    assert waiting.detail and {"500": "Slack error 500", "hang": "Slack unreachable",
                               "ratelimited": "Slack rate limit"}[fault] in waiting.detail
    now = h.clock.now()
    assert waiting.next_try_at is not None and waiting.next_try_at > now
    if fault == "ratelimited":  # exactly when Slack said
        assert (waiting.next_try_at - now).total_seconds() == 7

    assert post_all(h) == 0  # not due yet: nothing is hammered
    h.clock.advance(seconds=(waiting.next_try_at - now).total_seconds() - 1)  # type: ignore[attr-defined]
    assert post_all(h) == 0
    h.clock.advance(seconds=1)  # type: ignore[attr-defined]
    assert post_all(h) == 1

    [done] = chat.chat_items(h, ref)
    assert (done.state, done.attempts) == ("sent", 2)
    assert done.link and done.link.startswith(f"{WORKSPACE}/archives/C0SUPINT/p")
    assert [unescape(m["text"]) for m in slack.posted()] == [done.text]  # once, not lost
    assert chat.chat_items(h, ref, pending_only=True) == []


def test_a_post_that_got_through_before_the_answer_was_lost_is_not_posted_twice(
        h: Herald, slack: FakeSlack) -> None:
    ref = staffed(h, security=False, draft=False)
    chat.post_step_messages(h, ref, 5, actor=MESSENGER)
    slack.fail("chat.postMessage", "hang", keep=True)  # Slack posted it; the answer never came
    assert post_all(h) == 1
    assert len(slack.posted()) == 1
    [waiting] = chat.chat_items(h, ref, pending_only=True)
    assert waiting.state == "retry"
    h.clock.advance(minutes=2)  # type: ignore[attr-defined]
    assert post_all(h) == 1
    [done] = chat.chat_items(h, ref)
    assert done.state == "sent" and "an earlier try was posted" in (done.detail or "")
    assert len(slack.posted()) == 1  # found in the channel's history, not posted again
    ts = slack.posted()[0]["ts"].replace(".", "")
    assert done.link == f"{WORKSPACE}/archives/C0SUPINT/p{ts}"


def test_a_refused_post_fails_with_the_reason_and_can_be_tried_again(
        h: Herald, slack: FakeSlack) -> None:
    ref = staffed(h, security=False, draft=False)
    [item] = chat.post_step_messages(h, ref, 5, actor=MESSENGER)
    slack.fail("chat.postMessage", "not_in_channel")
    assert post_all(h) == 1
    [failed] = chat.chat_items(h, ref, pending_only=True)
    assert (failed.state, failed.detail) == ("failed", "Slack refused: not_in_channel")
    h.clock.advance(hours=1)  # type: ignore[attr-defined]
    assert post_all(h) == 0  # a permanent refusal is not retried alone
    chat.retry_message(h, ref, item, actor=MESSENGER)  # the bot was invited; try again
    assert post_all(h) == 1
    assert chat.chat_items(h, ref)[0].state == "sent"


def test_repeated_outages_give_up_and_say_so(h: Herald, slack: FakeSlack) -> None:
    ref = staffed(h, security=False, draft=False)
    chat.post_step_messages(h, ref, 5, actor=MESSENGER)
    slack.fail("chat.postMessage", "500", times=8)
    for _ in range(8):
        post_all(h)
        h.clock.advance(hours=1)  # type: ignore[attr-defined]
    [item] = chat.chat_items(h, ref, pending_only=True)
    assert item.state == "failed" and "gave up after 8" in (item.detail or "")
    assert slack.posted() == []


def test_slack_chat_honours_a_timeout_shorter_than_the_hang() -> None:
    with FakeSlack(hang_seconds=10) as fake:
        fake.add_channel("C0X", "x")
        fake.fail("chat.postMessage", "hang")
        started = time.monotonic()
        receipt = SlackChat(TOKEN, fake.api_url, timeout=1).post(channel="C0X", text="hi")
        assert receipt.outcome == "retry" and time.monotonic() - started < 3


# Slack calling Herald: signed commands and buttons ------------------------------------------------

@dataclass
class App:
    """The Herald app in a TestClient, and Slack's side of the Slack app."""

    client: TestClient
    slack: Callbacks


@pytest.fixture
def app(h: Herald, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))
    for email, roles in ACCOUNT_ROLES.items():
        accounts.create_user(h, email=email, name=email.split("@")[0].title(), roles=roles,
                             password=PASSWORD, actor="setup@example.com")
    with TestClient(create_app(h)) as client:
        yield App(client, Callbacks(client, slack))


def seat(h: Herald, ref: str, name: str) -> reviews.SeatView:
    return next(s for s in reviews.review_status(h, ref).seats if s.seat == name)


def test_signed_commands_act_as_the_mapped_herald_account(
        h: Herald, app: App, slack: FakeSlack) -> None:
    ref = staffed(h)
    reviews.request_reviews(h, ref, actor=MESSENGER, extras=SEND)

    r = app.slack.command(f"status {ref}", "U0BO")
    assert r.status_code == 200
    assert app.slack.last_reply().startswith("inc-7 Search misses new repositories: next is "
                                             "step 1")
    app.slack.command(f"next {ref}", "U0BO")
    assert app.slack.last_reply().endswith("Claim the incident. Say in the support, internal "
                                           "support, incidents and incident channels that "
                                           "you are on it and need a few minutes to catch "
                                           "up. Nothing else yet.")

    app.slack.command(f"approve {ref} buddy", "U0BO")
    assert app.slack.last_reply().startswith("Approved (email_impact_known v1). Still:")
    assert (seat(h, ref, "buddy").decision, seat(h, ref, "buddy").by) == ("approved", BUDDY)

    app.slack.command(f"changes {ref} cs_leadership Please name the fixed release", "U0CLO")
    s = seat(h, ref, "cs_leadership")
    assert (s.decision, s.by, s.comment) == ("changes", CS_LEADER,
                                             "Please name the fixed release")

    # Nobody answers for a seat they do not hold.
    app.slack.command(f"approve {ref} incident_lead", "U0BO")
    assert app.slack.last_reply() == "Herald: you do not hold the incident lead seat on " \
                                     "this incident"
    assert seat(h, ref, "incident_lead").decision == "requested"

    app.slack.command(f"done {ref} 1", "U0MIA")
    assert app.slack.last_reply() == "Step 1 done: Claim the incident."
    assert views.incident_detail(h, ref).steps[0].by == MESSENGER


def test_button_clicks_record_the_decision_as_the_clicking_person(
        h: Herald, app: App, slack: FakeSlack) -> None:
    ref = staffed(h)
    reviews.request_reviews(h, ref, actor=MESSENGER, extras=SEND)
    post_all(h)
    # The buttons Slack shows are the ones Herald posted.
    values = [e["value"] for m in slack.posted() if m.get("blocks")
              for e in m["blocks"][1]["elements"] if e["action_id"] == "review_approve"]
    assert {"inc-7:incident_lead:email_impact_known=1",
            "inc-7:security_lead:email_impact_known=1"} <= set(values)

    r = app.slack.click("review_approve", "inc-7:incident_lead", "U0LIA")
    assert r.status_code == 200
    assert app.slack.last_reply().startswith("Approved as incident_lead. Still:")
    s = seat(h, ref, "incident_lead")
    assert (s.decision, s.by, s.current) == ("approved", LEAD, True)

    app.slack.click("review_approve", "inc-7:security_lead", "U0LIA")  # not Lia's seat
    assert "do not hold the security lead seat" in app.slack.last_reply()
    assert seat(h, ref, "security_lead").decision == "requested"

    app.slack.click("review_changes", "inc-7:security_lead", "U0SAM")
    assert app.slack.last_reply() == ("Say what should change: /herald changes inc-7 "
                                      "security_lead <your comment>")
    for uid, name in (("U0BO", "buddy"), ("U0CLO", "cs_leadership"), ("U0SAM", "security_lead")):
        app.slack.click("review_approve", f"inc-7:{name}", uid)
    assert app.slack.last_reply() == "Approved as security_lead. Ready to send."
    assert reviews.review_status(h, ref).ready


def test_a_button_of_drafts_changed_since_the_request_approves_nothing(
        h: Herald, app: App, slack: FakeSlack) -> None:
    ref = staffed(h)
    reviews.request_reviews(h, ref, actor=MESSENGER, extras=SEND)
    post_all(h)
    draft = drafts.get_draft(h, ref, "email_impact_known")
    drafts.save_draft(h, ref, "email_impact_known", body=draft.body + "\n\nOne more line.",
                      subject=draft.subject, base_version=draft.version, actor=MESSENGER)
    app.slack.click("review_approve", "inc-7:incident_lead:email_impact_known=1", "U0LIA")
    assert "drafts changed since you read them" in app.slack.last_reply()
    assert seat(h, ref, "incident_lead").decision == "requested"


def test_claiming_from_slack_takes_the_role_and_posts_the_claim(
        h: Herald, app: App, slack: FakeSlack) -> None:
    ref = staffed(h, security=False, number="inc-8", draft=False)
    app.slack.command(f"claim {ref}", "U0OMAR")
    assert app.slack.last_reply() == ("You are the messenger for inc-8; the claim messages "
                                      "are on their way.")
    roles = {r.role: r.email for r in views.incident_detail(h, ref).roles}
    assert roles["messenger"] == "omar@example.com"
    assert post_all(h) == 4
    assert [m["channel"] for m in slack.posted()] == ["C0SUPPORT", "C0SUPINT", "C0INCS",
                                                       INCIDENT_CHANNEL]


def test_need_to_know_holds_in_slack_too(h: Herald, app: App, slack: FakeSlack) -> None:
    secret = staffed(h, draft=False)  # a security incident Omar is not on
    normal = staffed(h, security=False, number="inc-8", draft=False)
    for text in (f"status {secret}", f"claim {secret}", f"approve {secret} marketing",
                 f"done {secret} 1"):
        app.slack.command(text, "U0OMAR")
        assert app.slack.last_reply() == "Herald: no incident 'inc-7'", text
    app.slack.click("review_approve", "inc-7:cs_leadership", "U0OMAR")
    assert app.slack.last_reply() == "Herald: no incident 'inc-7'"
    assert {r.role: r.email for r in views.incident_detail(h, secret).roles}[
        "messenger"] == MESSENGER
    # A viewer account sees a normal incident but changes nothing on it.
    app.slack.command(f"status {normal}", "U0VIC")
    assert app.slack.last_reply().startswith("inc-8 ")
    app.slack.command(f"done {normal} 1", "U0VIC")
    assert app.slack.last_reply() == ("Herald: your account may view this incident but not "
                                      "change it")
    # Unknown people are told why.
    app.slack.command(f"status {normal}", "U0NOBODY")
    assert app.slack.last_reply() == "Herald: no Herald account for nobody@example.com"
    app.slack.command(f"status {normal}", "U0PRIVATE")
    assert app.slack.last_reply() == ("Herald: your Slack profile has no email Herald can "
                                      "match")


def test_bad_or_missing_signatures_get_401_and_change_nothing(
        h: Herald, app: App, slack: FakeSlack) -> None:
    ref = staffed(h)
    reviews.request_reviews(h, ref, actor=MESSENGER, extras=SEND)
    approve = app.slack.action_body("review_approve", "inc-7:incident_lead", "U0LIA")
    command = app.slack.command_body(f"approve {ref} buddy", "U0BO")
    stale = int(time.time()) - 10 * 60
    for body in (approve, command):
        attempts = {
            "no signature": {},
            "wrong secret": app.slack.signed_headers(body, secret="not-the-secret"),
            "stale timestamp": app.slack.signed_headers(body, timestamp=stale),
            "other body": app.slack.signed_headers(body + b"&extra=1"),
            "garbage": {"x-slack-request-timestamp": str(int(time.time())),
                        "x-slack-signature": "v0=deadbeef"},
            "timestamp only": {"x-slack-request-timestamp": str(int(time.time()))},
        }
        for why, headers in attempts.items():
            r = app.slack.send(body, headers)
            assert r.status_code == 401, why
    assert slack.responses == []  # no listener ran
    assert seat(h, ref, "incident_lead").decision == "requested"
    assert seat(h, ref, "buddy").decision == "requested"
    # The control: the same bodies, signed, are accepted.
    assert app.slack.send(approve, app.slack.signed_headers(approve)).status_code == 200
    assert seat(h, ref, "incident_lead").by == LEAD


def test_slack_events_is_404_when_slack_is_not_configured(tmp_path: Path,
                                                           h: Herald) -> None:
    plain = Settings(home=tmp_path / "plain")
    bare = Herald(db=h.db, settings=plain, clock=h.clock)
    with TestClient(create_app(bare)) as client:
        assert client.post("/slack/events", content=b"x").status_code == 404


# Gathering from the incident channel ------------------------------------------------------------

def signed_in(app: App, h: Herald, email: str) -> TestClient:
    session, _ = accounts.log_in(h, email=email, password=PASSWORD, ip="testclient")
    app.client.cookies.set(SESSION_COOKIE, session)
    return app.client


def csrf_of(h: Herald, client: TestClient) -> str:
    found = accounts.session_account(h, client.cookies.get(SESSION_COOKIE))
    assert found is not None
    return found[1]


def test_channel_messages_and_threads_become_facts_with_their_permalink(
        h: Herald, app: App, slack: FakeSlack) -> None:
    ref = staffed(h, draft=False)
    first = slack.say(INCIDENT_CHANNEL, "U0LIA", "Only 5.2.0 is affected & 5.1 is fine")
    reply = slack.say(INCIDENT_CHANNEL, "U0SAM", "Confirmed: 5.2.0, fixed in 5.2.1",
                      thread_ts=first)
    slack.say(INCIDENT_CHANNEL, "U0BO", "Customers ask on the forum too")

    view = channel_messages(h, ref)
    assert (view.configured, view.channel, view.problem) == (True, INCIDENT_CHANNEL, None)
    assert [(m.author, m.text) for m in view.messages] == [
        ("Bo", "Customers ask on the forum too"),
        ("Lia", "Only 5.2.0 is affected & 5.1 is fine")]
    lia = view.messages[1]
    assert (lia.email, lia.reply_count) == (LEAD, 1)
    assert [(r.author, r.email, r.text) for r in lia.replies] == [
        ("Sam", SECURITY_LEAD, "Confirmed: 5.2.0, fixed in 5.2.1")]

    # A thread reply becomes a fact, in the messenger's words, provided by its author.
    fact_from_message(h, ref, "release", reply, actor=MESSENGER, value="5.2.0")
    f = next(x for x in views.plan(h, ref).facts if x.key == "release")
    assert (f.value, f.provided_by, f.recorded_by) == ("5.2.0", SECURITY_LEAD, MESSENGER)
    assert f.source == f"{WORKSPACE}/archives/{INCIDENT_CHANNEL}/p{reply.replace('.', '')}"

    # The plan page shows the channel, and its form does the same for a top-level message.
    client = signed_in(app, h, MESSENGER)
    page = client.get(f"/incidents/{ref}/plan")
    assert page.status_code == 200
    assert "From the incident channel" in page.text
    assert "Only 5.2.0 is affected &amp; 5.1 is fine" in page.text
    assert "Confirmed: 5.2.0, fixed in 5.2.1" in page.text
    r = client.post(f"/incidents/{ref}/plan/channel/facts",
                    data={"key": "causes", "ts": first, "value": "",
                          "csrf_token": csrf_of(h, client)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    f = next(x for x in views.plan(h, ref).facts if x.key == "causes")
    assert (f.value, f.provided_by) == ("Only 5.2.0 is affected & 5.1 is fine", LEAD)
    assert f.source and f.source.endswith(first.replace(".", ""))

    # The API reads the channel too.
    token = accounts.create_api_token(h, MESSENGER, "t", actor=MESSENGER)
    api = TestClient(client.app).get(f"/api/v1/incidents/{ref}/chat/channel",  # no session
                                     headers={"authorization": f"Bearer {token}"})
    assert api.status_code == 200 and len(api.json()["messages"]) == 2


def test_slack_being_down_is_said_on_the_plan_page(h: Herald, app: App,
                                                   slack: FakeSlack) -> None:
    ref = staffed(h, draft=False)
    slack.fail("conversations.history", "500")
    view = channel_messages(h, ref)
    assert view.problem and "Slack" in view.problem and view.messages == []
    slack.fail("conversations.history", "500")
    client = signed_in(app, h, MESSENGER)
    page = client.get(f"/incidents/{ref}/plan")
    assert page.status_code == 200 and "Cannot read the channel" in page.text
    with pytest.raises(Exception, match="no message"):
        fact_from_message(h, ref, "release", "1.000001", actor=MESSENGER)
    before = next(x for x in views.plan(h, ref).facts if x.key == "release")
    assert before.source is None
    plan.set_fact(h, ref, "release", "5.2.0", actor=MESSENGER)  # still works by hand
