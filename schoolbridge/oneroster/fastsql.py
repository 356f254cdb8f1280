"""Plain multi-row INSERTs for the import's big tables (people, enrollments, sourcedIds).

The ORM's bulk_create builds a model instance and compiles SQL for every row; for hundreds of
thousands of rows that is most of an import's time. Here rows are tuples, written with the DB-API's
executemany inside the import's transaction. Primary keys are allocated up front (PostgreSQL: the
table's sequence; SQLite: after MAX(id), which is safe because the import already holds the write
lock of its transaction), so the import can refer to the new rows at once. Values go to the driver
as Python objects (Django's SQLite backend registers the date adapters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


class Inserter:
    def __init__(self) -> None:
        self.vendor = connection.vendor
        self.next_id: dict[str, int] = {}

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
                cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
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
        cols = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        with connection.cursor() as cursor:
            cursor.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks}) {tail}', rows)

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


def select(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
