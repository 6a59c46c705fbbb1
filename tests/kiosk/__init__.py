"""Tests of triage/kiosk: the field officer's kiosk."""
