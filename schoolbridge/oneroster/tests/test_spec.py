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
