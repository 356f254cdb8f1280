"""Give every school of the demo a published timetable for its current term.

For each school with a current term and no published timetable yet: a default bell schedule when the
term has none (eight periods), a draft with one requirement per class and subject from the teaching
assignments, lessons placed by the CP-SAT engine (or one by one when it is not available), published.
Acts as one of the school's administrators (or the district's), so every write is an audited action.
"""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand

from schoolbridge.accounts.models import RoleGrant
from schoolbridge.core.errors import InvalidInput
from schoolbridge.core.models import School, TeachingAssignment
from schoolbridge.schoolcal.actions import PeriodIn, set_bell_schedule
from schoolbridge.timetable import actions, queries, solving

BELLS = [
    (1, "08:00", "08:45", "am"),
    (2, "08:55", "09:40", "am"),
    (3, "10:00", "10:45", "am"),
    (4, "10:55", "11:40", "am"),
    (5, "14:00", "14:45", "pm"),
    (6, "14:55", "15:40", "pm"),
    (7, "16:00", "16:45", "pm"),
    (8, "16:55", "17:40", "pm"),
]


class Command(BaseCommand):
    help = "Build and publish a timetable for the current term of every school that has none."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--lessons-per-week", type=int, default=4)
        parser.add_argument("--seconds", type=float, default=20.0, help="solver time per school")

    def handle(self, *args: Any, **opts: Any) -> None:
        for school in School.objects.order_by("pk"):
            term = queries.current_term(school.pk)
            grant = (
                RoleGrant.objects.filter(role="school_admin", school=school).select_related("user").first()
                or RoleGrant.objects.filter(role="district_admin", district_id=school.district_id)
                .select_related("user")
                .first()
            )
            if term is None or queries.published_version(school.pk, term) is not None:
                continue
            if grant is None:
                self.stdout.write(f"{school.name}: skipped (no school or district administrator to act as)")
                continue
            admin = grant.user
            if not queries.has_bell_schedule(term):
                rows = [
                    PeriodIn(n, datetime.time.fromisoformat(a), datetime.time.fromisoformat(b), half)
                    for n, a, b, half in BELLS
                ]
                set_bell_schedule(admin, term, 0, rows)
            version = actions.create_version(admin, school.pk, term.pk, f"{term.name}课表")
            # As many lessons a week as fit the fullest class's week.
            slots = len(queries.week_of(term).slots())
            pairs = Counter(
                klass_id
                for klass_id, _subject in set(
                    TeachingAssignment.objects.filter(term=term).values_list("klass_id", "subject_id")
                )
            )
            widest = max(pairs.values(), default=1)
            n = max(1, min(opts["lessons_per_week"], slots // widest))
            actions.requirements_from_assignments(admin, version, n)
            placed = 0
            if solving.solver_available():
                try:
                    placed = solving.solve_version(version.pk, admin.pk, opts["seconds"]).get("placed", 0)
                except InvalidInput as exc:
                    self.stderr.write(f"{school.name}: the solver's timetable was not stored: {exc.messages}")
            placed += solving.quick_fill(admin, version)  # whatever the solver left unplaced
            total = version.lessons.count()
            actions.publish(admin, version)
            self.stdout.write(f"{school.name}: {placed} of {total} lessons placed, published")
