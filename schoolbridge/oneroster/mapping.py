"""How OneRoster 1.2 maps onto SchoolBridge's models (both directions: CSV and REST).

    OneRoster                         SchoolBridge
    --------------------------------  ------------------------------------------------------------
    org type=district                 District (the one being imported into / exported)
    org type=school                   School (identifier = School.code)
    academicSession type=schoolYear   SchoolYear (one per school; a district-wide session becomes one
                                      SchoolYear in each school whose classes or courses use it)
    academicSession type=term|semester Term (parentSourcedId = its schoolYear)
    academicSession gradingPeriod     not stored (accepted and skipped)
    course used by homeroom classes   GradeLevel (title = name; grades = CEDS code of GradeLevel.order)
    course used by scheduled classes  Subject (title = name, courseCode = code)
    class classType=homeroom          Class (行政班): year from its term, grade from its course
    class classType=scheduled         the subject lessons of one homeroom in one term: the
                                      TeachingAssignment rows with the same (class, subject, term).
                                      We have no per-section rosters: every student of a scheduled
                                      class must be in the same homeroom, otherwise the import says
                                      so on that enrollment's line.
    user                              Person (sourcedId per person, not per role)
    role student (org = school)       Student (identifier = student number, required)
    role teacher / principal /
      siteAdministrator / aide / …    Staff (identifier = staff number; sourcedId when blank)
    role parent / guardian / relative Guardian; agentSourcedIds (either side) = Guardianship.
                                      parent + female/male/unknown = mother/father/other,
                                      relative + female/male/unknown = grandmother/grandfather/relative,
                                      guardian = foster (and back: other and step-parent → parent)
    demographics                      Person.gender and Person.birth_date (sourcedId = the user's)
    enrollment student → homeroom     Enrollment (beginDate/endDate = start/end)
    enrollment teacher → homeroom     Class.head_teacher (班主任)
    enrollment teacher → scheduled    TeachingAssignment
    enrollment student → scheduled    derived from the homeroom Enrollment; its sourcedId is kept
    category                          Assessment.Kind (monthly, midterm, final, quiz)
    lineItem                          one AssessmentSubject as seen by one scheduled class:
                                      description = the assessment's name, title = "name · subject",
                                      assignDate = date, resultValueMax = full marks,
                                      gradingPeriodSourcedId = the term
    result                            Score (fully graded/partially graded/submitted → a value;
                                      exempt → exempt; not submitted → absent). Scores above
                                      resultValueMax (extra credit) are kept as they are.

Every sourcedId is stored in SourcedId (kind, our key). Exports generate a UUID the first time an
object is exported and reuse it ever after; imports keep the file's sourcedIds, so an export →
import → export round trip gives the same files.
"""

from __future__ import annotations

KIND_DISTRICT = "district"
KIND_SCHOOL = "school"
KIND_YEAR = "schoolyear"
KIND_TERM = "term"
KIND_GRADE = "grade"
KIND_SUBJECT = "subject"
KIND_CLASS = "class"
KIND_SECTION = "section"  # key: "<class>:<subject>:<term>"
KIND_PERSON = "person"
KIND_ENROLLMENT = "enrollment"  # key: Enrollment pk
KIND_HEAD = "head"  # key: Class pk (the head teacher's enrollment)
KIND_ASSIGNMENT = "assignment"  # key: TeachingAssignment pk
KIND_SECTION_STUDENT = "secstudent"  # key: "<class>:<subject>:<term>:<student>"
KIND_ROLE = "role"  # key: "student:<pk>", "staff:<pk>", "guardian:<pk>"
KIND_CATEGORY = "category"  # key: Assessment.Kind value
KIND_LINEITEM = "lineitem"  # key: "<assessment subject>:<class>"
KIND_RESULT = "result"  # key: Score pk
KIND_FILE = "file"  # key: CSV file name; row_hash: digest of its bytes at the last import

CATEGORY_TITLES = {
    "monthly": "Monthly exam",
    "midterm": "Midterm exam",
    "final": "Final exam",
    "quiz": "Quiz",
}

STAFF_ROLES = {
    "teacher",
    "principal",
    "siteAdministrator",
    "aide",
    "counselor",
    "proctor",
    "districtAdministrator",
    "systemAdministrator",
}
GUARDIAN_ROLES = {"parent", "guardian", "relative"}


def grade_code(order: int) -> str:
    """GradeLevel.order as a CEDS grade code: 0 = KG, 1–13 = 01–13, anything else Other."""
    if order == 0:
        return "KG"
    if 1 <= order <= 13:
        return f"{order:02d}"
    return "Other"


def grade_order(code: str, fallback: int) -> int:
    if code == "KG":
        return 0
    if code.isdigit():
        return int(code)
    return fallback


def guardian_role(relationship: str) -> str:
    if relationship in ("grandfather", "grandmother", "relative"):
        return "relative"
    if relationship == "foster":
        return "guardian"
    return "parent"


def relationship_of(role: str, gender: str) -> str:
    if role == "parent":
        return {"F": "mother", "M": "father"}.get(gender, "other")
    if role == "relative":
        return {"F": "grandmother", "M": "grandfather"}.get(gender, "relative")
    return "foster"


SEX_OF_GENDER = {"F": "female", "M": "male", "X": "unspecified"}
GENDER_OF_SEX = {"female": "F", "male": "M", "other": "X", "unspecified": "X", "": "X"}

# Score markers ↔ scoreStatus.
STATUS_OF_MARKER = {"none": "fully graded", "absent": "not submitted", "exempt": "exempt"}
MARKER_OF_STATUS = {
    "fully graded": "none",
    "partially graded": "none",
    "submitted": "none",
    "not submitted": "absent",
    "exempt": "exempt",
}
