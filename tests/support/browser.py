"""The real viewer for browser tests: uvicorn on a free loopback port, a headless Chromium to open it, mail read back
from the test relay."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailflow import login_requests
from mailflow.models import Outbox
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.runtime import Runtime
from mailflow.web.roles import server
from tests.support.relay import Relay, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "viewer"
LINK = re.compile(r"https?://127\.0\.0\.1:\d+/auth/[A-Za-z0-9_-]+")


@dataclass
class LiveViewer:
    """mailflow's web role serving `rt` on 127.0.0.1, until stopped."""

    rt: Runtime
    port: int

    def __post_init__(self) -> None:
        self.stop_event = threading.Event()
        self.server = server(self.rt, "127.0.0.1", self.port)
        self.thread = threading.Thread(target=self.server.run, name="viewer", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LiveViewer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the viewer did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def browser():
    """Debian's Chromium, headless, for one test (Playwright imported here: the browser tests skip without it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def live_viewer(rt: Runtime) -> LiveViewer:
    port = free_port()
    rt.config.web.base_url = f"http://127.0.0.1:{port}"  # links in mails must reach this server
    rt.__dict__.pop("sender", None)
    return LiveViewer(rt, port).start()


def deliver(rt: Runtime, recipient: str, kind: str, relay: Relay, before: int) -> EmailMessage:
    """Wait for a mail of `kind` to `recipient` to be queued (as the worker does, login links asked for on
    the web are mailed first), deliver the outbox, return what the relay got."""
    deadline = time.monotonic() + 20
    query = Outbox.select().where(Outbox.recipient == recipient, Outbox.kind == kind)
    while login_requests.drain(rt) or query.count() <= before:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {kind} mail for {recipient} was queued")
        time.sleep(0.05)
    wanted = query.order_by(Outbox.id.desc()).first().message_id
    DeliveryWorker(rt).flush()
    return next(r.message for r in relay.to(recipient) if r.message["Message-ID"] == wanted)


def link_in(message: EmailMessage) -> str:
    found = LINK.search(message.get_body(("plain",)).get_content())
    assert found, "no link in the mail"
    return found.group(0)
