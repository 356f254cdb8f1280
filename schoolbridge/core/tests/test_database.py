"""The suite runs on the database DATABASE_URL names; CI proves it is really PostgreSQL there."""

import pytest
from django.db import IntegrityError, connection, transaction

from schoolbridge.core.models import District, School
from schoolbridge.testing.services import postgres_or_skip


def test_postgres_when_configured(db):
    postgres_or_skip()
    with connection.cursor() as cur:
        cur.execute("select version()")
        assert "PostgreSQL" in cur.fetchone()[0]


def test_school_code_unique_within_district_only(db):
    d1 = District.objects.create(name="一区", code="D1")
    d2 = District.objects.create(name="二区", code="D2")
    School.objects.create(district=d1, name="一中", code="S1")
    School.objects.create(district=d2, name="一中", code="S1")  # same code, other district: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        School.objects.create(district=d1, name="另一所", code="S1")
