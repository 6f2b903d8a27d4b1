"""Digest chunks written while another run or a frequency change got there first: each recipient's digest
is sent once, a recipient whose notifications moved meanwhile is undone alone, nothing half-written."""

from __future__ import annotations

import threading

import pytest

from mailflow import accounts, actions
from mailflow.db import database
from mailflow.models import Digest, Notification, Outbox, Token
from mailflow.scheduler import digests
from tests.support import factories
from tests.support.scheduler import choose, digest_messages, local, numbers_in, publish_at, user

EMAILS = [f"person{i}@example.be" for i in range(6)]


@pytest.fixture
def daily_readers(rt, clock):
    """Six daily readers of DL2123456 (none activated: each digest carries an activation link) and two
    documents published on 2 November."""
    factories.customer(rt)
    for email in EMAILS:
        accounts.share(rt, "DL2123456", accounts.Person(email, "P", "Q", "fr"))
        choose(rt, email, "daily")
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    publish_at(rt, clock, local(2026, 11, 2, 11), "F-2")
    return digests.period_for(rt, "daily", local(2026, 11, 3, 7))


def composed(rt, period) -> digests.Batch:
    [ids] = list(digests.recipient_chunks(period, size=100))
    return digests.prepare(rt, ids, period)


def assert_sent_once_each() -> None:
    rows = list(Outbox.select().where(Outbox.kind == "digest"))
    assert sorted(row.recipient for row in rows) == sorted(EMAILS)
    owners = {d.id: d.user_id for d in Digest.select()}
    assert len(owners) == len(EMAILS) and {d.outbox_id for d in Digest.select()} == {row.id for row in rows}
    readers = [user(email) for email in EMAILS]
    notes = list(Notification.select().where(Notification.user.in_(readers)))
    assert {note.status for note in notes} == {"digested"} and all(owners[n.digest_id] == n.user_id for n in notes)
    assert Token.select().where(Token.user.in_(readers)).count() == len(EMAILS)  # one link per sent mail


def test_a_chunk_composed_before_another_run_sent_it_writes_nothing(rt, daily_readers):
    late = composed(rt, daily_readers)
    assert digests.run(rt, "daily", local(2026, 11, 3, 7)).created == len(EMAILS)
    assert digests.store(rt, late) == (0, 0)
    assert_sent_once_each()


def test_a_recipient_whose_notifications_moved_meanwhile_is_undone_alone(rt, daily_readers):
    batch = composed(rt, daily_readers)
    moved = user(EMAILS[2])
    actions.set_frequency(rt, moved, "weekly")  # after the chunk was read, before it is written
    assert digests.store(rt, batch) == (0, len(EMAILS) - 1)
    assert digest_messages(EMAILS[2]) == [] and not Digest.select().where(Digest.user == moved).exists()
    assert {(n.status, n.frequency, n.digest_id) for n in Notification.select().where(Notification.user == moved)} \
        == {("pending", "weekly", None)}
    assert Token.select().where(Token.user == moved).count() == 0  # its activation link never went out
    assert all(numbers_in(digest_messages(email)[0], ["F-1", "F-2"]) == ["F-1", "F-2"]
               for email in EMAILS if email != EMAILS[2])
    assert digests.run(rt, "weekly", local(2026, 11, 9, 7)).created == 1


def test_another_period_taking_the_notifications_first_undoes_this_one(rt, clock, daily_readers):
    batch = composed(rt, daily_readers)  # the digest of 2 November
    catch_up = digests.run(rt, "daily", local(2026, 11, 4, 7))  # another scheduler, a day ahead, takes them
    assert catch_up.created == len(EMAILS)
    assert digests.store(rt, batch) == (0, 0)  # its own key was free, but every notification was gone
    assert not Digest.select().where(Digest.period_start == daily_readers.start_utc).exists()
    assert_sent_once_each()


def test_two_runs_writing_the_same_chunk_at_once_send_each_digest_once(rt, daily_readers):
    batches = [composed(rt, daily_readers) for _ in range(2)]
    start, results, errors = threading.Barrier(2), [], []

    def write(batch: digests.Batch) -> None:
        try:
            start.wait(10)
            results.append(digests.store(rt, batch))  # each thread has its own connection
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=write, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and sorted(created for _, created in results) == [0, len(EMAILS)]
    assert_sent_once_each()
