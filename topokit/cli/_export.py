"""``topokit export``: a study's results, failed runs, learning curves or graph snapshots
as one table, or the readable runs of a damaged store salvaged into a new one."""

from __future__ import annotations

import shlex

from topokit._errors import TopokitError
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
  topokit export topokit-study --snapshots          metrics of the graphs along training
  topokit export topokit-study --salvage rescued   a damaged store's readable runs,
                                                   into rescued/results.sqlite
"""


def add_parser(subparsers) -> None:
    """Add the ``export`` command."""
    parser = subparsers.add_parser(
        "export",
        help="write a study's results, failed runs, learning curves or snapshots as a table",
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
    which.add_argument(
        "--snapshots",
        action="store_true",
        help="the metrics of the layer graphs along training instead: one row per run and "
        "snapshot epoch, for runs that learn their graph (a dynamic rule, a pruning family)",
    )
    which.add_argument(
        "--salvage",
        metavar="NEW_DIR",
        help="instead of a table: copy every run of DIR's store that can still be read whole "
        "(a damaged store) into a new store in NEW_DIR, and say what PRAGMA integrity_check "
        "found and how many runs could not be read; 'topokit study ... --out NEW_DIR' then "
        "runs only those",
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
        help="where to write (default: DIR/results.FORMAT, DIR/failed.FORMAT, "
        "DIR/curves.FORMAT or DIR/snapshots.FORMAT)",
    )
    parser.set_defaults(run=run)


def _salvage_text(report, directory) -> str:
    stopped = [p for p in report["problems"] if p.startswith("integrity_check stopped")]
    problems = [p for p in report["problems"] if p not in stopped]
    some = "at least " if stopped else ""
    found = "nothing wrong"
    if problems:
        found = f"{some}{len(problems)} problem(s), the first: {problems[0]}"
    if stopped:
        found += f" ({stopped[0].replace('integrity_check ', 'the check ')})"
    lines = [
        f"checked {report['source']}: PRAGMA integrity_check found {found}",
        f"salvaged {report['n_runs']} runs ({report['n_ok']} ok, {report['n_failed']} failed) "
        f"into {report['destination']}; {report['n_unreadable']} could not be read whole",
    ]
    if report["n_named"] is None:
        lines.append("no study definition could be read: the new store holds the runs alone")
    elif report["n_missing"]:
        lines.append(
            f"the study names {report['n_named']} runs; the {report['n_missing']} not salvaged "
            f"run again with: topokit study STUDY.toml --out {shlex.quote(str(directory))}"
        )
    return "\n".join(lines)


def run(args) -> int:
    """Export the table (or salvage the store) and print what was written."""
    from topokit.analysis import salvage_store
    from topokit.analysis.results import export_results

    if args.salvage is not None:
        if args.format is not None or args.output is not None:
            raise TopokitError(
                "--salvage writes a store, not a table: give it without --format and --output"
            )
        report = salvage_store(args.directory, args.salvage)
        print(_salvage_text(report, args.salvage))
        return 0
    table = (
        "failed"
        if args.failed
        else "curves"
        if args.curves
        else "snapshots"
        if args.snapshots
        else "results"
    )
    print(export_results(args.directory, args.output, format=args.format, table=table))
    return 0
