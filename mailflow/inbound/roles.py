"""The inbound role of `mailflow serve`: the SMTP door, the support-mailbox poller and the inbound worker."""

from __future__ import annotations

import threading

from mailflow.inbound.mailbox import make_poller, run_poller
from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.smtp_server import InboundSmtpServer
from mailflow.runtime import Runtime
from mailflow.serve import role, thread


@role("inbound")
def start_inbound(rt: Runtime, stop: threading.Event) -> list[threading.Thread]:
    # The door first: a taken port stops the role before any thread of it runs.
    server = InboundSmtpServer(rt).start() if rt.config.inbound.smtp.enabled else None
    # The door comes first: senders wait for its answers, while stored mail is safe and can wait a moment.
    worker = InboundWorker(rt, server.processing_turn) if server else InboundWorker(rt)
    threads = [thread("inbound-worker", lambda: worker.run(stop))]
    if server is not None:
        threads.append(thread("inbound-smtp", lambda: _serve_smtp(server, stop)))
    if rt.config.inbound.imap.enabled:
        poller = make_poller(rt)
        threads.append(thread("inbound-imap", lambda: run_poller(poller, rt, stop)))
    return threads


def _serve_smtp(server: InboundSmtpServer, stop: threading.Event) -> None:
    stop.wait()
    server.stop()
