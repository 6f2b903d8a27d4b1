"""Import summaries: each notification told exactly once, whoever sweeps, and only to people who may see it."""

from __future__ import annotations

import email
import os
import signal
from email import policy

import pytest

from mailflow import accounts, actions, documents, importer
from mailflow.documents import DocumentInput
from mailflow.models import Document, Notification, Outbox, User
from mailflow.outbound import summary
from mailflow.pdf import simple_pdf
from mailflow.scheduler import digests
from tests.support import factories


def coalesced(rt, *numbers: str) -> None:
    """Documents published as a coalescing import does: immediate recipients' notifications left pending."""
    docs = [documents.store_pdf(rt, documents.check(DocumentInput("DL2123456", number, "invoice", "2026-10-01",
                                                                  "10", simple_pdf(number), f"{number}.pdf")))
            for number in numbers]
    with rt.db.atomic():
        publication = documents.Publication(rt, docs, "test", "coalesce")
        for doc in docs:
            publication.publish_once(doc)


def marie() -> User:
    return User.get(User.email == factories.MARIE.email)


def composed_for(rt, user: User) -> tuple[list[summary.Summary], object]:
    period = summary.pending_period(rt.now())
    return [summary.compose(rt, pending, period) for pending in digests.load([user.id], period)], period


def taken_elsewhere(number: str) -> None:
    """Another sweep (a second import ending at the same moment) took this document's notification."""
    Notification.update(status="queued").where(Notification.document == Document.get(Document.number == number)) \
        .execute()


def text_of(row: Outbox) -> str:
    return email.message_from_bytes(bytes(row.raw), policy=policy.default).get_body(("plain",)).get_content()


def test_a_sweep_mails_exactly_what_it_took_when_another_took_part_meanwhile(rt):
    factories.customer(rt)
    coalesced(rt, "F1", "F2", "F3")
    composed, period = composed_for(rt, marie())
    taken_elsewhere("F1")
    with rt.db.atomic():
        assert summary.store(rt, composed, [], period) == 1
    mail = Outbox.get()
    assert "F2" in text_of(mail) and "F3" in text_of(mail) and "F1" not in text_of(mail)
    ours = Notification.select().join(Document).where(Document.number.in_(["F2", "F3"]))
    assert {note.outbox_id for note in ours} == {mail.id}


def test_a_sweep_that_finds_everything_taken_mails_nothing(rt):
    factories.customer(rt)
    coalesced(rt, "F1", "F2")
    composed, period = composed_for(rt, marie())
    taken_elsewhere("F1")
    taken_elsewhere("F2")
    with rt.db.atomic():
        assert summary.store(rt, composed, [], period) == 0
    assert Outbox.select().count() == 0


def test_a_recipient_who_chose_a_digest_meanwhile_gets_them_in_the_digest(rt):
    factories.customer(rt)
    coalesced(rt, "F1", "F2")
    actions.set_frequency(rt, marie(), "daily")
    assert summary.send_pending(rt) == 0
    assert {(n.frequency, n.status) for n in Notification.select()} == {("daily", "pending")}


def test_numbers_no_longer_shared_are_dropped_not_mailed(rt):
    factories.customer(rt)
    jan = factories.share(rt)
    coalesced(rt, "F1")
    accounts.unshare(rt, marie(), jan)
    assert summary.send_pending(rt) == 1
    assert [row.recipient for row in Outbox.select()] == [factories.MARIE.email]
    assert Notification.get(Notification.user == jan).status == "skipped"


def test_a_long_import_lists_the_first_documents_and_counts_the_rest(rt, monkeypatch):
    monkeypatch.setattr(summary, "LISTED", 2)
    factories.customer(rt)
    coalesced(rt, "F1", "F2", "F3", "F4", "F5")
    assert summary.send_pending(rt) == 1
    text = text_of(Outbox.get())
    assert "F1" in text and "F2" in text and "F5" not in text
    assert "Autres documents, non repris ici\u00a0: 3" in text
    assert Notification.select().where(Notification.status == "queued").count() == 5


def test_ctrl_c_waits_while_a_batch_commits_and_is_raised_once_it_is_counted():
    with importer.HeldInterrupts() as interrupts:
        interrupts.hold()
        os.kill(os.getpid(), signal.SIGINT)  # between a batch's last write and its being counted
        with pytest.raises(KeyboardInterrupt):
            interrupts.release()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # at any other moment: at once
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_nightly_run_sends_what_an_import_cut_short_owed(rt):
    from mailflow.scheduler import retention  # noqa: PLC0415
    factories.customer(rt)
    coalesced(rt, "F1", "F2")  # then the import was killed before its summaries, and never run again
    assert retention.run_all(rt)["send_owed_import_summaries"] == 1
    assert "F1" in text_of(Outbox.get()) and "F2" in text_of(Outbox.get())
    assert not Notification.select().where(Notification.status == "pending").exists()
