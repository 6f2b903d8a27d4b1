"""Migrations bring a database made by an older version to the current layout, keeping its rows."""

from __future__ import annotations

from mailflow.migrations import apply_migrations
from mailflow.models import InboundMessage, SchemaVersion
from mailflow.runtime import Runtime

FOREIGN_KEYS = ("user_id", "customer_id", "outbox_id")


def indexes(rt: Runtime) -> dict[str, tuple[str, ...]]:
    return {index.name: tuple(index.columns) for index in rt.db.get_indexes("inbound_message")}


def as_version_1(rt: Runtime) -> None:
    """The inbound table as version 1 made it: every foreign key indexed in full."""
    for column in FOREIGN_KEYS:
        rt.db.execute_sql(f'DROP INDEX "inbound_message_{column}_set"')
        rt.db.execute_sql(f'CREATE INDEX "inbound_message_{column}" ON "inbound_message" ("{column}")')
    SchemaVersion.delete().where(SchemaVersion.version >= 2).execute()


def test_version_2_indexes_inbound_foreign_keys_only_where_set(rt: Runtime) -> None:
    as_version_1(rt)
    row = InboundMessage.create(door="smtp", dedup_key="k", raw=b"x", size=1, received_at=rt.now())
    assert apply_migrations(rt.db, rt.clock) == ["0002_inbound_partial_indexes"]
    found = indexes(rt)
    assert not {f"inbound_message_{column}" for column in FOREIGN_KEYS} & set(found)
    assert all(found[f"inbound_message_{column}_set"] == (column,) for column in FOREIGN_KEYS)
    assert bytes(InboundMessage.get_by_id(row.id).raw) == b"x"
    assert apply_migrations(rt.db, rt.clock) == []
