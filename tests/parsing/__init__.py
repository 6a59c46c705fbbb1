"""Tests of triage/parsing: the parse runner's budgets and the source-row digests."""
