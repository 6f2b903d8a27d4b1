"""Bulk statements: multi-row inserts fill in model defaults, skip rows that break a unique key and return
only the rows inserted; id lists work for any number of ids, none included."""

from __future__ import annotations

from datetime import datetime

from mailflow import bulk
from mailflow.models import Digest, Outbox, User

NOW = datetime(2026, 11, 3, 6, 0)


def test_insert_fills_in_model_defaults_and_returns_what_it_inserted(rt):
    fields = (Outbox.message_id, Outbox.kind, Outbox.recipient, Outbox.raw, Outbox.next_attempt_at,
              Outbox.created_at)
    rows = [(f"<{n}@x>", "digest", f"p{n}@example.be", b"raw\x00", NOW, NOW) for n in range(1200)]
    returned = bulk.insert(fields, rows, returning=(Outbox.message_id, Outbox.id))
    assert len(returned) == 1200 and {mid for mid, _ in returned} == {row[0] for row in rows}
    row = Outbox.get(Outbox.id == dict(returned)["<7@x>"])
    assert (row.status, row.attempts, row.subject, bytes(row.raw)) == ("queued", 0, "", b"raw\x00")


def test_rows_breaking_the_key_are_skipped_and_not_returned(rt):
    marie = User.create(email="marie@example.be", created_at=NOW)
    jan = User.create(email="jan@example.be", created_at=NOW)
    fields = (Digest.user, Digest.frequency, Digest.period_start, Digest.period_end, Digest.created_at)
    key = (Digest.user, Digest.frequency, Digest.period_start)
    bulk.insert(fields, [(marie.id, "daily", NOW, NOW, NOW)])
    returned = bulk.insert(fields, [(marie.id, "daily", NOW, NOW, NOW), (jan.id, "daily", NOW, NOW, NOW)],
                           returning=(Digest.user,), ignore_conflicts_on=key)
    assert returned == [(jan.id,)] and Digest.select().count() == 2


def test_id_lists_of_any_length(rt):
    users = [User.create(email=f"u{n}@example.be", created_at=NOW) for n in range(3)]
    ids = [user.id for user in users]
    assert User.select().where(bulk.among(User.id, [])).count() == 0
    assert User.select().where(bulk.among(User.id, ids[:2])).count() == 2
