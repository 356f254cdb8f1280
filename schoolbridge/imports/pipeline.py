"""Validate and match staged rows: transforms, row-level errors, matching against the school's records
(by key, else fuzzy with a confidence and a reason), and the action each row would take.

Messages are stored as English msgids with parameters and translated when shown, so each reader sees
them in their own language.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop as N

from schoolbridge.core.models import Class, Guardian, Guardianship, School, Staff, Student

from . import mapping as m
from . import transforms as t

# A fuzzy match this sure is taken as the same record; anything between REVIEW_MIN and this goes to the
# review queue, and nothing below REVIEW_MIN is considered a match.
MERGE_THRESHOLD = 0.95
REVIEW_MIN = 0.6
PROGRESS_EVERY = 200


def err(column: str, fld: str, cell: Any, message: str, **params: Any) -> dict[str, Any]:
    return {"column": column, "field": fld, "value": "" if cell is None else str(cell), "message": message,
            "params": params}  # fmt: skip


@dataclass
class Outcome:
    normalized: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    match: dict[str, Any] = field(default_factory=dict)
    action: str = ""
    changes: dict[str, Any] = field(default_factory=dict)


def _get(raw: dict[str, Any], mapping: dict[str, str], name: str) -> tuple[str, Any]:
    column = mapping.get(name) or ""
    return column, (raw.get(column, "") if column else "")


class Normalizer:
    """Turns one raw row into normalised values and row-level errors (no matching yet)."""

    def __init__(self, target: str, mapping: dict[str, str], classes: t.ClassResolver | None) -> None:
        self.target, self.mapping, self.classes = target, mapping, classes
        self.today = timezone.localdate()

    def __call__(self, raw: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        out: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        mp = self.mapping

        def conv(name: str, fn: Callable[[Any], Any]) -> Any:
            column, value = _get(raw, mp, name)
            if not column:
                return None
            try:
                return fn(value)
            except t.TransformError as exc:
                errors.append(err(column, name, value, str(exc)))
                return None

        key = "student_number" if self.target == "students" else "staff_number"
        column, value = _get(raw, mp, key)
        out[key] = t.text(value)
        if not out[key]:
            errors.append(err(column, key, value, N("This value is required.")))

        family, given = "", ""
        if mp.get("name"):
            family, given = t.split_name(_get(raw, mp, "name")[1])
        if mp.get("family_name") and t.text(_get(raw, mp, "family_name")[1]):
            family = t.text(_get(raw, mp, "family_name")[1])
        if mp.get("given_name") and t.text(_get(raw, mp, "given_name")[1]):
            given = t.text(_get(raw, mp, "given_name")[1])
        if not family:
            col = mp.get("name") or mp.get("family_name") or ""
            errors.append(err(col, "name", _get(raw, mp, "name")[1], N("Enter the name.")))
        out["family_name"], out["given_name"] = family, given
        out["gender"] = conv("gender", t.gender)
        birth = conv("birth_date", t.date)
        if birth and birth > self.today:
            errors.append(
                err(mp["birth_date"], "birth_date", birth, N("The birth date cannot be in the future."))
            )
            birth = None
        out["birth_date"] = birth.isoformat() if birth else None

        if self.target == "students":
            self._student(raw, out, errors, conv)
        else:
            out["phone"] = conv("phone", t.phone) or ""
            out["email"] = t.text(_get(raw, mp, "email")[1])
            out["title"] = t.text(_get(raw, mp, "title")[1])
        return out, errors

    def _student(
        self, raw: dict[str, Any], out: dict[str, Any], errors: list[dict[str, Any]], conv: Any
    ) -> None:
        mp = self.mapping
        column, value = _get(raw, mp, "klass")
        out["klass"] = None
        if column and t.text(value):
            pk = self.classes.resolve(value) if self.classes else None
            if pk is None:
                errors.append(err(column, "klass", value, N("There is no class %(value)s in this school this year."),
                                  value=t.text(value)))  # fmt: skip
            out["klass"] = pk
        out["klass_label"] = t.text(value)
        out["national_student_id"] = t.text(_get(raw, mp, "national_student_id")[1])
        enrolled = conv("enrolled_on", t.date)
        out["enrolled_on"] = enrolled.isoformat() if enrolled else None
        guardians = []
        for prefix in ("guardian", "guardian2"):
            name_col, name = _get(raw, mp, f"{prefix}_name")
            phone_col, phone_value = _get(raw, mp, f"{prefix}_phone")
            rel_col, rel = _get(raw, mp, f"{prefix}_relationship")
            if not (t.text(name) or t.text(phone_value)):
                continue
            phone = conv(f"{prefix}_phone", t.phone)
            if not phone and not any(e["field"] == f"{prefix}_phone" for e in errors):
                errors.append(err(phone_col or name_col, f"{prefix}_phone", phone_value,
                                  N("A guardian needs a mobile phone number.")))  # fmt: skip
            relationship = conv(f"{prefix}_relationship", t.relationship) if rel_col else "other"
            family, given = t.split_name(name)
            guardians.append({"family_name": family, "given_name": given, "phone": phone or "",
                              "relationship": relationship or "other"})  # fmt: skip
        out["guardians"] = guardians


def class_resolver(school_id: int) -> t.ClassResolver:
    """The school's classes of the current school year (or the latest year when none is current)."""
    today = timezone.localdate()
    classes = Class.objects.filter(school_id=school_id).select_related("grade", "year")
    current = classes.filter(year__start_date__lte=today, year__end_date__gte=today)
    if not current.exists():
        latest = classes.order_by("-year__start_date").values_list("year_id", flat=True).first()
        current = classes.filter(year_id=latest)
    return t.ClassResolver([(c.pk, c.name, c.grade.name, c.grade.order) for c in current])


def _full(family: str, given: str) -> str:
    return f"{family}{given}" if not (family.isascii() and given.isascii()) else f"{given} {family}".strip()


class StudentMatcher:
    """Existing students of the district by number; the school's students for fuzzy matching."""

    def __init__(self, school_id: int, district_id: int, numbers: list[str]) -> None:
        self.school_id = school_id
        self.by_number: dict[str, Student] = {}
        wanted = [n for n in set(numbers) if n]
        for i in range(0, len(wanted), 500):
            for s in Student.objects.filter(
                district_id=district_id, student_number__in=wanted[i : i + 500]
            ).select_related("person"):
                self.by_number[s.student_number] = s
        self.school_students = {
            s.pk: s for s in Student.objects.filter(school_id=school_id).select_related("person")
        }
        self.names = {pk: s.person.full_name for pk, s in self.school_students.items()}
        self.guardian_phones: dict[int, set[str]] = defaultdict(set)
        self.guardian_ids_by_phone: dict[str, int] = {}
        for student_id, phone in Guardianship.objects.filter(school_id=school_id).values_list(
            "student_id", "guardian__person__phone"
        ):
            if phone:
                self.guardian_phones[student_id].add(phone)
        self.known_phones: set[str] = set()
        self.district_id = district_id

    def load_phones(self, phones: set[str]) -> None:
        wanted = [p for p in phones if p]
        for i in range(0, len(wanted), 500):
            self.known_phones.update(
                Guardian.objects.filter(
                    district_id=self.district_id, person__phone__in=wanted[i : i + 500]
                ).values_list("person__phone", flat=True)
            )

    def fuzzy(self, row: dict[str, Any], taken: set[int]) -> tuple[Student, float, str] | None:
        from rapidfuzz import fuzz, process

        name = _full(row["family_name"], row["given_name"])
        found = process.extract(name, self.names, scorer=fuzz.ratio, score_cutoff=80, limit=5)
        best: tuple[Student, float, str] | None = None
        phones = {g["phone"] for g in row.get("guardians", []) if g["phone"]}
        for _candidate_name, score, pk in found:
            if pk in taken:
                continue
            s = self.school_students[pk]
            reasons = [N("same name") if score == 100 else N("similar name")]
            confidence = 0.6 * score / 100
            birth = s.person.birth_date.isoformat() if s.person.birth_date else None
            if row.get("birth_date") and birth:
                if row["birth_date"] == birth:
                    confidence += 0.25
                    reasons.append(N("same birth date"))
                else:
                    confidence *= 0.5
                    reasons.append(N("different birth date"))
            shared = phones & self.guardian_phones.get(pk, set())
            if shared:
                confidence += 0.15
                reasons.append(N("shares a guardian phone"))
            if best is None or confidence > best[1]:
                best = (s, round(min(confidence, 1.0), 3), ", ".join(reasons))
        return best


def student_changes(s: Student, row: dict[str, Any], phones: set[str]) -> dict[str, Any]:
    """field → [before, after] for what the row would change (empty cells change nothing)."""
    changes: dict[str, Any] = {}
    p = s.person
    pairs = [
        ("family_name", p.family_name, row["family_name"]),
        ("given_name", p.given_name, row["given_name"]),
        ("gender", p.gender, row.get("gender")),
        ("birth_date", p.birth_date.isoformat() if p.birth_date else None, row.get("birth_date")),
        ("national_student_id", s.national_student_id, row.get("national_student_id")),
        ("student_number", s.student_number, row["student_number"]),
    ]
    for name, before, after in pairs:
        if after not in (None, "") and before != after:
            changes[name] = [before, after]
    if row.get("klass") and s.current_class_id != row["klass"]:
        changes["klass"] = [s.current_class_id, row["klass"]]
    new_guardians = [g["phone"] for g in row.get("guardians", []) if g["phone"] and g["phone"] not in phones]
    if new_guardians:
        changes["guardians"] = [None, new_guardians]
    return changes


def staff_changes(s: Staff, row: dict[str, Any]) -> dict[str, Any]:
    p = s.person
    pairs = [
        ("family_name", p.family_name, row["family_name"]),
        ("given_name", p.given_name, row["given_name"]),
        ("gender", p.gender, row.get("gender")),
        ("birth_date", p.birth_date.isoformat() if p.birth_date else None, row.get("birth_date")),
        ("phone", p.phone, row.get("phone")),
        ("email", p.email, row.get("email")),
        ("title", s.title, row.get("title")),
    ]
    return {
        name: [before, after] for name, before, after in pairs if after not in (None, "") and before != after
    }


def evaluate(
    target: str,
    school_id: int,
    district_id: int,
    mapping: dict[str, str],
    rows: list[tuple[int, dict[str, Any]]],
    progress: Callable[[int], None] | None = None,
) -> dict[int, Outcome]:
    """Outcome per row number. Reads only; writes nothing."""
    if target == "scores":
        scored = evaluate_scores(school_id, mapping, rows)
        if progress:
            progress(len(scored))
        return scored
    if target == "attendance":
        checked = evaluate_attendance(school_id, district_id, mapping, rows)
        if progress:
            progress(len(checked))
        return checked
    if target not in m.PEOPLE:
        tree = evaluate_tree(target, school_id, mapping, rows)
        if progress:
            progress(len(tree))
        return tree
    normalize = Normalizer(target, mapping, class_resolver(school_id) if target == "students" else None)
    outcomes: dict[int, Outcome] = {}
    key = "student_number" if target == "students" else "staff_number"
    first_seen: dict[str, int] = {}
    for number, raw in rows:
        normalized, errors = normalize(raw)
        value = normalized.get(key)
        if value:
            if value in first_seen:
                errors.append(err(mapping.get(key, ""), key, value, N("%(value)s appears again: also in row %(other)s."),
                                  value=value, other=first_seen[value]))  # fmt: skip
                other = outcomes[first_seen[value]]
                if not any(e["field"] == key and "appears again" in e["message"] for e in other.errors):
                    other.errors.append(err(mapping.get(key, ""), key, value, N("%(value)s appears again: also in row %(other)s."),
                                            value=value, other=number))  # fmt: skip
            else:
                first_seen[value] = number
        outcomes[number] = Outcome(normalized=normalized, errors=errors)
    if target == "students":
        _match_students(school_id, district_id, mapping, outcomes, progress)
    else:
        _match_staff(school_id, mapping, outcomes, progress)
    return outcomes


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in row.items()}


def _match_students(
    school_id: int, district_id: int, mapping: dict[str, str], outcomes: dict[int, Outcome], progress: Any
) -> None:
    matcher = StudentMatcher(
        school_id, district_id, [o.normalized["student_number"] for o in outcomes.values()]
    )
    matcher.load_phones({g["phone"] for o in outcomes.values() for g in o.normalized.get("guardians", [])})
    taken = {s.pk for s in matcher.by_number.values()}
    for i, (_number, o) in enumerate(sorted(outcomes.items()), start=1):
        if progress and i % PROGRESS_EVERY == 0:
            progress(i)
        if o.errors:
            o.action = "error"
            continue
        row = o.normalized
        for i, g in enumerate(row.get("guardians", [])):
            if g["phone"] and not g["family_name"] and g["phone"] not in matcher.known_phones:
                prefix = "guardian" if i == 0 else "guardian2"
                o.errors.append(err(mapping.get(f"{prefix}_name") or mapping.get(f"{prefix}_phone", ""), f"{prefix}_name", "",
                                    N("Enter the guardian's name: no guardian has the phone %(value)s yet."), value=g["phone"]))  # fmt: skip
        if o.errors:
            o.action = "error"
            continue
        existing = matcher.by_number.get(row["student_number"])
        if existing is not None:
            if existing.school_id != school_id:
                o.errors.append(err(mapping.get("student_number", ""), "student_number", row["student_number"],
                                    N("Student number %(value)s belongs to a student of another school."),
                                    value=row["student_number"]))  # fmt: skip
                o.action = "error"
                continue
            o.match = {"id": existing.pk, "by": "key", "confidence": 1.0, "reason": N("same student number")}
            o.changes = student_changes(existing, row, matcher.guardian_phones.get(existing.pk, set()))
            o.action = "update" if o.changes else "unchanged"
            continue
        found = matcher.fuzzy(row, taken)
        if found is not None and found[1] >= REVIEW_MIN:
            s, confidence, reason = found
            o.match = {"id": s.pk, "by": "fuzzy", "confidence": confidence, "reason": reason,
                       "name": s.person.full_name, "number": s.student_number}  # fmt: skip
            if confidence >= MERGE_THRESHOLD:
                taken.add(s.pk)
                o.changes = student_changes(s, row, matcher.guardian_phones.get(s.pk, set()))
                o.action = "update" if o.changes else "unchanged"
            else:
                o.action = "conflict"
            continue
        o.action = "create"
        o.changes = {
            "guardians_known": [g["phone"] for g in row["guardians"] if g["phone"] in matcher.known_phones]
        }
    if progress:
        progress(len(outcomes))


def _match_staff(
    school_id: int, mapping: dict[str, str], outcomes: dict[int, Outcome], progress: Any
) -> None:
    staff = list(Staff.objects.filter(school_id=school_id).select_related("person"))
    by_number = {s.staff_number: s for s in staff}
    numbers = {o.normalized["staff_number"] for o in outcomes.values()}
    phones = {o.normalized.get("phone") for o in outcomes.values()} - {"", None}
    by_phone = {s.person.phone: s for s in staff if s.person.phone and s.staff_number not in numbers}
    used: set[int] = set()
    for i, (_number, o) in enumerate(sorted(outcomes.items()), start=1):
        if progress and i % PROGRESS_EVERY == 0:
            progress(i)
        if o.errors:
            o.action = "error"
            continue
        row = o.normalized
        existing = by_number.get(row["staff_number"])
        if existing is not None:
            o.match = {"id": existing.pk, "by": "key", "confidence": 1.0, "reason": N("same staff number")}
            o.changes = staff_changes(existing, row)
            o.action = "update" if o.changes else "unchanged"
            continue
        other = by_phone.get(row.get("phone") or "") if phones else None
        if other is not None and other.pk not in used:
            used.add(other.pk)
            o.match = {"id": other.pk, "by": "fuzzy", "confidence": 0.8, "reason": N("same phone, other staff number"),
                       "name": other.person.full_name, "number": other.staff_number}  # fmt: skip
            o.action = "conflict"
            continue
        o.action = "create"
    if progress:
        progress(len(outcomes))


def count(outcomes: dict[int, Outcome] | list[Any]) -> dict[str, int]:
    values = outcomes.values() if isinstance(outcomes, dict) else outcomes
    counts = {"create": 0, "update": 0, "unchanged": 0, "conflict": 0, "error": 0}
    for o in values:
        counts[o.action] = counts.get(o.action, 0) + 1
    return counts


# ------------------------------------------------------------------------------------ the school tree


def current_year_id(school_id: int) -> int | None:
    from schoolbridge.core.models import SchoolYear

    today = timezone.localdate()
    years = SchoolYear.objects.filter(school_id=school_id)
    found = years.filter(start_date__lte=today, end_date__gte=today).order_by("-start_date").first()
    found = found or years.order_by("-start_date").first()
    return found.pk if found else None


class TreeLookup:
    """The school's grades, staff, subjects, terms and classes of the current year, loaded once."""

    def __init__(self, school_id: int) -> None:
        from schoolbridge.core.models import GradeLevel, Subject, TeachingAssignment, Term

        self.year_id = current_year_id(school_id)
        self.grades_by_name: dict[str, int] = {}
        self.grades_by_number: dict[int, list[int]] = defaultdict(list)
        for g in GradeLevel.objects.filter(school_id=school_id):
            self.grades_by_name[t.text(g.name).replace(" ", "")] = g.pk
            n = t.grade_number(g.name, g.order)
            if n is not None:
                self.grades_by_number[n].append(g.pk)
        self.staff_by_number: dict[str, int] = {}
        names: dict[str, list[int]] = defaultdict(list)
        for s in Staff.objects.filter(school_id=school_id, active=True).select_related("person"):
            self.staff_by_number[s.staff_number] = s.pk
            names[s.person.full_name].append(s.pk)
        self.staff_by_name = {k: v[0] for k, v in names.items() if len(v) == 1}
        self.subjects: dict[str, int] = {}
        for sub in Subject.objects.filter(school_id=school_id):
            self.subjects[sub.name] = sub.pk
            self.subjects[sub.code.upper()] = sub.pk
        terms = list(Term.objects.filter(school_id=school_id, year_id=self.year_id).order_by("start_date"))
        self.terms = {term.name: term.pk for term in terms}
        today = timezone.localdate()
        current = [term for term in terms if term.start_date <= today <= term.end_date]
        self.current_term = current[0].pk if current else (terms[-1].pk if terms else None)
        classes = Class.objects.filter(school_id=school_id, year_id=self.year_id).select_related("grade")
        self.classes = {c.pk: c for c in classes}
        self.resolver = t.ClassResolver([(c.pk, c.name, c.grade.name, c.grade.order) for c in classes])
        self.assignments = set(
            TeachingAssignment.objects.filter(school_id=school_id, term__year_id=self.year_id).values_list(
                "teacher_id", "klass_id", "subject_id", "term_id"
            )
        )

    def grade(self, value: Any) -> int | None:
        s = t.text(value).replace(" ", "")
        if s in self.grades_by_name:
            return self.grades_by_name[s]
        n = t.cn_number(s) or t.grade_number(s) or t.grade_number(s + "年级")
        found = self.grades_by_number.get(n, []) if n else []
        return found[0] if len(found) == 1 else None

    def staff(self, value: Any) -> int | None:
        s = t.text(value)
        return self.staff_by_number.get(s) or self.staff_by_name.get(s.replace(" ", ""))

    def subject(self, value: Any) -> int | None:
        s = t.text(value)
        return self.subjects.get(s) or self.subjects.get(s.upper())


def evaluate_tree(
    target: str, school_id: int, mapping: dict[str, str], rows: list[tuple[int, dict[str, Any]]]
) -> dict[int, Outcome]:
    """Classes (with grade and head teacher) or teaching assignments, against the current school year."""
    look = TreeLookup(school_id)
    outcomes: dict[int, Outcome] = {}
    seen: dict[Any, int] = {}
    for number, raw in rows:
        o = Outcome()
        outcomes[number] = o

        def cell(name: str, raw: dict[str, Any] = raw) -> tuple[str, Any]:
            return _get(raw, mapping, name)

        if look.year_id is None:
            o.errors.append(err("", "", "", N("This school has no school year yet.")))
        if target == "classes":
            col, name = cell("class_name")
            name = t.text(name)
            if not name:
                o.errors.append(err(col, "class_name", name, N("This value is required.")))
            gcol, gvalue = cell("grade")
            grade = look.grade(gvalue)
            if grade is None:
                o.errors.append(
                    err(
                        gcol,
                        "grade",
                        gvalue,
                        N("There is no grade %(value)s in this school."),
                        value=t.text(gvalue),
                    )
                )
            hcol, hvalue = cell("head_teacher")
            head = look.staff(hvalue) if t.text(hvalue) else None
            if t.text(hvalue) and head is None:
                o.errors.append(err(hcol, "head_teacher", hvalue, N("No active staff member has the number or name %(value)s."), value=t.text(hvalue)))  # fmt: skip
            existing = look.resolver.resolve(name) if name else None
            key: Any = existing or name
            o.normalized = {"class_name": name, "grade": grade, "head_teacher": head, "year": look.year_id}
            if name and key in seen:
                o.errors.append(err(col, "class_name", name, N("%(value)s appears again: also in row %(other)s."), value=name, other=seen[key]))  # fmt: skip
                first = outcomes[seen[key]]
                first.errors.append(err(col, "class_name", first.normalized["class_name"], N("%(value)s appears again: also in row %(other)s."),
                                        value=first.normalized["class_name"], other=number))  # fmt: skip
                first.action, first.changes = "error", {}
            seen.setdefault(key, number)
            if o.errors:
                o.action = "error"
                continue
            if existing is None:
                o.action = "create"
                continue
            klass = look.classes[existing]
            o.match = {"id": existing, "by": "key", "confidence": 1.0, "reason": N("same class")}
            if klass.grade_id != grade:
                o.changes["grade"] = [klass.grade_id, grade]
            if head and klass.head_teacher_id != head:
                o.changes["head_teacher"] = [klass.head_teacher_id, head]
            o.action = "update" if o.changes else "unchanged"
        else:
            tcol, tvalue = cell("teacher")
            teacher = look.staff(tvalue)
            if teacher is None:
                o.errors.append(err(tcol, "teacher", tvalue, N("No active staff member has the number or name %(value)s."), value=t.text(tvalue)))  # fmt: skip
            ccol, cvalue = cell("class_name")
            klass_id = look.resolver.resolve(cvalue)
            if klass_id is None:
                o.errors.append(err(ccol, "class_name", cvalue, N("There is no class %(value)s in this school this year."), value=t.text(cvalue)))  # fmt: skip
            scol, svalue = cell("subject")
            subject = look.subject(svalue)
            if subject is None:
                o.errors.append(err(scol, "subject", svalue, N("There is no subject %(value)s in this school."), value=t.text(svalue)))  # fmt: skip
            mcol, mvalue = cell("term")
            term = look.terms.get(t.text(mvalue)) if t.text(mvalue) else look.current_term
            if term is None:
                o.errors.append(err(mcol, "term", mvalue, N("There is no term %(value)s in this school year."), value=t.text(mvalue)))  # fmt: skip
            o.normalized = {"teacher": teacher, "klass": klass_id, "subject": subject, "term": term}
            key = (teacher, klass_id, subject, term)
            if not o.errors and key in seen:
                o.errors.append(err(tcol, "teacher", tvalue, N("The same assignment appears again: also in row %(other)s."), other=seen[key]))  # fmt: skip
            seen.setdefault(key, number)
            if o.errors:
                o.action = "error"
            elif key in look.assignments:
                o.action = "unchanged"
                o.match = {"by": "key", "confidence": 1.0, "reason": N("already assigned")}
            else:
                o.action = "create"
    return outcomes


# ------------------------------------------------------------------------------------ exam scores


def evaluate_scores(
    school_id: int, mapping: dict[str, str], rows: list[tuple[int, dict[str, Any]]]
) -> dict[int, Outcome]:
    """Scores of existing exams (assessments of the current school year), long (a subject and a score
    column) or wide (one column per subject, headed with the subject's name or code). Blank cells change
    nothing; 缺考 and 免考 are understood; values are checked against each subject's full marks."""
    from decimal import Decimal

    from schoolbridge.grades.actions import parse_score
    from schoolbridge.grades.models import Assessment, AssessmentSubject, Score

    year_id = current_year_id(school_id)
    assessments = {a.name: a for a in Assessment.objects.filter(school_id=school_id, term__year_id=year_id)}
    subjects: dict[int, dict[str, AssessmentSubject]] = defaultdict(dict)
    for asub in AssessmentSubject.objects.filter(assessment__in=list(assessments.values())).select_related(
        "subject"
    ):
        subjects[asub.assessment_id][asub.subject.name] = asub
        subjects[asub.assessment_id][asub.subject.code.upper()] = asub
    numbers = {t.text(raw.get(mapping.get("student_number", ""), "")) for _n, raw in rows}
    students = {
        s.student_number: s
        for s in Student.objects.filter(
            school_id=school_id, student_number__in=list(numbers - {""})
        ).select_related("current_class")
    }
    long = bool(mapping.get("subject") and mapping.get("score"))
    mapped = set(mapping.values())
    outcomes: dict[int, Outcome] = {}
    cells: list[tuple[int, int, int]] = []  # (row, assessment subject, student) to look up existing scores
    seen: dict[tuple[int, int], int] = {}
    for number, raw in rows:
        o = Outcome()
        outcomes[number] = o
        ncol, nvalue = _get(raw, mapping, "student_number")
        student = students.get(t.text(nvalue))
        if student is None:
            o.errors.append(err(ncol, "student_number", nvalue, N("No student of this school has the number %(value)s."), value=t.text(nvalue)))  # fmt: skip
        elif student.current_class_id is None:
            o.errors.append(err(ncol, "student_number", nvalue, N("This student is in no class.")))
        acol, avalue = _get(raw, mapping, "assessment")
        assessment = assessments.get(t.text(avalue))
        if assessment is None:
            o.errors.append(err(acol, "assessment", avalue, N("There is no exam %(value)s this school year."), value=t.text(avalue)))  # fmt: skip
        elif (
            student is not None
            and student.current_class
            and student.current_class.grade_id != assessment.grade_id
        ):
            o.errors.append(err(acol, "assessment", avalue, N("This exam is not for the student's grade.")))
        pairs: list[tuple[str, str, Any]] = []  # (column, subject text, cell)
        if long:
            scol, svalue = _get(raw, mapping, "subject")
            pairs.append((mapping["score"], t.text(svalue), _get(raw, mapping, "score")[1]))
        else:
            pairs.extend((h, h, v) for h, v in raw.items() if h not in mapped)
        scores = []
        if assessment is not None:
            for column, subject_text, value in pairs:
                sub = subjects[assessment.pk].get(subject_text) or subjects[assessment.pk].get(
                    subject_text.upper()
                )
                if sub is None:
                    if long:
                        o.errors.append(err(mapping["subject"], "subject", subject_text,
                                            N("The exam %(exam)s has no subject %(value)s."), exam=assessment.name, value=subject_text))  # fmt: skip
                    continue  # wide: a column that is not a subject of the exam (a name, a rank…) is ignored
                if t.text(value) == "":
                    continue
                try:
                    parsed = parse_score(value, Decimal(sub.full_marks))
                except ValueError as exc:
                    o.errors.append(err(column, "score", value, str(exc)))
                    continue
                shown = str(parsed.value) if parsed.marker == Score.Marker.NONE else parsed.marker
                scores.append({"as": sub.pk, "subject": sub.subject.name, "column": column, "value": shown})
                if student is not None:
                    key = (sub.pk, student.pk)
                    if key in seen:
                        o.errors.append(err(column, "score", value, N("This score appears again: also in row %(other)s."), other=seen[key]))  # fmt: skip
                    seen.setdefault(key, number)
                    cells.append((number, sub.pk, student.pk))
            if not scores and not o.errors:
                o.errors.append(err("", "score", "", N("No score in this row: name the score columns after the exam's subjects.")))  # fmt: skip
        o.normalized = {
            "student": student.pk if student else None,
            "student_number": t.text(nvalue),
            "klass": student.current_class_id if student else None,
            "assessment": assessment.pk if assessment else None,
            "scores": scores,
        }
    existing: dict[tuple[int, int], str] = {}
    wanted_students = {c[2] for c in cells}
    wanted_subjects = {c[1] for c in cells}
    for as_id, sid, value, marker in Score.objects.filter(
        assessment_subject_id__in=list(wanted_subjects), student_id__in=list(wanted_students)
    ).values_list("assessment_subject_id", "student_id", "value", "marker"):
        existing[(as_id, sid)] = str(value) if marker == Score.Marker.NONE else marker
    for o in outcomes.values():
        if o.errors:
            o.action = "error"
            continue
        sid = o.normalized["student"]
        fresh = False
        for s in o.normalized["scores"]:
            before = existing.get((s["as"], sid))
            s["before"] = before
            if before is None:
                fresh = True
            elif before != s["value"]:
                o.changes[s["subject"]] = [before, s["value"]]
        o.action = "update" if o.changes else ("create" if fresh else "unchanged")
        if o.action == "update" and fresh:
            o.changes.update(
                {s["subject"]: [None, s["value"]] for s in o.normalized["scores"] if s["before"] is None}
            )
    return outcomes


# ------------------------------------------------------------------------------------ attendance history


class _Enrolments:
    """The students' enrollments in one school, to find the class a student was in on a day."""

    def __init__(self, school_id: int, student_ids: list[int]) -> None:
        from schoolbridge.core.models import Enrollment

        self.by_student: dict[int, list[tuple[datetime.date, datetime.date | None, int]]] = defaultdict(list)
        self.classes: dict[int, Class] = {}
        for i in range(0, len(student_ids), 500):
            for e in Enrollment.objects.filter(
                school_id=school_id, student_id__in=student_ids[i : i + 500]
            ).select_related("klass__year"):
                self.by_student[e.student_id].append((e.start_date, e.end_date, e.klass_id))
                self.classes[e.klass_id] = e.klass
        for spans in self.by_student.values():
            spans.sort()

    def class_on(self, student_id: int, day: datetime.date) -> int | None:
        """The class of the enrollment covering day; else, when day comes before the student's first
        enrollment in the school, that enrollment's class if its school year covers day (a school that
        moves to SchoolBridge mid-year enrolls its students on the day it imports them, after the history
        it then brings)."""
        spans = self.by_student.get(student_id, [])
        for start, end, klass_id in spans:
            if start <= day and (end is None or day < end):
                return klass_id
        if spans and day < spans[0][0]:
            year = self.classes[spans[0][2]].year
            if year.start_date <= day <= year.end_date:
                return spans[0][2]
        return None


def evaluate_attendance(
    school_id: int, district_id: int, mapping: dict[str, str], rows: list[tuple[int, dict[str, Any]]]
) -> dict[int, Outcome]:
    """Past attendance: one row per student, day and (optionally) period, with a status and a note.

    The student is found by number among the district's students and must have been in a class of this
    school on the day (by enrollment; see _Enrolments.class_on). The day may not be in the future, must be a
    school day of the school's calendar (a holiday, a weekend without a make-up day and a day outside every
    term are errors: attendance is only kept for school days) and a period must exist in the school's mode
    and bell schedule. An existing mark for the same student, day and period is "unchanged" when the status
    (and a given note) are the same, otherwise an "update" showing before and after."""
    from schoolbridge.attendance.actions import day_periods
    from schoolbridge.attendance.models import Mark, Mode
    from schoolbridge.attendance.queries import settings_for
    from schoolbridge.schoolcal.queries import school_days

    today = timezone.localdate()
    outcomes: dict[int, Outcome] = {}
    parsed: dict[int, dict[str, Any]] = {}
    for number, raw in rows:
        o = Outcome()
        outcomes[number] = o
        ncol, nvalue = _get(raw, mapping, "student_number")
        dcol, dvalue = _get(raw, mapping, "date")
        pcol, pvalue = _get(raw, mapping, "period")
        scol, svalue = _get(raw, mapping, "status")
        xcol, xvalue = _get(raw, mapping, "note")
        row: dict[str, Any] = {"student_number": t.text(nvalue), "date": None, "period": None,
                               "status": None, "note": t.text(xvalue)}  # fmt: skip
        if not row["student_number"]:
            o.errors.append(err(ncol, "student_number", nvalue, N("This value is required.")))
        try:
            when = t.date(dvalue)
            if when is None:
                o.errors.append(err(dcol, "date", dvalue, N("This value is required.")))
            elif when > today:
                o.errors.append(err(dcol, "date", dvalue, N("%(value)s is in the future: only past attendance can be imported."),
                                    value=when.isoformat()))  # fmt: skip
            else:
                row["date"] = when
        except t.TransformError as exc:
            o.errors.append(err(dcol, "date", dvalue, str(exc)))
        if pcol:
            try:
                row["period"] = t.period(pvalue)
            except t.TransformError as exc:
                o.errors.append(err(pcol, "period", pvalue, str(exc)))
                row["period_unknown"] = True
        if not t.text(svalue):
            o.errors.append(err(scol, "status", svalue, N("This value is required.")))
        else:
            try:
                row["status"] = t.attendance_status(svalue)
            except t.TransformError as exc:
                o.errors.append(err(scol, "status", svalue, str(exc)))
        if len(row["note"]) > 200:
            o.errors.append(err(xcol, "note", xvalue, N("Keep the note under 200 characters.")))
        parsed[number] = row

    numbers = sorted({r["student_number"] for r in parsed.values()} - {""})
    students: dict[str, Student] = {}
    for i in range(0, len(numbers), 500):
        for s in Student.objects.filter(district_id=district_id, student_number__in=numbers[i : i + 500]):
            students[s.student_number] = s
    enrolments = _Enrolments(school_id, sorted(s.pk for s in students.values()))
    days = sorted({r["date"] for r in parsed.values() if r["date"]})
    open_days = set(school_days(school_id, days[0], days[-1])) if days else set()
    school = School.objects.get(pk=school_id)
    cfg = settings_for(school)
    schedules: dict[datetime.date, dict[int, str]] = {}
    seen: dict[tuple[int, datetime.date, int | None], int] = {}

    for number, row in parsed.items():
        o = outcomes[number]
        ncol = mapping.get("student_number", "")
        dcol = mapping.get("date", "")
        pcol = mapping.get("period", "")
        student = students.get(row["student_number"]) if row["student_number"] else None
        klass_id = None
        if row["student_number"] and student is None:
            o.errors.append(err(ncol, "student_number", row["student_number"], N("No student of this school has the number %(value)s."),
                                value=row["student_number"]))  # fmt: skip
        elif student is not None and student.pk not in enrolments.by_student:
            o.errors.append(err(ncol, "student_number", row["student_number"], N("The student %(value)s is not enrolled in this school."),
                                value=row["student_number"]))  # fmt: skip
        day: datetime.date | None = row["date"]
        if day is not None:
            shown = day.isoformat()
            if day not in open_days:
                o.errors.append(err(dcol, "date", shown, N("%(value)s is not a school day in the school calendar (a holiday, a weekend or outside the terms)."),
                                    value=shown))  # fmt: skip
            elif student is not None and student.pk in enrolments.by_student:
                klass_id = enrolments.class_on(student.pk, day)
                if klass_id is None:
                    o.errors.append(err(ncol, "student_number", row["student_number"], N("The student %(value)s was in no class of this school on %(day)s."),
                                        value=row["student_number"], day=shown))  # fmt: skip
            period = row["period"]
            if period is not None and cfg.mode == Mode.DAILY:
                o.errors.append(err(pcol, "period", period, N("This school takes one register a day: leave the period empty.")))  # fmt: skip
            elif period is not None and day in open_days:
                if day not in schedules:
                    schedules[day] = day_periods(school, day)
                if period not in schedules[day]:
                    o.errors.append(err(pcol, "period", period, N("There is no period %(value)s on %(day)s."), value=period, day=shown))  # fmt: skip
            if student is not None and not row.get("period_unknown"):
                key = (student.pk, day, period)
                if key in seen:
                    first = seen[key]
                    o.errors.append(err(ncol, "student_number", row["student_number"], N("The same student, day and period appear again: also in row %(other)s."),
                                        other=first))  # fmt: skip
                    other = outcomes[first]
                    if not any(e.get("params", {}).get("other") == number for e in other.errors):
                        other.errors.append(err(ncol, "student_number", row["student_number"], N("The same student, day and period appear again: also in row %(other)s."),
                                                other=number))  # fmt: skip
                else:
                    seen[key] = number
        klass = enrolments.classes.get(klass_id) if klass_id else None
        o.normalized = {
            "student": student.pk if student else None,
            "student_number": row["student_number"],
            "klass": klass_id,
            "klass_label": klass.name if klass else "",
            "date": day.isoformat() if day else None,
            "period": row["period"],
            "status": row["status"],
            "note": row["note"],
        }

    # Existing marks of these students on these days (any class's register).
    existing: dict[tuple[int, str, int | None], tuple[int, str, str]] = {}
    sids = sorted({o.normalized["student"] for o in outcomes.values() if o.normalized.get("student")})
    if days:
        for i in range(0, len(sids), 500):
            for pk, sid, day, period, status, note in Mark.objects.filter(
                school_id=school_id, student_id__in=sids[i : i + 500], date__gte=days[0], date__lte=days[-1]
            ).values_list("pk", "student_id", "date", "register__period", "status", "note"):
                existing.setdefault((sid, day.isoformat(), period), (pk, status, note))
    for o in outcomes.values():
        if o.errors:
            o.action = "error"
            continue
        n = o.normalized
        found = existing.get((n["student"], n["date"], n["period"]))
        if found is None:
            o.action = "create"
            continue
        pk, status, note = found
        o.match = {"id": pk, "by": "key", "confidence": 1.0, "reason": N("already marked")}
        if status != n["status"]:
            o.changes["status"] = [status, n["status"]]  # shown with the statuses' labels
        if n["note"] and n["note"] != note:
            o.changes["note"] = [note, n["note"]]
        o.action = "update" if o.changes else "unchanged"
    return outcomes
