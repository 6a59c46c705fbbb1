"""Artifact parsers, one folder per app family (whatsapp/, telegram/, sms/, contacts_calls/, media/,
device/, payments/) and the helpers they share at the top (base, registry, sqlite_query, …).

`ALL_PARSERS` is the tuple the pipeline uses: every parser class defined in the package, in the order
of parsers/registry.py. Every module is imported here, so a new parser is one new file; `triage parsers`
lists them and docs/parsers.md is their catalogue (docs/adding_a_parser.md).
"""

from parsers import registry
from parsers.base import ParseContext, Parser, Schema, SqliteParser

registry.import_all()

ALL_PARSERS: tuple[Parser, ...] = registry.parsers()

__all__ = ["ALL_PARSERS", "ParseContext", "Parser", "Schema", "SqliteParser"]
