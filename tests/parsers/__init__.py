"""Tests of parsers/: each app family's parsers on real fixtures."""
