"""Errors that end a command with a one-line reason (the CLI prints them without a traceback)."""


class TriageError(Exception):
    """A fatal, explained failure: the message says what went wrong and what to do."""


class EvidenceError(TriageError):
    """The evidence cannot be opened or read as the requested container / file system."""
