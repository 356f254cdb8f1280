"""Django's database session engine, with the per-request read written as one SQL statement.

Every signed-in request loads its session; Django's engine compiles the same ORM query for it each
time. This engine reads the same row (the key, not yet expired) with fixed SQL and leaves everything
else (creating, saving, cycling, deleting on logout) to Django's engine unchanged. The rows stay in
the database, so any number of processes see a logout at once.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.contrib.sessions.backends import db
from django.core.exceptions import SuspiciousOperation
from django.db import connections, router
from django.utils import timezone


@functools.cache
def _load_sql(model: Any, alias: str) -> str:
    quote = connections[alias].ops.quote_name
    return "SELECT {data} FROM {table} WHERE {key} = %s AND {expire} > %s".format(
        table=quote(model._meta.db_table),
        data=quote(model._meta.get_field("session_data").column),
        key=quote(model._meta.get_field("session_key").column),
        expire=quote(model._meta.get_field("expire_date").column),
    )


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        model = self.model
        alias = router.db_for_read(model)
        connection = connections[alias]
        try:
            key = self.session_key
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            with connection.cursor() as cursor:
                cursor.execute(_load_sql(model, alias), [key, now])
                row = cursor.fetchone()
        except SuspiciousOperation as e:
            logging.getLogger(f"django.security.{e.__class__.__name__}").warning(str(e))
            row = None
        if row is None:
            self._session_key = None
            return None
        return model(session_key=key, session_data=row[0])  # type: ignore[misc]  # key is set: the row was found by it
