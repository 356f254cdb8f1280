"""The timetabling engine: FET import/export, the model, the scorer and the CP-SAT solver. No Django here.

- ``model``: ``Instance`` (days, hours, teachers, rooms with building and capacity, the students hierarchy with
  each set's atomic subgroups resolved, activities, typed constraints) and ``Solution`` (activity id →
  ``Placement(day, hour, room)``).
- ``fet``: ``parse_fet`` (a ``.fet`` file → ``Instance``; unsupported constraint types kept in
  ``Instance.unsupported`` and ``import_report()``), ``parse_activities_xml`` (FET's output → ``Solution``).
- ``score``: ``score(instance, solution) -> Report`` — hard violations by type, FET's weighted soft penalty.
  Checked against FET 6.8.5: its five reference runs, and perturbed / constraint-enriched timetables run
  through ``fet-cl`` (tests ``test_engine_fet_oracle.py``).
- ``fet_export``: FET's activities XML, and a ``.fet`` with a timetable permanently locked in.
- ``fet_run``: run ``fet-cl`` (when installed) on a locked timetable and read its verdict and soft conflicts.
- ``solver`` / ``solve_cli``: the CP-SAT solver and its ``schoolbridge timetable solve`` command.

FET behaviours worth knowing when producing timetables (all measured with fet-cl):
- min days between activities: ``min_days - |d1 - d2|`` units per pair; with "consecutive if same day", two
  of them on one day must be adjacent whatever the weight (the scorer counts that as hard).
- preferred time slots count each hour outside; preferred starting times count each activity once;
  min gaps between activities count the missing hours.
- gaps and early beginnings skip break times and 100% not-available times.
- home rooms apply to activities of exactly that one teacher / students set, and yield to any
  activity / subject / activity-tag preferred-room constraint on the activity.
- fet-cl refuses below 100% for the types in ``fet_run.FET_HARD_ONLY`` (gaps, early beginnings, not-available
  times, teacher max days, students min hours daily, resting hours, …).
"""
