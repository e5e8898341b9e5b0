"""`herald send ...` in-process: queue, deliver with --wait (Maildir), status --json, control,
settle; on SQLite and PostgreSQL with the test's clock."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from herald.clock import FixedClock
from herald.services.context import Herald
from herald.settings import Settings
from herald.store.outbox_models import OutboxItem
from tests.helpers import ok_cli, reuse_cli_command, run_cli
from tests.sending_setup import MESSENGER, approved_incident, people


@pytest.fixture
def cli(cli_env: Settings, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The in-process CLI on the test database, telling time by the test's clock."""
    from herald.cli import common
    from herald.services.context import open_herald

    monkeypatch.setattr(common, "open_herald",
                        lambda settings: open_herald(settings, clock=clock))
    monkeypatch.setenv("COLUMNS", "250")
    reuse_cli_command(monkeypatch)
    common.herald.cache_clear()
    yield
    if common.herald.cache_info().currsize:
        common.herald().db.dispose()
    common.herald.cache_clear()


def test_send_status_json_control_and_settle(cli: None, h: Herald, settings: Settings,
                                              capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    ref = approved_incident(h, people(4), tmp_path / "csv")
    dry = ok_cli(capsys, "send", ref, "--dry-run", "--json", "--as", MESSENGER).json()
    assert (dry["new"], dry["dry_run"], dry["send_id"]) == (4, True, None)

    out = ok_cli(capsys, "send", ref, "--as", MESSENGER).out
    assert "queued 4 email(s); 0 recipient(s) already had" in out
    status = ok_cli(capsys, "send", "status", ref, "--json").json()
    assert status["totals"]["queued"] == 4 and status["problems"] == []
    assert [s["state"] for s in status["sends"]] == ["running"]

    assert "pause: 1 send(s)" in ok_cli(capsys, "send", "pause", ref, "--as", MESSENGER).out
    assert ok_cli(capsys, "send", "status", ref, "--json").json()["sends"][0]["state"] \
        == "paused"
    assert "resume: 1 send(s)" in ok_cli(capsys, "send", "resume", ref, "--as", MESSENGER).out

    again = ok_cli(capsys, "send", ref, "--wait", "--as", MESSENGER)  # nothing new to queue
    assert "queued 0 email(s); 4 recipient(s) already had" in again.out
    ok_cli(capsys, "worker", "--once")
    box = mailbox.Maildir(settings.home / "maildir", create=False)
    assert len(box) == 4  # the embedded default: nothing leaves the machine

    # one email whose fate is unknown (as after a crash): listed, then settled by a person
    with h.db.transaction() as s:
        mid = s.scalars(select(OutboxItem.message_id).where(OutboxItem.kind == "email")
                        .order_by(OutboxItem.id)).first()
        s.execute(update(OutboxItem).where(OutboxItem.message_id == mid)
                  .values(state="unknown", error="the worker stopped while sending"))
    status = ok_cli(capsys, "send", "status", ref, "--json").json()
    assert status["totals"] | {"sent": 3, "unknown": 1} == status["totals"]
    assert [(p["message_id"], p["state"]) for p in status["problems"]] == [(mid, "unknown")]
    table = ok_cli(capsys, "send", "status", ref).out
    assert f"unknown: c0@cust0.example {mid}" in table
    settled = ok_cli(capsys, "send", "settle", ref, str(mid), "sent", "--as", MESSENGER)
    assert f"{mid}: sent" in settled.out
    status = ok_cli(capsys, "send", "status", ref, "--json").json()
    assert status["totals"]["sent"] == 4 and status["problems"] == []

    bad = run_cli(capsys, "send", "settle", ref, str(mid), "--as", MESSENGER)
    assert bad.code != 0 and "usage: herald send settle REF MESSAGE-ID sent|resend" in bad.err
    refused = run_cli(capsys, "send", "settle", ref, str(mid), "resend", "--as", MESSENGER)
    assert refused.code != 0 and "only unknown emails are settled" in refused.err


def test_send_wait_delivers_with_progress(cli: None, h: Herald, settings: Settings,
                                          capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    ref = approved_incident(h, people(5), tmp_path / "csv")
    result = ok_cli(capsys, "send", ref, "--wait", "--as", MESSENGER)
    assert "sent 5, retrying 0, failed 0, unknown 0" in result.out
    assert len(mailbox.Maildir(settings.home / "maildir", create=False)) == 5


def test_send_refused_is_one_line(cli: None, h: Herald, capsys: pytest.CaptureFixture[str],
                                  tmp_path: Path) -> None:
    ref = approved_incident(h, people(2), tmp_path / "csv", approve=False)
    result = run_cli(capsys, "send", ref, "--as", MESSENGER)
    assert result.code != 0 and "not approved yet" in result.err
    assert len(result.err.strip().splitlines()) == 1
