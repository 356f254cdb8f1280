"""A SQL database through SQLAlchemy: a URL and one read-only query.

Only SELECT (or WITH … SELECT) statements are accepted; the query runs in a transaction that is always
rolled back, with a row limit; PostgreSQL runs it read-only with a statement timeout, SQLite with
query_only. The URL is the administrator's responsibility: the server connects to
whatever host the URL names (see docs/imports.md on what to allow).
"""

from __future__ import annotations

import datetime
import decimal
import re
from typing import Any

from . import Row, SourceError, Table, clean_headers

MAX_ROWS = 50_000
TIMEOUT_S = 60
_READ_ONLY = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
_WRITES = re.compile(
    r"\b(insert|update|delete|drop|alter|create|truncate|grant|revoke|copy|attach|pragma|call|exec|merge)\b",
    re.IGNORECASE,
)


def check_query(query: str) -> str:
    query = (query or "").strip().rstrip(";").strip()
    if not query or not _READ_ONLY.match(query) or ";" in query or _WRITES.search(query):
        raise SourceError("Only a single SELECT query is allowed")
    return query


def _value(v: Any) -> Any:
    if isinstance(v, datetime.datetime | datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def read_sql(url: str, query: str, max_rows: int = MAX_ROWS) -> Table:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    query = check_query(query)
    try:
        engine = create_engine(url, pool_pre_ping=False)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise SourceError(f"The database URL is not valid: {type(exc).__name__}") from None
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                if conn.dialect.name == "postgresql":
                    # The server itself refuses writes, and a runaway query ends after a minute.
                    conn.execute(text("SET TRANSACTION READ ONLY"))
                    conn.execute(text(f"SET LOCAL statement_timeout = {int(TIMEOUT_S * 1000)}"))
                elif conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA query_only = ON")
                result = conn.execute(text(query))
                headers = clean_headers(list(result.keys()), "query columns")
                table = Table(headers=headers)
                for i, record in enumerate(result, start=1):
                    if i > max_rows:
                        raise SourceError(f"The query returned more than {max_rows} rows")
                    table.rows.append(Row(i, {h: _value(v) for h, v in zip(headers, record, strict=True)}))
            finally:
                trans.rollback()
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        raise SourceError(f"The database query failed: {detail}") from None
    finally:
        engine.dispose()
    return table
