"""Migrations bring a database made by an older version to the current layout, keeping its rows."""

from __future__ import annotations

from mailflow.migrations import apply_migrations
from mailflow.models import Access, AddressChange, Customer, InboundMessage, PaperlessChange, SchemaVersion
from mailflow.runtime import Runtime
from tests.support import factories

FOREIGN_KEYS = ("user_id", "customer_id", "outbox_id")


def indexes(rt: Runtime) -> dict[str, tuple[str, ...]]:
    return {index.name: tuple(index.columns) for index in rt.db.get_indexes("inbound_message")}


def as_version_1(rt: Runtime) -> None:
    """The inbound table as version 1 made it: every foreign key indexed in full."""
    for column in FOREIGN_KEYS:
        rt.db.execute_sql(f'DROP INDEX "inbound_message_{column}_set"')
        rt.db.execute_sql(f'CREATE INDEX "inbound_message_{column}" ON "inbound_message" ("{column}")')
    SchemaVersion.delete().where(SchemaVersion.version >= 2).execute()  # 0003 runs again too: it is idempotent


def test_version_2_indexes_inbound_foreign_keys_only_where_set(rt: Runtime) -> None:
    as_version_1(rt)
    row = InboundMessage.create(door="smtp", dedup_key="k", raw=b"x", size=1, received_at=rt.now())
    assert apply_migrations(rt.db, rt.clock)[:2] == ["0002_inbound_partial_indexes", "0003_leaner_indexes"]
    found = indexes(rt)
    assert not {f"inbound_message_{column}" for column in FOREIGN_KEYS} & set(found)
    assert all(found[f"inbound_message_{column}_set"] == (column,) for column in FOREIGN_KEYS)
    assert bytes(InboundMessage.get_by_id(row.id).raw) == b"x"
    assert apply_migrations(rt.db, rt.clock) == []


def test_version_3_drops_indexes_a_longer_one_leads_and_narrows_outbox_ones(rt: Runtime) -> None:
    for name, table, column in [("digest_user_id", "digest", "user_id"), ("token_user_id", "token", "user_id"),
                                ("notification_user_id", "notification", "user_id"),
                                ("outbox_customer_id", "outbox", "customer_id"),
                                ("outbox_document_id", "outbox", "document_id")]:
        rt.db.execute_sql(f'CREATE INDEX "{name}" ON "{table}" ("{column}")')
    for column in ("customer_id", "document_id"):
        rt.db.execute_sql(f'DROP INDEX "outbox_{column}_set"')
    SchemaVersion.delete().where(SchemaVersion.version >= 3).execute()
    assert apply_migrations(rt.db, rt.clock)[:1] == ["0003_leaner_indexes"]  # and every later one, idempotent
    names = {index.name for table in ("digest", "token", "notification", "outbox") for index in rt.db.get_indexes(table)}
    assert not names & {"digest_user_id", "token_user_id", "notification_user_id", "outbox_customer_id",
                        "outbox_document_id"}
    assert {"outbox_customer_id_set", "outbox_document_id_set", "digest_user_id_frequency_period_start",
            "notification_user_id_document_id", "token_user_id_purpose"} <= names


def test_versions_10_to_12_add_customer_kind_channels_paperless_and_address_changes(rt: Runtime) -> None:
    """From a database before them: the columns arrive with their defaults, rows kept; then nothing to do."""
    customer = factories.customer(rt, "DL2123456")
    factories.share(rt, "DL2123456")
    rt.db.execute_sql('ALTER TABLE "customer" DROP COLUMN "kind"')
    rt.db.execute_sql('ALTER TABLE "access" DROP COLUMN "channels"')
    rt.db.drop_tables([PaperlessChange, AddressChange])
    SchemaVersion.delete().where(SchemaVersion.version >= 10).execute()
    applied = apply_migrations(rt.db, rt.clock)
    assert applied[:3] == ["0010_customer_kind_and_channels", "0011_paperless_changes", "0012_address_changes"]
    assert Customer.get_by_id(customer.id).kind == "business"
    assert {a.channels for a in Access.select()} == {"both"}
    assert PaperlessChange.select().count() == 0 and AddressChange.select().count() == 0
    SchemaVersion.delete().where(SchemaVersion.version >= 10).execute()  # made by 0001 from today's models
    assert apply_migrations(rt.db, rt.clock)[:3] == applied[:3]


def test_a_migration_numbered_below_the_latest_that_arrives_later_still_runs(rt: Runtime) -> None:
    SchemaVersion.delete().where(SchemaVersion.version == 4).execute()  # as if 0004 landed after 0012
    assert apply_migrations(rt.db, rt.clock) == ["0004_login_requests"]
    assert apply_migrations(rt.db, rt.clock) == []
