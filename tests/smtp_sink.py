"""A real SMTP server on loopback (aiosmtpd) that logs what it accepts and injects faults.

In a test: `with Sink(faults) as sink:` runs it in a thread on a free port of 127.0.0.1.
As its own process (the crash test, the benchmark):

    python -m tests.smtp_sink [--delay 0.02] [--log FILE]

prints `PORT <n>` on its first line and serves until stdin closes or it gets SIGTERM. With
--log every accepted Message-ID is appended to FILE, one a line, flushed as it is accepted.

Faults are keyed by address (the customer, i.e. the first RCPT) and fire on chosen attempts, so
a test can say "451 twice, then accept":

- `temp_fail`: 451 to RCPT of the address;
- `data_temp_fail`: 451 after the final dot (message not accepted);
- `hard_fail`: 550 to RCPT, always;
- `close_421`: 421 to RCPT, then the server closes the connection;
- `drop_after_dot`: the message is received (logged as accepted), then the connection is
  closed before any reply;
- `slow_rcpt` / `slow_data`: the reply to RCPT / after the dot is delayed by `slow_seconds`
  (longer than the client's timeout); a late DATA reply still means the server has it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


def message_id_of(data: bytes) -> str:
    """The Message-ID header of raw message bytes ('' when none)."""
    head = data.split(b"\r\n\r\n", 1)[0]
    found = _MESSAGE_ID.search(head)
    return found.group(1).decode("ascii", "replace") if found else ""


@dataclass(frozen=True)
class Accepted:
    """One message the server took responsibility for."""

    message_id: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


@dataclass
class Faults:
    """Which addresses get which fault, on which attempts (1 = the first time seen)."""

    temp_fail: dict[str, int] = field(default_factory=dict)  # address -> how many 451s
    data_temp_fail: dict[str, int] = field(default_factory=dict)
    hard_fail: set[str] = field(default_factory=set)
    close_421: dict[str, int] = field(default_factory=dict)
    drop_after_dot: set[str] = field(default_factory=set)  # once each
    slow_rcpt: dict[str, int] = field(default_factory=dict)
    slow_data: set[str] = field(default_factory=set)  # once each
    slow_seconds: float = 2.0


class Handler:
    """aiosmtpd handler: faults first, then accept and log."""

    def __init__(self, faults: Faults | None = None, log: TextIO | None = None,
                 keep_data: bool = True) -> None:
        self.faults = faults or Faults()
        self.log = log
        self.keep_data = keep_data
        self.accepted: list[Accepted] = []
        self.seen: Counter[tuple[str, str]] = Counter()  # (fault, address) -> times fired
        self.cond = threading.Condition()

    def _take(self, kind: str, table: dict[str, int], address: str) -> bool:
        """True while the fault still has attempts left for this address."""
        if self.seen[(kind, address)] >= table.get(address, 0):
            return False
        self.seen[(kind, address)] += 1
        return True

    def _once(self, kind: str, addresses: set[str], address: str) -> bool:
        if address not in addresses or self.seen[(kind, address)]:
            return False
        self.seen[(kind, address)] += 1
        return True

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        f = self.faults
        if address in f.hard_fail:
            return "550 5.1.1 mailbox unavailable: no such user here"
        if self._take("temp", f.temp_fail, address):
            return "451 4.3.0 temporary local problem, try again later"
        if self._take("421", f.close_421, address):
            loop = asyncio.get_running_loop()
            transport = server.transport
            loop.call_soon(lambda: transport.close())  # after the reply is written
            return "421 4.3.2 service shutting down, closing the connection"
        if self._take("slow_rcpt", f.slow_rcpt, address):
            await asyncio.sleep(f.slow_seconds)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        f = self.faults
        customer = envelope.rcpt_tos[0] if envelope.rcpt_tos else ""
        if self._take("data451", f.data_temp_fail, customer):
            return "451 4.3.0 could not queue the message, try again"
        raw = envelope.original_content or b""
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        mid = message_id_of(data)
        if self._once("drop", f.drop_after_dot, customer):
            self._accept(mid, envelope, data)  # the server has it; the client never hears
            server.transport.close()
            return "250 OK (never seen by the client)"
        if self._once("slow_data", f.slow_data, customer):
            self._accept(mid, envelope, data)
            await asyncio.sleep(f.slow_seconds)
            return "250 OK (too late for the client)"
        self._accept(mid, envelope, data)
        return f"250 2.0.0 queued as {len(self.accepted)}"

    def _accept(self, mid: str, envelope: Envelope, data: bytes) -> None:
        item = Accepted(mid, str(envelope.mail_from), tuple(envelope.rcpt_tos),
                        data if self.keep_data else b"")
        with self.cond:
            self.accepted.append(item)
            if self.log is not None:
                self.log.write(mid + "\n")
                self.log.flush()
            self.cond.notify_all()

    def counts(self) -> Counter[str]:
        """How many times each Message-ID was accepted."""
        with self.cond:
            return Counter(a.message_id for a in self.accepted)

    def wait_for(self, n: int, timeout: float) -> bool:
        """Block until at least `n` messages were accepted (False on timeout)."""
        with self.cond:
            return self.cond.wait_for(lambda: len(self.accepted) >= n, timeout)


class SlowSMTP(SMTP):  # type: ignore[misc]
    """Every reply, the greeting included, leaves `delay` seconds late (a distant provider)."""

    def __init__(self, *args: Any, delay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delay = delay

    async def push(self, status: str) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        await super().push(status)


class LoopbackController(Controller):  # type: ignore[misc]
    """aiosmtpd's Controller bound to a free port of 127.0.0.1 (port 0, read back)."""

    def __init__(self, handler: Handler, delay: float = 0.0) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0)
        self.delay = delay

    def factory(self) -> SMTP:
        if not self.delay:
            return SMTP(self.handler, **self.SMTP_kwargs)
        return SlowSMTP(self.handler, delay=self.delay, **self.SMTP_kwargs)

    async def _bind(self) -> asyncio.AbstractServer:
        server = await self.loop.create_server(self._factory_invoker, host=self.hostname,
                                               port=0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    def _create_server(self) -> Any:
        return self._bind()


@dataclass
class Sink:
    """A running server: where it listens and what it accepted."""

    handler: Handler
    host: str
    port: int

    @property
    def accepted(self) -> list[Accepted]:
        """Every accepted message, in order."""
        with self.handler.cond:
            return list(self.handler.accepted)

    def counts(self) -> Counter[str]:
        """Accepted count per Message-ID."""
        return self.handler.counts()


@contextmanager
def running(faults: Faults | None = None, *, delay: float = 0.0, log: TextIO | None = None,
            keep_data: bool = True) -> Iterator[Sink]:
    """Run the server in a thread for the duration of the block."""
    handler = Handler(faults, log, keep_data)
    controller = LoopbackController(handler, delay)
    controller.start()
    try:
        yield Sink(handler, "127.0.0.1", controller.port)
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve as its own process until stdin closes or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument("--log", type=Path, help="append each accepted Message-ID here")
    args = parser.parse_args(argv)
    log = args.log.open("a", encoding="ascii") if args.log else None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with running(delay=args.delay, log=log, keep_data=False) as sink:
        print(f"PORT {sink.port}", flush=True)
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        stop.wait()
        print(f"ACCEPTED {len(sink.handler.accepted)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
