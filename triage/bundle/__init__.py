"""The bundle that leaves the lab: a SHA-256 manifest of every file, an Ed25519 signature over it,
the examiner's public key, and a zip of the whole folder; `triage verify` checks all of it."""
