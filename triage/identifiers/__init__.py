"""Identifiers read from evidence text and records: phone numbers, payment identifiers, money amounts."""
