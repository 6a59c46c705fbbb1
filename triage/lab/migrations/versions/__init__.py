"""Revisions: branch `cases` (c…, the record tables of each case schema) and `lab` (l…, the job table)."""
