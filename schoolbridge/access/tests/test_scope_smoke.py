from schoolbridge.access.scope import get_scope


def test_teacher_parent_holds_both_grants_without_bleed(world):
    scope = get_scope(world.user("teacher_parent"))
    assert scope.roles == {"subject_teacher", "guardian"}
    students = set(scope.queryset("student.view").values_list("id", flat=True))
    expected = {s.id for s in world.a.students["g7c2"]} | {world.b.students["g7c1"][2].id}
    assert students == expected
    # Guardian contacts: neither grant gives them.
    assert not scope.queryset("guardian.contact").exists()
