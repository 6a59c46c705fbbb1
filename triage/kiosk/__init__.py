"""The kiosk: a guided triage flow for field officers, served on loopback to a full-screen browser (README "Kiosk")."""
