"""Tests of triage/model: records and time encodings."""
