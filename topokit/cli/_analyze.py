"""``topokit analyze``: statistics, figures and report of a study folder."""

from __future__ import annotations

import math

from topokit._errors import TopokitError
from topokit.cli._common import FORMATTER, print_json

__all__ = ["add_parser", "run"]

# topokit.analysis (the study store, statistics, plots) is imported inside the functions
# that analyse a study, so that the other commands and `topokit --help` start without loading it.

_EPILOG = """\
examples:
  topokit analyze topokit-study
  topokit analyze topokit-study --json
  topokit analyze topokit-study --top 10
"""


def add_parser(subparsers) -> None:
    """Add the ``analyze`` command."""
    parser = subparsers.add_parser(
        "analyze",
        help="analyse a study folder: tables, figures, report.md",
        description="Relate the topology metrics of a finished or partial study to its\n"
        "outcomes (correlations with CIs, partial correlations given density, OLS,\n"
        "cross-validated R²), draw the figures into DIR/figures/ and write DIR/report.md.",
        epilog=_EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument("directory", metavar="DIR", help="the study folder (with results.sqlite)")
    parser.add_argument(
        "--top", type=int, default=5, metavar="K", help="metrics shown in the summary (default 5)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: counts, summary, tables as lists of records, "
        "figure and report paths",
    )
    parser.set_defaults(run=run)


def _number(value, digits=3) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.{digits}f}"


def format_summary(analysis, top: int) -> str:
    """The short text summary: counts, the top-ranked metrics, where the report is."""
    counts = analysis.counts
    lines = [f"runs: {counts['ok']} ok, {counts['failed']} failed"]
    if "planned" in counts:
        lines[0] += f", {counts['planned']} planned"
    ranking = analysis.ranking.head(top)
    controls = next((c for c in analysis.ranking["controls"] if c), "nothing")
    lines.append(f"metrics ranked by partial r with test accuracy given {controls}:")
    width = max([len(m) for m in ranking["metric"]] + [6])
    for row in ranking.itertuples():
        ci = f"[{_number(row.partial_ci_low)}, {_number(row.partial_ci_high)}]"
        lines.append(
            f"  {row.rank:>2}. {row.metric:<{width}}  partial r {_number(row.partial_r)} "
            f"{ci}  {row.verdict}"
        )
    lines.append(f"report: {analysis.report}")
    lines.append(f"figures: {len(analysis.figures)} in {analysis.report.parent / 'figures'}")
    return "\n".join(lines)


def run(args) -> int:
    """Analyse the study folder, write the report, print a summary."""
    from topokit.analysis.analyze import analyze_study

    if args.top < 1:
        raise TopokitError(f"--top must be >= 1, got {args.top}")
    analysis = analyze_study(args.directory)
    if args.json:
        print_json(analysis.to_dict())
    else:
        print(format_summary(analysis, args.top))
    return 0
