"""Alembic script folder of the lab database (triage/lab/migrate.py); env.py is run by Alembic, never imported."""
