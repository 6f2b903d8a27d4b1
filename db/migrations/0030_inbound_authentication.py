"""Version 30: where an inbound message came from (client address, HELO) and what its authentication showed."""

from peewee import Database

# Added only where missing: a database made by 0001 from today's models has them already.
COLUMNS = (("client_ip", "VARCHAR(45)"), ("helo", "VARCHAR(255)"), ("authentication", "TEXT"))


def migrate(db: Database) -> None:
    present = {c.name for c in db.get_columns("inbound_message")}
    for column, ddl in COLUMNS:
        if column not in present:
            db.execute_sql(f'ALTER TABLE "inbound_message" ADD COLUMN "{column}" {ddl}')
