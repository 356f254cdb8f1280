"""The timetabling engine: FET import/export, the model, the scorer and the CP-SAT solver. No Django here."""
