"""Throwaway PostgreSQL and Redis servers in a folder: for `make lab-demo`, the lab tests and the benchmark.

A real lab runs both as system services (README "Lab deployment"); these start the same Debian
binaries on a free loopback port with everything under one folder, and stop them again, so a test
or a demo never depends on (or disturbs) a service already running on the machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from triage.errors import TriageError

DATABASE = "triage"
ROLE = "triage"
START_SECONDS = 60


@dataclass
class Postgres:
    data: Path
    port: int
    bin_dir: Path
    run_as: str | None  # initdb and postgres refuse to run as root: they run as this account then

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{ROLE}@127.0.0.1:{self.port}/{DATABASE}"

    def stop(self) -> None:
        _run(
            self.run_as,
            [str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate", "-w"],
            check=False,
        )


@dataclass
class Redis:
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def postgres_bin_dir() -> Path | None:
    """The folder of initdb/pg_ctl/postgres: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def redis_binary() -> str | None:
    return shutil.which("redis-server")


def missing_services() -> str | None:
    """Why the lab's servers cannot be started here (None: both are installed)."""
    missing = [
        name
        for name, found in (("PostgreSQL (initdb, pg_ctl)", postgres_bin_dir()), ("redis-server", redis_binary()))
        if not found
    ]
    if missing:
        return f"{' and '.join(missing)} not installed (Debian: apt-get install postgresql redis-server)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_postgres(folder: Path) -> Postgres:
    """initdb into folder/pgdata (trust on loopback only, no fsync: throwaway), start it, create the database."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise TriageError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    run_as = _unprivileged_account()
    folder.mkdir(parents=True, exist_ok=True)
    data, port = folder / "pgdata", free_port()
    if run_as:
        shutil.chown(folder, run_as)
    try:
        _run(
            run_as,
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                ROLE,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        )
    except TriageError as e:
        if run_as and "Permission denied" in str(e):
            raise TriageError(
                f"{e} (PostgreSQL runs as the account {run_as!r} here: every folder above "
                f"{folder} must be searchable by it)"
            ) from None
        raise
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    _run(
        run_as,
        [
            str(bin_dir / "pg_ctl"),
            "start",
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(folder / "postgres.log"),
            "-w",
            "-t",
            str(START_SECONDS),
        ],
    )
    server = Postgres(data, port, bin_dir, run_as)
    _create_database(server)
    return server


def start_redis(folder: Path) -> Redis:
    """redis-server on a free loopback port, nothing saved to disk (a queue that dies with the demo)."""
    binary = redis_binary()
    if binary is None:
        raise TriageError("redis-server is not installed (Debian: apt-get install redis-server)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--logfile",
            str(folder / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Redis(process, port)
    _wait_for_redis(server)
    return server


@contextmanager
def lab_services(folder: Path) -> Iterator[tuple[Postgres, Redis]]:
    """PostgreSQL and Redis under `folder` (made readable by PostgreSQL's account), stopped on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # initdb runs as PostgreSQL's account when we are root: it must reach its folder
    postgres = start_postgres(folder / "postgres")
    try:
        redis = start_redis(folder / "redis")
        try:
            yield postgres, redis
        finally:
            redis.stop()
    finally:
        postgres.stop()


def _create_database(server: Postgres) -> None:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=server.port, user=ROLE, dbname="postgres", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {DATABASE}")


def _wait_for_redis(server: Redis) -> None:
    import redis

    deadline = time.monotonic() + START_SECONDS
    client = redis.Redis(host="127.0.0.1", port=server.port)
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise TriageError(f"redis-server did not start on port {server.port}") from None
            time.sleep(0.05)


def _unprivileged_account() -> str | None:
    """As root, the account PostgreSQL runs as (Debian's `postgres`, else `nobody`)."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise TriageError("running as root and no `postgres` or `nobody` account to run PostgreSQL as")


def _run(run_as: str | None, command: list[str], check: bool = True) -> None:
    if run_as:
        command = ["runuser", "-u", run_as, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise TriageError(
            f"{Path(command[-1] if run_as is None else command[4]).name} failed: "
            f"{(done.stderr or done.stdout).strip()[-800:]}"
        )
