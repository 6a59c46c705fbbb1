"""Tests of triage/lab: the queue and the shared PostgreSQL store."""
