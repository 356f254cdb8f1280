"""Who may do what with registers, derived from the access layer's grants.

* take (before the cutoff): the class's teachers — the "class.teach" capability.
* correct (any time; after the cutoff with a reason): the class's head teacher, or an administrator of
  its school ("attendance.correct", derived here from the head_teacher and school_admin grants).
* export a class's month: the same people as correct.
* the live "today" board of a class: the same people as correct; of a whole school: its administrators.
* gate devices, cards, unmatched gate events and the school's attendance settings: "school.manage".
"""

from __future__ import annotations

from typing import Any

from schoolbridge.access.scope import get_scope
from schoolbridge.core.models import Class


def may_take(user: Any, klass: Class) -> bool:
    return get_scope(user).allows("class.teach", klass)


def may_correct(user: Any, klass: Class) -> bool:
    scope = get_scope(user)
    if any(g.class_id == klass.pk for g in scope.grants_of("head_teacher")):
        return True
    return any(g.school_id == klass.school_id for g in scope.grants_of("school_admin"))


def may_export(user: Any, klass: Class) -> bool:
    return may_correct(user, klass)


def may_see_school_board(user: Any, school_id: int) -> bool:
    return any(g.school_id == school_id for g in get_scope(user).grants_of("school_admin"))
