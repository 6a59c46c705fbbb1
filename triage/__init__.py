"""mobile-triage: forensic triage of seized phones."""

__version__ = "0.1.0"
TOOL_NAME = "mobile-triage"
