"""The lab's pieces (triage/lab/): PostgreSQL as the case store, migrations, schemas, jobs, submit, status.

Each test module starts its own throwaway PostgreSQL and Redis (triage/lab/services.py) and skips, saying
why, only when their binaries are not installed. The whole cluster (two workers, a SIGKILL) is
tests/lab/test_lab_cluster.py.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, insert, text

from triage.cli import main
from triage.errors import TriageError
from triage.lab.compare import differences, rows_of
from triage.lab.examine import RETRIED_ACTION, STARTED_ACTION, Busy, claim_job, examine_job, lab_engine
from triage.lab.jobs import FINISHED, LAB_METADATA, LAB_SCHEMA, RUNNING, add_job, job, now, set_job
from triage.lab.migrate import upgrade_case, upgrade_lab
from triage.lab.schemas import MAX_IDENTIFIER, case_schema, existing_schemas, store_url
from triage.lab.services import Postgres, Redis, lab_services, missing_services
from triage.model.records import Base, SourceFile
from triage.run.pipeline import RunOptions, run

ROOT = Path(__file__).parents[2]
DEMO_E01 = ROOT / "fixtures" / "demo" / "demo.E01"
SMALL = ROOT / "fixtures" / "android_backup" / "backup.ab"  # a run of a few seconds, with records

needs_services = pytest.mark.skipif(missing_services() is not None, reason=f"lab servers: {missing_services()}")


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Postgres, Redis]]:
    folder = Path(tempfile.mkdtemp(prefix="triage-lab-test-"))
    try:
        with lab_services(folder) as started:
            yield started
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def pg(servers: tuple[Postgres, Redis]) -> str:
    return servers[0].url


def sqlite_run(evidence: Path, out: Path) -> str:
    """The single-machine run of the same evidence (same absolute path: records name it): its store's URL."""
    run(RunOptions(evidence=evidence.resolve(), out=out, case="C", exhibit="E", examiner="Lab Test"))
    return f"sqlite:///{out / 'data' / 'case.sqlite'}"


# -- no server needed ---------------------------------------------------------------------------------


def test_case_schema_is_a_legible_unique_identifier() -> None:
    name = case_schema("OIC/2026/0042", "EXH-1 (iPhone)")
    assert name.startswith("case_oic_2026_0042_exh_1_iphone_")
    assert name.replace("_", "").isalnum() and name == name.lower()
    # references that slug alike still get schemas of their own; long ones stay within PostgreSQL's limit
    assert case_schema("C", "EXH-1") != case_schema("C", "exh_1")
    assert len(case_schema("x" * 200, "y" * 200)) <= MAX_IDENTIFIER


def test_store_url_puts_the_case_schema_first_on_the_search_path() -> None:
    url = store_url("postgresql+psycopg://u:secret@db.lab:5432/triage", "case_a_b_0123456789")
    assert url == "postgresql+psycopg://u:secret@db.lab:5432/triage?options=-csearch_path%3Dcase_a_b_0123456789"


def test_submit_refuses_a_store_that_is_not_postgresql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "submit",
            str(SMALL),
            "--case",
            "C",
            "--exhibit",
            "E",
            "--db",
            f"sqlite:///{tmp_path}/x.sqlite",
            "--out-root",
            str(tmp_path / "bundles"),
        ]
    )
    assert rc == 2
    assert "is not PostgreSQL" in capsys.readouterr().err
    assert not (tmp_path / "x.sqlite").exists() and not (tmp_path / "bundles").exists()


def test_submit_needs_a_database_and_an_output_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRIAGE_DB", raising=False)
    monkeypatch.delenv("TRIAGE_OUT_ROOT", raising=False)
    assert main(["submit", str(SMALL), "--case", "C", "--exhibit", "E", "--out-root", str(tmp_path)]) == 2
    assert "no lab database" in capsys.readouterr().err
    assert main(["submit", str(SMALL), "--case", "C", "--exhibit", "E", "--db", "postgresql://x@h/d"]) == 2
    assert "no output root" in capsys.readouterr().err


def test_the_queue_acknowledges_late_one_device_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies mid-device must leave the message to another: late acknowledgement, a lost worker's
    message rejected back to the queue, no message held beyond the one being worked on."""
    from triage.lab.queue import configure
    from triage.lab.tasks import examine

    monkeypatch.setenv("TRIAGE_LAB_VISIBILITY_TIMEOUT", "60")
    app = configure("redis://queue.lab:6379/3")
    assert app.conf.broker_url == "redis://queue.lab:6379/3"
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert examine.acks_late and examine.reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options == {
        "visibility_timeout": 60,
        "unacked_restore_throttle": 1,
        "unacked_restore_interval": 12,
    }
    assert app.conf.accept_content == ["json"]  # nothing pickled from the broker


def test_status_lines_name_the_worker_and_the_outcome() -> None:
    from triage.lab.status import job_lines

    base = {
        "case_ref": "C1",
        "exhibit": "E1",
        "attempts": 1,
        "case_schema": "case_c1_e1_0",
        "bundle": None,
        "error": None,
        "worker": "lab-w2:4242",
        "heartbeat_utc": now() - timedelta(seconds=30),
    }
    lines = job_lines(
        [
            {**base, "state": RUNNING},
            {**base, "state": FINISHED, "bundle": "/srv/out/case_c1_e1_0/attempt-1.zip"},
            {**base, "state": "failed", "error": "TriageError: not an evidence file"},
        ]
    )
    assert lines[0] == "C1  E1  running on lab-w2:4242 (heartbeat 30 s ago)  attempts: 1  schema: case_c1_e1_0"
    assert lines[1].endswith("finished  attempts: 1  schema: case_c1_e1_0  /srv/out/case_c1_e1_0/attempt-1.zip")
    assert lines[2].endswith("failed  attempts: 1  schema: case_c1_e1_0  TriageError: not an evidence file")


# -- PostgreSQL -----------------------------------------------------------------------------------------


@needs_services
def test_postgresql_store_holds_the_same_records_as_sqlite(pg: str, tmp_path: Path, unchanged) -> None:  # noqa: ANN001
    """`triage run --db` into a PostgreSQL schema gives the SQLite default's records row for row, ids
    included; only the custody entries' run details (times, hashes, host, paths, store URL) differ."""
    unchanged(DEMO_E01)
    expected = rows_of(sqlite_run(DEMO_E01, tmp_path / "sqlite"))
    schema = case_schema("PG-TEST", "DEMO")
    upgrade_case(pg, schema)
    assert (
        main(
            [
                "run",
                str(DEMO_E01.resolve()),
                "--out",
                str(tmp_path / "pg"),
                "--quiet",
                "--case",
                "C",
                "--exhibit",
                "E",
                "--examiner",
                "Lab Test",
                "--db",
                store_url(pg, schema),
            ]
        )
        == 0
    )
    got = rows_of(store_url(pg, schema))
    assert differences(expected, got) == []
    # the people pages: a party's references counted and sliced by PostgreSQL as SQLite does it
    people = [
        (tmp_path / run / "data" / "pages" / "people-1.html").read_text(encoding="utf-8") for run in ("sqlite", "pg")
    ]
    assert people[0] == people[1] and "(counterpart)" in people[0]
    assert len(got["message"]) == 36 and len(got["finding"]) > 0 and len(got["custody_event"]) > 10
    # the records are in the case's schema, nowhere else
    with create_engine(pg).connect() as c:
        assert c.execute(text(f'SELECT count(*) FROM "{schema}".message')).scalar() == 36
        assert c.execute(text("SELECT to_regclass('public.message')")).scalar() is None


@needs_services
def test_migrations_make_exactly_the_tables_of_the_models(pg: str) -> None:
    """The Alembic head of both branches is what triage.model.records and the job table describe: a model change
    without a migration fails here."""
    schema = case_schema("MIGRATE", "1")
    upgrade_case(pg, schema)
    upgrade_lab(pg)
    for search_path, metadata in ((schema, Base.metadata), (LAB_SCHEMA, LAB_METADATA)):
        engine = create_engine(pg, connect_args={"options": f"-csearch_path={search_path}"})
        with engine.connect() as c:
            context = MigrationContext.configure(c, opts={"include_name": _not_alembic_version})
            assert compare_metadata(context, metadata) == []
            assert c.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
                "c0001" if metadata is Base.metadata else "l0002"
            ]
        engine.dispose()


def _not_alembic_version(name: str | None, kind: str, _parent: Any) -> bool:
    return not (kind == "table" and name == "alembic_version")


@needs_services
def test_lab_migrate_command_brings_every_case_schema_up(pg: str, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade_lab(pg)
    schema = case_schema("MIGRATE-CMD", "1")
    with lab_engine(pg).begin() as c:
        add_job(
            c,
            job_id="migrate-cmd",
            case_ref="MIGRATE-CMD",
            exhibit="1",
            examiner="x",
            evidence="/e",
            case_schema=schema,
        )
    with create_engine(pg).begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))  # a case schema without its tables yet
    assert main(["lab", "migrate", "--db", pg]) == 0
    assert "case schema(s)" in capsys.readouterr().out
    with create_engine(pg).connect() as c:
        assert c.execute(text(f"SELECT to_regclass('{schema}.message')")).scalar() is not None


# -- jobs: claims and retries ---------------------------------------------------------------------------


def _new_job(pg: str, job_id: str, evidence: Path = SMALL) -> str:
    upgrade_lab(pg)
    schema = case_schema("JOBS", job_id)
    with lab_engine(pg).begin() as c:
        add_job(
            c,
            job_id=job_id,
            case_ref="JOBS",
            exhibit=job_id,
            examiner="Lab Test",
            evidence=str(evidence.resolve()),
            case_schema=schema,
        )
    return schema


@needs_services
def test_a_claim_is_refused_while_the_worker_is_alive_and_taken_over_when_it_is_not(pg: str, tmp_path: Path) -> None:
    _new_job(pg, "claims")
    lab = lab_engine(pg)
    first = claim_job(lab, "claims", tmp_path)
    assert first is not None and first.attempt == 1 and first.out == tmp_path / first.job["case_schema"] / "attempt-1"
    with pytest.raises(Busy):  # a second delivery while the first worker's heartbeat is fresh
        claim_job(lab, "claims", tmp_path)
    with lab.begin() as c:  # the first worker went silent
        set_job(c, "claims", heartbeat_utc=now() - timedelta(hours=1))
    second = claim_job(lab, "claims", tmp_path)
    assert second is not None and second.attempt == 2 and second.out.name == "attempt-2"
    with lab.connect() as c:
        row = job(c, "claims")
    assert row is not None and row["state"] == RUNNING and row["outputs"] == [str(first.out), str(second.out)]
    with lab.begin() as c:
        set_job(c, "claims", state=FINISHED)
    assert claim_job(lab, "claims", tmp_path) is None  # a redelivery after the end: nothing to do
    with pytest.raises(TriageError, match="not in the lab database"):
        claim_job(lab, "no-such-job", tmp_path)
    lab.dispose()


@needs_services
def test_a_retry_replaces_the_half_written_schema_and_says_so(pg: str, tmp_path: Path, unchanged) -> None:  # noqa: ANN001
    """An interrupted attempt left rows in the case's schema and an output folder: the retry stores every
    record once (the SQLite run's records exactly), writes a new folder, keeps the old one, and its
    custody log names the attempt before it."""
    unchanged(SMALL)
    expected = rows_of(sqlite_run(SMALL, tmp_path / "sqlite"))
    schema = _new_job(pg, "retry")
    lab = lab_engine(pg)
    interrupted = claim_job(lab, "retry", tmp_path / "bundles")
    assert interrupted is not None
    interrupted.out.mkdir(parents=True)
    (interrupted.out / "custody.jsonl").write_text("{}\n")
    upgrade_case(pg, schema)
    with create_engine(store_url(pg, schema)).begin() as c:  # what the dead attempt had stored
        c.execute(insert(SourceFile).values(path="/half/written.db", layers=[], provenance="interrupted"))
    with lab.begin() as c:
        set_job(c, "retry", heartbeat_utc=now() - timedelta(hours=1))

    assert examine_job("retry", pg, tmp_path / "bundles") == FINISHED

    assert differences(expected, rows_of(store_url(pg, schema))) == []
    with lab.connect() as c:
        row = job(c, "retry")
    assert row is not None and row["attempts"] == 2
    assert row["bundle"] == str(tmp_path / "bundles" / schema / "attempt-2.zip")
    assert (interrupted.out / "custody.jsonl").read_text() == "{}\n"  # the old folder is kept as it was
    entries = _custody(Path(row["bundle"]))
    retried = [e for e in entries if e["action"] == RETRIED_ACTION]
    assert len(retried) == 1 and not any(e["action"] == STARTED_ACTION for e in entries)
    assert retried[0]["details"]["attempt"] == 2
    assert retried[0]["details"]["previous_outputs"] == [str(interrupted.out)]
    lab.dispose()


def _custody(bundle: Path) -> list[dict]:
    with zipfile.ZipFile(bundle) as z:
        name = next(n for n in z.namelist() if n.endswith("custody.jsonl"))
        return [json.loads(line) for line in z.read(name).decode().splitlines()]


# -- submit and status (Redis) --------------------------------------------------------------------------


@needs_services
def test_submit_queues_a_device_once_and_status_shows_it(
    servers: tuple[Postgres, Redis], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    postgres, redis = servers
    args = [
        "submit",
        str(SMALL),
        "--case",
        "SUBMIT",
        "--exhibit",
        "EXH-9",
        "--examiner",
        "Lab Test",
        "--broker",
        redis.url,
        "--db",
        postgres.url,
        "--out-root",
        str(tmp_path),
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert first.startswith("queued: job ")
    assert main(["status", "--broker", redis.url, "--db", postgres.url]) == 0
    out = capsys.readouterr().out
    assert "queue: 1 waiting, 0 taken by workers" in out
    assert f"SUBMIT  EXH-9  queued  attempts: 0  schema: {case_schema('SUBMIT', 'EXH-9')}" in out
    assert case_schema("SUBMIT", "EXH-9") not in existing_schemas(create_engine(postgres.url))  # made by the worker
    # still queued (its message lost with a restarted Redis, say): queued again as the same job
    assert main(args) == 0
    assert capsys.readouterr().out == first
    assert main(["status", "--broker", redis.url, "--db", postgres.url]) == 0
    assert "queue: 2 waiting" in capsys.readouterr().out
    # examined already: refused, nothing queued
    job_id = first.split()[2].rstrip(",")
    with lab_engine(postgres.url).begin() as c:
        set_job(c, job_id, state=FINISHED)
    assert main(args) == 2
    assert "was submitted already" in capsys.readouterr().err


@needs_services
def test_submit_with_the_queue_down_leaves_no_job_behind(
    pg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from triage.lab.services import free_port

    assert (
        main(
            [
                "submit",
                str(SMALL),
                "--case",
                "DOWN",
                "--exhibit",
                "1",
                "--db",
                pg,
                "--out-root",
                str(tmp_path),
                "--broker",
                f"redis://127.0.0.1:{free_port()}/0",
            ]
        )
        == 2
    )
    assert "did not take the job" in capsys.readouterr().err
    with lab_engine(pg).connect() as c:
        assert c.execute(text("SELECT count(*) FROM job WHERE case_ref = 'DOWN'")).scalar() == 0
