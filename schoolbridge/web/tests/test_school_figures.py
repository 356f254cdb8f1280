"""The school overview keeps its statements, never its figures: each visit counts again, within the
grant (school or grade) of the visit."""

from __future__ import annotations

import re
from typing import Any

import pytest

from schoolbridge.core.models import Person, Student

from .helpers import english_client, verified_client

pytestmark = pytest.mark.django_db

STAT = r'<span class="num">(\d+)</span><span class="label">{}</span>'


def _stat(client: Any, label: str) -> int:
    response = client.get("/")
    assert response.status_code == 200
    match = re.search(STAT.format(label), response.content.decode())
    assert match, f"no {label!r} on the page"
    return int(match.group(1))


def _enrol(world: Any, klass: Any, number: str) -> Student:
    person = Person.objects.create(district=world.district, family_name="新", given_name="同学")
    return Student.objects.create(
        district=world.district, school=klass.school, person=person, student_number=number, current_class=klass
    )


def test_figures_are_counted_again_on_every_visit(world):
    client = verified_client(world.user("a_admin"))
    before = _stat(client, "Students enrolled")
    _enrol(world, world.a.g8c1, "NEW-1")
    assert _stat(client, "Students enrolled") == before + 1
    # Another school's student does not count here.
    _enrol(world, world.b.g8c1, "NEW-2")
    assert _stat(client, "Students enrolled") == before + 1


def test_a_grade_director_counts_their_grade_only(world):
    admin = verified_client(world.user("a_admin"))
    director = english_client(world.a.users["director"])
    school_total = _stat(admin, "Students enrolled")
    grade_total = _stat(director, "Students enrolled")
    assert 0 < grade_total < school_total
    _enrol(world, world.a.g8c1, "NEW-3")  # grade 8: not the director's grade 7
    assert _stat(director, "Students enrolled") == grade_total
    assert _stat(admin, "Students enrolled") == school_total + 1
    _enrol(world, world.a.g7c2, "NEW-4")
    assert _stat(director, "Students enrolled") == grade_total + 1
