"""stats.py on known numbers, without a database."""

from decimal import Decimal

import pytest

from schoolbridge.grades import stats

VALUES = [Decimal("95"), Decimal("88"), Decimal("72"), Decimal("60"), Decimal("45"), Decimal("72")]


def test_summary_of_a_known_set():
    s = stats.summarize(VALUES, 100, 60, 85, absent=1, exempt=2)
    assert s.count == 6 and s.absent == 1 and s.exempt == 2
    assert s.mean == pytest.approx(72.0)
    assert s.median == pytest.approx(72.0)
    # population variance: (23² + 16² + 0 + 12² + 27² + 0) / 6 = 1658 / 6
    assert s.stdev == pytest.approx((1658 / 6) ** 0.5, abs=0.01)
    assert s.max == 95 and s.min == 45
    assert s.pass_rate == pytest.approx(5 / 6, abs=1e-4)  # 60 counts as a pass
    assert s.excellent_rate == pytest.approx(2 / 6, abs=1e-4)
    assert [b.count for b in s.buckets] == [1, 1, 2, 1, 1]
    assert [b.label for b in s.buckets] == ["0–60", "60–70", "70–80", "80–90", "90–100"]


def test_even_median_and_full_marks_in_last_bucket():
    assert stats.median([1, 2, 3, 4]) == 2.5
    b = stats.buckets([150, 0, 89.99, 90], 150)
    assert [x.count for x in b] == [2, 1, 0, 0, 1]  # 150 is in the top band; 90 = 60 % of 150


def test_empty_set_has_no_figures():
    s = stats.summarize([], 100, 60, 85)
    assert s.count == 0 and s.mean is None and s.median is None and s.stdev is None
    assert s.pass_rate is None and s.max is None
    assert sum(b.count for b in s.buckets) == 0


def test_single_value_has_zero_spread():
    assert stats.stdev([80]) == 0


def test_competition_ranks():
    assert stats.ranks({"a": 90, "b": 95, "c": 90, "d": 70}) == {"b": 1, "a": 2, "c": 2, "d": 4}


def test_weighted_total_and_percent():
    assert stats.weighted_total([(80, 1), (120, Decimal("0.5"))]) == 140
    assert stats.percent(Decimal("135"), 150) == 90.0
    assert stats.percent(None, 100) is None
