"""Plain multi-row INSERTs for the import's big tables (people, enrollments, sourcedIds).

The ORM's bulk_create builds a model instance and compiles SQL for every row; for hundreds of
thousands of rows that is most of an import's time. Here rows are tuples, written with the DB-API's
executemany inside the import's transaction. Primary keys are allocated up front (PostgreSQL: the
table's sequence; SQLite: after the highest id the table ever gave, which is safe because the import
already holds the write lock of its transaction), so the import can refer to the new rows at once. As
with the ORM, the id of a row deleted since is never given again: a re-created student must not look
like the one that was deleted (its enrollments and audit rows would point at the new one). On
PostgreSQL rows go in with COPY (upserts: COPY into a temporary table, then one INSERT … SELECT … ON
CONFLICT). Values go to the driver as Python objects (Django's SQLite backend registers the date
adapters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


class Inserter:
    def __init__(self) -> None:
        self.vendor = connection.vendor
        self.next_id: dict[str, int] = {}
        self.written: dict[str, int] = {}  # table → rows inserted

    def ids(self, model: type[models.Model], n: int) -> list[int]:
        if n == 0:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n]
                )
                return [row[0] for row in cursor.fetchall()]
            if table not in self.next_id:
                # AUTOINCREMENT's high-water mark (ids of deleted rows included), or MAX(id) on a table
                # that never had a row inserted through it
                cursor.execute(
                    f'SELECT MAX(COALESCE((SELECT MAX(id) FROM "{table}"), 0), '
                    "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
                    [table],
                )
                self.next_id[table] = int(cursor.fetchone()[0]) + 1
        start = self.next_id[table]
        self.next_id[table] = start + n
        return list(range(start, start + n))

    def insert(
        self, model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]], tail: str = ""
    ) -> None:
        if not rows:
            return
        table = model._meta.db_table
        self.written[table] = self.written.get(table, 0) + len(rows)
        cols = ", ".join(f'"{c}"' for c in columns)
        marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
        with connection.cursor() as cursor:
            if self.vendor != "postgresql":
                cursor.executemany(f'INSERT INTO "{table}" ({cols}) VALUES {marks} {tail}', rows)
            elif not tail:  # PostgreSQL, plain rows: COPY, as a bulk loader would
                with cursor.cursor.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
            else:  # PostgreSQL with ON CONFLICT: COPY into a scratch table, then one INSERT … SELECT
                stage = f"_stage_{table}"
                cursor.execute(
                    f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" ON COMMIT DROP AS '
                    f'SELECT {cols} FROM "{table}" WITH NO DATA'
                )
                cursor.execute(f'TRUNCATE "{stage}"')
                with cursor.cursor.copy(f'COPY "{stage}" ({cols}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM "{stage}" {tail}')

    def update(
        self, model: type[models.Model], set_columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """rows: (values of set_columns..., id)."""
        if not rows:
            return
        table = model._meta.db_table
        sets = ", ".join(f'"{c}" = %s' for c in set_columns)
        with connection.cursor() as cursor:
            cursor.executemany(f'UPDATE "{table}" SET {sets} WHERE id = %s', rows)

    def analyze(self, min_rows: int) -> list[str]:
        """PostgreSQL: ANALYZE each table that got at least `min_rows` rows, so that the planner's
        statistics know them before autovacuum does (a re-import soon after a first import of an empty
        district otherwise looks its sourcedIds up with a plan made for an empty table: a sequential
        scan per query). Inside the import's transaction, ANALYZE samples its own new rows too."""
        if self.vendor != "postgresql":
            return []
        tables = sorted(t for t, n in self.written.items() if n >= min_rows)
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f'ANALYZE "{table}"')
        return tables


def select(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def in_list(values: Sequence[Any]) -> tuple[str, list[Any]]:
    """SQL for "column IN (values)" and its parameters: one array parameter on PostgreSQL (so the driver
    does not parse thousands of placeholders), a placeholder each on SQLite."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [list(values)]
    return "IN (" + ", ".join(["%s"] * len(values)) + ")", list(values)
