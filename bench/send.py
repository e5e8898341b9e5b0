"""Benchmark: from "approved" to "all accepted", Herald against the naive correct program.

Each scenario sends N personalised emails (one customer in To, CE + AE + support in Cc) to a
local SMTP sink (aiosmtpd, `tests/smtp_sink.py`, in its own process, a fresh one per run so its
log of accepted Message-IDs is that run's), twice in the same run:

- Herald: a child process opens the prepared database (incident approved, N contacts), then
  is timed through `start_send` (one outbox row per recipient) and `Worker.run_until_idle`
  (claims, renders, composes, delivers over its pool of SMTP connections, records every
  outcome) until every row is sent. Its peak memory is the child's ru_maxrss.
- naive: a child process with the same recipients and the same approved text already in
  memory (it gets its list for free) loops: render the text (Jinja, compiled once), build an
  `email.message.EmailMessage`, `send_message` over one smtplib connection.

Scenarios, each printed as a ratio naive time / Herald time (how many times faster Herald is):

  a  loopback, the sink answers at once          target: Herald >= 0.8x
  b  the sink delays every reply by 20 ms        target: Herald >= 4x
  memory  Herald alone with 100,000 recipients   target: peak RSS < 200 MB

    .venv/bin/python -m bench.send                       # 10,000 emails; b takes ~30 minutes
    .venv/bin/python -m bench.send --quick               # 2,000 / 500 / 20,000: a few minutes
    .venv/bin/python -m bench.send --scenarios a --recipients 3000 --profile

The database is SQLite in a temporary folder (the embedded default); --pg URL runs Herald on
PostgreSQL instead (that database is emptied). The exit status is non-zero only on errors (a
crash, a message missing or accepted twice), never because a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"a": 0.8, "b": 4.0}
MEMORY_TARGET_MB = 200.0


# -- children -----------------------------------------------------------------------------


def _herald(url: str, home: Path) -> Any:
    from herald.clock import SystemClock
    from herald.services.context import Herald
    from herald.settings import Settings
    from herald.store.db import Database

    settings = Settings(home=home, database_url=url)  # type: ignore[arg-type]
    home.mkdir(parents=True, exist_ok=True)
    return Herald(db=Database(url), settings=settings, clock=SystemClock())


def child_prepare(url: str, home: Path, n: int, out: Path) -> dict[str, Any]:
    """An approved incident with n impacted contacts; writes what the naive loop needs."""
    from tests.sending_setup import KIND, MESSENGER, MESSENGER_NAME, approved_incident, people

    from herald.services import personalize

    h = _herald(url, home)
    if url.startswith("postgresql"):
        from sqlalchemy import text

        with h.db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    h.db.migrate()
    t = time.perf_counter()
    ref = approved_incident(h, people(n, per_account=3), home / "csv")
    prepared = time.perf_counter() - t
    recipients = personalize.recipients(h, ref)
    from herald.services.reviews import review_status

    version = review_status(h, ref).versions[KIND]
    from herald.services.drafts import get_draft

    draft = get_draft(h, ref, KIND, version=version)
    out.write_text(json.dumps({
        "ref": ref, "subject": draft.subject, "body": draft.body,
        "sender": [MESSENGER_NAME, MESSENGER], "support": h.settings.support_address,
        "shared": {"must_act": False, "messenger_name": MESSENGER_NAME},
        "recipients": [r.model_dump() for r in recipients]}))
    h.db.dispose()
    return {"ref": ref, "recipients": len(recipients), "prepare_seconds": prepared}


def child_herald(url: str, home: Path, ref: str, port: int, pool: int, batch: int,
                 profile: bool) -> dict[str, Any]:
    """Time Herald from the approved incident to every email accepted."""
    from herald.channels.mail import SmtpTransport
    from herald.delivery.worker import Worker
    from herald.services import sending

    h = _herald(url, home)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profiler = None
    if profile:  # the main thread, and every lane thread into one report
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        lanes: list[cProfile.Profile] = []
        plain_lane = Worker._lane

        def profiled_lane(self: Worker, lane: int) -> int:
            p = cProfile.Profile()
            lanes.append(p)
            return int(p.runcall(plain_lane, self, lane))

        Worker._lane = profiled_lane  # type: ignore[method-assign]
    t0 = time.perf_counter()
    plan = sending.start_send(h, ref, actor="messenger@example.com")
    t1 = time.perf_counter()
    worker = Worker(h, SmtpTransport("127.0.0.1", port, security="none", timeout=60),
                    name="worker@bench:1", pool=pool, batch=batch)
    handled = worker.run_until_idle()
    t2 = time.perf_counter()
    if profiler is not None:
        profiler.disable()
        print("== main thread", file=sys.stderr)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        print("== lanes (all threads together)", file=sys.stderr)
        stats = pstats.Stats(lanes[0], stream=sys.stderr)
        for p in lanes[1:]:
            stats.add(p)
        stats.sort_stats("tottime").print_stats(40)
    totals = sending.send_status(h, ref).totals
    h.db.dispose()
    return {"queued": plan.new, "handled": handled, "totals": totals,
            "seconds": t2 - t0, "start_send": t1 - t0, "deliver": t2 - t1,
            "baseline_mb": baseline,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_naive(data: Path, port: int) -> dict[str, Any]:
    """The naive correct program: EmailMessage + send_message over one connection."""
    import smtplib
    from email.message import EmailMessage
    from email.utils import format_datetime, formataddr, make_msgid

    import jinja2

    d = json.loads(data.read_text())
    env = jinja2.Environment(autoescape=False)  # plain text email
    body_t = env.from_string(d["body"])
    subject_t = env.from_string(d["subject"] or "")
    sender = formataddr(tuple(d["sender"]))
    domain = d["sender"][1].rpartition("@")[2]
    t0 = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        for r in d["recipients"]:
            values = d["shared"] | {k: r[k] for k in ("customer_name", "contact_name",
                                                      "ce_name", "ae_name")}
            msg = EmailMessage()
            msg["From"] = sender
            msg["To"] = formataddr((r["contact_name"], r["email"]))
            msg["Cc"] = ", ".join(a for a in (r["ce_email"], r["ae_email"], d["support"]) if a)
            msg["Subject"] = " ".join(subject_t.render(values).split())
            msg["Date"] = format_datetime(time_now())
            msg["Message-ID"] = make_msgid(domain=domain)
            msg.set_content(body_t.render(values))
            smtp.send_message(msg)
    return {"sent": len(d["recipients"]), "seconds": time.perf_counter() - t0,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def time_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


# -- orchestration ------------------------------------------------------------------------


def run_child(*args: str) -> dict[str, Any]:
    """Run `python -m bench.send --child ...`; its last stdout line is JSON."""
    proc = subprocess.run([sys.executable, "-m", "bench.send", "--child", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child {args[0]} failed")
    if proc.stderr.strip():
        sys.stderr.write(proc.stderr)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


class SinkProcess:
    """The aiosmtpd sink in its own process, logging accepted Message-IDs to a file."""

    def __init__(self, folder: Path, delay: float) -> None:
        self.log = folder / f"sink-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.smtp_sink", "--delay", str(delay), "--log",
             str(self.log)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if line[:1] != ["PORT"]:
            raise SystemExit("the SMTP sink did not start")
        self.port = int(line[1])

    def stop(self) -> Counter[str]:
        """Stop it; the accepted Message-IDs with counts."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        return Counter(self.log.read_text().split())


def prepare(work: Path, name: str, n: int, pg: str | None) -> tuple[str, Path, Path, str]:
    """A database with the approved incident (SQLite: prepared once per size, then copied)."""
    home = work / name
    data = work / f"recipients-{n}.json"
    if pg:
        info = run_child("prepare", pg, str(home), str(n), str(data))
        return pg, home, data, info["ref"]
    template = work / f"template-{n}.db"
    if not template.exists():
        info = run_child("prepare", f"sqlite:///{template}", str(work / f"prep-{n}"), str(n),
                         str(data))
        (work / f"ref-{n}").write_text(info["ref"])
        print(f"  prepared {n:,} contacts (CRM import + approval) in "
              f"{info['prepare_seconds']:.1f} s (not timed)", flush=True)
    db = work / f"{name}.db"
    shutil.copy(template, db)
    return f"sqlite:///{db}", home, data, (work / f"ref-{n}").read_text()


def herald_run(work: Path, name: str, n: int, delay: float, args: argparse.Namespace
               ) -> dict[str, Any]:
    url, home, _data, ref = prepare(work, name, n, args.pg)
    sink = SinkProcess(work, delay)
    try:
        result = run_child("herald", url, str(home), ref, str(sink.port), str(args.pool),
                           str(args.batch), "1" if args.profile else "0")
    finally:
        accepted = sink.stop()
    if result["totals"]["sent"] != n or sum(accepted.values()) != n or \
            max(accepted.values(), default=0) > 1:
        raise SystemExit(f"Herald: {result['totals']}, accepted {sum(accepted.values())}, "
                         f"most copies of one message {max(accepted.values(), default=0)}")
    return result


def naive_run(work: Path, n: int, delay: float, args: argparse.Namespace) -> dict[str, Any]:
    _url, _home, data, _ref = prepare(work, "naive-prep", n, None)
    sink = SinkProcess(work, delay)
    try:
        result = run_child("naive", str(data), str(sink.port))
    finally:
        accepted = sink.stop()
    if sum(accepted.values()) != n:
        raise SystemExit(f"naive: accepted {sum(accepted.values())} of {n}")
    return result


def scenario(work: Path, key: str, n: int, delay: float, args: argparse.Namespace
             ) -> dict[str, Any]:
    title = "loopback" if not delay else f"every reply delayed {delay * 1000:.0f} ms"
    print(f"\nscenario {key} ({title}): {n:,} emails"
          + (f", best of {args.repeat} alternating runs" if args.repeat > 1 else ""),
          flush=True)
    naives, heralds = [], []
    for _ in range(args.repeat):  # alternate, so a busy moment does not hit one side only
        naives.append(naive_run(work, n, delay, args))
        heralds.append(herald_run(work, f"herald-{key}", n, delay, args))
        print(f"    naive {naives[-1]['seconds']:.2f} s, Herald {heralds[-1]['seconds']:.2f} s",
              flush=True)
    naive = min(naives, key=lambda r: float(r["seconds"]))
    herald = min(heralds, key=lambda r: float(r["seconds"]))
    print(f"  naive loop  {naive['seconds']:8.2f} s  {n / naive['seconds']:7.0f} emails/s",
          flush=True)
    ratio = naive["seconds"] / herald["seconds"]
    verdict = "met" if ratio >= TARGETS[key] else "MISSED"
    print(f"  Herald      {herald['seconds']:8.2f} s  {n / herald['seconds']:7.0f} emails/s  "
          f"(start_send {herald['start_send']:.2f} s, delivery {herald['deliver']:.2f} s; "
          f"pool {args.pool}, batch {args.batch}; peak {herald['peak_mb']:.0f} MB)")
    print(f"  ratio       {ratio:8.2f}x  (target >= {TARGETS[key]}x: {verdict})", flush=True)
    return {"naive": naive, "herald": herald, "ratio": ratio}


def memory(work: Path, n: int, args: argparse.Namespace) -> dict[str, Any]:
    print(f"\nmemory: Herald alone, {n:,} recipients, loopback sink", flush=True)
    herald = herald_run(work, "herald-memory", n, 0.0, args)
    verdict = "met" if herald["peak_mb"] < MEMORY_TARGET_MB else "MISSED"
    print(f"  Herald      {herald['seconds']:8.2f} s  {n / herald['seconds']:7.0f} emails/s  "
          f"(start_send {herald['start_send']:.2f} s, delivery {herald['deliver']:.2f} s)")
    print(f"  peak RSS    {herald['peak_mb']:8.1f} MB (after imports {herald['baseline_mb']:.1f} "
          f"MB; target < {MEMORY_TARGET_MB:.0f} MB: {verdict})", flush=True)
    return herald


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000, help="scenario a and b size")
    parser.add_argument("--slow-recipients", type=int, help="scenario b size (default: same)")
    parser.add_argument("--memory-recipients", type=int, default=100_000)
    parser.add_argument("--scenarios", default="a,b,memory", help="any of a,b,memory")
    parser.add_argument("--delay", type=float, default=0.02, help="scenario b reply delay (s)")
    parser.add_argument("--pool", type=int, help="Herald's SMTP connections "
                                                 "(default: the HERALD_MAIL_POOL setting)")
    parser.add_argument("--batch", type=int, default=None, help="rows per claim")
    parser.add_argument("--pg", help="run Herald on this PostgreSQL database (emptied!)")
    parser.add_argument("--quick", action="store_true", help="2,000 / 500 / 20,000 emails")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per side")
    parser.add_argument("--profile", action="store_true", help="cProfile Herald's child")
    parser.add_argument("--work", type=Path, help="keep files here (default: a temp folder)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child)
    from herald.delivery.worker import Worker
    from herald.settings import Settings

    args.pool = args.pool or Settings().mail_pool
    args.batch = args.batch or Worker.batch
    if args.quick:
        args.recipients, args.slow_recipients, args.memory_recipients = 2000, 500, 20_000
    slow = args.slow_recipients or args.recipients
    wanted = set(args.scenarios.split(","))
    work = args.work or Path(tempfile.mkdtemp(prefix="herald-bench-send-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"bench/send.py on {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, "
          f"database {'PostgreSQL' if args.pg else 'SQLite'}; files in {work}")
    results: dict[str, Any] = {}
    if "a" in wanted:
        results["a"] = scenario(work, "a", args.recipients, 0.0, args)
    if "b" in wanted:
        results["b"] = scenario(work, "b", slow, args.delay, args)
    if "memory" in wanted and args.memory_recipients:
        results["memory"] = memory(work, args.memory_recipients, args)
    (work / "results.json").write_text(json.dumps(results, indent=2))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _child(argv: list[str]) -> int:
    kind, rest = argv[0], argv[1:]
    if kind == "prepare":
        out = child_prepare(rest[0], Path(rest[1]), int(rest[2]), Path(rest[3]))
    elif kind == "herald":
        out = child_herald(rest[0], Path(rest[1]), rest[2], int(rest[3]), int(rest[4]),
                           int(rest[5]), rest[6] == "1")
    elif kind == "naive":
        out = child_naive(Path(rest[0]), int(rest[1]))
    else:
        raise SystemExit(f"unknown child {kind}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
