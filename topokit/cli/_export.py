"""``topokit export``: a study's results as one tidy CSV or Parquet table."""

from __future__ import annotations

from topokit.cli._common import FORMATTER

__all__ = ["add_parser", "run"]

# topokit.analysis (the study store, statistics, plots) is imported inside the functions
# that export a study, so that the other commands and `topokit --help` start without loading it.

_EPILOG = """\
examples:
  topokit export topokit-study                      writes topokit-study/results.csv
  topokit export topokit-study --format parquet --output results.parquet
"""


def add_parser(subparsers) -> None:
    """Add the ``export`` command."""
    parser = subparsers.add_parser(
        "export",
        help="write a study's results as a CSV or Parquet table",
        description="Write the results of a study folder as a tidy table: one row per run,\n"
        "with its configuration, outcomes and metrics. Prints the path written.",
        epilog=_EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument("directory", metavar="DIR", help="a study folder (topokit study --out)")
    parser.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="table format (default csv)"
    )
    parser.add_argument(
        "--output", metavar="PATH", help="where to write (default: DIR/results.FORMAT)"
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    """Export the table and print its path."""
    from topokit.analysis.results import export_results

    print(export_results(args.directory, args.output, format=args.format))
    return 0
