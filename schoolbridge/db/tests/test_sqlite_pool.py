"""The SQLite backend's pool of open connections (schoolbridge.db.sqlite3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from schoolbridge.db.sqlite3.base import DatabaseWrapper

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite backend only")


def wrapper(path: Path, **options: Any) -> DatabaseWrapper:
    settings_dict = {**connection.settings_dict, "NAME": str(path)}
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], **options}
    return DatabaseWrapper(settings_dict, alias="pool_test")


@pytest.fixture
def db_file(tmp_path: Path, django_db_blocker: Any) -> Iterator[Path]:
    """A scratch database file of its own (not the test database), opened through the backend."""
    with django_db_blocker.unblock():
        yield _create(tmp_path)


def _create(tmp_path: Path) -> Path:
    path = tmp_path / "pool.sqlite3"
    w = wrapper(path)
    with w.cursor() as cursor:
        cursor.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        cursor.execute("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))")
    w.close()
    return path


def test_a_closed_connection_is_reused_by_the_next_wrapper(db_file: Path) -> None:
    first = wrapper(db_file)
    first.ensure_connection()
    raw = first.connection
    first.close()
    assert first.connection is None
    second = wrapper(db_file)
    second.ensure_connection()
    assert second.connection is raw
    assert second.get_autocommit()
    second.close()


def test_an_open_transaction_is_rolled_back_before_reuse(db_file: Path) -> None:
    first = wrapper(db_file)
    first.ensure_connection()
    first.connection.execute("BEGIN")
    first.connection.execute("INSERT INTO parent (id) VALUES (1)")
    first.close()
    second = wrapper(db_file)
    with second.cursor() as cursor:
        assert not second.connection.in_transaction
        cursor.execute("SELECT COUNT(*) FROM parent")
        assert cursor.fetchone()[0] == 0
    second.close()


def test_foreign_keys_are_enforced_again_on_reuse(db_file: Path) -> None:
    first = wrapper(db_file)
    assert first.disable_constraint_checking()
    first.close()
    second = wrapper(db_file)
    with second.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
    second.close()


def test_a_recreated_file_is_not_served_by_an_old_connection(db_file: Path) -> None:
    first = wrapper(db_file)
    first.ensure_connection()
    old = first.connection
    first.close()
    db_file.unlink()
    second = wrapper(db_file)
    with second.cursor() as cursor:
        assert second.connection is not old
        cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'parent'")
        assert cursor.fetchone()[0] == 0
    second.close()


def test_a_connection_closed_inside_an_atomic_block_is_not_pooled(db_file: Path) -> None:
    first = wrapper(db_file)
    first.ensure_connection()
    old = first.connection
    first.set_autocommit(False)
    first.in_atomic_block = True
    first.close()
    first.in_atomic_block = False
    second = wrapper(db_file)
    second.ensure_connection()
    assert second.connection is not old
    second.close()


def test_pool_size_zero_turns_the_pool_off(db_file: Path) -> None:
    first = wrapper(db_file, pool_size=0)
    first.ensure_connection()
    old = first.connection
    first.close()
    second = wrapper(db_file, pool_size=0)
    second.ensure_connection()
    assert second.connection is not old
    second.close()
