"""A realistic, deterministic district for demos, tests and benchmarks.

`seed_district(schools, students_per_school, seed)` builds, for every school: a school year and terms
covering today, grade levels (7-9 for a middle school, 1-6 for a primary school), classes of 40-50
students, subjects, rooms, teachers with teaching assignments (Chinese, maths and English teachers take
two classes, science teachers four, the others six), a head teacher per class, a school administrator
and a principal; students with district-unique student numbers, an open Enrollment and their
current class; one or two guardians per family, with about one child in ten sharing their guardians
with a sibling.

The same seed gives the same data (names, numbers, phones, classes, relations); `district_digest`
hashes the rows without their database keys so that two runs can be compared.

Speed: every table is written with `bulk_create` in batches, one transaction per school; no row is
saved one by one. Only the demo users get login accounts, and their password is hashed once and the
encoded hash reused. The national ID of every student is encrypted (Fernet, a few microseconds per
row, done by the field while bulk-inserting), so the sensitive-data path is exercised at full scale.

Seeding is a bulk load, not a user action: it writes a single summary row to the audit log per run.
"""

from __future__ import annotations

import bisect
import datetime
import hashlib
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from schoolbridge.accounts.models import RoleGrant
from schoolbridge.audit import log as audit_log
from schoolbridge.core.models import (
    Class,
    District,
    Enrollment,
    GradeLevel,
    Guardian,
    Guardianship,
    Person,
    Room,
    School,
    SchoolYear,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
    Term,
)

DEMO_PASSWORD = "Demo-2026-bridge"
BATCH_SIZE = 5000
DISTRICT_NAME = "示范区教育局"
SIBLING_SHARE = 0.10  # share of children whose guardians are also a sibling's guardians

# Mobile prefixes for generated people. 138 is kept for the demo accounts (13800000001...).
PHONE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "199",
]

CN_DIGITS = "零一二三四五六七八九"
MIDDLE_GRADES = [7, 8, 9]
PRIMARY_GRADES = [1, 2, 3, 4, 5, 6]
GRADE_NAMES = {1: "一年级", 2: "二年级", 3: "三年级", 4: "四年级", 5: "五年级", 6: "六年级",
               7: "七年级", 8: "八年级", 9: "九年级"}  # fmt: skip

# (code, name, classes per teacher, grades taught or None for all)
MIDDLE_SUBJECTS: list[tuple[str, str, int, set[int] | None]] = [
    ("CHN", "语文", 2, None),
    ("MATH", "数学", 2, None),
    ("ENG", "英语", 2, None),
    ("PHY", "物理", 4, {8, 9}),
    ("CHEM", "化学", 4, {9}),
    ("BIO", "生物", 4, {7, 8}),
    ("HIST", "历史", 6, None),
    ("GEO", "地理", 6, {7, 8}),
    ("POL", "道德与法治", 6, None),
    ("PE", "体育与健康", 6, None),
    ("MUS", "音乐", 6, {7, 8}),
    ("ART", "美术", 6, {7, 8}),
    ("IT", "信息科技", 6, {7, 8}),
]
PRIMARY_SUBJECTS: list[tuple[str, str, int, set[int] | None]] = [
    ("CHN", "语文", 2, None),
    ("MATH", "数学", 2, None),
    ("ENG", "英语", 3, {3, 4, 5, 6}),
    ("SCI", "科学", 4, None),
    ("POL", "道德与法治", 6, None),
    ("PE", "体育与健康", 6, None),
    ("MUS", "音乐", 6, None),
    ("ART", "美术", 6, None),
    ("IT", "信息科技", 6, {3, 4, 5, 6}),
]
CORE_SUBJECTS = ("CHN", "MATH", "ENG")
REGIONS = ["110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111"]
STREETS = ["学院路", "育才路", "文昌路", "建设路", "光明路", "人民路", "和平路", "朝阳路", "长安街", "新华路"]
HEALTH_NOTES = [
    "花生过敏",
    "轻度哮喘，随身携带喷雾",
    "青霉素过敏",
    "近视，需坐前排",
    "乳糖不耐受",
    "对尘螨过敏",
]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 105 → 一百零五 (enough for school names)."""
    if n < 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    rest = n % 100
    head = CN_DIGITS[n // 100] + "百"
    if rest == 0:
        return head
    if rest < 10:
        return head + "零" + CN_DIGITS[rest]
    if rest < 20:
        return head + "一" + cn_number(rest)
    return head + cn_number(rest)


def national_id(region: str, birth: datetime.date, seq: int) -> str:
    """An 18-digit resident ID number (GB 11643) with a valid check digit."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    total = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


class Names:
    """Chinese names from Faker's zh_CN lists, drawn with our own seeded generator (fast, stable)."""

    def __init__(self, rng: random.Random) -> None:
        from faker.providers.person.zh_CN import Provider

        self.rng = rng
        self.family_names = list(Provider.last_names.keys())
        self.cum = list(itertools.accumulate(Provider.last_names.values()))
        self.male = list(Provider.first_names_male)
        self.female = list(Provider.first_names_female)
        self.male_single = [n for n in self.male if len(n) == 1]
        self.female_single = [n for n in self.female if len(n) == 1]

    def family(self) -> str:
        x = self.rng.random() * self.cum[-1]
        return self.family_names[bisect.bisect_right(self.cum, x)]

    def given(self, gender: str) -> str:
        pool, single = (self.male, self.male_single) if gender == "M" else (self.female, self.female_single)
        name = pool[int(self.rng.random() * len(pool))]
        if len(name) == 1 and self.rng.random() < 0.6:
            name += single[int(self.rng.random() * len(single))]
        return name


class PhoneBook:
    """Unique mobile numbers: a fixed permutation of 8-digit numbers under each prefix."""

    def __init__(self, seed: int) -> None:
        self.n = 0
        self.offset = (seed * 7919 + 12345) % 10**8

    def next(self) -> str:
        i = self.n
        self.n += 1
        prefix = PHONE_PREFIXES[i % len(PHONE_PREFIXES)]
        j = i // len(PHONE_PREFIXES)
        return f"{prefix}{(j * 48271 + self.offset) % 10**8:08d}"  # 48271 is coprime with 10**8


@dataclass
class DemoLogin:
    role: str
    username: str
    phone: str
    password: str
    detail: str = ""
    note: str = ""


@dataclass
class SeedResult:
    district: District
    schools: int
    students: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)


# Stable demo accounts: (key, role label, username, phone)
DEMO_ACCOUNTS = [
    ("district_officer", "district officer", "demo_district", "13800000006"),
    ("school_admin", "school admin", "demo_admin", "13800000004"),
    ("principal", "principal", "demo_principal", "13800000005"),
    ("head_teacher", "head teacher", "demo_head", "13800000002"),
    ("teacher", "subject teacher", "demo_teacher", "13800000003"),
    ("guardian", "guardian", "demo_parent", "13800000001"),
    ("student", "student", "demo_student", ""),
]
DEMO_USERNAMES = [a[2] for a in DEMO_ACCOUNTS]
TWO_FACTOR_NOTE = "admin role: sets up two-factor sign-in (TOTP app) at first login"


class DistrictExists(Exception):
    pass


def school_year_bounds(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    start_year = today.year if today.month >= 9 else today.year - 1
    return datetime.date(start_year, 9, 1), datetime.date(start_year + 1, 8, 31)


def class_sizes(total: int, rng: random.Random) -> list[int]:
    """Split a school's students into classes of 40-50 (when the total allows it), unevenly."""
    if total <= 0:
        return []
    count = max(1, round(total / 45))
    while count > 1 and total / count < 40:
        count -= 1
    while total / count > 50:
        count += 1
    q, r = divmod(total, count)
    sizes = [q + (1 if i < r else 0) for i in range(count)]
    if count > 1:
        for _ in range(count * 3):
            a, b = rng.randrange(count), rng.randrange(count)
            d = rng.randint(1, 3)
            if a != b and sizes[a] - d >= 40 and sizes[b] + d <= 50:
                sizes[a] -= d
                sizes[b] += d
    return sizes


def _birth(rng: random.Random, oldest: datetime.date, days: int) -> datetime.date:
    return oldest + datetime.timedelta(days=rng.randrange(days))


class _Seeder:
    def __init__(
        self,
        schools: int,
        per_school: int,
        seed: int,
        progress: Callable[[str], None] | None,
        batch_size: int,
        today: datetime.date,
    ) -> None:
        self.n_schools = schools
        self.per_school = per_school
        self.seed = seed
        self.rng = random.Random(seed)
        self.names = Names(self.rng)
        self.phones = PhoneBook(seed)
        self.progress = progress
        self.batch = batch_size
        self.today = today
        self.year_start, self.year_end = school_year_bounds(today)
        self.counts: dict[str, int] = {}
        self.demo: dict[str, Any] = {}
        self.students_total = 0
        self.middle_no = 0
        self.primary_no = 0

    def add(self, key: str, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def bulk(self, model: Any, objs: list[Any]) -> list[Any]:
        model.objects.bulk_create(objs, batch_size=self.batch)
        self.add(model._meta.model_name, len(objs))
        return objs

    # --- people -------------------------------------------------------------------------------------
    def person(self, gender: str, family: str | None, birth: datetime.date | None, phone: str = "") -> Person:
        return Person(
            district_id=self.district.pk,
            family_name=family or self.names.family(),
            given_name=self.names.given(gender),
            gender=gender,
            birth_date=birth,
            phone=phone,
        )

    def adult(self, gender: str, family: str | None = None, min_age: int = 30, max_age: int = 48) -> Person:
        oldest = datetime.date(self.today.year - max_age, 1, 1)
        birth = _birth(self.rng, oldest, (max_age - min_age) * 365)
        return self.person(gender, family, birth, self.phones.next())

    # --- the run ------------------------------------------------------------------------------------
    def run(self) -> SeedResult:
        started = time.perf_counter()
        code = f"SEED{self.seed}"
        if District.objects.filter(code=code).exists():
            raise DistrictExists(f"district {code} already exists (use --flush to start again)")
        User = get_user_model()
        taken = sorted(User.objects.filter(username__in=DEMO_USERNAMES).values_list("username", flat=True))
        if taken:
            raise DistrictExists(f"demo users already exist: {', '.join(taken)} (use --flush to start again)")
        with transaction.atomic():
            self.district = District.objects.create(name=DISTRICT_NAME, code=code)
            self.add("district", 1)
            self._demo_family()
        for index in range(self.n_schools):
            t0 = time.perf_counter()
            with transaction.atomic():
                self._school(index)
            if self.progress:
                self.progress(
                    f"school {index + 1}/{self.n_schools} · {self.students_total:,} students · "
                    f"{time.perf_counter() - t0:.1f} s"
                )
        with transaction.atomic():
            logins = self._demo_accounts()
            seconds = time.perf_counter() - started
            audit_log.record(
                None,
                "seed.district",
                self.district,
                after={
                    "seed": self.seed,
                    "schools": self.n_schools,
                    "students_per_school": self.per_school,
                    "counts": self.counts,
                    "seconds": round(seconds, 2),
                },
            )
        return SeedResult(self.district, self.n_schools, self.students_total, seconds, self.counts, logins)

    def _demo_family(self) -> None:
        """The demo guardian's household: mother (the demo account) and father, three children."""
        mother = self.person("F", "林", datetime.date(self.year_start.year - 38, 5, 12), DEMO_ACCOUNTS[5][3])
        mother.given_name = "秀英"
        father = self.person("M", "陈", datetime.date(self.year_start.year - 40, 3, 2), self.phones.next())
        father.given_name = "建国"
        self.bulk(Person, [mother, father])
        guardians = self.bulk(
            Guardian, [Guardian(district_id=self.district.pk, person_id=p.pk) for p in (mother, father)]
        )
        self.demo["family_name"] = "陈"
        self.demo["guardians"] = [(guardians[0], "mother", True), (guardians[1], "father", False)]
        self.demo["guardian_person"] = mother

    def _school(self, index: int) -> None:
        rng = self.rng
        d = self.district.pk
        primary = index % 3 == 2
        if primary:
            self.primary_no += 1
            name, code = f"示范区第{cn_number(self.primary_no)}小学", f"P{self.primary_no:03d}"
            grades_list, subject_defs = PRIMARY_GRADES, PRIMARY_SUBJECTS
        else:
            self.middle_no += 1
            name, code = f"示范区第{cn_number(self.middle_no)}中学", f"M{self.middle_no:03d}"
            grades_list, subject_defs = MIDDLE_GRADES, MIDDLE_SUBJECTS
        address = f"{STREETS[rng.randrange(len(STREETS))]}{rng.randint(1, 300)}号"
        school = School.objects.create(district_id=d, name=name, code=code, address=address)
        self.add("school", 1)
        s = school.pk
        label = f"{self.year_start.year}-{self.year_end.year}学年"
        year = self.bulk(
            SchoolYear,
            [
                SchoolYear(
                    district_id=d, school_id=s, name=label, start_date=self.year_start, end_date=self.year_end
                )
            ],
        )[0]
        split = datetime.date(self.year_start.year + 1, 2, 1)
        terms = self.bulk(
            Term,
            [
                Term(district_id=d, school_id=s, year_id=year.pk, name="第一学期", start_date=self.year_start,
                     end_date=split - datetime.timedelta(days=1)),
                Term(district_id=d, school_id=s, year_id=year.pk, name="第二学期", start_date=split,
                     end_date=self.year_end),
            ],
        )  # fmt: skip
        term = next((t for t in terms if t.start_date <= self.today <= t.end_date), terms[0])
        grades = self.bulk(
            GradeLevel,
            [GradeLevel(district_id=d, school_id=s, name=GRADE_NAMES[g], order=g) for g in grades_list],
        )
        subjects = self.bulk(
            Subject, [Subject(district_id=d, school_id=s, name=sn, code=sc) for sc, sn, _, _ in subject_defs]
        )
        subject_by_code = {sub.code: sub for sub in subjects}

        # Classes: sizes first, then spread over the grades (lower grades take the remainder).
        sizes = class_sizes(self.per_school, rng)
        per_grade = [
            len(sizes) // len(grades) + (1 if i < len(sizes) % len(grades) else 0) for i in range(len(grades))
        ]
        plan: list[tuple[GradeLevel, int, int]] = []  # (grade, number in grade, size)
        it = iter(sizes)
        for grade, n in zip(grades, per_grade, strict=True):
            plan.extend((grade, k + 1, next(it)) for k in range(n))

        rooms = [
            Room(district_id=d, school_id=s, name=f"{grade.order}{k:02d}", building=f"{grade.name}教学楼",
                 capacity=55, kind=Room.Kind.CLASSROOM)
            for grade, k, _ in plan
        ]  # fmt: skip
        for rname, kind, cap in (
            ("科学实验室" if primary else "物理实验室", Room.Kind.LAB, 50),
            ("计算机教室", Room.Kind.LAB, 50),
            ("体育馆", Room.Kind.GYM, 300),
            ("报告厅", Room.Kind.HALL, 400),
        ):
            rooms.append(
                Room(district_id=d, school_id=s, name=rname, building="综合楼", capacity=cap, kind=kind)
            )
        if not primary:
            for rname in ("化学实验室", "生物实验室"):
                rooms.append(
                    Room(
                        district_id=d,
                        school_id=s,
                        name=rname,
                        building="综合楼",
                        capacity=50,
                        kind=Room.Kind.LAB,
                    )
                )
        self.bulk(Room, rooms)

        # Teachers: each subject's classes cut into chunks of the subject's load, one teacher per chunk.
        staff_people: list[Person] = []
        staff_rows: list[tuple[str, str]] = []  # (staff number, title)
        teaching: list[tuple[int, int, str]] = []  # (teacher index, plan index, subject code)
        for sc, sn, load, only in subject_defs:
            idx = [i for i, (g, _, _) in enumerate(plan) if only is None or g.order in only]
            groups: list[list[int]] = []
            if load <= 3:
                # within a grade; the classes left over in small grades are shared with the next grade
                leftover: list[int] = []
                for _g, members in itertools.groupby(idx, key=lambda i: plan[i][0].order):
                    ms = list(members)
                    full = len(ms) - len(ms) % load
                    groups.extend(ms[j : j + load] for j in range(0, full, load))
                    leftover.extend(ms[full:])
                groups.extend(leftover[j : j + load] for j in range(0, len(leftover), load))
            else:
                groups = [idx[j : j + load] for j in range(0, len(idx), load)]
            for group in groups:
                t = len(staff_people)
                gender = "F" if rng.random() < 0.65 else "M"
                staff_people.append(self.adult(gender, min_age=24, max_age=58))
                staff_rows.append((f"T{t + 1:04d}", f"{sn}教师"))
                teaching.extend((t, i, sc) for i in group)
        # Head teachers: one of the class's Chinese/maths/English teachers, each heading at most one class.
        by_class: dict[int, list[tuple[int, str]]] = {}
        for t, i, sc in teaching:
            by_class.setdefault(i, []).append((t, sc))
        heads: list[int] = []
        used: set[int] = set()
        for i in range(len(plan)):
            mine = by_class.get(i, [])
            core = [t for t, sc in mine if sc in CORE_SUBJECTS]
            rng.shuffle(core)
            others = [t for t, _ in mine if t not in core]
            pick = next((t for t in core + others if t not in used), core[0] if core else mine[0][0])
            used.add(pick)
            heads.append(pick)
        n_teachers = len(staff_people)
        staff_people.append(self.adult("F" if rng.random() < 0.5 else "M", min_age=35, max_age=55))
        staff_rows.append((f"A{1:03d}", "教务主任"))
        staff_people.append(self.adult("M" if rng.random() < 0.6 else "F", min_age=42, max_age=58))
        staff_rows.append((f"A{2:03d}", "校长"))
        self.bulk(Person, staff_people)
        staff = self.bulk(
            Staff,
            [
                Staff(district_id=d, school_id=s, person_id=p.pk, staff_number=num, title=title)
                for p, (num, title) in zip(staff_people, staff_rows, strict=True)
            ],
        )
        classes = self.bulk(
            Class,
            [
                Class(district_id=d, school_id=s, year_id=year.pk, grade_id=grade.pk, name=f"{grade.name}{k}班",
                      head_teacher_id=staff[heads[i]].pk, room_id=rooms[i].pk)
                for i, (grade, k, _) in enumerate(plan)
            ],
        )  # fmt: skip
        self.bulk(
            TeachingAssignment,
            [
                TeachingAssignment(district_id=d, school_id=s, teacher_id=staff[t].pk, klass_id=classes[i].pk,
                                   subject_id=subject_by_code[sc].pk, term_id=term.pk)
                for t, i, sc in teaching
            ],
        )  # fmt: skip

        # Students, class by class.
        student_people: list[Person] = []
        student_rows: list[dict[str, Any]] = []
        first_grade = grades_list[0]
        for i, (grade, _, size) in enumerate(plan):
            age = grade.order + 6
            oldest = datetime.date(self.year_start.year - age, 9, 1)
            joined = datetime.date(self.year_start.year - (grade.order - first_grade), 9, 1)
            for _ in range(size):
                gender = "M" if rng.random() < 0.51 else "F"
                birth = _birth(rng, oldest, 365)
                student_people.append(self.person(gender, None, birth))
                seq = rng.randrange(500) * 2 + (1 if gender == "M" else 0)
                n = len(student_rows) + 1
                student_rows.append(
                    {
                        "class": i,
                        "student_number": f"{code}{n:05d}",
                        "national_student_id": f"G{rng.randrange(10**17, 10**18)}",
                        "national_id": national_id(REGIONS[rng.randrange(len(REGIONS))], birth, seq),
                        "health_notes": HEALTH_NOTES[rng.randrange(len(HEALTH_NOTES))]
                        if rng.random() < 0.04
                        else "",
                        "enrolled_on": joined,
                    }
                )

        # Families: ~10% of children come as sibling pairs sharing guardians (and a family name).
        order = list(range(len(student_rows)))
        rng.shuffle(order)
        families: list[list[int]] = []
        demo_children: list[int] = []
        if index == 0 and order:
            # the demo household: a child in the first class (the demo head teacher's), one in the last
            demo_children = [0, len(order) - 1]
            if self.n_schools == 1:
                demo_children.append(len(order) // 2)
        elif index == 1 and order:
            demo_children = [0]  # and one in the second school
        demo_children = sorted(set(demo_children))
        order = [i for i in order if i not in demo_children]
        pairs = round(len(order) * SIBLING_SHARE / 2)
        families.extend(order[2 * j : 2 * j + 2] for j in range(pairs))
        families.extend([i] for i in order[2 * pairs :])
        for fam in families:
            for other in fam[1:]:
                student_people[other].family_name = student_people[fam[0]].family_name
        for i in demo_children:
            student_people[i].family_name = self.demo["family_name"]

        guardian_people: list[Person] = []
        links: list[tuple[int, int, str, bool, bool, bool, bool]] = []  # (guardian idx, child, rel, flags...)
        for fam in families:
            family_name = student_people[fam[0]].family_name
            r = rng.random()
            if r < 0.70:
                household = [("mother", "F", None, 30, 48), ("father", "M", family_name, 31, 50)]
            elif r < 0.80:
                household = [("father", "M", family_name, 31, 50), ("mother", "F", None, 30, 48)]
            elif r < 0.88:
                household = [("mother", "F", None, 30, 48), ("grandmother", "F", None, 58, 75)]
            elif r < 0.94:
                household = [("mother", "F", None, 30, 48)]
            elif r < 0.97:
                household = [("father", "M", family_name, 31, 50)]
            else:
                household = [("grandfather", "M", family_name, 58, 75)]
            for k, (rel, gender, fam_name, lo, hi) in enumerate(household):
                g = len(guardian_people)
                guardian_people.append(self.adult(gender, fam_name, lo, hi))
                records = rng.random() >= 0.03
                pickup = rng.random() >= 0.02
                notices = k == 0 or rng.random() >= 0.10
                links.extend((g, child, rel, k == 0, pickup, records, notices) for child in fam)

        people = self.bulk(Person, student_people + guardian_people)
        guardian_people = people[len(student_people) :]
        students = self.bulk(
            Student,
            [
                Student(district_id=d, school_id=s, person_id=p.pk, student_number=row["student_number"],
                        national_student_id=row["national_student_id"], national_id=row["national_id"],
                        health_notes=row["health_notes"], status=Student.Status.ENROLLED,
                        enrolled_on=row["enrolled_on"], current_class_id=classes[row["class"]].pk)
                for p, row in zip(student_people, student_rows, strict=True)
            ],
        )  # fmt: skip
        self.bulk(
            Enrollment,
            [
                Enrollment(district_id=d, school_id=s, student_id=st.pk, klass_id=st.current_class_id,
                           start_date=self.year_start)
                for st in students
            ],
        )  # fmt: skip
        guardians = self.bulk(Guardian, [Guardian(district_id=d, person_id=p.pk) for p in guardian_people])
        rows = [
            Guardianship(district_id=d, school_id=s, guardian_id=guardians[g].pk, student_id=students[c].pk,
                         relationship=rel, is_primary=primary_, may_pickup=pickup, may_see_records=records,
                         receives_notices=notices)
            for g, c, rel, primary_, pickup, records, notices in links
        ]  # fmt: skip
        for c in demo_children:
            for guardian, rel, is_primary in self.demo["guardians"]:
                rows.append(
                    Guardianship(district_id=d, school_id=s, guardian_id=guardian.pk, student_id=students[c].pk,
                                 relationship=rel, is_primary=is_primary)
                )  # fmt: skip
            self.demo.setdefault("children", []).append(students[c])
        self.bulk(Guardianship, rows)
        self.students_total += len(students)

        if index == 0:
            admin_staff, principal_staff = staff[n_teachers], staff[n_teachers + 1]
            loads: dict[int, int] = {}
            for t, _, _ in teaching:
                loads[t] = loads.get(t, 0) + 1
            not_heads = [t for t in range(n_teachers) if t not in used] or list(range(n_teachers))
            best = (
                max(not_heads, key=lambda t: (loads.get(t, 0) == 6, loads.get(t, 0), -t))
                if not_heads
                else None
            )
            self.demo.update(
                school=school,
                admin=admin_staff,
                principal=principal_staff,
                head=staff[heads[0]] if heads else None,
                head_class=classes[0] if classes else None,
                teacher=staff[best] if best is not None else None,
                teacher_classes=loads.get(best, 0) if best is not None else 0,
                teacher_subject=next((sc for t, _, sc in teaching if t == best), ""),
                student=students[0] if students else None,
                subject_names={sub.code: sub.name for sub in subjects},
            )

    def _demo_accounts(self) -> list[DemoLogin]:
        User = get_user_model()
        encoded = make_password(DEMO_PASSWORD)  # hashed once, shared by every demo account
        demo = self.demo
        people: dict[str, Person | None] = {
            "district_officer": None,
            "school_admin": demo.get("admin") and demo["admin"].person,
            "principal": demo.get("principal") and demo["principal"].person,
            "head_teacher": demo.get("head") and demo["head"].person,
            "teacher": demo.get("teacher") and demo["teacher"].person,
            "guardian": demo["guardian_person"],
            "student": demo.get("student") and demo["student"].person,
        }
        officer = self.person("F", "周", datetime.date(self.today.year - 45, 6, 1), DEMO_ACCOUNTS[0][3])
        officer.given_name = "敏"
        self.bulk(Person, [officer])
        people["district_officer"] = officer
        users = {}
        for key, _label, username, phone in DEMO_ACCOUNTS:
            if people.get(key) is None:
                continue
            users[key] = User(username=username, phone=phone or None, password=encoded)
        User.objects.bulk_create(users.values())
        self.add("user", len(users))
        for key, user in users.items():
            person = people[key]
            assert person is not None
            fields: dict[str, Any] = {"user_id": user.pk}
            phone = dict((k, p) for k, _, _, p in DEMO_ACCOUNTS)[key]
            if phone:
                fields["phone"] = phone
            Person.objects.filter(pk=person.pk).update(**fields)
        d = self.district
        grants = [RoleGrant(user=users["district_officer"], role=RoleGrant.Role.DISTRICT_OFFICER, district=d)]
        if "school_admin" in users:
            grants.append(RoleGrant(user=users["school_admin"], role=RoleGrant.Role.SCHOOL_ADMIN, district=d,
                                    school=demo["school"]))  # fmt: skip
        if "principal" in users:
            grants.append(RoleGrant(user=users["principal"], role=RoleGrant.Role.PRINCIPAL, district=d,
                                    school=demo["school"]))  # fmt: skip
        self.bulk(RoleGrant, grants)
        return describe_logins(d)


def describe_logins(district: District | None = None) -> list[DemoLogin]:
    """The demo accounts present in the database, with what each can see."""
    User = get_user_model()
    by_name = {u.username: u for u in User.objects.filter(username__in=DEMO_USERNAMES)}
    out: list[DemoLogin] = []
    today = timezone.localdate()
    for key, label, username, phone in DEMO_ACCOUNTS:
        user = by_name.get(username)
        if user is None:
            continue
        detail, note = "", ""
        if key in ("school_admin", "principal"):
            grant = RoleGrant.objects.filter(user=user).select_related("school").first()
            detail = grant.school.name if grant and grant.school else ""
            note = TWO_FACTOR_NOTE
        elif key == "district_officer":
            grant = RoleGrant.objects.filter(user=user).select_related("district").first()
            detail = grant.district.name if grant else ""
        elif key == "head_teacher":
            klass = Class.objects.filter(head_teacher__person__user=user).select_related("school").first()
            detail = f"{klass.school.name} {klass.name}" if klass else ""
        elif key == "teacher":
            tas = TeachingAssignment.objects.filter(
                teacher__person__user=user, term__start_date__lte=today, term__end_date__gte=today
            ).select_related("subject")
            subjects = sorted({ta.subject.name for ta in tas})
            detail = f"{len({ta.klass_id for ta in tas})} classes · {'、'.join(subjects)}"
        elif key == "guardian":
            kids = Guardianship.objects.filter(guardian__person__user=user).select_related("student__school")
            detail = f"{kids.count()} children · {len({g.student.school_id for g in kids})} schools"
        elif key == "student":
            st = Student.objects.filter(person__user=user).select_related("current_class", "school").first()
            detail = f"{st.school.name} {st.current_class.name}" if st and st.current_class else ""
        out.append(DemoLogin(label, username, phone, DEMO_PASSWORD, detail, note))
    return out


def format_logins(logins: list[DemoLogin]) -> str:
    if not logins:
        return "No demo accounts in this database."
    lines = [
        f"Demo logins (password for every account: {DEMO_PASSWORD}; sign in with the username or the phone):"
    ]
    for login in logins:
        who = login.username + (f" / {login.phone}" if login.phone else "")
        line = f"  {login.role:<17} {who:<30} {login.detail}"
        lines.append(line.rstrip())
        if login.note:
            lines.append(f"  {'':<17} ↳ {login.note}")
    return "\n".join(lines)


def seed_district(
    schools: int,
    students_per_school: int,
    seed: int,
    *,
    progress: Callable[[str], None] | None = None,
    batch_size: int = BATCH_SIZE,
    today: datetime.date | None = None,
) -> SeedResult:
    """Build a district of `schools` schools with `students_per_school` students each. Deterministic in seed."""
    if schools < 1 or students_per_school < 0:
        raise ValueError("need at least one school and a non-negative number of students")
    seeder = _Seeder(schools, students_per_school, seed, progress, batch_size, today or timezone.localdate())
    return seeder.run()


def district_digest(district: District) -> str:
    """A SHA-256 over the district's data without database keys: equal digests mean identical data."""
    h = hashlib.sha256()

    def feed(rows: Any) -> None:
        for row in rows:
            h.update(repr(tuple(row)).encode())
        h.update(b"|")

    d = district
    feed(School.objects.filter(district=d).order_by("code").values_list("code", "name", "address"))
    feed(
        Class.objects.filter(district=d)
        .order_by("school__code", "name")
        .values_list("school__code", "name", "grade__name", "head_teacher__staff_number", "room__name")
    )
    feed(
        Staff.objects.filter(district=d)
        .order_by("school__code", "staff_number")
        .values_list("school__code", "staff_number", "title", "person__family_name", "person__given_name",
                     "person__gender", "person__birth_date", "person__phone")
    )  # fmt: skip
    feed(
        TeachingAssignment.objects.filter(district=d)
        .order_by("school__code", "teacher__staff_number", "klass__name", "subject__code")
        .values_list("school__code", "teacher__staff_number", "klass__name", "subject__code", "term__name")
    )
    feed(
        (s.school.code, s.student_number, s.national_student_id, s.national_id, s.health_notes, s.status,
         s.enrolled_on, s.current_class.name if s.current_class else None, s.person.family_name,
         s.person.given_name, s.person.gender, s.person.birth_date)
        for s in Student.objects.filter(district=d).select_related("school", "person", "current_class")
        .order_by("student_number")
    )  # fmt: skip
    feed(
        Guardianship.objects.filter(district=d)
        .order_by("student__student_number", "guardian__person__phone")
        .values_list("student__student_number", "guardian__person__phone", "guardian__person__family_name",
                     "guardian__person__given_name", "relationship", "is_primary", "may_pickup",
                     "may_see_records", "receives_notices")
    )  # fmt: skip
    feed(
        Enrollment.objects.filter(district=d)
        .order_by("student__student_number")
        .values_list("student__student_number", "klass__name", "start_date", "end_date")
    )
    return h.hexdigest()
