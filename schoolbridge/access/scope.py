"""A user's scope: every grant they hold, loaded once per request in one query."""

from __future__ import annotations

import contextlib
import datetime
import functools
from functools import cached_property
from typing import Any

from django.apps import apps
from django.db import connections, router
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from schoolbridge.accounts.models import RoleGrant
from schoolbridge.core.models import (
    Class,
    District,
    GradeLevel,
    Guardian,
    Guardianship,
    Person,
    School,
    SchoolYear,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
    Term,
)

from .grants import Grant
from .rules import CAPABILITY_MODELS, RULES, Rule

NOTHING = Q(pk__in=[])


# Every grant of a user in ONE query: a UNION ALL of the five sources, each row in the same shape.
# This runs on every signed-in request (the two-factor middleware, the portal header and the pages all
# share it through get_scope), so it is written as SQL once rather than compiled by the ORM five times.
# Columns: src, k1, k2 (the sort keys: grants come out source by source in a stable order), role,
# district_id, school_id, grade_id, class_id, subject_id, student_id, flag (include_records or
# may_see_records), school_name, district_name, name2 (grade or class), name3 (subject),
# family_name, given_name. The first branch casts its NULLs so that PostgreSQL can type the union.
_GRANTS_SQL = """
SELECT 0 AS src, rg.id AS k1, 0 AS k2, rg.role AS role, rg.district_id AS district_id,
       rg.school_id AS school_id, rg.grade_id AS grade_id, CAST(NULL AS BIGINT) AS class_id,
       CAST(NULL AS BIGINT) AS subject_id, CAST(NULL AS BIGINT) AS student_id, rg.include_records AS flag,
       s.name AS school_name, d.name AS district_name, g.name AS name2, CAST(NULL AS TEXT) AS name3,
       CAST(NULL AS TEXT) AS family_name, CAST(NULL AS TEXT) AS given_name
  FROM {rolegrant} rg
  JOIN {district} d ON d.id = rg.district_id
  LEFT JOIN {school} s ON s.id = rg.school_id
  LEFT JOIN {grade} g ON g.id = rg.grade_id
 WHERE rg.user_id = %(user)s
UNION ALL
SELECT 1, c.id, 0, 'head_teacher', c.district_id, c.school_id, NULL, c.id, NULL, NULL, NULL,
       s.name, NULL, c.name, NULL, NULL, NULL
  FROM {person} p
  JOIN {staff} t ON t.person_id = p.id
  JOIN {klass} c ON c.head_teacher_id = t.id
  JOIN {year} y ON y.id = c.year_id
  JOIN {school} s ON s.id = c.school_id
 WHERE p.user_id = %(user)s AND t.active = %(true)s AND y.start_date <= %(today)s AND y.end_date >= %(today)s
UNION ALL
SELECT 2, ta.klass_id, ta.subject_id, 'subject_teacher', ta.district_id, ta.school_id, NULL, ta.klass_id,
       ta.subject_id, NULL, NULL, s.name, NULL, c.name, sub.name, NULL, NULL
  FROM {person} p
  JOIN {staff} t ON t.person_id = p.id
  JOIN {assignment} ta ON ta.teacher_id = t.id
  JOIN {term} tm ON tm.id = ta.term_id
  JOIN {klass} c ON c.id = ta.klass_id
  JOIN {subject} sub ON sub.id = ta.subject_id
  JOIN {school} s ON s.id = ta.school_id
 WHERE p.user_id = %(user)s AND t.active = %(true)s AND tm.start_date <= %(today)s AND tm.end_date >= %(today)s
UNION ALL
SELECT 3, gs.student_id, gs.id, 'guardian', gs.district_id, gs.school_id, NULL, st.current_class_id, NULL,
       st.id, gs.may_see_records, s.name, NULL, NULL, NULL, sp.family_name, sp.given_name
  FROM {person} p
  JOIN {guardian} gd ON gd.person_id = p.id
  JOIN {guardianship} gs ON gs.guardian_id = gd.id
  JOIN {student} st ON st.id = gs.student_id
  JOIN {person} sp ON sp.id = st.person_id
  JOIN {school} s ON s.id = st.school_id
 WHERE p.user_id = %(user)s
UNION ALL
SELECT 4, st.id, 0, 'student', st.district_id, st.school_id, NULL, st.current_class_id, NULL, st.id, NULL,
       s.name, NULL, NULL, NULL, p.family_name, p.given_name
  FROM {person} p
  JOIN {student} st ON st.person_id = p.id
  JOIN {school} s ON s.id = st.school_id
 WHERE p.user_id = %(user)s AND st.status = %(enrolled)s
ORDER BY 1, 2, 3
"""


@functools.cache
def _grants_sql(alias: str) -> str:
    models = {
        "rolegrant": RoleGrant,
        "district": District,
        "school": School,
        "grade": GradeLevel,
        "person": Person,
        "staff": Staff,
        "klass": Class,
        "year": SchoolYear,
        "assignment": TeachingAssignment,
        "term": Term,
        "subject": Subject,
        "guardian": Guardian,
        "guardianship": Guardianship,
        "student": Student,
    }
    quote = connections[alias].ops.quote_name
    return _GRANTS_SQL.format(**{key: quote(model._meta.db_table) for key, model in models.items()})


def _full_name(family_name: str, given_name: str) -> str:
    return Person(family_name=family_name, given_name=given_name).full_name


def load_grants(user: Any, today: datetime.date | None = None) -> tuple[Grant, ...]:
    """All grants of a user: office grants (RoleGrant, in id order), head-teacher classes of the current
    year, teaching assignments of the current term, guardianships and the user's own enrolled student
    record. One query whatever the number of classes or children."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    today = today or timezone.localdate()
    alias = router.db_for_read(RoleGrant)
    params = {"user": user.pk, "today": today, "true": True, "enrolled": Student.Status.ENROLLED.value}
    with connections[alias].cursor() as cursor:
        cursor.execute(_grants_sql(alias), params)
        rows = cursor.fetchall()
    grants: list[Grant] = []
    for (
        src,
        _k1,
        _k2,
        role,
        district_id,
        school_id,
        grade_id,
        class_id,
        subject_id,
        student_id,
        flag,
        school_name,
        district_name,
        name2,
        name3,
        family_name,
        given_name,
    ) in rows:
        if src == 0:  # RoleGrant
            if school_id is None:
                label = district_name
            elif grade_id is not None:
                label = f"{school_name} · {name2}"
            else:
                label = school_name
            grants.append(
                Grant(
                    role=role,
                    district_id=district_id,
                    school_id=school_id,
                    grade_id=grade_id,
                    include_records=bool(flag),
                    label=label,
                )
            )
        elif src == 1:  # head teacher of a class of the current school year
            grants.append(
                Grant(
                    role=role,
                    district_id=district_id,
                    school_id=school_id,
                    class_id=class_id,
                    label=f"{school_name} · {name2}",
                )
            )
        elif src == 2:  # teaching assignment of the current term
            grants.append(
                Grant(
                    role=role,
                    district_id=district_id,
                    school_id=school_id,
                    class_id=class_id,
                    subject_id=subject_id,
                    label=f"{school_name} · {name2} · {name3}",
                )
            )
        else:  # 3: guardian of a student; 4: the user's own enrolled student record
            grants.append(
                Grant(
                    role=role,
                    district_id=district_id,
                    school_id=school_id,
                    class_id=class_id,
                    student_id=student_id,
                    include_records=bool(flag) if src == 3 else False,
                    label=f"{_full_name(family_name, given_name)} · {school_name}",
                )
            )
    return tuple(grants)


class Scope:
    """What one user may see and do: the union, grant by grant, of the rules in access.rules."""

    def __init__(self, user: Any, grants: tuple[Grant, ...], rules: list[Rule] | None = None) -> None:
        self.user = user
        self.grants = grants
        self._rules = RULES if rules is None else rules

    @cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def grants_of(self, *roles: str) -> list[Grant]:
        return [g for g in self.grants if g.role in roles]

    def q(self, capability: str) -> Q:
        if capability not in CAPABILITY_MODELS:
            raise KeyError(f"unknown capability {capability!r}")
        combined: Q | None = None
        for grant in self.grants:
            for rule in self._rules:
                if rule.role != grant.role or rule.capability != capability:
                    continue
                part = rule.filter(grant)
                if part is None:
                    continue
                combined = part if combined is None else combined | part
        return combined if combined is not None else NOTHING

    def allows_any(self, capability: str) -> bool:
        return self.q(capability) is not NOTHING

    def queryset(self, capability: str, base: QuerySet | None = None) -> QuerySet:
        """Rows of the capability's model this user may act on. Always filtered; never all rows."""
        model = apps.get_model(CAPABILITY_MODELS[capability])
        qs = base if base is not None else model._default_manager.all()
        if qs.model is not model:
            raise TypeError(f"{capability} applies to {model.__name__}, not {qs.model.__name__}")
        q = self.q(capability)
        if q is NOTHING:
            return qs.none()
        return qs.filter(q)

    def allows(self, capability: str, obj: Model) -> bool:
        """Whether obj is within this capability. One indexed query (none if no rule applies)."""
        q = self.q(capability)
        if q is NOTHING or obj.pk is None:
            return False
        return type(obj)._default_manager.filter(q, pk=obj.pk).exists()


def get_scope(user: Any) -> Scope:
    """The user's scope, memoised on the user object (so once per request)."""
    cached = getattr(user, "_sb_scope", None)
    if cached is not None:
        return cached
    scope = Scope(user, load_grants(user))
    with contextlib.suppress(AttributeError):  # AnonymousUser is a plain object too, but be safe
        user._sb_scope = scope
    return scope


def forget_scope(user: Any) -> None:
    if hasattr(user, "_sb_scope"):
        del user._sb_scope
