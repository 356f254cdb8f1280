"""Layering: views, API endpoints and consumers never query school data directly.

Reads of students, guardians, staff and people go through the access layer
(`get_scope(user).queryset(capability)`, the `access_*_by_id` helpers) or an app's `queries` module
that does so. A view that writes `Student.objects.filter(...)` bypasses the permission rules, and
this test names the file and line where it happens.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]  # .../schoolbridge

# Models whose rows are school data about people: never read directly from the web/API layer.
FORBIDDEN_MODELS = frozenset({"Student", "Guardian", "Guardianship", "Enrollment", "Person", "Staff"})
MANAGERS = frozenset({"objects", "_default_manager", "_base_manager"})
HINT = (
    "read school data through schoolbridge.access (get_scope(user).queryset(capability), "
    "access_*_by_id) or the app's queries module"
)


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    expression: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.expression} — {HINT}"


def layer_files(root: Path = PACKAGE) -> list[Path]:
    """views.py, views/*.py, api.py, api/*.py and consumers.py anywhere in the package (not tests)."""
    found: set[Path] = set()
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if "tests" in rel.parts or "migrations" in rel.parts:
            continue
        if path.name in ("views.py", "api.py", "consumers.py") or {"views", "api"} & set(rel.parts[:-1]):
            found.add(path)
    return sorted(found)


def _is_models_module(module: str | None, level: int, path: Path) -> bool:
    """Whether an import names the core models module (absolutely, or relatively from inside core)."""
    if module is None:
        return False
    if level == 0:
        return module in ("schoolbridge.core.models", "core.models")
    return module == "models" and "core" in path.parts


def _is_core_package(module: str | None, level: int, path: Path) -> bool:
    """Whether an import names the core package (`from schoolbridge.core import models`, or `from . import
    models` inside core)."""
    if level == 0:
        return module in ("schoolbridge.core", "core")
    return (module is None and "core" in path.parts) or module == "core"


def _aliases(tree: ast.AST, path: Path) -> tuple[dict[str, str], set[str]]:
    """Local names bound to forbidden models, and local names bound to the core models module."""
    models: dict[str, str] = {name: name for name in FORBIDDEN_MODELS}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if _is_models_module(node.module, node.level, path):
                for alias in node.names:
                    if alias.name in FORBIDDEN_MODELS:
                        models[alias.asname or alias.name] = alias.name
            elif _is_core_package(node.module, node.level, path):
                for alias in node.names:
                    if alias.name == "models":
                        modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("schoolbridge.core.models", "core.models"):
                    modules.add(alias.asname or alias.name)
    return models, modules


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _model_of(node: ast.AST, models: dict[str, str], modules: set[str]) -> str | None:
    """The forbidden model an expression denotes, if any."""
    if isinstance(node, ast.Name):
        return models.get(node.id)
    if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_MODELS:
        owner = _dotted(node.value)
        if owner is not None and (owner in modules or owner.endswith("core.models")):
            return node.attr
    if isinstance(node, ast.Call):
        # apps.get_model("core", "Student") / apps.get_model("core.Student")
        func = _dotted(node.func) or ""
        if func.split(".")[-1] == "get_model":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    name = arg.value.split(".")[-1].lower()
                    for model in FORBIDDEN_MODELS:
                        if model.lower() == name:
                            return model
    return None


def scan_source(source: str, path: Path, display: str) -> list[Violation]:
    tree = ast.parse(source, filename=display)
    models, modules = _aliases(tree, path)
    out: list[Violation] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in MANAGERS:
            model = _model_of(node.value, models, modules)
            if model is not None:
                written = ast.get_source_segment(source, node) or f"{model}.{node.attr}"
                out.append(Violation(display, node.lineno, written))
    return sorted(out, key=lambda v: (v.path, v.line))


def scan(root: Path = PACKAGE) -> list[Violation]:
    out: list[Violation] = []
    for path in layer_files(root):
        display = str(path.relative_to(root.parent))
        out.extend(scan_source(path.read_text(encoding="utf-8"), path, display))
    return out


# --- the rule, on the real tree -------------------------------------------------------------------


def test_views_api_and_consumers_read_school_data_only_through_the_access_layer():
    violations = scan()
    if violations:
        lines = "\n".join(str(v) for v in violations)
        pytest.fail(f"direct queries of school data in the web/API layer:\n{lines}", pytrace=False)


def test_the_scan_sees_the_layer_files():
    names = {str(p.relative_to(PACKAGE)) for p in layer_files()}
    # If these move, the scan must still find them (else the test above passes vacuously).
    assert {"web/views.py", "api.py"} <= names, names
    assert all(not n.startswith("access/tests") for n in names)


# --- the scanner itself ---------------------------------------------------------------------------

HERE = PACKAGE / "demo" / "views.py"
INSIDE_CORE = PACKAGE / "core" / "api.py"


@pytest.mark.parametrize(
    "source,expression,line",
    [
        ("from schoolbridge.core.models import Student\nx = Student.objects.all()\n", "Student.objects", 2),
        ("from schoolbridge.core.models import Student as S\n\n\ny = S.objects.get(pk=1)\n", "S.objects", 4),
        (
            "from schoolbridge.core import models as cm\nz = cm.Guardianship.objects.filter()\n",
            "cm.Guardianship.objects",
            2,
        ),
        (
            "import schoolbridge.core.models\nq = schoolbridge.core.models.Person.objects.first()\n",
            "schoolbridge.core.models.Person.objects",
            2,
        ),
        (
            "from schoolbridge.core.models import Staff\nm = Staff._default_manager\n",
            "Staff._default_manager",
            2,
        ),
        (
            "from schoolbridge.core.models import Enrollment\nm = Enrollment._base_manager.all()\n",
            "Enrollment._base_manager",
            2,
        ),
        (
            "from django.apps import apps\nm = apps.get_model('core', 'Guardian').objects\n",
            "apps.get_model('core', 'Guardian').objects",
            2,
        ),
        (
            "from django.apps import apps\nm = apps.get_model('core.student').objects\n",
            "apps.get_model('core.student').objects",
            2,
        ),
        ("def f():\n    return Student.objects.none()\n", "Student.objects", 2),  # however it got here
    ],
)
def test_scanner_flags_direct_queries(source, expression, line):
    (violation,) = scan_source(source, HERE, "schoolbridge/demo/views.py")
    assert (violation.path, violation.line, violation.expression) == (
        "schoolbridge/demo/views.py",
        line,
        expression,
    )
    assert str(violation).startswith(f"schoolbridge/demo/views.py:{line}: {expression} — ")
    assert "schoolbridge.access" in str(violation)


def test_scanner_resolves_relative_imports_inside_core():
    source = "from .models import Guardianship as G\nrows = G.objects.filter(student=s)\n"
    (violation,) = scan_source(source, INSIDE_CORE, "schoolbridge/core/api.py")
    assert violation.line == 2 and violation.expression == "G.objects"


@pytest.mark.parametrize(
    "source",
    [
        "from schoolbridge.notify.models import Notification\nn = Notification.objects.filter(user=u)\n",
        "from schoolbridge.audit.models import SensitiveRead\nr = SensitiveRead.objects.filter(student=s)\n",
        "# Student.objects is forbidden here\ns = 'Student.objects'\n",
        "student = get_student()\nstudent.objects = 1\n",  # an instance attribute, not a model manager
        "from schoolbridge.access.scope import get_scope\nqs = get_scope(u).queryset('student.view')\n",
        "from schoolbridge.core.models import Class, School\nc = Class.objects.all()\n",  # not person data
    ],
)
def test_scanner_leaves_other_reads_alone(source):
    assert scan_source(source, HERE, "schoolbridge/demo/views.py") == []


def test_layer_files_are_found_by_name_and_folder(tmp_path):
    root = tmp_path / "schoolbridge"
    for rel in (
        "a/views.py",
        "b/views/pages.py",
        "c/api.py",
        "d/api/v2/students.py",
        "e/consumers.py",
        "f/queries.py",
        "g/tests/views.py",
        "h/migrations/0001_api.py",
        "i/models.py",
    ):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("from schoolbridge.core.models import Student\nStudent.objects.all()\n")
    found = {str(p.relative_to(root)) for p in layer_files(root)}
    assert found == {"a/views.py", "b/views/pages.py", "c/api.py", "d/api/v2/students.py", "e/consumers.py"}
    messages = [str(v) for v in scan(root)]
    assert messages[0].startswith("schoolbridge/a/views.py:2: Student.objects")
    assert len(messages) == 5
