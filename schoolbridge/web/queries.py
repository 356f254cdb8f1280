"""Reads behind the portal pages. Everything goes through the access layer.

Each function issues a fixed number of SQL queries, whatever the number of children, classes or
schools involved (counts are annotated or aggregated in the database, related rows are joined or
prefetched). web/tests/test_query_counts.py holds that line.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from schoolbridge.access.grants import Grant
from schoolbridge.access.helpers import (
    access_student_by_id,
    can_see_guardian_contacts,
    can_see_sensitive,
)
from schoolbridge.access.scope import NOTHING, Scope, get_scope
from schoolbridge.attendance.queries import StatusInfo, today_status
from schoolbridge.core.models import Class, Enrollment, Guardianship, Staff, Student, Subject
from schoolbridge.notify.models import Notification

SESSION_KEY = "sb_active_grant"

ROLE_LABELS: dict[str, Promise] = {
    "district_admin": _("District administrator"),
    "district_officer": _("District officer"),
    "school_admin": _("School administrator"),
    "principal": _("Principal"),
    "grade_director": _("Grade director"),
    "head_teacher": _("Teacher"),
    "subject_teacher": _("Teacher"),
    "guardian": _("Parent"),
    "student": _("Student"),
}

ENROLLED = Student.Status.ENROLLED


# --- The active role -------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleOption:
    """One entry of the role switcher: a group of grants that show the same home page."""

    key: str  # the key of the first grant of the group
    label: str
    group: tuple[Any, ...]


def group_of(grant: Grant) -> tuple[Any, ...]:
    kind = grant.home_kind
    if kind in ("guardian", "student"):
        return (kind,)
    if kind == "teacher":
        return (kind, grant.school_id)
    if kind == "district":
        return (kind, grant.role, grant.district_id)
    return (kind, grant.role, grant.school_id, grant.grade_id)


def _option_label(grant: Grant) -> str:
    role = str(ROLE_LABELS.get(grant.role, grant.role))
    if grant.home_kind in ("guardian", "student"):
        return role
    if grant.home_kind == "teacher":
        # "School · class · subject" → keep the school only.
        return f"{role} · {grant.label.split(' · ')[0]}"
    return f"{role} · {grant.label}"


def role_options(grants: tuple[Grant, ...]) -> list[RoleOption]:
    """The distinct homes a user can switch between, in grant order."""
    seen: dict[tuple[Any, ...], RoleOption] = {}
    for g in grants:
        group = group_of(g)
        if group not in seen:
            seen[group] = RoleOption(key=g.key, label=_option_label(g), group=group)
    return list(seen.values())


def active_grant(request: HttpRequest) -> Grant | None:
    """The grant chosen in the role switcher (kept in the session); the first grant by default."""
    grants = get_scope(request.user).grants
    if not grants:
        return None
    key = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    for g in grants:
        if g.key == key:
            return g
    return grants[0]


def find_grant(user: Any, key: str) -> Grant | None:
    for g in get_scope(user).grants:
        if g.key == key:
            return g
    return None


# --- Notifications ---------------------------------------------------------------------------


# The fields the portal's notification lists show (web/_notifications.html), and school_id to group them.
NOTIFICATION_LIST_FIELDS = ("id", "user_id", "school_id", "title", "link", "created_at", "read_at")


def latest_notifications(user: Any, limit: int = 30) -> list[Notification]:
    return list(
        Notification.objects.filter(user=user).only(*NOTIFICATION_LIST_FIELDS).order_by("-id")[:limit]
    )


def latest_notifications_and_unread(user: Any, limit: int = 30) -> tuple[list[Notification], int]:
    """The latest notifications and the number of unread ones, in one query."""
    unread = (
        Notification.objects.filter(user=user, read_at__isnull=True)
        .order_by()
        .values("user_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    notes: list[Notification] = list(
        Notification.objects.filter(user=user)
        .only(*NOTIFICATION_LIST_FIELDS)
        .annotate(n_unread=Subquery(unread, output_field=IntegerField()))
        .order_by("-id")[:limit]
    )
    # No notification at all means none unread; otherwise every row carries the same count.
    unread_count: int = (getattr(notes[0], "n_unread", None) or 0) if notes else 0
    return notes, unread_count


# --- Guardian home ---------------------------------------------------------------------------


@dataclass
class ChildCard:
    student_id: int
    label: str
    student: Student | None  # None when the guardianship does not include records
    notifications: list[Notification] = field(default_factory=list)
    today: StatusInfo | None = None  # today's attendance, for children whose records are shared

    @property
    def name(self) -> str:
        return self.student.person.full_name if self.student else self.label.split(" · ")[0]

    @property
    def school_name(self) -> str:
        if self.student:
            return self.student.school.name
        parts = self.label.split(" · ")
        return parts[1] if len(parts) > 1 else ""


# What a child card shows: never the encrypted fields, which would be decrypted for nothing.
CHILD_CARD_FIELDS = (
    "id",
    "school_id",
    "person_id",
    "current_class_id",
    "person__family_name",
    "person__given_name",
    "school__name",
    "current_class__name",
)


def guardian_home(user: Any) -> dict[str, Any]:
    """The guardian's children, their attendance today and notifications: a constant number of queries
    (the unread count comes with the notifications; it is returned as ``unread`` for the page header)."""
    scope = get_scope(user)
    grants = scope.grants_of("guardian")
    ids = [g.student_id for g in grants]
    visible = {
        s.id: s
        for s in scope.queryset(
            "student.view", Student.objects.select_related("person", "school", "current_class")
        )
        .filter(id__in=ids)
        .only(*CHILD_CARD_FIELDS)
    }
    today = today_status(visible.keys(), timezone.localdate()) if visible else {}
    notes, unread = latest_notifications_and_unread(user)
    by_school: dict[int | None, list[Notification]] = defaultdict(list)
    for n in notes:
        by_school[n.school_id].append(n)
    cards = []
    for g in grants:
        assert g.student_id is not None
        card = ChildCard(
            student_id=g.student_id,
            label=g.label,
            student=visible.get(g.student_id),
            today=today.get(g.student_id),
        )
        card.notifications = by_school.get(g.school_id, [])[:3]
        cards.append(card)
    general = by_school.get(None, [])[:5]
    return {"children": cards, "general_notifications": general, "unread": unread}


# --- Teacher home ----------------------------------------------------------------------------


@dataclass
class ClassRow:
    klass: Class
    subjects: list[str]
    is_head: bool

    @property
    def student_count(self) -> int:
        return self.klass.n_students  # type: ignore[attr-defined]


def _enrolled_count() -> Count:
    return Count("current_students", filter=Q(current_students__status=ENROLLED), distinct=True)


def teacher_home(user: Any, grant: Grant) -> dict[str, Any]:
    scope = get_scope(user)
    teaching = [
        g for g in scope.grants_of("head_teacher", "subject_teacher") if g.school_id == grant.school_id
    ]
    class_ids = {g.class_id for g in teaching}
    head_ids = [g.class_id for g in teaching if g.role == "head_teacher"]
    subject_ids = {g.subject_id for g in teaching if g.subject_id}
    subject_names = dict(Subject.objects.filter(id__in=subject_ids).values_list("id", "name"))
    classes = (
        scope.queryset("class.teach", Class.objects.select_related("grade", "room", "school"))
        .filter(id__in=class_ids)
        .annotate(n_students=_enrolled_count())
        .order_by("grade__order", "name")
    )
    rows = []
    for klass in classes:
        subjects = sorted(
            str(subject_names[g.subject_id])
            for g in teaching
            if g.class_id == klass.id and g.subject_id in subject_names
        )
        rows.append(ClassRow(klass=klass, subjects=subjects, is_head=klass.id in head_ids))
    rosters = head_rosters(user, head_ids)
    return {"class_rows": rows, "rosters": rosters, "school_name": teaching[0].label.split(" · ")[0]}


@dataclass
class Roster:
    klass: Class
    students: list[Student]


def head_rosters(user: Any, class_ids: list[int | None]) -> list[Roster]:
    """The students of the given classes, each with their guardians' contacts where the user may see them."""
    if not class_ids:
        return []
    scope = get_scope(user)
    classes = list(
        scope.queryset("class.aggregate", Class.objects.select_related("grade"))
        .filter(id__in=class_ids)
        .order_by("grade__order", "name")
    )
    contacts = Guardianship.objects.filter(student__in=scope.queryset("guardian.contact").values("id"))
    students = (
        scope.queryset("student.view", Student.objects.select_related("person"))
        .filter(current_class_id__in=[c.id for c in classes], status=ENROLLED)
        .order_by("student_number")
        .prefetch_related(
            Prefetch(
                "guardianships",
                queryset=contacts.select_related("guardian__person__user").order_by("-is_primary", "id"),
                to_attr="contacts",
            )
        )
    )
    by_class: dict[int, list[Student]] = defaultdict(list)
    for s in students:
        assert s.current_class_id is not None
        s.contact_rows = [  # type: ignore[attr-defined]
            {
                "name": gs.guardian.person.full_name,
                "relationship": gs.get_relationship_display(),
                "phone": guardian_phone(gs),
                "primary": gs.is_primary,
            }
            for gs in s.contacts  # type: ignore[attr-defined]
        ]
        by_class[s.current_class_id].append(s)
    return [Roster(klass=c, students=by_class.get(c.id, [])) for c in classes]


def guardian_phone(gs: Guardianship) -> str:
    person = gs.guardian.person
    if person.phone:
        return person.phone
    return getattr(person.user, "phone", None) or ""


# --- School home -----------------------------------------------------------------------------


def _current_year_classes(qs: QuerySet, today: datetime.date) -> QuerySet:
    return qs.filter(year__start_date__lte=today, year__end_date__gte=today)


def _count_subquery(qs: QuerySet, outer_field: str) -> Coalesce:
    counted = qs.filter(**{outer_field: OuterRef("pk")}).order_by().values(outer_field)
    counted = counted.annotate(c=Count("*")).values("c")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _sql(qs: QuerySet) -> tuple[str, tuple[Any, ...]] | None:
    """The SQL of a queryset, or None if it can match nothing (e.g. no rule grants the capability)."""
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return None
    return sql, tuple(params)


def _one_row(qs: QuerySet, **aggregates: Any) -> QuerySet:
    """``qs.aggregate(**aggregates)`` as a queryset (one row of the aggregates, in keyword order), so that
    its SQL can be kept."""
    grouped = qs.order_by().annotate(_one=Value(1, output_field=IntegerField())).values("_one")
    return grouped.annotate(**aggregates).values_list(*aggregates)


@functools.lru_cache(maxsize=512)
def _school_figures_sql(
    grants: tuple[Grant, ...], grant: Grant, today: datetime.date, alias: str
) -> tuple[tuple[str, tuple[Any, ...]] | None, ...]:
    """The overview's four statements for these grants (SQL and parameters). Pure function of its
    arguments, so compiled once per combination of grants, grant and day, not on every visit."""
    scope = Scope(None, grants)
    students = scope.queryset("student.view").filter(school_id=grant.school_id)
    classes = scope.queryset("class.aggregate").filter(school_id=grant.school_id)
    if grant.grade_id:
        students = students.filter(current_class__grade_id=grant.grade_id)
        classes = classes.filter(grade_id=grant.grade_id)
    # 1. Students by status.
    by_status = students.order_by().values_list("status").annotate(n=Count("id"))
    # 2. One pass over the guardianships of those enrolled students: guardians with and without an
    #    account, and the students that have at least one guardian with an account.
    bound = Q(guardian__person__user__isnull=False)
    guardians = _one_row(
        Guardianship.objects.filter(student__in=students.filter(status=ENROLLED).order_by().values("id")),
        bound=Count("guardian", distinct=True, filter=bound),
        unbound=Count("guardian", distinct=True, filter=Q(guardian__person__user__isnull=True)),
        students_with_bound=Count("student", distinct=True, filter=bound),
    )
    # 3. Classes of the current year.
    n_classes = _one_row(_current_year_classes(classes, today), n=Count("id"))
    # 4. The school itself (if the grant covers it): active staff, and whether the user manages it.
    manage = scope.q("school.manage")
    school = (
        scope.queryset("school.aggregate")
        .filter(id=grant.school_id)
        .annotate(
            n_staff=_count_subquery(Staff.objects.filter(active=True), "school"),
            can_manage=Value(False) if manage is NOTHING else Case(When(manage, then=True), default=False),
        )
        .order_by()
        .values_list("n_staff", "can_manage")[:1]
    )
    return tuple(_sql(qs) for qs in (by_status, guardians, n_classes, school))


def school_home(user: Any, grant: Grant) -> dict[str, Any]:
    """The school (or grade) overview. Four queries, each limited to the school (or grade) through
    indexes: the cost does not grow with the district. Their SQL comes from the access layer's
    querysets, compiled once per user's grants and day (_school_figures_sql)."""
    scope = get_scope(user)
    alias = router.db_for_read(Student)
    statements = _school_figures_sql(scope.grants, grant, timezone.localdate(), alias)
    results: list[list[tuple[Any, ...]]] = []
    with connections[alias].cursor() as cursor:
        for statement in statements:
            if statement is None:
                results.append([])
                continue
            cursor.execute(*statement)
            results.append(cursor.fetchall())
    by_status_rows, guardian_rows, class_rows, school_rows = results
    by_status = dict(by_status_rows)
    status_rows = [(label, by_status.get(value, 0)) for value, label in Student.Status.choices]
    n_enrolled = by_status.get(ENROLLED, 0)
    bound, unbound, students_with_bound = guardian_rows[0] if guardian_rows else (0, 0, 0)
    n_classes = class_rows[0][0] if class_rows else 0
    if school_rows:
        n_staff, can_manage = school_rows[0][0], bool(school_rows[0][1])
    else:
        n_staff, can_manage = None, scope.queryset("school.manage").filter(id=grant.school_id).exists()
    return {
        "status_rows": status_rows,
        "n_enrolled": n_enrolled,
        "n_classes": n_classes,
        "n_staff": n_staff,
        "guardians_bound": bound,
        "guardians_unbound": unbound,
        "students_without_bound_guardian": n_enrolled - students_with_bound,
        "scope_label": grant.label,
        "can_manage": can_manage,
    }


# --- District home ---------------------------------------------------------------------------


def district_home(user: Any, grant: Grant) -> dict[str, Any]:
    """Schools of the district with their counts: aggregates only, no individual records."""
    scope = get_scope(user)
    today = timezone.localdate()
    schools = list(
        scope.queryset("school.aggregate")
        .filter(district_id=grant.district_id)
        .annotate(
            n_students=_count_subquery(Student.objects.filter(status=ENROLLED), "school"),
            n_classes=_count_subquery(_current_year_classes(Class.objects.all(), today), "school"),
            n_staff=_count_subquery(Staff.objects.filter(active=True), "school"),
        )
        .order_by("name")
        .values("id", "name", "code", "n_students", "n_classes", "n_staff")
    )
    totals = {k: sum(s[k] for s in schools) for k in ("n_students", "n_classes", "n_staff")}
    return {
        "schools": schools,
        "totals": totals,
        "district_label": grant.label,
        # Only a district role that manages schools gets the management link (an officer sees counts only).
        "can_manage": get_scope(user).allows_any("school.manage"),
    }


# --- Student home and the child page ---------------------------------------------------------


def student_home(user: Any, grant: Grant) -> dict[str, Any]:
    student = access_student_by_id(user, grant.student_id)
    return {"student": student, "notifications": latest_notifications(user, limit=5)}


def child_detail(user: Any, student_id: Any) -> dict[str, Any]:
    """A student's record for the child page. 404 (NotFound) if out of scope."""
    student = access_student_by_id(user, student_id, "student.view")
    scope = get_scope(user)
    show_contacts = can_see_guardian_contacts(user, student)
    guardianships: list[Guardianship] = []
    if show_contacts:
        guardianships = list(
            Guardianship.objects.filter(student=student)
            .select_related("guardian__person__user")
            .order_by("-is_primary", "id")
        )
    enrollments = list(
        Enrollment.objects.filter(student=student).select_related("klass").order_by("-start_date", "-id")
    )
    is_guardian = any(g.student_id == student.id for g in scope.grants_of("guardian"))
    return {
        "student": student,
        "can_see_sensitive": can_see_sensitive(user, student),
        "show_contacts": show_contacts,
        "guardianships": guardianships,
        "enrollments": enrollments,
        "is_guardian": is_guardian,
    }
