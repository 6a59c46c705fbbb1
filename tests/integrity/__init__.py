"""Tests of triage/integrity: the custody log and safe outputs."""
