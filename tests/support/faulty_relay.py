"""A relay that misbehaves on purpose: at one SMTP stage it answers a chosen reply, stalls, or hangs up.

aiosmtpd cannot greet with anything but 220 nor hang up half-way through DATA, so this is a small
socket server speaking just enough SMTP for smtplib; everything outside the chosen stage is answered normally.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from dataclasses import dataclass
from typing import BinaryIO

STAGES = ("greeting", "MAIL", "RCPT", "DATA", "body", "end")  # "body": while the message itself is sent
STALL = "stall"  # accept, then never answer: the client's timeout must end it
DROP = "drop"  # close the connection without a word

_NORMAL = {"greeting": "220 faulty.test ESMTP", "MAIL": "250 2.1.0 Ok", "RCPT": "250 2.1.5 Ok",
           "DATA": "354 End data with <CR><LF>.<CR><LF>", "end": "250 2.0.0 Ok: queued"}


@dataclass(frozen=True)
class Fault:
    stage: str
    action: str  # an SMTP reply line such as "451 4.3.0 Try again later", STALL or DROP


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False  # a stalled session must not hold up the test's exit
    allow_reuse_address = True
    relay: "FaultyRelay"


class _Session(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.relay.session(self.request, self.rfile)


class FaultyRelay:
    """Answers every session normally except at `fault.stage`, where `fault.action` happens each time."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.transactions = 0  # MAIL commands received: how many mails the client tried on this relay
        self._stop = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Session)
        self._server.relay = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> "FaultyRelay":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def session(self, connection: socket.socket, reader: BinaryIO) -> None:
        try:
            if self._reply(connection, "greeting") is not None:
                self._commands(connection, reader)
        except OSError:  # the client gave up first (its own timeout): nothing left to do
            pass

    def _commands(self, connection: socket.socket, reader: BinaryIO) -> None:
        for line in iter(reader.readline, b""):
            verb = line[:4].upper().decode("ascii", "replace")
            if not self._command(connection, reader, verb):
                return

    def _command(self, connection: socket.socket, reader: BinaryIO, verb: str) -> bool:
        """Answer one command; False when the session is over."""
        if verb == "MAIL":
            self.transactions += 1
        if verb in ("MAIL", "RCPT"):
            return self._reply(connection, verb) is not None
        if verb == "DATA":
            return self._data(connection, reader)
        if verb == "QUIT":
            connection.sendall(b"221 2.0.0 Bye\r\n")
            return False
        known = verb in ("EHLO", "HELO", "RSET", "NOOP")
        connection.sendall(b"250 faulty.test\r\n" if known else b"502 5.5.2 Command not recognized\r\n")
        return True

    def _data(self, connection: socket.socket, reader: BinaryIO) -> bool:
        answer = self._reply(connection, "DATA")
        if answer is None or not answer.startswith("354"):
            return answer is not None
        if self.fault.stage == "body":
            reader.readline()  # part of the message has arrived; now hang up on it
            return False
        for line in iter(reader.readline, b""):
            if line == b".\r\n":
                return self._reply(connection, "end") is not None
        return False

    def _reply(self, connection: socket.socket, stage: str) -> str | None:
        """Send the normal or the faulty answer for `stage`; None when the session ends here."""
        action = self.fault.action if self.fault.stage == stage else _NORMAL[stage]
        if action == STALL:
            self._stop.wait()
            return None
        if action == DROP:
            return None
        connection.sendall(action.encode("ascii") + b"\r\n")
        # 421 means the server is closing the transmission channel (RFC 5321 3.8), so it does.
        return None if action.startswith("421") else action
