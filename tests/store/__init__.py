"""Tests of triage/store: the case store."""
