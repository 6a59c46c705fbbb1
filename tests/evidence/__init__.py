"""Tests of triage/evidence: containers, volume and file systems, backups."""
