"""Tests of the circles engine: recurrence, the schedule text forms, facilitator rotation."""
