"""Version 40: an inbound message's lease names its worker, so a live worker can renew it (a heartbeat)."""

from peewee import Database


def migrate(db: Database) -> None:
    # Added only where missing: a database made by 0001 from today's models has it already.
    if "lease_owner" not in {c.name for c in db.get_columns("inbound_message")}:
        db.execute_sql('ALTER TABLE "inbound_message" ADD COLUMN "lease_owner" VARCHAR(64)')
