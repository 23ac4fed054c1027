"""``topokit export``: a study's results, failed runs or learning curves as one table."""

from __future__ import annotations

from topokit.cli._common import FORMATTER

__all__ = ["add_parser", "run"]

# topokit.analysis (the study store, statistics, plots) is imported inside the functions
# that export a study, so that the other commands and `topokit --help` start without loading it.

_EPILOG = """\
examples:
  topokit export topokit-study                      writes topokit-study/results.csv
  topokit export topokit-study --format parquet --output results.parquet
  topokit export topokit-study --failed             the failed runs and their errors
  topokit export topokit-study --curves --format json
"""


def add_parser(subparsers) -> None:
    """Add the ``export`` command."""
    parser = subparsers.add_parser(
        "export",
        help="write a study's results, failed runs or learning curves as a table",
        description="Write a table of a study folder: by default the results, one row per\n"
        "run with its configuration, outcomes and metrics. Prints the path written.",
        epilog=_EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument("directory", metavar="DIR", help="a study folder (topokit study --out)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--failed",
        action="store_true",
        help="the failed runs instead: one row per run, its configuration and error",
    )
    which.add_argument(
        "--curves",
        action="store_true",
        help="the learning curves instead: one row per run and epoch",
    )
    parser.add_argument(
        "--format",
        choices=("csv", "parquet", "json"),
        help="table format (default: the suffix of --output, else csv); a --output "
        "suffix that disagrees is an error",
    )
    parser.add_argument(
        "--output",
        metavar="PATH",
        help="where to write (default: DIR/results.FORMAT, DIR/failed.FORMAT or DIR/curves.FORMAT)",
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    """Export the table and print its path."""
    from topokit.analysis.results import export_results

    table = "failed" if args.failed else "curves" if args.curves else "results"
    print(export_results(args.directory, args.output, format=args.format, table=table))
    return 0
