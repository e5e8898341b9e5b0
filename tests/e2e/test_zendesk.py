"""Zendesk as the support desk, against a local fake speaking its tickets/search API over
real HTTP: a ticket per sent email (the support copy's, else a new one), requester = the
customer, pending, assigned to the messenger, tagged; a customer reply seen as open; quiet
tickets solved after 3 days (and only those); a 429 storm loses nothing."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from herald.channels.tickets import ZendeskDesk, idempotency_key
from herald.clock import FixedClock
from herald.delivery.followup_lane import FollowUpScheduler
from herald.services import followup, tickets
from herald.services.context import Herald
from herald.services.tickets import SyncResult
from herald.store.followup_models import FollowUpItem
from tests.fake_zendesk import AGENT, TOKEN, Call, FakeZendesk, fake_zendesk
from tests.followup_setup import Sent, items_by_customer, sent_incident
from tests.sending_setup import MESSENGER


@pytest.fixture
def zd(clock: FixedClock) -> Iterator[FakeZendesk]:
    """A fake Zendesk on loopback, on the test's clock."""
    with fake_zendesk(clock) as fake:
        yield fake


def desk(fake: FakeZendesk) -> ZendeskDesk:
    return ZendeskDesk(fake.url, AGENT, TOKEN, timeout=5)


def until_complete(h: Herald, d: ZendeskDesk, passes: int = 200) -> SyncResult:
    """Sync until a pass finishes (as the worker would, pass after pass)."""
    total = SyncResult(desk=d.name)
    for _ in range(passes):
        r = tickets.sync_tickets(h, d)
        for name in ("new_items", "linked", "opened", "closed"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.errors += r.errors
        if r.complete:
            total.waiting = r.waiting
            return total
    raise AssertionError(f"no complete pass in {passes}")


def check_one_ticket_each(h: Herald, fake: FakeZendesk, sent: Sent) -> dict[str, dict]:
    """Each sent email ends with exactly one ticket: requester the customer, pending unless
    something happened, assigned to the messenger, tagged with the incident."""
    items = items_by_customer(h)
    assert len(items) == len(sent.contacts)
    refs = [i.ticket_ref for i in items.values()]
    assert None not in refs and len(set(refs)) == len(refs)
    owned = {}
    for address, item in items.items():
        t = fake.tickets[int(item.ticket_ref or 0)]
        assert fake.email_of(t["requester_id"]) == address
        assert fake.email_of(t["assignee_id"]) == MESSENGER
        assert {"herald", "inc-7"} <= set(t["tags"])
        assert t["external_id"] == item.message_id
        assert fake.by_external_id(item.message_id) == [t]
        owned[address] = t
    # no stray ticket either: every ticket in the desk belongs to one email
    assert len(fake.tickets) == len(sent.contacts)
    return owned


def test_each_sent_email_ends_with_one_ticket(h: Herald, clock: FixedClock, tmp_path: Path,
                                              zd: FakeZendesk) -> None:
    sent = sent_incident(h, tmp_path, n=6, per_account=2)  # pairs share a subject
    # the support address's copy became a ticket for four of the six emails
    # (newest first: the oldest ticket of a subject is not always the right one)
    copies = {p.email: zd.support_copy(sent.mail.envelope(p.email))
              for p in reversed(sent.contacts[:4])}
    d = desk(zd)
    first = tickets.sync_tickets(h, d)
    assert (first.linked, first.waiting, first.complete) == (4, 2, True)
    assert not zd.requests("POST")  # within the grace: the copies may still come

    clock.advance(minutes=16)
    second = tickets.sync_tickets(h, d)
    assert (second.linked, second.waiting) == (2, 0)
    creates = zd.requests("POST", "/api/v2/tickets.json")
    assert len(creates) == 2
    for c in creates:
        body = c.body["ticket"]
        assert c.headers["idempotency-key"] == idempotency_key(body["external_id"])
        assert body["comment"]["public"] is False  # the customer is not emailed again
        assert body["status"] == "pending"

    owned = check_one_ticket_each(h, zd, sent)
    for address, ticket_id in copies.items():  # the support copies were used, not duplicated
        assert owned[address]["id"] == ticket_id
        name = next(p.name for p in sent.contacts if p.email == address)
        assert f"Hello {name}," in owned[address]["description"]  # the right one of a pair
        assert zd.users[address]["name"] == name  # the contact, not the account
    assert {t["status"] for t in owned.values()} == {"pending"}

    # a later pass changes nothing and only reads
    before = len(zd.calls)
    again = tickets.sync_tickets(h, d)
    assert (again.linked, again.opened, again.closed, again.new_items) == (0, 0, 0, 0)
    assert {c.method for c in zd.calls[before:]} == {"GET"}


def test_a_customer_reply_is_seen_as_open(h: Herald, clock: FixedClock, tmp_path: Path,
                                          zd: FakeZendesk) -> None:
    sent = sent_incident(h, tmp_path, n=3)
    clock.advance(minutes=20)
    d = desk(zd)
    until_complete(h, d)
    owned = check_one_ticket_each(h, zd, sent)
    c1 = sent.contacts[1].email
    zd.customer_replies(owned[c1]["id"], "When does 5.2.1 come out?")
    r = tickets.sync_tickets(h, d)
    assert r.opened == 1
    items = items_by_customer(h)
    assert items[c1].state == "open" and items[c1].ticket_status == "open"
    assert {e: i.state for e, i in items.items() if e != c1} == {
        p.email: "pending" for p in sent.contacts if p.email != c1}
    queue = followup.queue(h, sent.ref)
    assert queue[0].customer_email == c1
    assert queue[0].thread[-1].body == "When does 5.2.1 come out?"
    assert tickets.sync_tickets(h, d).opened == 0  # seen once, counted once


def test_auto_close_solves_only_the_untouched_after_three_days(
        h: Herald, clock: FixedClock, tmp_path: Path, zd: FakeZendesk) -> None:
    sent = sent_incident(h, tmp_path, n=5, per_account=1)
    a, b, c, d_, e = (p.email for p in sent.contacts)
    clock.advance(minutes=20)
    d = desk(zd)
    until_complete(h, d)
    owned = check_one_ticket_each(h, zd, sent)
    zd.customer_replies(owned[a]["id"], "Is our data safe?")  # a replied: stays open
    zd.customer_replies(owned[b]["id"], "Thanks, all clear")  # b replied, then handled:
    tickets.sync_tickets(h, d)
    followup.mark_item(h, sent.ref, items_by_customer(h)[b].id, "none", actor=MESSENGER)
    zd.tickets[owned[b]["id"]]["status"] = "pending"  # the agent answered in Zendesk
    zd.tickets[owned[c]["id"]]["status"] = "hold"  # someone put c on hold: touched

    # e's customer writes while Herald is solving: the safe update refuses, e stays open
    def late_reply(call: Call) -> None:
        if call.method == "PUT" and call.path.endswith(f"/{owned[e]['id']}.json") and \
                (call.body or {}).get("ticket", {}).get("status") == "solved":
            zd.before = None
            zd.customer_replies(owned[e]["id"], "Wait, one question")

    clock.advance(days=2, hours=23)
    assert tickets.sync_tickets(h, d).closed == 0
    clock.advance(hours=1)  # three days after the emails
    zd.before = late_reply
    r = tickets.sync_tickets(h, d)
    assert r.closed == 2  # b (answered) and d (quiet)
    status = {x: zd.tickets[owned[x]["id"]]["status"] for x in (a, b, c, d_, e)}
    assert status == {a: "open", b: "solved", c: "hold", d_: "solved", e: "open"}
    states = {x: i.state for x, i in items_by_customer(h).items()}
    assert states == {a: "open", b: "closed", c: "pending", d_: "closed", e: "pending"}
    assert tickets.sync_tickets(h, d).opened == 1  # the next pass sees e's reply
    assert items_by_customer(h)[e].state == "open"

    # a reply after the auto-close opens a new item on the same ticket
    old = items_by_customer(h)[d_]
    zd.customer_replies(owned[d_]["id"], "Sorry, one more thing")
    assert tickets.sync_tickets(h, d).opened == 1
    new = items_by_customer(h)[d_]
    assert (new.previous_id, new.state, new.ticket_ref) == (old.id, "open", old.ticket_ref)
    with h.db.sessions() as s:
        kept = s.get(FollowUpItem, old.id)
        assert kept is not None and kept.state == "closed"


def test_a_429_storm_loses_nothing(h: Herald, clock: FixedClock, tmp_path: Path,
                                   zd: FakeZendesk) -> None:
    sent = sent_incident(h, tmp_path, n=10, per_account=2)
    for p in sent.contacts[::2]:  # half the support copies became tickets
        zd.support_copy(sent.mail.envelope(p.email))
    rng = random.Random(7)
    zd.storm = lambda call: rng.choice([0, 0, 1]) if rng.random() < 0.4 else None
    lost: Counter[str] = Counter()

    def lose_first_create(call: Call) -> bool:  # created, but the answer never came back
        key = call.headers.get("idempotency-key", "")
        if call.method == "POST" and not lost[key]:
            lost[key] += 1
            return True
        return False

    zd.lose_answer = lose_first_create
    clock.advance(minutes=20)
    d = desk(zd)
    busy = 0
    for _ in range(300):
        r = tickets.sync_tickets(h, d)
        busy += not r.complete
        if r.complete:
            break
    assert r.complete and busy > 3, busy
    assert len(zd.requests(None)) > 0 and any(c.status == 429 for c in zd.calls)
    assert sum(lost.values()) == 5  # every creation lost its first answer...
    owned = check_one_ticket_each(h, zd, sent)  # ...and still one ticket each
    assert {t["status"] for t in owned.values()} == {"pending"}

    # replies and the auto-close, still under the storm
    repliers = [p.email for p in sent.contacts[:3]]
    for address in repliers:
        zd.customer_replies(owned[address]["id"], f"question from {address}")
    total = until_complete(h, d, passes=300)
    assert total.opened == 3
    clock.advance(days=3)
    total = until_complete(h, d, passes=300)
    assert total.closed == 7
    states = Counter(i.state for i in items_by_customer(h).values())
    assert states == Counter({"closed": 7, "open": 3})
    assert Counter(t["status"] for t in zd.tickets.values()) == Counter(
        {"solved": 7, "open": 3})
    queue = followup.queue(h, sent.ref)
    assert {q.thread[-1].body for q in queue if q.thread} == {
        f"question from {a}" for a in repliers}


def test_the_scheduler_waits_as_long_as_the_desk_asks(h: Herald, clock: FixedClock,
                                                      tmp_path: Path, zd: FakeZendesk) -> None:
    h.settings.tickets_sync_seconds = 60
    sent_incident(h, tmp_path, n=2)
    zd.storm = lambda call: 120  # everything refused, come back in two minutes
    scheduler = FollowUpScheduler(h, desk=desk(zd))
    scheduler.run_due()
    asked = len(zd.calls)
    assert asked == 1
    clock.advance(seconds=119)
    scheduler.run_due()
    assert len(zd.calls) == asked  # not before its Retry-After
    zd.storm = None
    clock.advance(seconds=1)
    clock.advance(minutes=20)
    scheduler.run_due()
    assert len(zd.tickets) == 2
    n = len(zd.calls)
    clock.advance(seconds=30)
    assert scheduler.run_due() == 0 and len(zd.calls) == n  # the usual pace: every minute


def test_wrong_credentials_are_reported_per_item_and_retried(h: Herald, clock: FixedClock,
                                                             tmp_path: Path,
                                                             zd: FakeZendesk) -> None:
    sent_incident(h, tmp_path, n=2)
    clock.advance(minutes=20)
    bad = ZendeskDesk(zd.url, AGENT, "wrong-token", timeout=5)
    r = tickets.sync_tickets(h, bad)
    assert r.complete and r.linked == 0 and len(r.errors) == 2
    assert "HTTP 401" in r.errors[0]
    assert all(i.ticket_error and "401" in i.ticket_error
               for i in items_by_customer(h).values())
    assert tickets.sync_tickets(h, desk(zd)).linked == 2
    assert all(i.ticket_error is None for i in items_by_customer(h).values())
