"""Tests of triage/bundle and triage/addenda: sealing, verify, addenda."""
