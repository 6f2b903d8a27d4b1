"""Version 70: on PostgreSQL, a trigram index on document numbers, so that a number search finds its rows directly."""

from peewee import Database, DatabaseError, PostgresqlDatabase

from mailflow.db import first_line
from mailflow.errors import ConfigError

# A search for a number's digits is a substring match: no btree can seek it, so over many customer numbers
# every visible row's number was read. pg_trgm's GIN index finds the rows holding the key's trigrams instead.
# It holds lower(number_key), an expression only the number search names (document_search._number_search):
# on the bare column the planner also took it for one customer number's search, where a key of common digits
# made a 3 ms listing 8–18 ms. SQLite keeps its listing indexes, which meet the target there
# (benchmarks/README.md, viewer_query).
INDEX = ('CREATE INDEX IF NOT EXISTS "document_number_trigram" ON "document" '
         'USING gin (lower("number_key") gin_trgm_ops)')

# The numbers ANALYZE keeps as a sample of the column, evenly spread (100 by default): a search's key is rare or
# common by how many of them hold it (document_search.COMMON), near 1 % of the documents, finer than 100 tell.
STATISTICS = 1000


def migrate(db: Database) -> None:
    if not isinstance(db, PostgresqlDatabase):
        return
    create_extension(db)
    db.execute_sql(INDEX)
    db.execute_sql(f'ALTER TABLE "document" ALTER COLUMN "number_key" SET STATISTICS {STATISTICS}')
    db.execute_sql('ANALYZE "document" ("number_key")')  # now, not when autovacuum next finds enough changes


def create_extension(db: Database) -> None:
    """pg_trgm is a trusted extension (PostgreSQL 13 and later): the database's owner may create it. Refused, it
    is a ConfigError (exit 78) saying who can allow it: the search must not quietly lose its index."""
    try:
        db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        raise ConfigError(
            f"PostgreSQL refused to create the extension pg_trgm in database {db.database!r}: "
            f"{first_line(exc)}. Run `CREATE EXTENSION pg_trgm;` in that database as its owner or a superuser "
            "(the package postgresql-contrib provides it), or make mailflow's user the database's owner "
            "(`ALTER DATABASE … OWNER TO …`), then run `mailflow init` again.") from exc
