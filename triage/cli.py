"""The `triage` command line: one click group, sub-commands per concern."""

from __future__ import annotations

import sys

import click

from triage import __version__
from triage.errors import TriageError

EXIT_FATAL = 2


@click.group()
@click.version_option(__version__, prog_name="triage")
def cli() -> None:
    """Forensic triage of seized phones (mobile-triage)."""


def _register_subcommands() -> None:
    from triage.evidence.cli import evidence

    cli.add_command(evidence)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: fatal errors become one line on stderr and a non-zero exit, no traceback."""
    _register_subcommands()
    try:
        rv = cli.main(args=argv, prog_name="triage", standalone_mode=False)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return EXIT_FATAL
    except TriageError as e:
        click.echo(f"triage: error: {e}", err=True)
        return EXIT_FATAL
    except BrokenPipeError:
        return 0
    return rv if isinstance(rv, int) else 0  # ctx.exit(code) comes back as the return value


if __name__ == "__main__":
    sys.exit(main())
