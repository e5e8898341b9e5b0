"""Chaos: the worker process is killed with SIGKILL at 20 random moments of a 3,000-email send.

The real `herald worker` runs as a subprocess with the SMTP transport pointed at an aiosmtpd
server in this process, which records every Message-ID it accepts. After each kill the worker
is started again; at the end `herald worker --once` runs the send to its end. Then every
recipient must have exactly one accepted message at the server or be listed as unknown (the
worker died between claiming and recording), and no Message-ID may be accepted twice.

Why SQLite: it is the embedded default (one worker), the kills hit WAL commits in flight, and a
file per test keeps the test independent of the shared PostgreSQL server; the claim path on
PostgreSQL (FOR UPDATE SKIP LOCKED) is covered by the two-worker test. Kill moments are real
time (chaos, not a timing assertion): after a seeded number of accepted messages, plus a seeded
jitter of a few milliseconds so kills land before, in and after the final dot and the commit.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from herald.clock import SystemClock
from herald.services import sending
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.db import Database
from herald.store.outbox_models import OutboxItem
from tests.sending_setup import MESSENGER, approved_incident, people
from tests.smtp_sink import running

RECIPIENTS = 3000
KILLS = 20
SEED = 20261128
HERALD = Path(sys.executable).with_name("herald")


def email_states(h: Herald) -> dict[str, int]:
    with h.db.sessions() as s:
        return {st: int(n) for st, n in s.execute(
            select(OutboxItem.state, func.count()).where(OutboxItem.kind == "email")
            .group_by(OutboxItem.state))}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_at_random_moments_never_duplicates_never_loses(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    url = f"sqlite:///{tmp_path / 'herald.db'}"
    settings = Settings(home=tmp_path / "home", database_url=url)  # type: ignore[arg-type]
    settings.home.mkdir(parents=True)
    db = Database(url)
    db.migrate()
    h = Herald(db=db, settings=settings, clock=SystemClock())  # the worker uses the real clock
    contacts = people(RECIPIENTS)
    ref = approved_incident(h, contacts, tmp_path / "csv")
    assert sending.start_send(h, ref, actor=MESSENGER).new == RECIPIENTS

    with running(keep_data=False) as sink:
        env = os.environ | {
            "HERALD_HOME": str(settings.home), "HERALD_DATABASE_URL": url,
            "HERALD_MAIL_TRANSPORT": "smtp", "HERALD_SMTP_HOST": "127.0.0.1",
            "HERALD_SMTP_PORT": str(sink.port), "HERALD_SMTP_SECURITY": "none",
            "HERALD_SMTP_TIMEOUT": "30", "HERALD_MAIL_POOL": "4", "HERALD_LOG_LEVEL": "WARNING"}
        log = (tmp_path / "worker.log").open("ab")
        kills = 0
        for _ in range(KILLS):
            before = len(sink.accepted)
            worker = subprocess.Popen([str(HERALD), "worker"], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                # let it send a seeded number of messages (event-driven, not a sleep) ...
                reached = sink.handler.wait_for(before + rng.randint(5, 110), timeout=60)
                assert reached or worker.poll() is None, "the worker died on its own"
                time.sleep(rng.choice((0, 0, rng.uniform(0, 0.004), rng.uniform(0, 0.03))))
            finally:
                worker.send_signal(signal.SIGKILL)  # ... then kill it without warning
                worker.wait()  # reaped: a zombie would still look alive to recover()
            kills += 1
        assert kills == KILLS
        sent_during_kills = len(sink.accepted)
        assert 0 < sent_during_kills < RECIPIENTS  # the kills fell in the middle of the send
        final = subprocess.run([str(HERALD), "worker", "--once"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=300,
                               check=False)
        log.close()
        assert final.returncode == 0, (tmp_path / "worker.log").read_text()[-3000:]
        accepted = sink.counts()

    with h.db.sessions() as s:
        rows = s.execute(select(OutboxItem.recipient, OutboxItem.message_id, OutboxItem.state)
                         .where(OutboxItem.kind == "email")).all()
    states = email_states(h)
    assert {r.recipient for r in rows} == {p.email for p in contacts}  # nobody skipped
    assert set(states) <= {"sent", "unknown"}, states
    duplicates = {m: n for m, n in accepted.items() if n > 1}
    assert duplicates == {}  # duplicates at the server: 0
    ours = {r.message_id for r in rows}
    assert set(accepted) <= ours
    for recipient, mid, state in rows:
        if state == "sent":
            assert accepted[mid] == 1, f"{recipient} is marked sent but the server has no copy"
        else:  # unknown: listed for a person; the server has it at most once
            assert accepted[mid] <= 1
    unknown = states.get("unknown", 0)
    assert unknown <= KILLS * 4 * 10  # at most what the killed workers had claimed
    status = sending.send_status(h, ref)
    assert {p.recipient for p in status.problems} == {r.recipient for r in rows
                                                      if r.state == "unknown"}
    print(f"\n{KILLS} kills; accepted during kills {sent_during_kills}; "
          f"sent {states.get('sent', 0)}, unknown {unknown} "
          f"(of which the server has {sum(accepted[m] for _, m, st in rows if st == 'unknown')})")
    db.dispose()
