"""Score statistics as pure functions (no Django, no database): give them numbers, get numbers back.

Values are Decimals or floats; absent and exempt students are not values (the caller counts them
separately). The standard deviation is the population one (the class is the whole population).
Rates are fractions between 0 and 1; None where there is nothing to measure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

Number = Decimal | float | int
K = TypeVar("K")

# Distribution buckets as shares of the full marks: below 60 %, 60-70 %, 70-80 %, 80-90 %, 90 % and above.
BUCKET_EDGES: tuple[float, ...] = (0.0, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Bucket:
    low: float  # inclusive, in marks
    high: float  # exclusive, except for the last bucket (which includes the full marks)
    count: int

    @property
    def label(self) -> str:
        return f"{_fmt(self.low)}–{_fmt(self.high)}"


@dataclass(frozen=True)
class Summary:
    count: int  # students with a value
    absent: int = 0
    exempt: int = 0
    mean: float | None = None
    median: float | None = None
    stdev: float | None = None
    max: float | None = None
    min: float | None = None
    pass_rate: float | None = None
    excellent_rate: float | None = None
    buckets: list[Bucket] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "count": self.count,
            "absent": self.absent,
            "exempt": self.exempt,
            "mean": self.mean,
            "median": self.median,
            "stdev": self.stdev,
            "max": self.max,
            "min": self.min,
            "pass_rate": self.pass_rate,
            "excellent_rate": self.excellent_rate,
            "buckets": [
                {"label": b.label, "low": b.low, "high": b.high, "count": b.count} for b in self.buckets
            ],
        }


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def mean(values: Sequence[Number]) -> float | None:
    if not values:
        return None
    return math.fsum(float(v) for v in values) / len(values)


def median(values: Sequence[Number]) -> float | None:
    if not values:
        return None
    ordered = sorted(float(v) for v in values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def stdev(values: Sequence[Number]) -> float | None:
    """Population standard deviation."""
    m = mean(values)
    if m is None:
        return None
    return math.sqrt(math.fsum((float(v) - m) ** 2 for v in values) / len(values))


def rate(values: Sequence[Number], threshold: Number) -> float | None:
    """Share of values at or above the threshold."""
    if not values:
        return None
    t = float(threshold)
    return sum(1 for v in values if float(v) >= t) / len(values)


def buckets(
    values: Sequence[Number], full_marks: Number, edges: Sequence[float] = BUCKET_EDGES
) -> list[Bucket]:
    """Counts per band of the full marks; the last band includes the full marks themselves."""
    full = float(full_marks)
    bounds = [e * full for e in edges] + [full]
    counts = [0] * len(edges)
    for v in values:
        x = float(v)
        placed = len(edges) - 1
        for i in range(len(edges)):
            if x < bounds[i + 1]:
                placed = i
                break
        counts[max(placed, 0)] += 1
    return [Bucket(bounds[i], bounds[i + 1], counts[i]) for i in range(len(edges))]


def summarize(
    values: Sequence[Number],
    full_marks: Number,
    pass_mark: Number,
    excellent_mark: Number,
    absent: int = 0,
    exempt: int = 0,
) -> Summary:
    vals = list(values)
    return Summary(
        count=len(vals),
        absent=absent,
        exempt=exempt,
        mean=_round(mean(vals)),
        median=_round(median(vals)),
        stdev=_round(stdev(vals)),
        max=float(max(vals)) if vals else None,
        min=float(min(vals)) if vals else None,
        pass_rate=_round(rate(vals, pass_mark), 4),
        excellent_rate=_round(rate(vals, excellent_mark), 4),
        buckets=buckets(vals, full_marks),
    )


def ranks(values: Mapping[K, Number]) -> dict[K, int]:
    """Competition ranks (1, 2, 2, 4): the highest value is 1; equal values share a rank."""
    ordered = sorted(values.items(), key=lambda kv: float(kv[1]), reverse=True)
    out: dict[K, int] = {}
    previous: float | None = None
    rank = 0
    for position, (key, value) in enumerate(ordered, start=1):
        if previous is None or float(value) != previous:
            rank = position
            previous = float(value)
        out[key] = rank
    return out


def weighted_total(parts: Iterable[tuple[Number, Number]]) -> float:
    """Sum of value × weight over (value, weight) pairs."""
    return math.fsum(float(v) * float(w) for v, w in parts)


def percent(value: Number | None, full_marks: Number) -> float | None:
    """A value as a percentage of the full marks (for trends across exams with different full marks)."""
    if value is None:
        return None
    return _round(float(value) * 100 / float(full_marks))


def _round(x: float | None, places: int = 2) -> float | None:
    return None if x is None else round(x, places)
