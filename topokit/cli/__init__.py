"""The ``topokit`` command line: a thin shell over the Python API.

Each command lives in its own module with ``add_parser(subparsers)``, which adds the
command's subparser and sets ``run(args) -> int`` as its handler
(``parser.set_defaults(run=run)``). A new command is one new module plus one entry
in ``_COMMANDS``.

Errors (:class:`~topokit.TopokitError`, file errors, bad command lines) print one
line, ``topokit: error: <message>``, on stderr and give exit status 1. Notices of the
package's ``"topokit"`` logger at level INFO (the training kernels' one-time
compilation) go to stderr as ``topokit: <message>``, unless the command has ``--quiet``. ``topokit``
alone prints the help on stdout and exits 0, as ``pip`` does: asking for nothing is
asking what there is.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys

from topokit import __version__
from topokit._errors import TopokitError
from topokit.cli import (
    _analyze,
    _draw,
    _export,
    _families,
    _graph,
    _metrics,
    _prune,
    _study,
    _train,
)
from topokit.cli._common import CommandParser, UsageError

__all__ = ["build_parser", "main"]

_COMMANDS = (_families, _graph, _metrics, _draw, _train, _prune, _study, _export, _analyze)


def build_parser() -> argparse.ArgumentParser:
    """The ``topokit`` argument parser with every command's subparser.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> from topokit.cli import build_parser
    >>> build_parser().parse_args(["families", "--json"]).json
    True
    """
    parser = CommandParser(
        prog="topokit",
        description="Build, measure and draw sparse neural-network layer graphs.",
        epilog="Run 'topokit COMMAND -h' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"topokit {__version__}")
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    for command in _COMMANDS:
        command.add_parser(subparsers)
    return parser


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _os_error_message(exc: OSError) -> str:
    if exc.strerror and exc.filename is not None:
        return f"{exc.strerror}: {exc.filename!r}"
    return str(exc)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


@contextlib.contextmanager
def _notices(quiet: bool):
    """Show the ``"topokit"`` logger's INFO records on stderr while a command runs."""
    if quiet:
        yield
        return
    logger = logging.getLogger("topokit")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("topokit: %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv=None) -> int:
    """Run the ``topokit`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        Exit status: 0 on success (and for no arguments at all, which prints the help),
        1 on an error (reported as one line on stderr).

    Examples
    --------
    >>> from topokit.cli import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    topokit ...
    0
    """
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if not argv:
            parser.print_help()
            return 0
        args = parser.parse_args(argv)
        with _notices(quiet=getattr(args, "quiet", False)):
            return args.run(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except BrokenPipeError:  # stdout closed early (topokit ... | head): stop quietly
        _silence_stdout()
        return 1
    except UsageError as exc:
        message = _one_line(exc)
    except TopokitError as exc:
        message = _one_line(exc)
    except OSError as exc:
        message = _one_line(_os_error_message(exc))
    except KeyboardInterrupt:
        message = "interrupted"
    print(f"topokit: error: {message}", file=sys.stderr)
    return 1
