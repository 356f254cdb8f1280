"""filter / sort / fields / paging parsing, without a database."""

from __future__ import annotations

import pytest

from schoolbridge.oneroster.filtering import (
    QueryError,
    apply_filter,
    parse_fields,
    parse_filter,
    parse_paging,
    sort_key,
)

USERS = [
    {
        "sourcedId": "u1",
        "email": "x@a.org",
        "status": "active",
        "familyName": "Zhang",
        "grades": ["07"],
        "n": "9",
    },
    {
        "sourcedId": "u2",
        "email": "y@a.org",
        "status": "tobedeleted",
        "familyName": "Li",
        "grades": ["08"],
        "n": "10",
    },
    {
        "sourcedId": "u3",
        "email": "x@b.org",
        "status": "active",
        "familyName": "O'Neil",
        "grades": [],
        "n": "11",
    },
]
FIELDS = ["sourcedId", "email", "status", "familyName", "grades", "n"]


def ids(text: str) -> list[str]:
    return [r["sourcedId"] for r in apply_filter(parse_filter(text, FIELDS), USERS)]


def test_operators() -> None:
    assert ids("email='x@a.org'") == ["u1"]
    assert ids("status!='active'") == ["u2"]
    assert ids("email~'X@'") == ["u1", "u3"]
    assert ids("n>'9'") == ["u2", "u3"]  # numbers compare as numbers
    assert ids("n<='10'") == ["u1", "u2"]
    assert ids("n>='11'") == ["u3"]
    assert ids("n<'10'") == ["u1"]
    assert ids("familyName='O''Neil'") == ["u3"]


def test_and_or() -> None:
    assert ids("status='active' AND email~'a.org'") == ["u1"]
    assert ids("email='y@a.org' OR familyName='Zhang'") == ["u1", "u2"]
    assert ids("status='active' AND n>'10' OR sourcedId='u2'") == ["u2", "u3"]


@pytest.mark.parametrize("bad", ["email=x", "nope='1'", "email='x' XOR status='active'", "email=='x'", ""])
def test_bad_filters(bad: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_filter(bad, FIELDS)
    assert info.value.minor == "invalid_filter_field"


def test_sort_fields_paging() -> None:
    assert [r["n"] for r in sorted(USERS, key=sort_key("n"))] == ["9", "10", "11"]
    assert parse_fields("sourcedId, email", FIELDS) == ["sourcedId", "email"]
    with pytest.raises(QueryError):
        parse_fields("password", FIELDS)
    assert parse_paging(None, None) == (100, 0)
    assert parse_paging("1000", "2000") == (1000, 2000)
    for lim, off in (("0", "0"), ("x", "0"), ("5", "-1")):
        with pytest.raises(QueryError):
            parse_paging(lim, off)
