"""Write a solution for FET: as FET's activities XML (Id, Day, Hour, Room), and as a copy of the original
``.fet`` file in which every placed activity is locked in time (ConstraintActivityPreferredStartingTime,
Permanently_Locked) and, when it has a room, in space (ConstraintActivityPreferredRoom, Permanently_Locked),
so that ``fet-cl`` can check the timetable.
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

from .fet import FetError
from .model import Instance, Solution

_BOM = "\ufeff"


def write_activities_xml(solution: Solution, instance: Instance) -> str:
    """FET's ``*_activities.xml`` for ``solution``: one <Activity> per placed activity, in the instance's order.

    Day and hour are written by name (as FET does); an activity without a room has an empty <Room>.
    """
    parts = [_BOM + '<?xml version="1.0" encoding="UTF-8"?>\n<Activities_Timetable>\n']
    order = [aid for aid in instance.activities if aid in solution]
    order += sorted(aid for aid in solution if aid not in instance.activities)
    for aid in order:
        p = solution[aid]
        if not (0 <= p.day < instance.n_days and 0 <= p.hour < instance.n_hours):
            raise ValueError(f"activity {aid}: day/hour ({p.day}, {p.hour}) outside the week")
        parts.append(
            "<Activity>\n"
            f"\t<Id>{aid}</Id>\n"
            f"\t<Day>{escape(instance.days[p.day])}</Day>\n"
            f"\t<Hour>{escape(instance.hours[p.hour])}</Hour>\n"
            f"\t<Room>{escape(p.room or '')}</Room>\n"
            "</Activity>\n"
        )
    parts.append("</Activities_Timetable>\n")
    return "".join(parts)


def _sub(parent: etree._Element, tag: str, text: str) -> None:
    el = etree.SubElement(parent, tag)
    el.text = text


def _text(el: etree._Element, tag: str) -> str:
    c = el.find(tag)
    return (c.text or "").strip() if c is not None else ""


def _lock_existing(root: etree._Element, solution: Solution, instance: Instance) -> tuple[set[int], set[int]]:
    """Mark the original's own 100% constraints that already pin an activity where the solution puts it as
    permanently locked (FET refuses exact duplicates); return the activity ids so pinned in time and in room.
    """
    in_time: set[int] = set()
    in_room: set[int] = set()
    for el in root.iterfind("Time_Constraints_List/ConstraintActivityPreferredStartingTime"):
        try:
            aid = int(_text(el, "Activity_Id"))
        except ValueError:
            continue
        p = solution.get(aid)
        if p is None or _text(el, "Weight_Percentage") not in ("100", "100.0"):
            continue
        if (_text(el, "Preferred_Day"), _text(el, "Preferred_Hour")) == (
            instance.days[p.day],
            instance.hours[p.hour],
        ):
            _set(el, "Permanently_Locked", "true")
            _set(el, "Active", "true")
            in_time.add(aid)
    for el in root.iterfind("Space_Constraints_List/ConstraintActivityPreferredRoom"):
        try:
            aid = int(_text(el, "Activity_Id"))
        except ValueError:
            continue
        p = solution.get(aid)
        if p is None or p.room is None or _text(el, "Weight_Percentage") not in ("100", "100.0"):
            continue
        if _text(el, "Room") == p.room:
            _set(el, "Permanently_Locked", "true")
            _set(el, "Active", "true")
            in_room.add(aid)
    return in_time, in_room


def _set(el: etree._Element, tag: str, value: str) -> None:
    c = el.find(tag)
    if c is None:
        c = etree.SubElement(el, tag)
        c.tail = "\n"
    c.text = value


def _locking_constraints(
    solution: Solution, instance: Instance, skip_time: set[int], skip_room: set[int]
) -> tuple[list[etree._Element], list[etree._Element]]:
    times: list[etree._Element] = []
    rooms: list[etree._Element] = []
    for aid, p in sorted(solution.items()):
        if aid not in instance.activities:
            raise ValueError(f"activity {aid} is not in the instance")
        if not (0 <= p.day < instance.n_days and 0 <= p.hour < instance.n_hours):
            raise ValueError(f"activity {aid}: day/hour ({p.day}, {p.hour}) outside the week")
        if p.room is not None and p.room not in instance.rooms:
            raise ValueError(f"activity {aid}: unknown room {p.room!r}")
        if p.room is not None and aid not in skip_room:
            r = etree.Element("ConstraintActivityPreferredRoom")
            _sub(r, "Weight_Percentage", "100")
            _sub(r, "Activity_Id", str(aid))
            _sub(r, "Room", p.room)
            _sub(r, "Permanently_Locked", "true")
            _sub(r, "Active", "true")
            _sub(r, "Comments", "")
            rooms.append(r)
        if aid in skip_time:
            continue
        t = etree.Element("ConstraintActivityPreferredStartingTime")
        _sub(t, "Weight_Percentage", "100")
        _sub(t, "Activity_Id", str(aid))
        _sub(t, "Preferred_Day", instance.days[p.day])
        _sub(t, "Preferred_Hour", instance.hours[p.hour])
        _sub(t, "Permanently_Locked", "true")
        _sub(t, "Active", "true")
        _sub(t, "Comments", "")
        times.append(t)
    return times, rooms


def _append(section: etree._Element, new: list[etree._Element]) -> None:
    # keep FET's layout: one constraint per block, separated by newlines
    if len(section):
        last = section[-1]
        last.tail = "\n"
    else:
        section.text = "\n"
    for el in new:
        for child in el:
            child.tail = "\n"
        el.text = "\n"
        el.tail = "\n"
        section.append(el)


def locked_fet_bytes(
    original: str | os.PathLike[str] | bytes, solution: Solution, instance: Instance
) -> bytes:
    """The original ``.fet`` with the solution locked in, as bytes (the original is left untouched)."""
    data = original if isinstance(original, bytes) else Path(original).read_bytes()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FetError(f"malformed XML in FET file: {exc.msg}", line=exc.lineno) from exc
    if root.tag != "fet":
        raise FetError(f"not a FET file (root element is <{root.tag}>)", element=str(root.tag), line=1)
    skip_time, skip_room = _lock_existing(root, solution, instance)
    times, rooms = _locking_constraints(solution, instance, skip_time, skip_room)
    for name, new in (("Time_Constraints_List", times), ("Space_Constraints_List", rooms)):
        section = root.find(name)
        if section is None:
            section = etree.SubElement(root, name)
        _append(section, new)
    body: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n\n' + body + b"\n"


def write_locked_fet(
    original_path: str | os.PathLike[str] | bytes,
    solution: Solution,
    out: str | os.PathLike[str],
    instance: Instance | None = None,
) -> Path:
    """Write the original ``.fet`` with every placed activity permanently locked (time, and room if any)."""
    from .fet import parse_fet

    inst = instance if instance is not None else parse_fet(original_path)
    target = Path(out)
    target.write_bytes(locked_fet_bytes(original_path, solution, inst))
    return target
