"""OneRoster records (CSV columns) as the REST binding's JSON objects. Pure Python.

References become {"href", "sourcedId", "type"}; comma lists become arrays; booleans and numbers take
their JSON types; dates stay YYYY-MM-DD, and the gradebook's assign/due dates become date-times.
"""

from __future__ import annotations

from typing import Any

from .spec import split_list

# file → column → (json name, referenced type, collection path, is a list)
REFS: dict[str, dict[str, tuple[str, str, str, bool]]] = {
    "orgs": {"parentSourcedId": ("parent", "org", "orgs", False)},
    "academicSessions": {"parentSourcedId": ("parent", "academicSession", "academicSessions", False)},
    "courses": {
        "schoolYearSourcedId": ("schoolYear", "academicSession", "academicSessions", False),
        "orgSourcedId": ("org", "org", "orgs", False),
    },
    "classes": {
        "courseSourcedId": ("course", "course", "courses", False),
        "schoolSourcedId": ("school", "org", "schools", False),
        "termSourcedIds": ("terms", "academicSession", "academicSessions", True),
    },
    "users": {
        "agentSourcedIds": ("agents", "user", "users", True),
        "primaryOrgSourcedId": ("primaryOrg", "org", "orgs", False),
        "resourceSourcedIds": ("resources", "resource", "resources", True),
    },
    "enrollments": {
        "classSourcedId": ("class", "class", "classes", False),
        "schoolSourcedId": ("school", "org", "schools", False),
        "userSourcedId": ("user", "user", "users", False),
    },
    "lineItems": {
        "classSourcedId": ("class", "class", "classes", False),
        "categorySourcedId": ("category", "category", "categories", False),
        "gradingPeriodSourcedId": ("gradingPeriod", "academicSession", "academicSessions", False),
        "schoolSourcedId": ("school", "org", "schools", False),
    },
    "results": {
        "lineItemSourcedId": ("lineItem", "lineItem", "lineItems", False),
        "studentSourcedId": ("student", "user", "users", False),
    },
}
LISTS = {
    "courses": {"grades", "subjects", "subjectCodes"},
    "classes": {"grades", "subjects", "subjectCodes", "periods"},
    "users": {"grades", "userIds"},
}
# Where the REST binding names a CSV column differently (1EdTech OneRoster 1.2 Rostering OpenAPI,
# components/schemas/UserDType: preferredFirstName / preferredLastName; the CSV binding's users.csv
# has preferredGivenName / preferredFamilyName).
RENAMED = {
    ("users", "preferredGivenName"): "preferredFirstName",
    ("users", "preferredFamilyName"): "preferredLastName",
}
# Fields of the REST objects that have no CSV column: always-empty lists we have nothing for, and the
# links to children (orgs: a district's schools; academic sessions: a school year's terms).
EXTRA_LISTS = {
    "orgs": ("children",),
    "academicSessions": ("children",),
    "courses": ("resources",),
    "classes": ("resources",),
    "users": ("userProfiles",),
}
CHILDREN = {"orgs": ("org", "orgs"), "academicSessions": ("academicSession", "academicSessions")}
NUMBERS = {
    ("lineItems", "resultValueMin"),
    ("lineItems", "resultValueMax"),
    ("results", "score"),
    ("categories", "weight"),
}
DATETIMES = {("lineItems", "assignDate"), ("lineItems", "dueDate")}
# Optional dates, left out when empty.
DATES = {"enrollments": ("beginDate", "endDate"), "demographics": ("birthDate",)}
DEMOGRAPHIC_FLAGS = {
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
}

# Envelope names: collection → (singular, plural).
ENVELOPES = {
    "orgs": ("org", "orgs"),
    "schools": ("org", "orgs"),
    "academicSessions": ("academicSession", "academicSessions"),
    "terms": ("academicSession", "academicSessions"),
    "gradingPeriods": ("academicSession", "academicSessions"),
    "courses": ("course", "courses"),
    "classes": ("class", "classes"),
    "users": ("user", "users"),
    "students": ("user", "users"),
    "teachers": ("user", "users"),
    "enrollments": ("enrollment", "enrollments"),
    "demographics": ("demographics", "demographics"),
    "categories": ("category", "categories"),
    "lineItems": ("lineItem", "lineItems"),
    "results": ("result", "results"),
    "scoreScales": ("scoreScale", "scoreScales"),
}


def ref(base: str, path: str, kind: str, sid: str) -> dict[str, str]:
    return {"href": f"{base}/{path}/{sid}", "sourcedId": sid, "type": kind}


def to_json(file: str, record: dict[str, Any], base: str, modified: str) -> dict[str, Any]:
    """One CSV-shaped record as a REST object. Keys starting with "_" carry extras ("_children").

    Field names and types follow the 1.2 REST binding's schemas: "true"/"false" enumerations
    (enabledUser, enrollment primary, the demographics flags) stay strings, empty optional references,
    dates and flags are left out rather than sent as null or ""."""
    out: dict[str, Any] = {"sourcedId": record["sourcedId"], "status": "active", "dateLastModified": modified}
    refs = REFS.get(file, {})
    for column, value in record.items():
        if column in ("sourcedId", "status", "dateLastModified", "roles", "password") or column.startswith(
            "_"
        ):
            continue
        if column in refs:
            name, kind, path, many = refs[column]
            if many:
                out[name] = [ref(base, path, kind, sid) for sid in split_list(value)]
            elif value:
                out[name] = ref(base, path, kind, value)
        elif column in LISTS.get(file, ()):
            out[column] = split_list(value)
        elif (file, column) in NUMBERS:
            out[column] = float(value) if value else None
        elif (file, column) in DATETIMES:
            out[column] = f"{value}T00:00:00.000Z" if value else None
        elif file == "demographics" and column in DEMOGRAPHIC_FLAGS or column in DATES.get(file, ()):
            if value:
                out[column] = value
        else:
            out[RENAMED.get((file, column), column)] = value
    for name in EXTRA_LISTS.get(file, ()):
        out[name] = []
    if file in CHILDREN:
        kind, path = CHILDREN[file]
        out["children"] = [ref(base, path, kind, sid) for sid in record.get("_children", [])]
    if file == "users":
        roles = []
        for r in record.get("roles", []):  # type: ignore[union-attr]
            role = {
                "roleType": r["roleType"],
                "role": r["role"],
                "org": ref(base, "orgs", "org", r["orgSourcedId"]),
            }
            role |= {k: r[k] for k in ("beginDate", "endDate") if r[k]}
            roles.append(role)
        out["roles"] = roles
    return out


def json_fields(file: str) -> set[str]:
    """The field names of a REST object of this file (what filter, sort and fields may name)."""
    from .spec import ALL_HEADERS

    names = {"sourcedId", "status", "dateLastModified", *EXTRA_LISTS.get(file, ())}
    refs = REFS.get(file, {})
    for column in ALL_HEADERS[file]:
        if column in ("sourcedId", "status", "dateLastModified", "password"):
            continue
        names.add(refs[column][0] if column in refs else RENAMED.get((file, column), column))
    if file == "users":
        names.add("roles")
    if file in CHILDREN:
        names.add("children")
    return names
