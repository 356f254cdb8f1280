"""Django's SQLite backend, with the connections of a process kept open and reused.

A new SQLite connection parses the whole schema on its first statement (about 1 ms for this
project's ~400 tables and indexes), and under ASGI every request runs on a fresh thread, so with
CONN_MAX_AGE=0 every request paid it. Here a connection that Django closes goes back to a small
per-process pool instead, and the next request's connection is taken from it, schema already parsed.

Safe because:
- a pooled connection is used by one thread at a time (Django's thread-sharing check still holds
  for the wrapper; the pool hands a connection to one wrapper only);
- it goes back only outside a transaction (anything left open is rolled back; a connection closed
  inside an atomic block is really closed), and autocommit and foreign keys are set again on reuse;
- the pool belongs to one process (a forked child starts with an empty one) and to one database
  file (a file deleted and re-created, e.g. a test database, is never served by an old connection);
- in-memory databases are left to Django.

OPTIONS["pool_size"] (default 8) bounds the idle connections kept; 0 turns the pool off.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from django.db.backends.sqlite3 import base

_lock = threading.Lock()
# (pid, database path) -> idle connections with the file identity they were opened on.
_idle: dict[tuple[int, str], list[tuple[tuple[int, int], Any]]] = {}


class PooledConnection(sqlite3.Connection):
    """sqlite3.Connection that can carry the identity of the file it was opened on."""

    sb_identity: tuple[int, int] | None = None


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


class DatabaseWrapper(base.DatabaseWrapper):
    _pool_size = 0

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        self._pool_size = int(params.pop("pool_size", 8))
        if self._pool_size > 0:
            params.setdefault("factory", PooledConnection)
        return params

    def _pool_key(self) -> tuple[int, str] | None:
        name = str(self.settings_dict["NAME"])
        if self._pool_size <= 0 or self.is_in_memory_db() or name.startswith("file:"):
            return None
        return (os.getpid(), name)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        key = self._pool_key()
        if key is not None:
            identity = _file_identity(key[1])
            with _lock:
                idle = _idle.get(key, [])
                while idle:
                    opened_on, conn = idle.pop()
                    if opened_on == identity:
                        conn.execute("PRAGMA foreign_keys = ON")
                        return conn
                    conn.close()
        conn = super().get_new_connection(conn_params)
        if key is not None:
            conn.sb_identity = _file_identity(key[1])
        return conn

    def _close(self) -> None:
        conn = self.connection
        key = self._pool_key() if conn is not None else None
        if key is None or self.in_atomic_block:
            super()._close()  # type: ignore[misc]  # BaseDatabaseWrapper._close exists; the stubs omit it
            return
        try:
            if conn.in_transaction:
                conn.rollback()
        except Exception:
            conn.close()
            raise
        identity = getattr(conn, "sb_identity", None)
        with _lock:
            idle = _idle.setdefault(key, [])
            if identity is not None and identity == _file_identity(key[1]) and len(idle) < self._pool_size:
                idle.append((identity, conn))
                return
        conn.close()
