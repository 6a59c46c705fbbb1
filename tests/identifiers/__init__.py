"""Tests of triage/identifiers: phone numbers, payment identifiers, amounts."""
