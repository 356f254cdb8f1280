"""The OneRoster 1.2 CSV binding: file names, headers, enumerations, formats. Pure Python, no Django.

Reading is streaming: `iter_rows` wraps the csv module around one zip member, yielding one row at a
time, so a file of millions of rows never sits in memory. Every problem is a `CsvError` that names
the file, the line, the column and the value.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

MANIFEST_VERSION = "1.0"
ONEROSTER_VERSION = "1.2"

COMMON = ["sourcedId", "status", "dateLastModified"]

HEADERS: dict[str, list[str]] = {
    "academicSessions": COMMON + ["title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"],
    "orgs": COMMON + ["name", "type", "identifier", "parentSourcedId"],
    "courses": COMMON
    + ["schoolYearSourcedId", "title", "courseCode", "grades", "orgSourcedId", "subjects", "subjectCodes"],
    "classes": COMMON
    + [
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "location",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "periods",
    ],
    "users": COMMON
    + [
        "enabledUser",
        "username",
        "userIds",
        "givenName",
        "familyName",
        "middleName",
        "identifier",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "grades",
        "password",
        "userMasterIdentifier",
        "resourceSourcedIds",
        "preferredGivenName",
        "preferredMiddleName",
        "preferredFamilyName",
        "primaryOrgSourcedId",
        "pronouns",
    ],
    "roles": COMMON
    + ["userSourcedId", "roleType", "role", "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId"],
    "userProfiles": COMMON
    + [
        "userSourcedId",
        "profileType",
        "vendorId",
        "applicationId",
        "description",
        "credentialType",
        "username",
        "password",
    ],
    "enrollments": COMMON
    + ["classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate", "endDate"],
    "demographics": COMMON
    + [
        "birthDate",
        "sex",
        "americanIndianOrAlaskaNative",
        "asian",
        "blackOrAfricanAmerican",
        "nativeHawaiianOrOtherPacificIslander",
        "white",
        "demographicRaceTwoOrMoreRaces",
        "hispanicOrLatinoEthnicity",
        "countryOfBirthCode",
        "stateOfBirthAbbreviation",
        "cityOfBirth",
        "publicSchoolResidenceStatus",
    ],
    "categories": COMMON + ["title", "weight"],
    "lineItems": COMMON
    + [
        "title",
        "description",
        "assignDate",
        "dueDate",
        "classSourcedId",
        "categorySourcedId",
        "gradingPeriodSourcedId",
        "resultValueMin",
        "resultValueMax",
        "schoolSourcedId",
    ],
    "results": COMMON
    + ["lineItemSourcedId", "studentSourcedId", "scoreStatus", "score", "scoreDate", "comment"],
}

# Files of the spec that we neither write nor read (nothing of ours maps onto them); their headers are
# kept so that the REST binding knows their fields and a test pins them.
NOT_EXCHANGED: dict[str, list[str]] = {
    "scoreScales": COMMON
    + ["title", "orgSourcedId", "type", "courseSourcedId", "classSourcedId", "scoreScaleValue"],
}
ALL_HEADERS = HEADERS | NOT_EXCHANGED

# Every file the manifest names (file.<name>), including those we neither read nor write.
MANIFEST_FILES = [
    "academicSessions",
    "categories",
    "classResources",
    "classes",
    "courseResources",
    "courses",
    "demographics",
    "enrollments",
    "lineItemLearningObjectiveIds",
    "lineItems",
    "lineItemScoreScales",
    "orgs",
    "resources",
    "resultLearningObjectiveIds",
    "results",
    "resultScoreScales",
    "roles",
    "scoreScales",
    "userProfiles",
    "userResources",
    "users",
]

REQUIRED: dict[str, set[str]] = {
    "academicSessions": {"title", "type", "startDate", "endDate", "schoolYear"},
    "orgs": {"name", "type"},
    "courses": {"title", "orgSourcedId"},
    "classes": {"title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds"},
    "users": {"enabledUser", "givenName", "familyName"},
    "roles": {"userSourcedId", "roleType", "role", "orgSourcedId"},
    "userProfiles": {"userSourcedId", "profileType", "vendorId", "credentialType"},
    "enrollments": {"classSourcedId", "schoolSourcedId", "userSourcedId", "role"},
    "demographics": set(),
    "categories": {"title"},
    "lineItems": {
        "title",
        "assignDate",
        "dueDate",
        "classSourcedId",
        "categorySourcedId",
        "resultValueMin",
        "resultValueMax",
    },
    "results": {"lineItemSourcedId", "studentSourcedId", "scoreStatus"},
    "scoreScales": {"title", "type", "classSourcedId", "scoreScaleValue"},
}

STATUS = ("active", "tobedeleted")
ORG_TYPES = ("department", "district", "local", "national", "school", "state")
SESSION_TYPES = ("gradingPeriod", "schoolYear", "semester", "term")
CLASS_TYPES = ("homeroom", "scheduled")
ROLE_TYPES = ("primary", "secondary")
ROLES = (
    "aide",
    "counselor",
    "districtAdministrator",
    "guardian",
    "parent",
    "principal",
    "proctor",
    "relative",
    "siteAdministrator",
    "student",
    "systemAdministrator",
    "teacher",
)
ENROLLMENT_ROLES = ("administrator", "proctor", "student", "teacher")
SEXES = ("female", "male", "other", "unspecified")
SCORE_STATUSES = ("exempt", "fully graded", "not submitted", "partially graded", "submitted")
BOOLEANS = ("true", "false")
# CEDS grade levels, as the spec uses them.
GRADES = ("IT", "PR", "PK", "TK", "KG") + tuple(f"{n:02d}" for n in range(1, 14)) + ("PS", "UG", "Other")

# Enumerations the spec lets a partner extend with an "ext:" prefix.
# (1EdTech OneRoster 1.2 Rostering OpenAPI: each of these is "anyOf" the enumeration or the pattern
# "(ext:)[a-zA-Z0-9.-_]+" — Org.type, AcademicSession.type, Class.classType, Demographics.sex,
# Enrollment.role and Role.role.)
EXTENSIBLE = {
    "orgs.type",
    "roles.role",
    "enrollments.role",
    "academicSessions.type",
    "classes.classType",
    "demographics.sex",
}

ENUMS: dict[str, tuple[str, ...]] = {
    "orgs.type": ORG_TYPES,
    "academicSessions.type": SESSION_TYPES,
    "classes.classType": CLASS_TYPES,
    "roles.roleType": ROLE_TYPES,
    "roles.role": ROLES,
    "enrollments.role": ENROLLMENT_ROLES,
    "enrollments.primary": BOOLEANS,
    "users.enabledUser": BOOLEANS,
    "demographics.sex": SEXES,
    "results.scoreStatus": SCORE_STATUSES,
}
for _flag in HEADERS["demographics"][5:12]:
    ENUMS[f"demographics.{_flag}"] = BOOLEANS

DATES = {
    "academicSessions": ("startDate", "endDate"),
    "roles": ("beginDate", "endDate"),
    "enrollments": ("beginDate", "endDate"),
    "demographics": ("birthDate",),
    "lineItems": ("assignDate", "dueDate"),
    "results": ("scoreDate",),
}
LISTS = {
    "classes": ("grades", "termSourcedIds", "subjects", "subjectCodes", "periods"),
    "courses": ("grades", "subjects", "subjectCodes"),
    "users": ("agentSourcedIds", "grades", "userIds", "resourceSourcedIds"),
}
GRADE_FIELDS = {("classes", "grades"), ("courses", "grades"), ("users", "grades")}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
YEAR_RE = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class CsvError:
    file: str
    line: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}.csv line {self.line}"
        if self.column:
            where += f", column {self.column}"
        value = f" “{self.value}”" if self.value else ""
        return f"{where}:{value} {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": f"{self.file}.csv",
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


class OneRosterFileError(Exception):
    """The files are not valid OneRoster 1.2 CSV (or do not fit our model). Nothing was written."""

    def __init__(self, errors: list[CsvError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors[:20]))


class Collector:
    """Collects located errors; raises once too many pile up (a broken file stops early)."""

    def __init__(self, limit: int = 100) -> None:
        self.errors: list[CsvError] = []
        self.limit = limit

    def add(self, file: str, line: int, column: str, value: str, message: str) -> None:
        self.errors.append(CsvError(file, line, column, value, message))
        if len(self.errors) >= self.limit:
            raise OneRosterFileError(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise OneRosterFileError(self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


@functools.lru_cache(maxsize=4096)
def parse_date(value: str) -> datetime.date:
    if not DATE_RE.match(value):
        raise ValueError("not a date in the form YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a calendar date") from None


@functools.cache
def _plan(file: str) -> tuple[list[str], list[tuple[str, tuple[str, ...], bool]], list[str], tuple[str, ...]]:
    """The columns of a file that need checking: required, enumerated, grade lists, dates."""
    header = HEADERS[file]
    required = [c for c in header if c in REQUIRED.get(file, ())]
    enums = [(c, ENUMS[f"{file}.{c}"], f"{file}.{c}" in EXTENSIBLE) for c in header if f"{file}.{c}" in ENUMS]
    grades = [c for c in header if (file, c) in GRADE_FIELDS]
    return required, enums, grades, DATES.get(file, ())


def check_row(file: str, line: int, row: dict[str, str], errors: Collector) -> bool:
    """Checks one row's required fields, enumerations, dates and lists. True when the row is clean."""
    before = len(errors.errors)
    required, enums, grades, dates = _plan(file)
    if not row.get("sourcedId"):
        errors.add(file, line, "sourcedId", "", "sourcedId is required")
    status = row.get("status", "")
    if status and status not in STATUS:
        errors.add(file, line, "status", status, f"is not one of {', '.join(STATUS)}")
    modified = row.get("dateLastModified", "")
    if modified and not DATETIME_RE.match(modified):
        errors.add(
            file,
            line,
            "dateLastModified",
            modified,
            "is not an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS.sssZ)",
        )
    for column in required:
        if not row[column]:
            errors.add(file, line, column, "", "is required")
    for column, enum, extensible in enums:
        value = row[column]
        if value and value not in enum and not (extensible and value.startswith("ext:")):
            errors.add(file, line, column, value, f"is not one of {', '.join(enum)}")
    for column in grades:
        for grade in split_list(row[column]):
            if grade not in GRADES:
                errors.add(file, line, column, grade, "is not a CEDS grade level (KG, 01–13, …)")
    for column in dates:
        value = row[column]
        if value:
            try:
                parse_date(value)
            except ValueError as exc:
                errors.add(file, line, column, value, str(exc))
    if file == "academicSessions" and row["schoolYear"] and not YEAR_RE.match(row["schoolYear"]):
        errors.add(file, line, "schoolYear", row["schoolYear"], "is not a four-digit year")
    return len(errors.errors) == before


def check_header(file: str, header: list[str], errors: Collector) -> bool:
    expected = HEADERS[file]
    if header and header[0].startswith("\ufeff"):
        header = [header[0][1:], *header[1:]]
    if header == expected:
        return True
    for index, (got, want) in enumerate(zip(header, expected, strict=False)):
        if got != want:
            errors.add(file, 1, f"{index + 1}", got, f"wrong header: expected “{want}” in column {index + 1}")
            return False
    if len(header) < len(expected):
        errors.add(
            file, 1, f"{len(header) + 1}", "", f"wrong header: missing column “{expected[len(header)]}”"
        )
    else:
        errors.add(
            file, 1, f"{len(expected) + 1}", header[len(expected)], "wrong header: unexpected extra column"
        )
    return False


def open_member(archive: zipfile.ZipFile, name: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(archive.open(name), encoding="utf-8-sig", newline="")


def iter_rows(archive: zipfile.ZipFile, file: str, errors: Collector) -> Iterator[tuple[int, list[str]]]:
    """(line number, raw values) of every data row of <file>.csv, after checking the header.

    Rows are checked for their width only; call `check_row` on the dict form where needed. A wrong
    header records an error and yields nothing."""
    member = f"{file}.csv"
    if member not in archive.namelist():
        return
    with open_member(archive, member) as text:
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            errors.add(file, 1, "", "", "the file is empty: the header row is missing")
            return
        if not check_header(file, header, errors):
            return
        width = len(header)
        try:
            for values in reader:
                if not values:
                    continue
                if len(values) != width:
                    errors.add(
                        file, reader.line_num, "", "", f"has {len(values)} fields, the header has {width}"
                    )
                    continue
                yield reader.line_num, values
        except (csv.Error, UnicodeDecodeError) as exc:
            errors.add(file, reader.line_num, "", "", f"is not valid UTF-8 CSV: {exc}")


def read_manifest(archive: zipfile.ZipFile, errors: Collector) -> dict[str, str]:
    """manifest.csv as property → value, checked: versions, file modes, and the named files exist."""
    if "manifest.csv" not in archive.namelist():
        errors.add("manifest", 0, "", "", "manifest.csv is missing from the zip")
        errors.raise_if_any()
    props: dict[str, str] = {}
    with open_member(archive, "manifest.csv") as text:
        reader = csv.reader(text)
        header = next(reader, [])
        if header != ["propertyName", "value"]:
            errors.add("manifest", 1, "1", ",".join(header), "wrong header: expected “propertyName,value”")
            errors.raise_if_any()
        for values in reader:
            if len(values) != 2:
                errors.add("manifest", reader.line_num, "", ",".join(values), "has not exactly two fields")
                continue
            props[values[0]] = values[1]
            line = reader.line_num
            if values[0] == "manifest.version" and values[1] != MANIFEST_VERSION:
                errors.add(
                    "manifest", line, "value", values[1], f"manifest.version must be {MANIFEST_VERSION}"
                )
            if values[0] == "oneroster.version" and values[1] != ONEROSTER_VERSION:
                errors.add(
                    "manifest", line, "value", values[1], f"oneroster.version must be {ONEROSTER_VERSION}"
                )
            if values[0].startswith("file."):
                name = values[0][5:]
                if values[1] not in ("bulk", "delta", "absent"):
                    errors.add("manifest", line, "value", values[1], "is not one of bulk, delta, absent")
                elif values[1] == "delta":
                    errors.add(
                        "manifest", line, "value", values[1], "delta files are not supported; send bulk files"
                    )
                elif values[1] == "bulk" and f"{name}.csv" not in archive.namelist():
                    errors.add(
                        "manifest",
                        line,
                        "value",
                        values[1],
                        f"{name}.csv is marked bulk but is not in the zip",
                    )
    for prop in ("manifest.version", "oneroster.version"):
        if prop not in props:
            errors.add("manifest", 0, "propertyName", prop, "is missing")
    errors.raise_if_any()
    return props


def bulk_files(props: dict[str, str]) -> set[str]:
    return {key[5:] for key, value in props.items() if key.startswith("file.") and value == "bulk"}


def write_csv(rows: list[list[str]], header: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def manifest_bytes(present: set[str], system: str = "SchoolBridge") -> bytes:
    rows = [["manifest.version", MANIFEST_VERSION], ["oneroster.version", ONEROSTER_VERSION]]
    for name in MANIFEST_FILES:
        rows.append([f"file.{name}", "bulk" if name in present else "absent"])
    rows += [["source.systemName", system], ["source.systemCode", ""]]
    return write_csv(rows, ["propertyName", "value"])
