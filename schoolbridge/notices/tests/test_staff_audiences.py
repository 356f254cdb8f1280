"""Staff groups as audiences: head teachers, the teachers of a grade, the teachers of a subject."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from schoolbridge.core.models import Subject
from schoolbridge.notices import actions
from schoolbridge.notices.models import Receipt
from schoolbridge.testing.world import World
from schoolbridge.web.tests.helpers import verified_client

pytestmark = pytest.mark.django_db


def _recipients(world: World, who: str, audience: list[str]) -> set[str]:
    notice = actions.send_notice(
        world.user(who), world.a.school.pk, title="Staff meeting", body="At 4pm.", audience=audience
    )
    rows = Receipt.objects.filter(notice=notice).select_related("user")
    assert all(r.is_staff for r in rows)
    return {r.user.username for r in rows}


def _subject(world: World, code: str) -> Subject:
    return Subject.objects.get(school=world.a.school, code=code)


def test_each_staff_group_reaches_exactly_its_teachers(world: World) -> None:
    a = world.a
    assert _recipients(world, "a_admin", [f"staff_heads:{a.school.pk}"]) == {"a_head"}
    # Grade 7: g7c1's head teacher (maths) and Chinese teacher, and g7c2's maths teacher.
    grade7 = {"a_head", "a_teacher", "teacher_parent"}
    assert _recipients(world, "a_admin", [f"staff_grade:{a.g7c1.grade_id}"]) == grade7
    assert _recipients(world, "a_admin", [f"staff_grade:{a.g8c1.grade_id}"]) == {"a_teacher"}
    assert _recipients(world, "a_admin", [f"staff_subj:{_subject(world, 'MATH').pk}"]) == grade7
    assert _recipients(world, "a_admin", [f"staff_subj:{_subject(world, 'CHN').pk}"]) == {"a_teacher"}
    # Two groups together: each teacher once.
    both = [f"staff_heads:{a.school.pk}", f"staff_subj:{_subject(world, 'CHN').pk}"]
    assert _recipients(world, "a_admin", both) == {"a_head", "a_teacher"}


def test_a_grade_director_reaches_their_grades_teachers_only(world: World) -> None:
    a = world.a
    grade7 = {"a_head", "a_teacher", "teacher_parent"}
    assert _recipients(world, "a_director", [f"staff_grade:{a.g7c1.grade_id}"]) == grade7
    for audience in (
        f"staff_grade:{a.g8c1.grade_id}",
        f"staff_heads:{a.school.pk}",
        f"staff_subj:{_subject(world, 'MATH').pk}",
    ):
        with pytest.raises(ValidationError) as refused:
            actions.send_notice(
                world.user("a_director"), a.school.pk, title="t", body="b", audience=[audience]
            )
        assert "audience" in refused.value.message_dict


def test_teachers_and_other_schools_cannot_address_staff_groups(world: World) -> None:
    a, b = world.a, world.b
    with pytest.raises(ValidationError):
        actions.send_notice(
            world.user("a_head"),
            a.school.pk,
            title="t",
            body="b",
            audience=[f"staff_grade:{a.g7c1.grade_id}"],
        )
    b_maths = Subject.objects.get(school=b.school, code="MATH")
    with pytest.raises(ValidationError):
        actions.send_notice(
            world.user("a_admin"), a.school.pk, title="t", body="b", audience=[f"staff_subj:{b_maths.pk}"]
        )


def test_compose_offers_staff_groups_by_role(world: World) -> None:
    admin: Client = verified_client(world.user("a_admin"))
    page = admin.get("/notices/new/").content.decode()
    assert f'value="staff_heads:{world.a.school.pk}"' in page
    assert f'value="staff_grade:{world.a.g8c1.grade_id}"' in page
    assert f'value="staff_subj:{_subject(world, "MATH").pk}"' in page
    director = Client()
    director.force_login(world.user("a_director"))
    page = director.get("/notices/new/").content.decode()
    assert f'value="staff_grade:{world.a.g7c1.grade_id}"' in page
    assert f'value="staff_grade:{world.a.g8c1.grade_id}"' not in page
    assert "staff_heads:" not in page and "staff_subj:" not in page


def test_staff_group_notice_sent_through_the_compose_page(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    admin = verified_client(world.user("a_admin"))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/notices/new/",
            {
                "school": world.a.school.pk,
                "title": "Maths teachers",
                "body": "Exam papers in the office.",
                "audience": [f"staff_subj:{_subject(world, 'MATH').pk}"],
                "priority": "normal",
                "idempotency_key": "staff-1",
            },
        )
    assert response.status_code == 302
    sent = set(
        Receipt.objects.filter(notice__title="Maths teachers").values_list("user__username", flat=True)
    )
    assert sent == {"a_head", "a_teacher", "teacher_parent"}
