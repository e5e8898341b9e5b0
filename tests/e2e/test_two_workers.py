"""Two workers share one send on PostgreSQL (FOR UPDATE SKIP LOCKED) without a duplicate."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from herald.channels.mail import SmtpTransport
from herald.clock import FixedClock
from herald.delivery.worker import Worker
from herald.services import sending
from herald.services.context import Herald
from herald.store.db import Database
from herald.store.outbox_models import OutboxItem
from tests.sending_setup import MESSENGER, approved_incident, emails_pending, people
from tests.smtp_sink import running

RECIPIENTS = 5000


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_share_a_send_without_duplicates(
        h: Herald, clock: FixedClock, tmp_path: Path) -> None:
    ref = approved_incident(h, people(RECIPIENTS), tmp_path / "csv")
    assert sending.start_send(h, ref, actor=MESSENGER).new == RECIPIENTS
    with running(keep_data=False) as sink:
        # two workers as on two machines: own engine, own name, own connection pool
        heralds = [Herald(db=Database(h.db.url), settings=h.settings, clock=clock)
                   for _ in range(2)]
        workers = [Worker(x, SmtpTransport("127.0.0.1", sink.port, security="none",
                                           timeout=30), name=f"worker@machine-{n}:1",
                          pool=3, batch=10)
                   for n, x in enumerate(heralds)]
        start = threading.Barrier(2)
        handled: dict[str, int] = {}
        errors: list[BaseException] = []

        def run(w: Worker) -> None:
            try:
                start.wait()
                handled[w.name] = w.run_until_idle()
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for x in heralds:
            x.db.dispose()
        assert errors == []
        accepted = sink.counts()

    with h.db.sessions() as s:
        rows = s.execute(select(OutboxItem.message_id, OutboxItem.state, OutboxItem.claimed_by)
                         .where(OutboxItem.kind == "email")).all()
    assert len(rows) == RECIPIENTS
    assert Counter(st for _, st, _ in rows) == {"sent": RECIPIENTS}
    assert emails_pending(h) == 0
    assert sum(accepted.values()) == RECIPIENTS  # no duplicate at the server
    assert set(accepted) == {m for m, _, _ in rows} and max(accepted.values()) == 1
    assert sum(handled.values()) == RECIPIENTS  # no row handled twice either
    by_worker = Counter((c or "").partition("#")[0] for _, _, c in rows)
    assert set(by_worker) == {w.name for w in workers}  # both took a real share
    assert min(by_worker.values()) > RECIPIENTS // 10, by_worker
