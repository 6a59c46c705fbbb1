"""Schema migrations of the lab database with Alembic (`triage lab migrate --db URL`).

The script folder (triage/lab/migrations) has two branches: `lab`, the job table in schema triage_lab, and
`cases`, the record tables of triage.model.records, applied in each case's schema (triage/lab/schemas.py).
Each schema keeps its own alembic_version table, so a case examined with an older release is brought
up to date on its own, and a new case's tables are made by the migrations, never by create_all.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from triage.lab.jobs import LAB_SCHEMA

SCRIPTS = Path(__file__).parent / "migrations"


def alembic_config(url: str, schema: str, branch: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes.update(url=url, schema=schema, branch=branch)
    return config


def create_schema(url: str, schema: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        engine.dispose()


def upgrade_lab(url: str) -> None:
    """The job table, made or brought up to date."""
    create_schema(url, LAB_SCHEMA)
    command.upgrade(alembic_config(url, LAB_SCHEMA, "lab"), "lab@head")


def upgrade_case(url: str, schema: str) -> None:
    """A case's record tables, made (new schema) or brought up to date."""
    create_schema(url, schema)
    command.upgrade(alembic_config(url, schema, "cases"), "cases@head")


def migrate(url: str) -> list[str]:
    """The lab schema and every case schema the job table names, up to date; returns the case schemas."""
    from triage.lab.jobs import all_jobs
    from triage.lab.schemas import existing_schemas

    upgrade_lab(url)
    engine = create_engine(url, connect_args={"options": f"-csearch_path={LAB_SCHEMA}"})
    try:
        with engine.connect() as c:
            named = [j["case_schema"] for j in all_jobs(c)]
        present = existing_schemas(engine)
    finally:
        engine.dispose()
    schemas = [s for s in named if s in present]
    for schema in schemas:
        upgrade_case(url, schema)
    return schemas
