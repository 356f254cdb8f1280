import datetime

import pytest
from django.utils import timezone

from schoolbridge.core.models import Enrollment, Person, Student
from schoolbridge.schoolcal.models import CalendarException


def ensure_school_day(school, day):
    """Make day a school day of the school (a make-up working day if it falls on a weekend)."""
    if day.isoweekday() >= 6:
        CalendarException.objects.create(
            district_id=school.district_id,
            school=school,
            kind="workday",
            name="调休",
            start_date=day,
            end_date=day,
        )
    return day


def past_weekday(days_back=1):
    day = timezone.localdate() - datetime.timedelta(days=days_back)
    while day.isoweekday() >= 6:
        day -= datetime.timedelta(days=1)
    return day


def add_students(klass, n, start=None, tag="X"):
    start = start or klass.year.start_date
    people = Person.objects.bulk_create(
        [Person(district_id=klass.district_id, family_name="陈", given_name=f"同学{i:03d}") for i in range(n)]
    )
    students = Student.objects.bulk_create(
        [
            Student(
                district_id=klass.district_id,
                school_id=klass.school_id,
                person=p,
                student_number=f"{tag}{klass.pk}-{i:04d}",
                current_class=klass,
            )
            for i, p in enumerate(people)
        ]
    )
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                district_id=klass.district_id,
                school_id=klass.school_id,
                student=s,
                klass=klass,
                start_date=start,
            )
            for s in students
        ]
    )
    return students


@pytest.fixture
def today(world):
    """Today as a school day of school A, its registers open until tomorrow evening (whatever the hour)."""
    from schoolbridge.attendance.models import AttendanceSettings

    AttendanceSettings.objects.create(district=world.district, school=world.a.school, cutoff_days=1)
    return ensure_school_day(world.a.school, timezone.localdate())
