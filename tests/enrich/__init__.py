"""Tests of triage/enrich: the passes over the stored records."""
