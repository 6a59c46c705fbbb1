"""`triage kiosk serve|users`: run the kiosk, manage its operators."""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC
from pathlib import Path

import click

DEFAULT_USERS = Path("~/.config/mobile-triage/kiosk-users.json")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _users_option(f):  # noqa: ANN001, ANN202 - a click decorator
    return click.option(
        "--users",
        "users_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        envvar="TRIAGE_KIOSK_USERS",
        help=f"The operators file (default: $TRIAGE_KIOSK_USERS or {DEFAULT_USERS}).",
    )(f)


def _users_path(given: Path | None) -> Path:
    return (given or DEFAULT_USERS).expanduser()


@click.group("kiosk")
def kiosk() -> None:
    """The field officers' kiosk: a guided triage in a local web page (README "Kiosk")."""


@kiosk.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback needs --allow-remote.",
)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--intake",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder the extractions are placed in; the officer chooses only among its entries.",
)
@click.option(
    "--outbox",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder the sealed bundles and kiosk records are exported to (and the kiosk audit log).",
)
@click.option(
    "--work",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the cases' working files, wiped at each close (default: a private temporary folder).",
)
@_users_option
@click.option(
    "--signing-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Ed25519 key that signs bundles and records (default: the key made by `triage keys init`).",
)
@click.option(
    "--idle-minutes",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.5, 120),
    help="A sign-in expires after this long without use; its open case is closed and wiped.",
)
@click.option("--allow-remote", is_flag=True, help="Allow --host other than loopback (put TLS in front of it).")
def serve_command(
    host: str,
    port: int,
    intake: Path,
    outbox: Path,
    work: Path | None,
    users_file: Path | None,
    signing_key: Path | None,
    idle_minutes: float,
    allow_remote: bool,
) -> None:
    """Serve the kiosk to a browser on this machine."""
    import uvicorn

    from triage.bundle.keys import PRIVATE_NAME, key_dir
    from triage.errors import TriageError
    from triage.kiosk.app import KioskConfig, create_app
    from triage.run.workdir import Terminated

    if host not in LOOPBACK and not allow_remote:
        raise TriageError(
            f"--host {host} is not loopback: the kiosk serves the browser on this machine only "
            "(add --allow-remote only behind TLS on a closed network)"
        )
    users = _users_path(users_file)
    if not users.is_file():
        raise TriageError(f"no kiosk users file at {users}; add an operator with `triage kiosk users add NAME`")
    key = signing_key or key_dir() / PRIVATE_NAME
    if not key.is_file():
        raise TriageError(
            f"no signing key at {key}: run `triage keys init` as the kiosk's service user (bundles "
            "exported by a kiosk are always signed)"
        )
    if _overlaps(intake, outbox):
        raise TriageError("--intake and --outbox must be separate folders (neither inside the other)")
    work = work or Path(tempfile.mkdtemp(prefix="kiosk-work-"))  # inside the process's private work folder
    config = KioskConfig(
        intake=intake.resolve(),
        outbox=outbox.resolve(),
        work=work.resolve(),
        users=users,
        signing_key=key,
        idle_seconds=idle_minutes * 60,
        allowed_hosts=["127.0.0.1", "localhost", "[::1]", host, f"{host}:{port}"],
    )
    app = create_app(config)
    click.echo(
        f"kiosk: http://{'[' + host + ']' if ':' in host else host}:{port}/  (intake {config.intake}, "
        f"outbox {config.outbox})",
        err=True,
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)
    except Terminated:  # uvicorn stops gracefully (open cases closed and wiped), then passes the signal on
        click.echo("kiosk: stopped; open cases were closed and their working files wiped", err=True)


def _overlaps(a: Path, b: Path) -> bool:
    a, b = a.resolve(), b.resolve()
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


@kiosk.group("users")
def users() -> None:
    """The kiosk's operators (names, roles, argon2-hashed PINs)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator", "supervisor"]), default="operator", show_default=True)
@_users_option
def users_add(name: str, role: str, users_file: Path | None) -> None:
    """Add NAME; the PIN (6-12 digits) is read from a prompt, or from stdin when it is not a terminal."""
    from triage.kiosk.users import UserFile

    pin = (
        click.prompt("PIN (6-12 digits)", hide_input=True, confirmation_prompt=True)
        if _interactive()
        else sys.stdin.readline().strip()
    )
    path = _users_path(users_file)
    UserFile(path).add(name, role, pin)
    click.echo(f"added {name} ({role}) to {path}")


@users.command("disable")
@click.argument("name")
@_users_option
def users_disable(name: str, users_file: Path | None) -> None:
    """Disable NAME: it can no longer sign in (its entry stays, for the record)."""
    from triage.kiosk.users import UserFile

    UserFile(_users_path(users_file)).set_disabled(name, True)
    click.echo(f"disabled {name}")


@users.command("enable")
@click.argument("name")
@_users_option
def users_enable(name: str, users_file: Path | None) -> None:
    """Enable NAME again and clear its lock-out."""
    from triage.kiosk.users import UserFile

    UserFile(_users_path(users_file)).unlock(name)
    click.echo(f"enabled {name}")


@users.command("list")
@_users_option
def users_list(users_file: Path | None) -> None:
    """List the operators, their roles and states."""
    from datetime import datetime

    from triage.kiosk.users import UserFile

    now = datetime.now(UTC)
    for op in UserFile(_users_path(users_file)).names():
        state = "disabled" if op.disabled else f"locked until {op.locked_until}" if op.locked(now) else "active"
        click.echo(f"{op.name}\t{op.role}\t{state}")


def _interactive() -> bool:
    return os.isatty(0)
