"""The REST binding's query parameters: filter, sort/orderBy, fields, limit/offset. Pure Python.

filter: one or more `field<op>'value'` clauses joined by AND / OR (AND binds tighter), with the
spec's operators = != > >= < <= ~ (~ is "contains", case-insensitive). Values are compared as text,
except that when both sides read as numbers they are compared as numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

OPERATORS = ("!=", ">=", "<=", "=", ">", "<", "~")
CLAUSE = re.compile(r"\s*([A-Za-z][A-Za-z0-9_.]*)\s*(!=|>=|<=|=|>|<|~)\s*'((?:[^']|'')*)'\s*")
JOIN = re.compile(r"\s+(AND|OR)\s+")


class QueryError(ValueError):
    """A bad query parameter; `minor` is the spec's imsx_codeMinor value."""

    def __init__(self, minor: str, message: str) -> None:
        super().__init__(message)
        self.minor = minor


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    value: str


# A filter in disjunctive normal form: OR of ANDs.
Filter = list[list[Clause]]


def parse_filter(text: str, fields: Iterable[str]) -> Filter:
    allowed = set(fields)
    rest = text.strip()
    groups: Filter = [[]]
    while True:
        match = CLAUSE.match(rest)
        if not match:
            raise QueryError(
                "invalid_filter_field", f"cannot read the filter at “{rest[:40]}”: use field='value'"
            )
        field, op, value = match.group(1), match.group(2), match.group(3).replace("''", "'")
        if field not in allowed:
            raise QueryError("invalid_filter_field", f"“{field}” is not a field that can be filtered on")
        groups[-1].append(Clause(field, op, value))
        rest = rest[match.end() :]
        if not rest:
            return groups
        join = JOIN.match(" " + rest)
        if not join:
            raise QueryError("invalid_filter_field", f"expected AND or OR at “{rest[:40]}”")
        if join.group(1) == "OR":
            groups.append([])
        rest = (" " + rest)[join.end() :]


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(value.get("sourcedId", ""))
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def matches(clause: Clause, record: dict[str, Any]) -> bool:
    got = _text(record.get(clause.field))
    want = clause.value
    if clause.op == "~":
        return want.lower() in got.lower()
    if clause.op == "=":
        return got == want
    if clause.op == "!=":
        return got != want
    a, b = _number(got), _number(want)
    left: Any = a if a is not None and b is not None else got
    right: Any = b if a is not None and b is not None else want
    return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[clause.op]


def apply_filter(flt: Filter, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if any(all(matches(c, r) for c in group) for group in flt)]


def sort_key(field: str) -> Callable[[dict[str, Any]], Any]:
    def key(record: dict[str, Any]) -> Any:
        value = record.get(field)
        number = _number(value) if not isinstance(value, bool) else None
        return (0, number, "") if number is not None else (1, 0.0, _text(value))

    return key


def parse_fields(text: str, allowed: Iterable[str]) -> list[str]:
    names = [f.strip() for f in text.split(",") if f.strip()]
    known = set(allowed)
    for name in names:
        if name not in known:
            raise QueryError("invalid_selection_field", f"“{name}” is not a field of this collection")
    return names


def parse_paging(
    limit: str | None, offset: str | None, default: int = 100, maximum: int = 10000
) -> tuple[int, int]:
    try:
        lim = int(limit) if limit not in (None, "") else default
        off = int(offset) if offset not in (None, "") else 0
    except ValueError:
        raise QueryError("invaliddata", "limit and offset are whole numbers") from None
    if lim < 1 or off < 0:
        raise QueryError("invaliddata", "limit must be 1 or more and offset 0 or more")
    return min(lim, maximum), off
