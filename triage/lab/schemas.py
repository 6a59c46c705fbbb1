"""One PostgreSQL schema per examined device, all in one lab database.

Why a schema and not a database per case: the case store is one run's store (triage/store/__init__.py refuses a
used one), and the tables carry no schema of their own, so a case's records go wherever the connection's
search_path points. A schema per device keeps every examination apart exactly as a case.sqlite file does,
while the lab keeps ONE server, ONE database, one URL, one set of roles and one backup: examiners
reviewing a case connect to the same database (read-only roles get USAGE on the case's schema),
Alembic migrates every case in one pass (triage/lab/migrate.py), and a submit never needs the CREATEDB
privilege. A retry drops and recreates its device's schema, which a database per case would need a
second connection to the server for.
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

MAX_IDENTIFIER = 63  # PostgreSQL's limit (NAMEDATALEN - 1)
CASE_PREFIX = "case_"


def case_schema(case: str, exhibit: str) -> str:
    """The schema of a device: legible (case and exhibit, lower-case letters, digits and _) and unique (a
    hash of the exact references, so "EXH-1" and "exh_1" never share one)."""
    digest = hashlib.sha256(f"{case}\0{exhibit}".encode()).hexdigest()[:10]
    legible = f"{_slug(case)[:22]}_{_slug(exhibit)[:22]}"
    return f"{CASE_PREFIX}{legible}_{digest}"[:MAX_IDENTIFIER]


def _slug(text_: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text_.lower()).strip("_") or "x"


def store_url(url: str, schema: str) -> str:
    """The lab database's URL with the case's schema first on the search path: what `triage run --db` and
    the worker give the case store, and what a reviewing examiner opens."""
    options = f"-csearch_path={schema}"
    return make_url(url).update_query_dict({"options": options}).render_as_string(hide_password=False)


def existing_schemas(engine: Engine) -> set[str]:
    with engine.connect() as c:
        return set(c.execute(text("SELECT schema_name FROM information_schema.schemata")).scalars())


def drop_schema(url: str, schema: str) -> None:
    """A half-written case: its tables and rows go, so the retry starts from an empty schema."""
    engine = create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()
