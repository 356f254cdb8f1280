"""Who may message whom, and who may see and answer a class's Q&A board, from the access layer.

* A guardian may write to the teachers of each child's current class: the head teacher and the subject
  teachers of the current term (from the guardian grants of access.scope).
* A teacher may write to the guardians of the students of the classes they teach (class.teach).
* A school administrator may write to anyone in the school: its staff, and the guardians of its students.

Threads are visible to their participants and to the school's administrators (for safeguarding:
moderation and export); only participants write in them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from schoolbridge.access.scope import get_scope
from schoolbridge.core.models import Class, Guardianship, Staff, TeachingAssignment

from .models import Participant, Question, Thread


@dataclass(frozen=True)
class Contact:
    """Someone the user may start a thread with (about a child, where there is one)."""

    user_id: int
    name: str
    role: str  # the contact's participant role: guardian | staff
    role_label: str  # e.g. "Head teacher", "Maths", "mother"
    school_id: int
    student_id: int | None = None
    student_name: str = ""
    class_id: int | None = None
    sender_role: str = "guardian"  # the user's own participant role in such a thread

    @property
    def key(self) -> str:
        return f"{self.student_id or 0}:{self.user_id}"


def is_staff(user: Any) -> bool:
    """Active staff of some school (who may set quiet hours), or a school administrator."""
    if admin_school_ids(user):
        return True
    return Staff.objects.filter(person__user_id=user.pk, active=True).exists()


def admin_school_ids(user: Any) -> set[int]:
    return {g.school_id for g in get_scope(user).grants_of("school_admin") if g.school_id is not None}


def _class_staff(class_ids: set[int]) -> dict[int, list[tuple[int, str, str]]]:
    """Per class: (user id, name, role label) of the head teacher and the current term's subject teachers."""
    from django.utils.translation import gettext

    today = timezone.localdate()
    out: dict[int, list[tuple[int, str, str]]] = {cid: [] for cid in class_ids}
    heads = Class.objects.filter(
        pk__in=class_ids, head_teacher__active=True, head_teacher__person__user__isnull=False
    ).select_related("head_teacher__person")
    for klass in heads:
        person = klass.head_teacher.person  # type: ignore[union-attr]
        out[klass.pk].append((person.user_id, person.full_name, gettext("Head teacher")))  # type: ignore[arg-type]
    assignments = TeachingAssignment.objects.filter(
        klass_id__in=class_ids,
        term__start_date__lte=today,
        term__end_date__gte=today,
        teacher__active=True,
        teacher__person__user__isnull=False,
    ).select_related("teacher__person", "subject")
    for ta in assignments.order_by("subject__name", "pk"):
        person = ta.teacher.person
        entries = out[ta.klass_id]
        for i, (uid, name, label) in enumerate(entries):
            if uid == person.user_id:
                entries[i] = (uid, name, f"{label} · {ta.subject.name}")
                break
        else:
            entries.append((person.user_id, person.full_name, ta.subject.name))  # type: ignore[arg-type]
    return out


def _guardians_of(student_q: Q) -> QuerySet[Guardianship]:
    return (
        Guardianship.objects.filter(student_q, guardian__person__user__isnull=False)
        .select_related("guardian__person", "student__person")
        .order_by(
            "student__current_class_id", "student__person__family_name", "student__person__given_name", "pk"
        )
    )


def contacts(user: Any, limit: int = 2000) -> list[Contact]:
    """Everyone the user may start a thread with, guardians' teachers first."""
    scope = get_scope(user)
    out: list[Contact] = []
    seen: set[str] = set()

    def add(contact: Contact) -> None:
        if contact.user_id != user.pk and contact.key not in seen and len(out) < limit:
            seen.add(contact.key)
            out.append(contact)

    guardian_grants = [g for g in scope.grants_of("guardian") if g.class_id is not None]
    staff_by_class = _class_staff({g.class_id for g in guardian_grants if g.class_id is not None})
    for g in guardian_grants:
        child = g.label.split(" · ")[0]
        for uid, name, label in staff_by_class.get(g.class_id or 0, []):
            add(
                Contact(
                    uid, name, "staff", label, g.school_id or 0, g.student_id, child, g.class_id, "guardian"
                )
            )

    taught = scope.queryset("class.teach").values_list("pk", flat=True)
    if scope.allows_any("class.teach"):
        for gs in _guardians_of(Q(student__current_class_id__in=list(taught), student__status="enrolled")):
            add(_guardian_contact(gs, "staff"))

    for school_id in sorted(admin_school_ids(user)):
        staff = Staff.objects.filter(
            school_id=school_id, active=True, person__user__isnull=False
        ).select_related("person")
        for s in staff.order_by("person__family_name", "person__given_name"):
            user_id = s.person.user_id
            assert user_id is not None  # filtered above
            add(Contact(user_id, s.person.full_name, "staff", s.title, school_id, sender_role="admin"))
        for gs in _guardians_of(Q(student__school_id=school_id, student__status="enrolled")):
            add(_guardian_contact(gs, "admin"))
    return out


def _guardian_contact(gs: Guardianship, sender_role: str) -> Contact:
    student = gs.student
    return Contact(
        gs.guardian.person.user_id,  # type: ignore[arg-type]
        gs.guardian.person.full_name,
        "guardian",
        gs.get_relationship_display(),
        student.school_id,
        student.pk,
        student.person.full_name,
        student.current_class_id,
        sender_role,
    )


def find_contact(user: Any, key: str) -> Contact | None:
    """The contact with this key ("<student id or 0>:<user id>") if the user may write to them."""
    for contact in contacts(user):
        if contact.key == key:
            return contact
    return None


def may_still_write(user: Any, thread: Thread) -> bool:
    """A participant may write while the thread's relationship holds: the school's administrators
    always; anyone replying to the school administration; otherwise every other participant must still
    be a contact of the user about the thread's child (a teacher who no longer teaches the class, or a
    guardian whose child moved class, can read the archive but not write)."""
    if thread.school_id in admin_school_ids(user):
        return True
    others = list(thread.participants.exclude(user_id=user.pk).values_list("user_id", "role"))
    if not others:
        return False
    if any(role == Participant.Role.ADMIN for _uid, role in others):
        return True
    pairs = {(c.student_id, c.user_id) for c in contacts(user)}
    return all((thread.student_id, uid) in pairs for uid, _role in others)


def visible_threads(user: Any) -> QuerySet[Thread]:
    """Threads the user takes part in, and every thread of the schools they administer."""
    q = Q(pk__in=Participant.objects.filter(user_id=user.pk).values("thread_id"))
    schools = admin_school_ids(user)
    if schools:
        q |= Q(school_id__in=schools)
    return Thread.objects.filter(q)


def own_threads(user: Any) -> QuerySet[Thread]:
    return Thread.objects.filter(pk__in=Participant.objects.filter(user_id=user.pk).values("thread_id"))


def is_participant(user: Any, thread: Thread) -> bool:
    return Participant.objects.filter(thread=thread, user_id=user.pk).exists()


# --------------------------------------------------------------------------- Q&A


def asking_class_ids(user: Any) -> set[int]:
    """Classes whose board the user may ask on: their children's current classes."""
    return {g.class_id for g in get_scope(user).grants_of("guardian") if g.class_id is not None}


def answering_classes(user: Any) -> QuerySet[Class]:
    """Classes whose questions the user answers: those they teach, and every class of a school they
    administer (current school year)."""
    scope = get_scope(user)
    q = Q(pk__in=scope.queryset("class.teach").values("pk"))
    schools = admin_school_ids(user)
    if schools:
        today = timezone.localdate()
        q |= Q(school_id__in=schools, year__start_date__lte=today, year__end_date__gte=today)
    return Class.objects.filter(q)


def board_classes(user: Any) -> QuerySet[Class]:
    """Classes whose board the user may read."""
    return Class.objects.filter(
        Q(pk__in=asking_class_ids(user)) | Q(pk__in=answering_classes(user).values("pk"))
    ).select_related("school", "grade")


def can_answer(user: Any, klass: Class) -> bool:
    return answering_classes(user).filter(pk=klass.pk).exists()


def visible_questions(user: Any) -> QuerySet[Question]:
    return Question.objects.filter(klass__in=board_classes(user).values("pk"))
