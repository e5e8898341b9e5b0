"""The builtin follow-up over HTTP: raw replies posted to the inbound endpoint land on the
right customer's item, forged or unmatched ones are refused or parked; the follow-up API and
the Follow-up tab; the CLI's sync and summary; IMAP polling against a tiny fake server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from herald.channels.imap import Mailbox, MailboxUnavailable
from herald.clock import FixedClock
from herald.services import accounts, followup
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.followup_models import Reply
from herald.web.app import create_app
from tests.fake_imap import fake_imap
from tests.followup_setup import Sent, items_by_customer, reply, sent_incident
from tests.helpers import ok_cli
from tests.sending_setup import MESSENGER

SECRET = "inbound-secret-for-tests"
PASSWORD = "correct horse battery"
INBOUND = "/api/v1/inbound/email"


@pytest.fixture
def world(h: Herald, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[tuple[TestClient, Sent]]:
    """An incident whose 4 emails went out; the app with an inbound secret."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))
    h.settings.inbound_secret = SecretStr(SECRET)
    sent = sent_incident(h, tmp_path, n=4)
    with TestClient(create_app(h)) as client:
        yield client, sent


def post_reply(client: TestClient, raw: bytes, secret: str | None = SECRET) -> httpx.Response:
    headers = {"content-type": "message/rfc822"}
    if secret is not None:
        headers["x-herald-inbound-secret"] = secret
    return client.post(INBOUND, content=raw, headers=headers)


def replies(h: Herald) -> int:
    with h.db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Reply)) or 0)


def test_a_raw_reply_lands_on_the_right_customers_item(
        h: Herald, world: tuple[TestClient, Sent]) -> None:
    client, sent = world
    c2 = sent.contacts[2].email
    r = post_reply(client, reply(sent.mail.to(c2), sender=f"Contact Two <{c2}>",
                                 text="Which versions are affected?"))
    assert r.status_code == 200, r.text
    body = r.json()
    items = items_by_customer(h)
    assert body == {"matched": True, "item_id": items[c2].id, "incident": "inc-7",
                    "reason": None}
    assert {e: i.state for e, i in items.items()} == {
        p.email: "open" if p.email == c2 else "pending" for p in sent.contacts}
    assert followup.queue(h, sent.ref)[0].thread[0].body.startswith(
        "Which versions are affected?")


def test_forged_or_unmatched_replies_are_refused_or_parked(
        h: Herald, world: tuple[TestClient, Sent]) -> None:
    client, sent = world
    c0 = sent.contacts[0].email
    to_c0 = sent.mail.to(c0)
    genuine = reply(to_c0, sender=c0, text="real")
    # refused: no secret, a wrong one, or no secret configured at all; nothing is stored
    for secret in (None, "", "wrong-secret", SECRET[:-1]):
        r = post_reply(client, genuine, secret)
        assert r.status_code == 401 and r.json()["status"] == 401, secret
    h.settings.inbound_secret = None
    assert post_reply(client, genuine).status_code == 401
    h.settings.inbound_secret = SecretStr(SECRET)
    assert replies(h) == 0

    # parked: a stranger answering the customer's email, a failed DMARC check, an answer to
    # nothing Herald sent; the customer's item is untouched
    for raw, why in (
            (reply(to_c0, sender="mallory@evil.example", text="send me the logs"),
             "not the customer"),
            (reply(to_c0, sender=c0, text="spoofed", extra={
                "Authentication-Results": "mx.example.com; dmarc=fail"}), "DMARC"),
            (reply(to_c0, sender=c0, text="?", in_reply_to=False, references=False),
             "answers none")):
        r = post_reply(client, raw)
        assert r.status_code == 202 and r.json()["matched"] is False
        assert why in r.json()["reason"]
    assert {i.state for i in items_by_customer(h).values()} == {"pending"}
    assert replies(h) == 3
    # not an email at all
    assert post_reply(client, b"").status_code == 422

    # the real one still lands, once
    assert post_reply(client, genuine).status_code == 200
    assert post_reply(client, genuine).json()["reason"] == "already received"
    assert items_by_customer(h)[c0].state == "open"


def test_the_follow_up_api(h: Herald, clock: FixedClock, world: tuple[TestClient, Sent]
                          ) -> None:
    client, sent = world
    token = _token_for(h)
    auth = {"authorization": f"Bearer {token}"}
    c0, c1 = sent.contacts[0].email, sent.contacts[1].email
    post_reply(client, reply(sent.mail.to(c0), sender=c0, text="Is data lost?"))
    clock.advance(minutes=1)  # the oldest unanswered reply comes first
    post_reply(client, reply(sent.mail.to(c1), sender=c1, text="Post-mortem please"))
    post_reply(client, reply(sent.mail.to(c1), sender="x@evil.example", text="forged"))
    base = f"/api/v1/incidents/{sent.ref}"
    queue = client.get(f"{base}/followup", headers=auth).json()
    assert [q["customer_email"] for q in queue[:2]] == [c0, c1]
    assert queue[0]["thread"][0]["body"].startswith("Is data lost?")
    parked = client.get(f"{base}/followup/parked", headers=auth).json()
    assert [p["sender"] for p in parked] == ["x@evil.example"]
    r = client.post(f"{base}/followup/{queue[0]['id']}/mark", headers=auth,
                    json={"outcome": "faq", "question": "Is any data lost?"})
    assert r.status_code == 200, r.text
    client.post(f"{base}/followup/{queue[1]['id']}/mark", headers=auth,
                json={"outcome": "postmortem"})
    [faq] = client.get(f"{base}/faq", headers=auth).json()
    assert client.post(f"{base}/faq/{faq['id']}/answer", headers=auth,
                       json={"answer": "No."}).status_code == 200
    assert client.post(f"{base}/faq/{faq['id']}/confirm", headers=auth,
                       json={"engineer": "eng@example.com"}).status_code == 200
    assert client.get(f"{base}/faq", headers=auth).json()[0]["confirmed_by"] == \
        "eng@example.com"
    assert client.post(f"{base}/faq", headers=auth, json={"question": "Asked by phone"}
                       ).status_code == 201
    assert client.post(f"{base}/postmortems/notify", headers=auth).json() == {"queued": 1}
    assert client.post(f"{base}/postmortems/send", headers=auth,
                       json={"link": "https://example.com/pm/7"}).json() == {"queued": 1}
    assert client.get(f"{base}/postmortems", headers=auth).json()[0]["state"] == "queued"
    r = client.post(f"{base}/postmortems/send", headers=auth,
                    json={"link": "https://example.com/pm/7"})
    assert r.status_code == 409
    assert client.post(f"{base}/followup/parked/{parked[0]['id']}/dismiss",
                       headers=auth).status_code == 200
    assert client.get(f"{base}/followup/parked", headers=auth).json() == []
    summary = client.get(f"{base}/summary", headers=auth).json()
    assert (summary["customers_told"], summary["replies"], summary["faqs"],
            summary["postmortems_requested"]) == (4, 2, 2, 1)
    sync = client.post(f"{base}/followup/sync", headers=auth).json()
    assert sync["desk"] == "builtin" and sync["busy"] is None
    bad = client.post(f"{base}/followup/{queue[0]['id']}/mark", headers=auth,
                      json={"outcome": "maybe"})
    assert bad.status_code == 422


def _token_for(h: Herald) -> str:
    accounts.create_user(h, email=MESSENGER, name="Mia", roles=["support"],
                         password=PASSWORD, actor="admin@example.com")
    return accounts.create_api_token(h, MESSENGER, "tests", actor=MESSENGER)


def test_the_follow_up_tab_renders_and_acts(h: Herald, world: tuple[TestClient, Sent]) -> None:
    client, sent = world
    _token_for(h)
    page = client.get("/login")
    client.post("/login", data={"email": MESSENGER, "password": PASSWORD, "next": "/",
                                "csrf_token": _csrf(page.text)})
    c3 = sent.contacts[3].email
    post_reply(client, reply(sent.mail.to(c3), sender=c3, text="<script>x</script> Why?"))
    tab = client.get(f"/incidents/{sent.ref}/followup")
    assert tab.status_code == 200
    assert 'aria-current="page">Follow-up' in tab.text
    assert "&lt;script&gt;x&lt;/script&gt; Why?" in tab.text and "<script>x" not in tab.text
    item = items_by_customer(h)[c3].id
    r = client.post(f"/incidents/{sent.ref}/followup/{item}/mark",
                    data={"outcome": "faq", "question": "Why?", "csrf_token": _csrf(tab.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    tab = client.get(f"/incidents/{sent.ref}/followup")
    assert "Reply marked as an FAQ question." in tab.text
    assert "<strong>Q:</strong> Why?" in tab.text


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_cli_syncs_and_sums_up(h: Herald, cli_env: Settings, clock: FixedClock,
                                   world: tuple[TestClient, Sent],
                                   capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from herald.cli import common
    from herald.services.context import open_herald

    monkeypatch.setattr(common, "open_herald",
                        lambda settings: open_herald(settings, clock=clock))
    common.herald.cache_clear()
    _, sent = world
    clock.advance(days=3)
    out = " ".join(ok_cli(capsys, "tickets", "sync", sent.ref).out.split())
    assert "builtin: 0 new item(s), 0 ticket(s) linked, 0 reply(ies) seen, 4 quiet item(s) " \
           "closed" in out
    summary = ok_cli(capsys, "summary", sent.ref, "--json").out
    assert '"customers_told": 4' in summary
    assert "Nothing" not in ok_cli(capsys, "followup", "parked").out
    common.herald().db.dispose()
    common.herald.cache_clear()


def test_replies_are_read_from_an_imap_mailbox(h: Herald, world: tuple[TestClient, Sent]
                                               ) -> None:
    _, sent = world
    c0, c1 = sent.contacts[0].email, sent.contacts[1].email
    messages = [reply(sent.mail.to(c0), sender=c0, text="From the mailbox"),
                reply(sent.mail.to(c1), sender="eve@evil.example", text="forged"),
                b""]  # not an email: read, marked, never read again
    with fake_imap(messages) as server:
        box = Mailbox("127.0.0.1", server.port, "replies", "imap-pass", security="none")
        result = followup.poll_mailbox(h, box)
        assert result.model_dump() == {"read": 3, "matched": 1, "parked": 1, "unreadable": 1}
        assert server.seen == {1, 2, 3}  # each marked once recorded
        assert followup.poll_mailbox(h, box).read == 0
        uid = server.add(reply(sent.mail.to(c1), sender=c1, text="Later reply"))
        moving = Mailbox("127.0.0.1", server.port, "replies", "imap-pass", security="none",
                         done_folder="Herald done")
        assert followup.poll_mailbox(h, moving).matched == 1
        assert server.copied == [(uid, "Herald done")] and server.deleted == {uid}
    states = {e: i.state for e, i in items_by_customer(h).items()}
    assert states[c0] == "open" and states[c1] == "open"
    with fake_imap([], password="other") as server, \
            pytest.raises(MailboxUnavailable, match="cannot read INBOX"):
        followup.poll_mailbox(h, Mailbox("127.0.0.1", server.port, "replies", "imap-pass",
                                         security="none"))
