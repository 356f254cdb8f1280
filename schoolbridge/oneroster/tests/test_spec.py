"""The CSV binding's rules, without a database."""

from __future__ import annotations

from schoolbridge.oneroster import spec


def check(file: str, **values: str) -> list[spec.CsvError]:
    errors = spec.Collector()
    row = dict.fromkeys(spec.HEADERS[file], "") | values
    spec.check_row(file, 2, row, errors)
    return errors.errors


def test_users_header_is_the_1_2_one() -> None:
    assert spec.HEADERS["users"][:4] == ["sourcedId", "status", "dateLastModified", "enabledUser"]
    assert spec.HEADERS["users"][-3:] == ["preferredFamilyName", "primaryOrgSourcedId", "pronouns"]
    assert len(spec.HEADERS["users"]) == 23


def test_required_fields_and_enums() -> None:
    errors = check(
        "enrollments",
        sourcedId="e1",
        classSourcedId="c",
        schoolSourcedId="s",
        userSourcedId="u",
        role="pupil",
    )
    assert [(e.column, e.value) for e in errors] == [("role", "pupil")]
    errors = check("orgs", sourcedId="o1", name="", type="school")
    assert [(e.column, e.message) for e in errors] == [("name", "is required")]


def test_every_score_status_is_accepted() -> None:
    for status in spec.SCORE_STATUSES:
        assert not check(
            "results", sourcedId="r", lineItemSourcedId="l", studentSourcedId="s", scoreStatus=status
        )
    assert check("results", sourcedId="r", lineItemSourcedId="l", studentSourcedId="s", scoreStatus="graded")


def test_dates_grades_and_timestamps() -> None:
    assert check("demographics", sourcedId="d", birthDate="2012-02-30")[0].column == "birthDate"
    assert (
        check(
            "classes",
            sourcedId="c",
            title="t",
            courseSourcedId="x",
            classType="homeroom",
            schoolSourcedId="s",
            termSourcedIds="t",
            grades="07,7",
        )[0].value
        == "7"
    )
    assert not check(
        "orgs", sourcedId="o", name="n", type="school", dateLastModified="2026-01-02T03:04:05.000Z"
    )
    assert (
        check("orgs", sourcedId="o", name="n", type="school", dateLastModified="2026-01-02")[0].column
        == "dateLastModified"
    )


def test_header_errors_are_located() -> None:
    errors = spec.Collector()
    assert not spec.check_header(
        "orgs",
        ["sourcedId", "status", "dateLastModified", "name", "kind", "identifier", "parentSourcedId"],
        errors,
    )
    assert (errors.errors[0].line, errors.errors[0].column, errors.errors[0].value) == (1, "5", "kind")
    errors = spec.Collector()
    assert not spec.check_header("categories", ["sourcedId", "status", "dateLastModified", "title"], errors)
    assert "weight" in errors.errors[0].message
    assert spec.check_header(
        "categories", ["\ufeffsourcedId", "status", "dateLastModified", "title", "weight"], errors
    )


# The header row of every CSV file, pinned as the OneRoster 1.2 CSV Binding lists the columns of each
# file (1EdTech "OneRoster: CSV Binding", version 1.2.1, section 3 "CSV Files": one table per file,
# columns in this order). Cross-checked against published 1.2 implementations for users.csv, classes.csv
# and enrollments.csv. A change to spec.HEADERS must be a change to this table too, with its reason.
CSV_1_2 = {
    "academicSessions": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,"
    "schoolYear",
    "orgs": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    "courses": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,"
    "subjects,subjectCodes",
    "classes": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
    "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
    "users": "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,"
    "identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,"
    "preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns",
    "roles": "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,"
    "userProfileSourcedId",
    "userProfiles": "sourcedId,status,dateLastModified,userSourcedId,profileType,vendorId,applicationId,"
    "description,credentialType,username,password",
    "enrollments": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
    "primary,beginDate,endDate",
    "demographics": "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,"
    "blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,"
    "hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,"
    "publicSchoolResidenceStatus",
    "categories": "sourcedId,status,dateLastModified,title,weight",
    "lineItems": "sourcedId,status,dateLastModified,title,description,assignDate,dueDate,classSourcedId,"
    "categorySourcedId,gradingPeriodSourcedId,resultValueMin,resultValueMax,schoolSourcedId",
    "results": "sourcedId,status,dateLastModified,lineItemSourcedId,studentSourcedId,scoreStatus,score,"
    "scoreDate,comment",
    "scoreScales": "sourcedId,status,dateLastModified,title,orgSourcedId,type,courseSourcedId,classSourcedId,"
    "scoreScaleValue",
}


def test_every_header_row_is_pinned() -> None:
    assert set(spec.ALL_HEADERS) == set(CSV_1_2)
    for name, header in CSV_1_2.items():
        assert ",".join(spec.ALL_HEADERS[name]) == header, name
    # Every file we write or read is one the manifest names.
    assert set(spec.ALL_HEADERS) <= set(spec.MANIFEST_FILES)
    # The files we have nothing for are not written (their manifest entry is "absent").
    assert "scoreScales" not in spec.HEADERS


def test_enumerations_are_the_1_2_ones() -> None:
    # 1EdTech OneRoster 1.2 Rostering OpenAPI (onerosterv1p2rostersservice_openapi3_v1p0.json),
    # components/schemas: OrgDType.type, AcademicSessionDType.type, ClassDType.classType,
    # RoleDType.roleType and .role, EnrollmentDType.role, DemographicsDType.sex; "true"/"false" string
    # enumerations for UserDType.enabledUser, EnrollmentDType.primary and the demographics flags.
    assert set(spec.ORG_TYPES) == {"department", "district", "local", "national", "school", "state"}
    assert set(spec.SESSION_TYPES) == {"gradingPeriod", "semester", "schoolYear", "term"}
    assert set(spec.CLASS_TYPES) == {"homeroom", "scheduled"}
    assert set(spec.ROLE_TYPES) == {"primary", "secondary"}
    assert set(spec.ROLES) == {
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
    }
    assert set(spec.ENROLLMENT_ROLES) == {"administrator", "proctor", "student", "teacher"}
    assert set(spec.SEXES) == {"male", "female", "unspecified", "other"}
    assert set(spec.BOOLEANS) == {"true", "false"}
    assert set(spec.STATUS) == {"active", "tobedeleted"}
    assert {
        "orgs.type",
        "academicSessions.type",
        "classes.classType",
        "demographics.sex",
        "enrollments.role",
        "roles.role",
    } == spec.EXTENSIBLE
    flags = spec.HEADERS["demographics"][5:12]
    assert all(spec.ENUMS[f"demographics.{f}"] == spec.BOOLEANS for f in flags)
    assert spec.ENUMS["users.enabledUser"] == spec.ENUMS["enrollments.primary"] == spec.BOOLEANS


def test_extension_values_are_accepted_only_where_the_spec_allows_them() -> None:
    required = {"title": "t", "courseSourcedId": "c", "schoolSourcedId": "s", "termSourcedIds": "t"}
    assert not check("classes", sourcedId="c", classType="ext:online", **required)
    assert check("classes", sourcedId="c", classType="online", **required)
    assert not check("demographics", sourcedId="d", sex="ext:x")
    assert check(
        "roles", sourcedId="r", userSourcedId="u", roleType="ext:x", role="student", orgSourcedId="o"
    )
