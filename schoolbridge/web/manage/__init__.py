"""Management pages for school and district administrators: the school tree, people, guardians, roles."""
