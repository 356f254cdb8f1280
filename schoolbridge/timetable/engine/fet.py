"""Read FET files: ``parse_fet`` (a ``.fet`` input file → :class:`Instance`) and ``parse_activities_xml``
(FET's ``*_activities.xml`` output → :class:`Solution`).

Safe parsing: lxml with entity resolution, DTD loading and network access off. Errors are
:class:`FetError` naming the element and, where lxml knows it, the line. Constraint types the engine does
not model land in ``Instance.unsupported`` (see ``Instance.import_report()``), never dropped silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lxml import etree

from .model import (
    CONSTRAINT_TYPES,
    Activity,
    ActivityFilter,
    Building,
    Constraint,
    Instance,
    Placement,
    Room,
    Solution,
    StudentsSet,
    Teacher,
    Time,
    UnsupportedConstraint,
)

Source = str | os.PathLike[str] | bytes


class FetError(ValueError):
    """A FET file could not be read: malformed XML or a reference to something that does not exist.

    ``element`` and ``line`` say where (when known); ``source`` is the file's path when read from one.
    """

    def __init__(self, message: str, *, element: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.element = element
        self.line = line
        self.source: str | None = None

    def __str__(self) -> str:
        where = f"<{self.element}>" if self.element else ""
        if self.line:
            where = f"{where} at line {self.line}" if where else f"line {self.line}"
        if self.source:
            where = f"{self.source}: {where}" if where else self.source
        return f"{where}: {self.message}" if where else self.message


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
        huge_tree=False,
    )


def _read_root(source: Source, *, what: str) -> etree._Element:
    try:
        if isinstance(source, bytes):
            root = etree.fromstring(source, _parser())
        else:
            data = Path(source).read_bytes()
            root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if getattr(exc, "lineno", None) else None
        raise FetError(f"malformed XML in {what}: {exc.msg}", line=line) from exc
    except OSError as exc:
        raise FetError(f"cannot read {what}: {exc}") from exc
    return root


def _text(el: etree._Element | None) -> str:
    """An element's text as written: FET names may have significant spaces (a subject named "   " exists);
    text that is only layout (a newline and indentation) counts as empty."""
    if el is None or el.text is None:
        return ""
    text = el.text
    if not text.strip() and ("\n" in text or "\t" in text):
        return ""
    return text


def _child(el: etree._Element, *names: str) -> str | None:
    """Text of the first present child among ``names`` (None if none is present)."""
    for name in names:
        c = el.find(name)
        if c is not None:
            return _text(c)
    return None


def _children(el: etree._Element, name: str) -> list[str]:
    return [_text(c) for c in el.findall(name)]


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes")


class _Reader:
    """Parses one FET document, keeping name → index maps for references."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.inst = Instance()

    # -- helpers ------------------------------------------------------------------------------------

    def err(self, el: etree._Element, message: str) -> FetError:
        return FetError(message, element=str(el.tag), line=el.sourceline)

    def int_of(self, el: etree._Element, name: str, *alts: str, default: int | None = None) -> int:
        raw = _child(el, name, *alts)
        if raw is None or raw == "":
            if default is not None:
                return default
            raise self.err(el, f"missing <{name}>")
        try:
            return int(raw)
        except ValueError:
            try:
                return int(float(raw))
            except ValueError:
                raise self.err(el, f"<{name}> is not a number: {raw!r}") from None

    def weight(self, el: etree._Element) -> float:
        raw = _child(el, "Weight_Percentage", "Weight")
        if raw is None or raw == "":
            return 100.0
        try:
            return float(raw)
        except ValueError:
            raise self.err(el, f"weight is not a number: {raw!r}") from None

    def day(self, el: etree._Element, name: str) -> int:
        try:
            return self.day_index[name]
        except KeyError:
            raise self.err(el, f"unknown day {name!r}") from None

    def hour(self, el: etree._Element, name: str) -> int:
        try:
            return self.hour_index[name]
        except KeyError:
            raise self.err(el, f"unknown hour {name!r}") from None

    def times(self, el: etree._Element, item: str, day_tag: str, hour_tag: str) -> tuple[Time, ...]:
        out: list[Time] = []
        for t in el.findall(item):
            d = _child(t, day_tag)
            h = _child(t, hour_tag)
            if d is None or h is None:
                raise self.err(t, f"needs <{day_tag}> and <{hour_tag}>")
            out.append((self.day(t, d), self.hour(t, h)))
        return tuple(out)

    def teacher(self, el: etree._Element, name: str | None) -> str | None:
        if not name:
            return None
        if name not in self.inst.teachers:
            raise self.err(el, f"unknown teacher {name!r}")
        return name

    def students(self, el: etree._Element, name: str | None) -> str | None:
        if not name:
            return None
        if name not in self.inst.students_sets:
            raise self.err(el, f"unknown students set {name!r}")
        return name

    def subject(self, el: etree._Element, name: str | None) -> str | None:
        if not name:
            return None
        if name not in self.subject_set:
            raise self.err(el, f"unknown subject {name!r}")
        return name

    def tag(self, el: etree._Element, name: str | None) -> str | None:
        if not name:
            return None
        if name not in self.tag_set:
            raise self.err(el, f"unknown activity tag {name!r}")
        return name

    def room(self, el: etree._Element, name: str | None) -> str:
        if not name or name not in self.inst.rooms:
            raise self.err(el, f"unknown room {name!r}")
        return name

    def rooms(self, el: etree._Element, *tags: str) -> tuple[str, ...]:
        names: list[str] = []
        for t in tags:
            names.extend(_children(el, t))
        return tuple(self.room(el, n) for n in names)

    def activity(self, el: etree._Element, raw: str | None) -> int:
        try:
            aid = int(raw or "")
        except ValueError:
            raise self.err(el, f"bad activity id {raw!r}") from None
        if aid not in self.inst.activities:
            raise self.err(el, f"unknown activity id {aid}")
        return aid

    def activity_list(self, el: etree._Element) -> tuple[int, ...]:
        return tuple(self.activity(el, r) for r in _children(el, "Activity_Id"))

    def filt(self, el: etree._Element) -> ActivityFilter:
        dur = _child(el, "Duration")
        return ActivityFilter(
            teacher=self.teacher(el, _child(el, "Teacher_Name")),
            students=self.students(el, _child(el, "Students_Name")),
            subject=self.subject(el, _child(el, "Subject_Name")),
            activity_tag=self.tag(el, _child(el, "Activity_Tag_Name")),
            duration=int(dur) if dur else None,
        )

    # -- sections -----------------------------------------------------------------------------------

    def read(self) -> Instance:
        root = self.root
        if root.tag != "fet":
            raise FetError(f"not a FET file (root element is <{root.tag}>)", element=str(root.tag), line=1)
        inst = self.inst
        inst.name = _child(root, "Institution_Name") or ""
        inst.mode = _child(root, "Mode") or "Official"
        days_el = root.find("Days_List")
        hours_el = root.find("Hours_List")
        if days_el is None or hours_el is None:
            raise FetError("missing <Days_List> or <Hours_List>", element="fet", line=root.sourceline)
        inst.days = [_child(d, "Name") or "" for d in days_el.findall("Day")]
        inst.hours = [_child(h, "Name") or "" for h in hours_el.findall("Hour")]
        if not inst.days or not inst.hours:
            raise FetError("the week has no days or no hours", element="Days_List", line=days_el.sourceline)
        self.day_index = {n: i for i, n in enumerate(inst.days)}
        self.hour_index = {n: i for i, n in enumerate(inst.hours)}

        for s in root.iterfind("Subjects_List/Subject"):
            inst.subjects.append(_child(s, "Name") or "")
        self.subject_set = set(inst.subjects)
        for t in root.iterfind("Activity_Tags_List/Activity_Tag"):
            inst.activity_tags.append(_child(t, "Name") or "")
        self.tag_set = set(inst.activity_tags)
        for t in root.iterfind("Teachers_List/Teacher"):
            name = _child(t, "Name") or ""
            target = _child(t, "Target_Number_of_Hours")
            inst.teachers[name] = Teacher(
                name=name,
                target_hours=int(target) if target and target.lstrip("-").isdigit() else None,
                qualified_subjects=tuple(_children(t, "Qualified_Subjects/Qualified_Subject")),
            )
        self.read_students(root)
        for b in root.iterfind("Buildings_List/Building"):
            name = _child(b, "Name") or ""
            inst.buildings[name] = Building(name)
        for r in root.iterfind("Rooms_List/Room"):
            self.read_room(r)
        for a in root.iterfind("Activities_List/Activity"):
            self.read_activity(a)
        for section, kind in (("Time_Constraints_List", "time"), ("Space_Constraints_List", "space")):
            sec = root.find(section)
            if sec is None:
                continue
            for c in sec:
                if not isinstance(c.tag, str):
                    continue
                self.read_constraint(c, kind)
        return inst

    def read_students(self, root: etree._Element) -> None:
        inst = self.inst
        kinds: dict[str, str] = {}
        sizes: dict[str, int] = {}
        subs: dict[str, list[str]] = {}
        kids: dict[str, list[str]] = {}
        atoms: list[str] = []

        def add(name: str, kind: str, el: etree._Element) -> None:
            kinds.setdefault(name, kind)
            n = _child(el, "Number_of_Students")
            sizes.setdefault(name, int(n) if n and n.isdigit() else 0)
            subs.setdefault(name, [])
            kids.setdefault(name, [])

        def extend(target: list[str], items: Iterable[str]) -> None:
            for i in items:
                if i not in target:
                    target.append(i)

        for y in root.iterfind("Students_List/Year"):
            yname = _child(y, "Name") or ""
            add(yname, "year", y)
            if yname not in inst.years:
                inst.years.append(yname)
            groups = y.findall("Group")
            if not groups:
                extend(subs[yname], [yname])
                extend(atoms, [yname])
            for g in groups:
                gname = _child(g, "Name") or ""
                add(gname, "group", g)
                extend(kids[yname], [gname])
                subgroups = g.findall("Subgroup")
                if not subgroups:
                    extend(subs[gname], [gname])
                    extend(atoms, [gname])
                for sg in subgroups:
                    sname = _child(sg, "Name") or ""
                    add(sname, "subgroup", sg)
                    extend(subs[sname], [sname])
                    extend(subs[gname], [sname])
                    extend(kids[gname], [sname])
                    extend(atoms, [sname])
                extend(subs[yname], subs[gname])
        inst.subgroups = atoms
        inst.students_sets = {
            n: StudentsSet(
                name=n,
                kind=kinds[n],
                number_of_students=sizes[n],
                subgroups=tuple(subs[n]),
                children=tuple(kids[n]),
            )
            for n in kinds
        }

    def read_room(self, r: etree._Element) -> None:
        name = _child(r, "Name") or ""
        building = _child(r, "Building") or None
        if building and building not in self.inst.buildings:
            raise self.err(r, f"room {name!r}: unknown building {building!r}")
        sets: list[tuple[str, ...]] = []
        for s in r.findall("Set_of_Real_Rooms"):
            sets.append(tuple(_children(s, "Real_Room")))
        self.inst.rooms[name] = Room(
            name=name,
            capacity=self.int_of(r, "Capacity", default=30000),
            building=building,
            virtual=_bool(_child(r, "Virtual"), False),
            real_room_sets=tuple(sets),
        )

    def read_activity(self, a: etree._Element) -> None:
        inst = self.inst
        aid = self.int_of(a, "Id")
        if aid in inst.activities:
            raise self.err(a, f"duplicate activity id {aid}")
        teachers = tuple(_children(a, "Teacher"))
        for t in teachers:
            if t not in inst.teachers:
                raise self.err(a, f"activity {aid}: unknown teacher {t!r}")
        subject = _child(a, "Subject") or ""
        if subject not in self.subject_set:
            raise self.err(a, f"activity {aid}: unknown subject {subject!r}")
        tags = tuple(_children(a, "Activity_Tag"))
        for t in tags:
            if t not in self.tag_set:
                raise self.err(a, f"activity {aid}: unknown activity tag {t!r}")
        students = tuple(_children(a, "Students"))
        subgroups: list[str] = []
        total = 0
        for s in students:
            ss = inst.students_sets.get(s)
            if ss is None:
                raise self.err(a, f"activity {aid}: unknown students set {s!r}")
            total += ss.number_of_students
            for sg in ss.subgroups:
                if sg not in subgroups:
                    subgroups.append(sg)
        explicit = _child(a, "Number_Of_Students")
        duration = self.int_of(a, "Duration")
        if duration < 1 or duration > len(inst.hours):
            raise self.err(a, f"activity {aid}: duration {duration} does not fit a day")
        inst.activities[aid] = Activity(
            id=aid,
            group_id=self.int_of(a, "Activity_Group_Id", default=0),
            duration=duration,
            total_duration=self.int_of(a, "Total_Duration", default=duration),
            teachers=teachers,
            subject=subject,
            tags=tags,
            students=students,
            active=_bool(_child(a, "Active"), True),
            subgroups=tuple(subgroups),
            n_students=int(explicit) if explicit and explicit.isdigit() else total,
            comments=_child(a, "Comments") or "",
        )

    def read_constraint(self, el: etree._Element, kind: str) -> None:
        tag = str(el.tag)
        cls = CONSTRAINT_TYPES.get(tag)
        weight = self.weight(el)
        active = _bool(_child(el, "Active"), True)
        if cls is None or tag not in _FIELDS:
            self.inst.unsupported.append(
                UnsupportedConstraint(
                    tag=tag, kind=kind, weight_percentage=weight, active=active, line=el.sourceline or 0
                )
            )
            return
        fields = _FIELDS[tag](self, el)
        c = cls(
            weight_percentage=weight,
            active=active,
            comments=_child(el, "Comments") or "",
            line=el.sourceline or 0,
            **fields,
        )
        (self.inst.time_constraints if c.KIND == "time" else self.inst.space_constraints).append(c)


# -- per-type field readers ---------------------------------------------------------------------------

_F = Callable[[_Reader, etree._Element], dict[str, Any]]


def _none(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {}


def _not_available(who: str, tags: tuple[str, ...]) -> _F:
    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        name = _child(el, *tags)
        out: dict[str, Any] = {"times": r.times(el, "Not_Available_Time", "Day", "Hour")}
        if who == "room":
            out["room"] = r.room(el, name)
            return out
        ref = r.teacher(el, name) if who == "teacher" else r.students(el, name)
        if ref is None:
            raise r.err(el, f"missing {who}")
        out[who] = ref
        return out

    return f


def _break_times(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {"times": r.times(el, "Break_Time", "Day", "Hour")}


def _act_start(r: _Reader, el: etree._Element) -> dict[str, Any]:
    d = _child(el, "Preferred_Day")
    h = _child(el, "Preferred_Hour")
    return {
        "activity_id": r.activity(el, _child(el, "Activity_Id")),
        "day": r.day(el, d) if d else None,
        "hour": r.hour(el, h) if h else None,
        "permanently_locked": _bool(_child(el, "Permanently_Locked"), False),
    }


def _act_starts(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {
        "activity_id": r.activity(el, _child(el, "Activity_Id")),
        "times": r.times(el, "Preferred_Starting_Time", "Preferred_Starting_Day", "Preferred_Starting_Hour"),
    }


def _act_slots(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {
        "activity_id": r.activity(el, _child(el, "Activity_Id")),
        "times": r.times(el, "Preferred_Time_Slot", "Preferred_Day", "Preferred_Hour"),
    }


def _act_only(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {"activity_id": r.activity(el, _child(el, "Activity_Id"))}


def _acts_starts(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {
        "filter": r.filt(el),
        "times": r.times(el, "Preferred_Starting_Time", "Preferred_Starting_Day", "Preferred_Starting_Hour"),
    }


def _acts_slots(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {
        "filter": r.filt(el),
        "times": r.times(el, "Preferred_Time_Slot", "Preferred_Day", "Preferred_Hour"),
    }


def _sub_starts(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {"component_number": r.int_of(el, "Component_Number"), **_acts_starts(r, el)}


def _sub_slots(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {"component_number": r.int_of(el, "Component_Number"), **_acts_slots(r, el)}


def _filter_only(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {"filter": r.filt(el)}


def _ids(**extra: tuple[str, ...]) -> _F:
    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        out: dict[str, Any] = {"activity_ids": r.activity_list(el)}
        for key, tags in extra.items():
            out[key] = r.int_of(el, *tags)
        return out

    return f


def _min_days(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {
        "activity_ids": r.activity_list(el),
        "min_days": r.int_of(el, "MinDays"),
        "consecutive_if_same_day": _bool(_child(el, "Consecutive_If_Same_Day"), False),
    }


def _pair(*names: str) -> _F:
    tags = ("First_Activity_Id", "Second_Activity_Id", "Third_Activity_Id")

    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        return {n: r.activity(el, _child(el, t)) for n, t in zip(names, tags, strict=False)}

    return f


def _teacher_int(*spec: tuple[str, tuple[str, ...]], per_teacher: bool, allow_empty: bool = False) -> _F:
    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if per_teacher:
            name = r.teacher(el, _child(el, "Teacher_Name", "Teacher"))
            if name is None:
                raise r.err(el, "missing teacher")
            out["teacher"] = name
        for key, tags in spec:
            out[key] = r.int_of(el, *tags)
        if allow_empty:
            out["allow_empty_days"] = _bool(_child(el, "Allow_Empty_Days"), True)
        return out

    return f


def _students_int(*spec: tuple[str, tuple[str, ...]], per_set: bool, allow_empty: bool = False) -> _F:
    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if per_set:
            name = r.students(el, _child(el, "Students", "Students_Name"))
            if name is None:
                raise r.err(el, "missing students set")
            out["students"] = name
        for key, tags in spec:
            out[key] = r.int_of(el, *tags)
        if allow_empty:
            out["allow_empty_days"] = _bool(_child(el, "Allow_Empty_Days"), False)
        return out

    return f


def _interval(per: str) -> _F:
    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if per == "teacher":
            name = r.teacher(el, _child(el, "Teacher_Name", "Teacher"))
            if name is None:
                raise r.err(el, "missing teacher")
            out["teacher"] = name
        elif per == "students":
            sname = r.students(el, _child(el, "Students", "Students_Name"))
            if sname is None:
                raise r.err(el, "missing students set")
            out["students"] = sname
        start = _child(el, "Interval_Start_Hour") or ""
        end = _child(el, "Interval_End_Hour") or ""
        out["start_hour"] = r.hour(el, start)
        out["end_hour"] = r.hour(el, end) if end else len(r.inst.hours)
        out["max_days"] = r.int_of(el, "Max_Days_Per_Week")
        return out

    return f


def _act_room(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {
        "activity_id": r.activity(el, _child(el, "Activity_Id")),
        "room": r.room(el, _child(el, "Room")),
        "permanently_locked": _bool(_child(el, "Permanently_Locked"), False),
    }


def _act_rooms(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {"activity_id": r.activity(el, _child(el, "Activity_Id")), "rooms": r.rooms(el, "Preferred_Room")}


def _rooms_by(*keys: str) -> _F:
    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        out: dict[str, Any] = {"rooms": r.rooms(el, "Room", "Preferred_Room", "Home_Room")}
        for key in keys:
            if key == "subject":
                out[key] = r.subject(el, _child(el, "Subject")) or ""
            elif key == "activity_tag":
                out[key] = r.tag(el, _child(el, "Activity_Tag")) or ""
            elif key == "teacher":
                out[key] = r.teacher(el, _child(el, "Teacher", "Teacher_Name")) or ""
            elif key == "students":
                out[key] = r.students(el, _child(el, "Students", "Students_Name")) or ""
            if not out[key]:
                raise r.err(el, f"missing {key}")
        if not out["rooms"]:
            raise r.err(el, "no room given")
        return out

    return f


def _tagged(per: str, *spec: tuple[str, tuple[str, ...]]) -> _F:
    """Teacher/students limits with an activity tag: ``per`` is "teacher", "students" or "all"."""

    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if per == "teacher":
            name = r.teacher(el, _child(el, "Teacher_Name", "Teacher"))
            if name is None:
                raise r.err(el, "missing teacher")
            out["teacher"] = name
        elif per == "students":
            sname = r.students(el, _child(el, "Students", "Students_Name"))
            if sname is None:
                raise r.err(el, "missing students set")
            out["students"] = sname
        tag = r.tag(el, _child(el, "Activity_Tag_Name", "Activity_Tag"))
        if tag is None:
            raise r.err(el, "missing activity tag")
        out["activity_tag"] = tag
        for key, tags in spec:
            out[key] = r.int_of(el, *tags)
        return out

    return f


def _resting(per: str) -> _F:
    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if per == "teacher":
            out["teacher"] = r.teacher(el, _child(el, "Teacher_Name", "Teacher")) or ""
            if not out["teacher"]:
                raise r.err(el, "missing teacher")
        elif per == "students":
            out["students"] = r.students(el, _child(el, "Students", "Students_Name")) or ""
            if not out["students"]:
                raise r.err(el, "missing students set")
        out["min_resting"] = r.int_of(el, "Minimum_Resting_Hours")
        out["circular"] = _bool(_child(el, "Circular"), False)
        return out

    return f


def _selection(key: str, tag: str) -> _F:
    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        return {
            "activity_ids": r.activity_list(el),
            "times": r.times(el, "Selected_Time_Slot", "Selected_Day", "Selected_Hour"),
            key: r.int_of(el, tag),
        }

    return f


def _min_simultaneous(r: _Reader, el: etree._Element) -> dict[str, Any]:
    return {
        **_selection("min_simultaneous", "Min_Number_of_Simultaneous_Activities")(r, el),
        "allow_empty_slots": _bool(_child(el, "Allow_Empty_Slots"), False),
    }


def _ordered_tags(per: str) -> _F:
    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        out: dict[str, Any] = {"min_gaps": r.int_of(el, "MinGaps", "Min_Gaps")}
        for key, tag in (("first_tag", "First_Activity_Tag"), ("second_tag", "Second_Activity_Tag")):
            name = r.tag(el, _child(el, tag))
            if name is None:
                raise r.err(el, f"missing <{tag}>")
            out[key] = name
        if per == "teacher":
            out["teacher"] = r.teacher(el, _child(el, "Teacher", "Teacher_Name"))
            if out["teacher"] is None:
                raise r.err(el, "missing teacher")
        elif per == "students":
            out["students"] = r.students(el, _child(el, "Students", "Students_Name"))
            if out["students"] is None:
                raise r.err(el, "missing students set")
        return out

    return f


def _buildings(per: str, key: str, tag: str) -> _F:
    def f(r: _Reader, el: etree._Element) -> dict[str, Any]:
        out: dict[str, Any] = {key: r.int_of(el, tag)}
        if per == "teacher":
            out["teacher"] = r.teacher(el, _child(el, "Teacher", "Teacher_Name")) or ""
            if not out["teacher"]:
                raise r.err(el, "missing teacher")
        elif per == "students":
            out["students"] = r.students(el, _child(el, "Students", "Students_Name")) or ""
            if not out["students"]:
                raise r.err(el, "missing students set")
        return out

    return f


_MAX_HOURS_DAILY = ("max_hours", ("Maximum_Hours_Daily",))
_MAX_HOURS_CONT = ("max_hours", ("Maximum_Hours_Continuously",))
_MIN_HOURS_DAILY = ("min_hours", ("Minimum_Hours_Daily",))
_MAX_GAPS = ("max_gaps", ("Max_Gaps",))
_MAX_DAYS = ("max_days", ("Max_Days_Per_Week",))
_MIN_DAYS = ("min_days", ("Minimum_Days_Per_Week", "Min_Days_Per_Week"))
_EARLY = ("max_beginnings", ("Max_Beginnings_At_Second_Hour",))
_MAX_SPAN = ("max_span", ("Max_Span",))

_FIELDS: dict[str, _F] = {
    "ConstraintBasicCompulsoryTime": _none,
    "ConstraintBasicCompulsorySpace": _none,
    "ConstraintBreakTimes": _break_times,
    "ConstraintTeacherNotAvailableTimes": _not_available("teacher", ("Teacher", "Teacher_Name")),
    "ConstraintStudentsSetNotAvailableTimes": _not_available("students", ("Students", "Students_Name")),
    "ConstraintRoomNotAvailableTimes": _not_available("room", ("Room",)),
    "ConstraintActivityPreferredStartingTime": _act_start,
    "ConstraintActivityPreferredStartingTimes": _act_starts,
    "ConstraintActivityPreferredTimeSlots": _act_slots,
    "ConstraintActivityEndsStudentsDay": _act_only,
    "ConstraintActivitiesPreferredStartingTimes": _acts_starts,
    "ConstraintActivitiesPreferredTimeSlots": _acts_slots,
    "ConstraintSubactivitiesPreferredStartingTimes": _sub_starts,
    "ConstraintSubactivitiesPreferredTimeSlots": _sub_slots,
    "ConstraintActivitiesEndStudentsDay": _filter_only,
    "ConstraintMinDaysBetweenActivities": _min_days,
    "ConstraintMaxDaysBetweenActivities": _ids(max_days=("MaxDays",)),
    "ConstraintMinGapsBetweenActivities": _ids(min_gaps=("MinGaps",)),
    "ConstraintActivitiesSameStartingTime": _ids(),
    "ConstraintActivitiesSameStartingDay": _ids(),
    "ConstraintActivitiesSameStartingHour": _ids(),
    "ConstraintActivitiesNotOverlapping": _ids(),
    "ConstraintTwoActivitiesConsecutive": _pair("first", "second"),
    "ConstraintTwoActivitiesGrouped": _pair("first", "second"),
    "ConstraintTwoActivitiesOrdered": _pair("first", "second"),
    "ConstraintThreeActivitiesGrouped": _pair("first", "second", "third"),
    "ConstraintTeacherMaxDaysPerWeek": _teacher_int(_MAX_DAYS, per_teacher=True),
    "ConstraintTeachersMaxDaysPerWeek": _teacher_int(_MAX_DAYS, per_teacher=False),
    "ConstraintTeacherMinDaysPerWeek": _teacher_int(_MIN_DAYS, per_teacher=True),
    "ConstraintTeachersMinDaysPerWeek": _teacher_int(_MIN_DAYS, per_teacher=False),
    "ConstraintTeacherMaxGapsPerWeek": _teacher_int(_MAX_GAPS, per_teacher=True),
    "ConstraintTeachersMaxGapsPerWeek": _teacher_int(_MAX_GAPS, per_teacher=False),
    "ConstraintTeacherMaxGapsPerDay": _teacher_int(_MAX_GAPS, per_teacher=True),
    "ConstraintTeachersMaxGapsPerDay": _teacher_int(_MAX_GAPS, per_teacher=False),
    "ConstraintTeacherMaxHoursDaily": _teacher_int(_MAX_HOURS_DAILY, per_teacher=True),
    "ConstraintTeachersMaxHoursDaily": _teacher_int(_MAX_HOURS_DAILY, per_teacher=False),
    "ConstraintTeacherMinHoursDaily": _teacher_int(_MIN_HOURS_DAILY, per_teacher=True, allow_empty=True),
    "ConstraintTeachersMinHoursDaily": _teacher_int(_MIN_HOURS_DAILY, per_teacher=False, allow_empty=True),
    "ConstraintTeacherMaxHoursContinuously": _teacher_int(_MAX_HOURS_CONT, per_teacher=True),
    "ConstraintTeachersMaxHoursContinuously": _teacher_int(_MAX_HOURS_CONT, per_teacher=False),
    "ConstraintTeacherIntervalMaxDaysPerWeek": _interval("teacher"),
    "ConstraintTeachersIntervalMaxDaysPerWeek": _interval("all"),
    "ConstraintStudentsMaxGapsPerWeek": _students_int(_MAX_GAPS, per_set=False),
    "ConstraintStudentsSetMaxGapsPerWeek": _students_int(_MAX_GAPS, per_set=True),
    "ConstraintStudentsMaxGapsPerDay": _students_int(_MAX_GAPS, per_set=False),
    "ConstraintStudentsSetMaxGapsPerDay": _students_int(_MAX_GAPS, per_set=True),
    "ConstraintStudentsEarlyMaxBeginningsAtSecondHour": _students_int(_EARLY, per_set=False),
    "ConstraintStudentsSetEarlyMaxBeginningsAtSecondHour": _students_int(_EARLY, per_set=True),
    "ConstraintStudentsMaxHoursDaily": _students_int(_MAX_HOURS_DAILY, per_set=False),
    "ConstraintStudentsSetMaxHoursDaily": _students_int(_MAX_HOURS_DAILY, per_set=True),
    "ConstraintStudentsMinHoursDaily": _students_int(_MIN_HOURS_DAILY, per_set=False, allow_empty=True),
    "ConstraintStudentsSetMinHoursDaily": _students_int(_MIN_HOURS_DAILY, per_set=True, allow_empty=True),
    "ConstraintStudentsMaxHoursContinuously": _students_int(_MAX_HOURS_CONT, per_set=False),
    "ConstraintStudentsSetMaxHoursContinuously": _students_int(_MAX_HOURS_CONT, per_set=True),
    "ConstraintStudentsIntervalMaxDaysPerWeek": _interval("all"),
    "ConstraintStudentsSetIntervalMaxDaysPerWeek": _interval("students"),
    "ConstraintTeacherActivityTagMaxHoursDaily": _tagged("teacher", _MAX_HOURS_DAILY),
    "ConstraintTeachersActivityTagMaxHoursDaily": _tagged("all", _MAX_HOURS_DAILY),
    "ConstraintTeacherActivityTagMaxHoursContinuously": _tagged("teacher", _MAX_HOURS_CONT),
    "ConstraintTeachersActivityTagMaxHoursContinuously": _tagged("all", _MAX_HOURS_CONT),
    "ConstraintStudentsActivityTagMaxHoursDaily": _tagged("all", _MAX_HOURS_DAILY),
    "ConstraintStudentsSetActivityTagMaxHoursDaily": _tagged("students", _MAX_HOURS_DAILY),
    "ConstraintStudentsActivityTagMaxHoursContinuously": _tagged("all", _MAX_HOURS_CONT),
    "ConstraintStudentsSetActivityTagMaxHoursContinuously": _tagged("students", _MAX_HOURS_CONT),
    "ConstraintTeacherMaxSpanPerDay": _teacher_int(_MAX_SPAN, per_teacher=True),
    "ConstraintTeachersMaxSpanPerDay": _teacher_int(_MAX_SPAN, per_teacher=False),
    "ConstraintStudentsMaxSpanPerDay": _students_int(_MAX_SPAN, per_set=False),
    "ConstraintStudentsSetMaxSpanPerDay": _students_int(_MAX_SPAN, per_set=True),
    "ConstraintTeacherMinRestingHours": _resting("teacher"),
    "ConstraintTeachersMinRestingHours": _resting("all"),
    "ConstraintStudentsMinRestingHours": _resting("all"),
    "ConstraintStudentsSetMinRestingHours": _resting("students"),
    "ConstraintTwoActivitiesOrderedIfSameDay": _pair("first", "second"),
    "ConstraintActivitiesOccupyMaxTimeSlotsFromSelection": _selection(
        "max_occupied", "Max_Number_of_Occupied_Time_Slots"
    ),
    "ConstraintActivitiesMaxSimultaneousInSelectedTimeSlots": _selection(
        "max_simultaneous", "Max_Number_of_Simultaneous_Activities"
    ),
    "ConstraintActivitiesMinSimultaneousInSelectedTimeSlots": _min_simultaneous,
    "ConstraintStudentsMinGapsBetweenOrderedPairOfActivityTags": _ordered_tags("all"),
    "ConstraintStudentsSetMinGapsBetweenOrderedPairOfActivityTags": _ordered_tags("students"),
    "ConstraintTeacherMinGapsBetweenOrderedPairOfActivityTags": _ordered_tags("teacher"),
    "ConstraintTeachersMinGapsBetweenOrderedPairOfActivityTags": _ordered_tags("all"),
    "ConstraintTeacherMaxBuildingChangesPerDay": _buildings(
        "teacher", "max_changes", "Max_Building_Changes_Per_Day"
    ),
    "ConstraintTeachersMaxBuildingChangesPerDay": _buildings(
        "all", "max_changes", "Max_Building_Changes_Per_Day"
    ),
    "ConstraintTeacherMaxBuildingChangesPerWeek": _buildings(
        "teacher", "max_changes", "Max_Building_Changes_Per_Week"
    ),
    "ConstraintTeachersMaxBuildingChangesPerWeek": _buildings(
        "all", "max_changes", "Max_Building_Changes_Per_Week"
    ),
    "ConstraintTeacherMinGapsBetweenBuildingChanges": _buildings(
        "teacher", "min_gaps", "Min_Gaps_Between_Building_Changes"
    ),
    "ConstraintTeachersMinGapsBetweenBuildingChanges": _buildings(
        "all", "min_gaps", "Min_Gaps_Between_Building_Changes"
    ),
    "ConstraintStudentsMaxBuildingChangesPerDay": _buildings(
        "all", "max_changes", "Max_Building_Changes_Per_Day"
    ),
    "ConstraintStudentsSetMaxBuildingChangesPerDay": _buildings(
        "students", "max_changes", "Max_Building_Changes_Per_Day"
    ),
    "ConstraintStudentsMaxBuildingChangesPerWeek": _buildings(
        "all", "max_changes", "Max_Building_Changes_Per_Week"
    ),
    "ConstraintStudentsSetMaxBuildingChangesPerWeek": _buildings(
        "students", "max_changes", "Max_Building_Changes_Per_Week"
    ),
    "ConstraintStudentsMinGapsBetweenBuildingChanges": _buildings(
        "all", "min_gaps", "Min_Gaps_Between_Building_Changes"
    ),
    "ConstraintStudentsSetMinGapsBetweenBuildingChanges": _buildings(
        "students", "min_gaps", "Min_Gaps_Between_Building_Changes"
    ),
    "ConstraintActivityPreferredRoom": _act_room,
    "ConstraintActivityPreferredRooms": _act_rooms,
    "ConstraintSubjectPreferredRoom": _rooms_by("subject"),
    "ConstraintSubjectPreferredRooms": _rooms_by("subject"),
    "ConstraintActivityTagPreferredRoom": _rooms_by("activity_tag"),
    "ConstraintActivityTagPreferredRooms": _rooms_by("activity_tag"),
    "ConstraintSubjectActivityTagPreferredRoom": _rooms_by("subject", "activity_tag"),
    "ConstraintSubjectActivityTagPreferredRooms": _rooms_by("subject", "activity_tag"),
    "ConstraintTeacherHomeRoom": _rooms_by("teacher"),
    "ConstraintTeacherHomeRooms": _rooms_by("teacher"),
    "ConstraintStudentsSetHomeRoom": _rooms_by("students"),
    "ConstraintStudentsSetHomeRooms": _rooms_by("students"),
    "ConstraintActivitiesSameRoomIfConsecutive": _ids(),
    "ConstraintActivitiesOccupyMaxDifferentRooms": _ids(max_rooms=("Max_Number_of_Different_Rooms",)),
}

#: FET element names of every constraint type the engine reads and scores
SUPPORTED_CONSTRAINT_TYPES: frozenset[str] = frozenset(_FIELDS) & frozenset(CONSTRAINT_TYPES)


def parse_fet(source: Source) -> Instance:
    """Read a ``.fet`` file (a path, or the file's bytes) into an :class:`Instance`."""
    try:
        root = _read_root(source, what="FET file")
        inst = _Reader(root).read()
    except FetError as exc:
        if not isinstance(source, bytes):
            exc.source = os.fspath(source)
        raise
    if not isinstance(source, bytes) and not inst.name:
        inst.name = Path(source).stem
    return inst


def parse_activities_xml(source: Source, instance: Instance) -> Solution:
    """Read FET's ``*_activities.xml`` (Id, Day, Hour, Room per activity) into a :class:`Solution`.

    Day and hour are names from ``instance``; an activity with no day/hour is unplaced (left out);
    an empty room is None.
    """
    try:
        return _read_solution(source, instance)
    except FetError as exc:
        if not isinstance(source, bytes):
            exc.source = os.fspath(source)
        raise


def _read_solution(source: Source, instance: Instance) -> Solution:
    root = _read_root(source, what="activities file")
    if root.tag != "Activities_Timetable":
        raise FetError(
            f"not a FET activities file (root element is <{root.tag}>)", element=str(root.tag), line=1
        )
    day_index = {n: i for i, n in enumerate(instance.days)}
    hour_index = {n: i for i, n in enumerate(instance.hours)}
    out: Solution = {}
    for el in root.iterfind("Activity"):
        raw = _child(el, "Id") or ""
        try:
            aid = int(raw)
        except ValueError:
            raise FetError(f"bad activity id {raw!r}", element="Activity", line=el.sourceline) from None
        if aid not in instance.activities:
            raise FetError(f"unknown activity id {aid}", element="Activity", line=el.sourceline)
        if aid in out:
            raise FetError(f"activity {aid} listed twice", element="Activity", line=el.sourceline)
        d = _child(el, "Day") or ""
        h = _child(el, "Hour") or ""
        if not d or not h:
            continue
        if d not in day_index:
            raise FetError(f"activity {aid}: unknown day {d!r}", element="Activity", line=el.sourceline)
        if h not in hour_index:
            raise FetError(f"activity {aid}: unknown hour {h!r}", element="Activity", line=el.sourceline)
        room = _child(el, "Room") or None
        if room is not None and room not in instance.rooms:
            raise FetError(f"activity {aid}: unknown room {room!r}", element="Activity", line=el.sourceline)
        out[aid] = Placement(day_index[d], hour_index[h], room)
    return out


def supported(c: Constraint) -> bool:
    return c.FET_TAG in SUPPORTED_CONSTRAINT_TYPES
