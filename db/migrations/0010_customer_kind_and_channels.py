"""Version 10: customers are business or private, and each shared access says how it is delivered."""

from peewee import Database

# Added only where missing: a database made by 0001 from today's models has them already.
COLUMNS = (("customer", "kind", "VARCHAR(8) NOT NULL DEFAULT 'business'"),
           ("access", "channels", "VARCHAR(8) NOT NULL DEFAULT 'both'"))


def migrate(db: Database) -> None:
    for table, column, ddl in COLUMNS:
        if column not in {c.name for c in db.get_columns(table)}:
            db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {ddl}')
