"""Alembic environment of the lab's PostgreSQL database (triage/lab/migrate.py calls it; no alembic.ini).

Two branches in one script folder: `cases`, the tables of triage.model.records, applied inside each case's own
schema, and `lab`, the job table of the queue (schema triage_lab). The caller gives the URL and the
schema; the tables carry no schema of their own, so they are made in the schema first on the search path.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from triage.lab.jobs import LAB_METADATA
from triage.model.records import Base


def _not_version_table(name: str | None, kind: str, _parent: Any) -> bool:
    """Alembic's own table sits in each schema beside the records: not a table the models describe."""
    return not (kind == "table" and name == "alembic_version")


config = context.config
url: str = config.attributes["url"]
schema: str = config.attributes["schema"]
target = LAB_METADATA if config.attributes.get("branch") == "lab" else Base.metadata

engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
with engine.connect() as connection:
    context.configure(
        connection=connection, target_metadata=target, version_table_schema=schema, include_name=_not_version_table
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
