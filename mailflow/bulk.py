"""Bulk statements: one multi-row INSERT for a few hundred rows, and IN (…) lists of hundreds of ids.

peewee builds and renders a node for every value it is given; for hundreds of rows of a dozen columns, or
an IN list per chunk of recipients, that cost more than the database took to run the statement. Here the
SQL text is made at once and values are passed as parameters (inserted ones still through `db_value`).
"""

from __future__ import annotations

from typing import Sequence

from peewee import SQL, Field, NodeList

from mailflow.db import database

MAX_PARAMETERS = 4_000  # per statement: far below SQLite's and PostgreSQL's limits, statements stay small


def insert(fields: Sequence[Field], rows: Sequence[Sequence[object]], returning: Sequence[Field] = (),
           ignore_conflicts_on: Sequence[Field] = ()) -> list[tuple]:
    """Insert `rows` (values in `fields` order); with `returning`, those columns of the rows inserted.

    `ignore_conflicts_on` names a unique key: rows that would break it are skipped (ON CONFLICT DO NOTHING)
    and are not returned.
    """
    fields, rows = _with_defaults(fields, rows)
    returned: list[tuple] = []
    size = max(1, MAX_PARAMETERS // len(fields))
    for start in range(0, len(rows), size):  # not peewee's chunked: it zips `size` iterators, slow for few rows
        batch = rows[start:start + size]
        cursor = database.execute_sql(_sql(fields, len(batch), returning, ignore_conflicts_on), _params(fields, batch))
        returned.extend(cursor.fetchall() if returning else ())
    return returned


def _with_defaults(fields: Sequence[Field], rows: Sequence[Sequence[object]]) -> tuple[list[Field], list[tuple]]:
    """Add the model's defaults for the fields not given, as insert_many does (they live in Python, not the schema)."""
    given = {field.name for field in fields}  # by name: a field's == builds an SQL expression
    missing = [field for field in fields[0].model._meta.defaults if field.name not in given]
    if not missing:
        return list(fields), [tuple(row) for row in rows]
    extra = [_default(field) for field in missing]
    return [*fields, *missing], [(*row, *extra) for row in rows]


def _default(field: Field) -> object:
    value = field.default  # a callable default is called once for the whole batch
    return value() if callable(value) else value


def _sql(fields: Sequence[Field], count: int, returning: Sequence[Field], key: Sequence[Field]) -> str:
    row = f"({marks(len(fields))})"
    sql = f"INSERT INTO {_table(fields)} ({_names(fields)}) VALUES {', '.join([row] * count)}"
    if key:
        sql += f" ON CONFLICT ({_names(key)}) DO NOTHING"
    return sql + (f" RETURNING {_names(returning)}" if returning else "")


def _params(fields: Sequence[Field], rows: Sequence[Sequence[object]]) -> list[object]:
    return [field.db_value(value) for row in rows for field, value in zip(fields, row, strict=True)]


def _table(fields: Sequence[Field]) -> str:
    return f'"{fields[0].model._meta.table_name}"'


def _names(fields: Sequence[Field]) -> str:
    return ", ".join(f'"{field.column_name}"' for field in fields)


def marks(count: int) -> str:
    """`?, ?, …` (or `%s, …`): one parameter mark per value, for SQL written as text."""
    return ", ".join([database.param] * count)


def among(column: Field, ids: Sequence[int]) -> NodeList:
    """`column IN (?, ?, …)` as one node; `IN (NULL)`, which matches nothing, for no ids. Not
    `column.in_(…)`: to see whether the list is empty, peewee renders it a second time, which took as long
    as building the rest of the query."""
    values = SQL(f"({marks(len(ids))})", list(ids)) if ids else SQL("(NULL)")  # PostgreSQL refuses IN ()
    return NodeList((column, SQL("IN"), values))
