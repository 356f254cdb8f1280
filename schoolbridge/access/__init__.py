"""The one place that answers "may this user see or do this?".

Use the `access_*` helpers to fetch one object (missing and forbidden give the same 404) and
`get_scope(user).queryset(capability)` for lists. Nothing else in the project filters school data
by permission on its own.
"""
