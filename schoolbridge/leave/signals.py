"""Signals other apps listen to (leave imports none of them).

leave_decided: sent after the commit of a final decision (approved or rejected) with keyword arguments
leave (LeaveRequest), outcome ("approve" | "reject") and actor. The timetable proposes substitutes for
approved staff leave through it.
"""

from django.dispatch import Signal

leave_decided = Signal()
