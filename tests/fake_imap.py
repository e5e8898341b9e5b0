"""A tiny IMAP4rev1 server on loopback, enough for imaplib reading a replies folder:
CAPABILITY, LOGIN, SELECT, UID SEARCH UNSEEN, UID FETCH (BODY.PEEK[]), UID STORE +FLAGS,
UID COPY, EXPUNGE, NOOP, LOGOUT. One mailbox; messages get UIDs 1, 2, 3... in order."""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

USER = "replies"


@dataclass
class FakeImap:
    """The mailbox: messages by UID, which are \\Seen, which were copied or expunged."""

    password: str
    messages: dict[int, bytes] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    copied: list[tuple[int, str]] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def add(self, raw: bytes) -> int:
        """Deliver a message; returns its UID."""
        with self.lock:
            uid = max(self.messages, default=0) + 1
            self.messages[uid] = raw
            return uid


def _handler(box: FakeImap) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        disable_nagle_algorithm = True

        def out(self, text: str | bytes) -> None:
            self.wfile.write(text.encode() if isinstance(text, str) else text)

        def handle(self) -> None:
            self.out("* OK IMAP4rev1 fake ready\r\n")
            authed = False
            while line := self.rfile.readline():
                tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
                command, _, args = rest.partition(" ")
                command = command.upper()
                if command == "UID":
                    command, _, args = args.partition(" ")
                    command = "UID " + command.upper()
                if command == "CAPABILITY":
                    self.out(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n")
                elif command == "LOGIN":
                    words = [w.strip('"') for w in re.findall(r'"[^"]*"|\S+', args)]
                    authed = words == [USER, box.password]
                    self.out(f"{tag} OK logged in\r\n" if authed else
                             f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n")
                elif command == "LOGOUT":
                    self.out(f"* BYE\r\n{tag} OK bye\r\n")
                    return
                elif not authed:
                    self.out(f"{tag} BAD log in first\r\n")
                elif command == "SELECT":
                    with box.lock:
                        n = len(box.messages)
                    self.out(f"* {n} EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen \\Deleted)\r\n"
                             f"{tag} OK [READ-WRITE] selected\r\n")
                elif command == "UID SEARCH":
                    with box.lock:
                        uids = [u for u in sorted(box.messages)
                                if u not in box.seen and u not in box.deleted]
                    self.out(f"* SEARCH {' '.join(map(str, uids))}\r\n{tag} OK done\r\n")
                elif command == "UID FETCH":
                    uid = int(args.split()[0])
                    with box.lock:
                        raw = box.messages.get(uid)
                    if raw is not None:
                        self.out(f"* {uid} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n")
                        self.out(raw + b")\r\n")
                    self.out(f"{tag} OK done\r\n")
                elif command == "UID STORE":
                    uid = int(args.split()[0])
                    with box.lock:
                        if "\\Seen" in args:
                            box.seen.add(uid)
                        if "\\Deleted" in args:
                            box.deleted.add(uid)
                    self.out(f"* {uid} FETCH (UID {uid} FLAGS (\\Seen))\r\n{tag} OK done\r\n")
                elif command == "UID COPY":
                    uid, _, folder = args.partition(" ")
                    with box.lock:
                        box.copied.append((int(uid), folder.strip('"')))
                    self.out(f"{tag} OK copied\r\n")
                elif command in ("EXPUNGE", "NOOP"):
                    self.out(f"{tag} OK done\r\n")
                else:
                    self.out(f"{tag} BAD unknown command\r\n")

    return Handler


@contextmanager
def fake_imap(messages: list[bytes], *, password: str = "imap-pass") -> Iterator[FakeImap]:
    """Serve a mailbox holding `messages` on a free loopback port while the block runs."""
    box = FakeImap(password)
    for raw in messages:
        box.add(raw)
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(box))
    server.daemon_threads = True
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="fake-imap")
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
