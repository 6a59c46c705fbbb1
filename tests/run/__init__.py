"""Tests of triage/run: whole runs, faults, triage parse and the scope."""
