"""An assessment in school A, grade 7 (maths and Chinese, full marks 100), as a draft."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from schoolbridge.grades import actions
from schoolbridge.grades.models import Assessment, AssessmentSubject
from schoolbridge.testing.world import World


def make_assessment(world: World, name: str = "第一次月考", full: Decimal = Decimal("100")) -> Assessment:
    a = world.a
    return actions.create_assessment(
        world.user("a_admin"),
        a.term,
        a.grade7,
        name,
        "monthly",
        datetime.date.today(),
        [actions.SubjectSpec(a.maths, full), actions.SubjectSpec(a.chinese, full)],
    )


def subject_row(assessment: Assessment, subject: Any) -> AssessmentSubject:
    return AssessmentSubject.objects.get(assessment=assessment, subject=subject)


@pytest.fixture
def assessment(world: World) -> Assessment:
    return make_assessment(world)
