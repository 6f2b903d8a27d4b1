"""The support-mailbox door: the IMAP poller wired to the database (its position and the inbound store)."""

from __future__ import annotations

import threading

from mailflow import events
from mailflow.clock import naive_utc
from mailflow.inbound.imap_poller import ImapPoller, ImapSettings
from mailflow.inbound.liveness import DbLiveness
from mailflow.inbound.store import store_raw
from mailflow.models import ImapState
from mailflow.runtime import Runtime


class DbPollerState:
    """UIDVALIDITY and last UID per mailbox, kept in ImapState so every process and restart agrees."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def load(self, key: str) -> tuple[int | None, int]:
        row = ImapState.get_or_none(ImapState.mailbox == key)
        return (row.uidvalidity, row.last_uid) if row else (None, 0)

    def save(self, key: str, uidvalidity: int, last_uid: int) -> None:
        values = {"uidvalidity": uidvalidity, "last_uid": last_uid, "last_poll_at": naive_utc(self.rt.now())}
        with self.rt.db.atomic():
            if not ImapState.update(**values).where(ImapState.mailbox == key).execute():
                ImapState.create(mailbox=key, **values)


def settings(rt: Runtime) -> ImapSettings:
    cfg = rt.config.inbound.imap
    return ImapSettings(host=cfg.host, port=cfg.port, ssl=cfg.ssl, username=cfg.username, password=cfg.password,
                        folder=cfg.folder, processed_folder=cfg.processed_folder,
                        idle_renew_seconds=cfg.idle_renew_seconds)


def make_poller(rt: Runtime, imap: ImapSettings | None = None) -> ImapPoller:
    """A poller whose store is the inbound table (door "imap"), reporting its signs of life to the database."""
    chosen = imap or settings(rt)
    poller = ImapPoller(chosen, lambda raw: events.stored_row(store_raw(rt, raw, "imap")), DbPollerState(rt))
    poller.liveness = DbLiveness(rt, poller.state_key, chosen)
    return poller


def run_poller(poller: ImapPoller, rt: Runtime, stop: threading.Event) -> None:
    """Body of the poller thread: poll until `stop`, then give the thread's connection back."""
    try:
        poller.run(stop)
    finally:
        rt.db.close()
