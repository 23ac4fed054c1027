"""``topokit study``: run a topology study (a TOML file or a preset), resumably."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from topokit._errors import TopokitError
from topokit.cli._common import FORMATTER, print_json

__all__ = ["DEFAULT_OUT", "EXIT_FAILED_RUNS", "EXIT_INTERRUPTED", "add_parser", "run"]

# topokit.analysis (the study store, statistics, plots) is imported inside the functions
# that load, run and report a study, so that the other commands and `topokit --help`
# start without loading it.

#: Where ``topokit study`` writes when no ``--out`` is given.
DEFAULT_OUT = "topokit-study"
#: Exit status of a study in which runs failed (1 is a bad input, as for every command).
EXIT_FAILED_RUNS = 2
#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130
#: How many distinct reasons of failed runs the summary prints.
_N_REASONS = 3

_EPILOG = """\
examples:
  topokit study                                  the default preset into ./topokit-study/
  topokit study --list-presets
  topokit study my-study.toml --out runs/my-study --workers 2
  topokit study --preset mnist --out mnist-study --dask tcp://10.0.0.5:8786
  topokit study my-study.toml --out runs/my-study --dask local:4 --json
  topokit study my-study.toml --out runs/my-study --dry-run

Rerunning the same command resumes an interrupted study: finished runs are kept and
skipped. A changed study file (more seeds, families, densities, a swept [training] key)
run into the same folder runs only the new runs; stored runs it no longer names are kept
and listed. Results: OUT/results.sqlite ('topokit export OUT' writes a table).

Every combination of the grid is checked before the first run; the problems are listed
one per line and nothing runs. Progress goes to stderr: a bar on a terminal, else a line
every 30 s (none with --quiet).

exit status: 0 all runs ok; 1 bad input (nothing run); 2 some runs failed (their first
reasons are printed; 'topokit export OUT --failed' lists them all); 130 interrupted
(Ctrl-C: the runs stored are kept, and the command that resumes is printed).
"""


def add_parser(subparsers) -> None:
    """Add the ``study`` command."""
    parser = subparsers.add_parser(
        "study",
        help="run a topology study (sweep of trainings) and analyse it",
        description="Run every training of a study (families x densities x seeds x sizes),\n"
        "record each run's topology metrics and outcomes in OUT/results.sqlite, then\n"
        "write the analysis report. Without CONFIG or --preset, runs the 'default' preset.",
        epilog=_EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument("config", nargs="?", metavar="CONFIG.toml", help="a study file")
    parser.add_argument("--preset", metavar="NAME", help="a built-in study (see --list-presets)")
    parser.add_argument(
        "--list-presets", action="store_true", help="list the built-in studies and exit"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help=f"the study folder (default: ./{DEFAULT_OUT}/)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, metavar="N", help="local worker processes (default: one per core)"
    )
    where.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run on a Dask cluster: tcp://HOST:PORT of a scheduler, or local:N",
    )
    parser.add_argument(
        "--retry-failed", action="store_true", help="run again the runs stored as failed"
    )
    parser.add_argument(
        "--retries",
        type=int,
        metavar="N",
        default=None,
        help="times a run whose worker process dies under it (out of memory, a crash) is "
        "tried again before it is stored as failed (default: 1; on a remote Dask "
        "scheduler, its allowed-failures)",
    )
    parser.add_argument(
        "--lease-seconds",
        type=float,
        metavar="SECONDS",
        help="several topokit study processes on one --out share its runs: each claims the "
        "runs it does, renewing the claim every third of SECONDS; the claims of a driver "
        "that died expire after SECONDS and another driver does those runs (default: 60)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the grid, the runs to do and already stored, and an estimate of the "
        "time; run and write nothing",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar, progress lines or summary"
    )
    parser.set_defaults(run=run)


def _load(args):
    from topokit.analysis.study import load_preset, load_study

    if args.config is not None and args.preset is not None:
        raise TopokitError(
            f"give a study file or --preset, not both (got {args.config!r} and "
            f"--preset {args.preset})"
        )
    if args.config is not None:
        return load_study(Path(args.config))  # a Path is never taken for TOML text
    return load_preset(args.preset or "default")


def _presets() -> list[dict]:
    from topokit.analysis.study import list_presets, load_preset

    rows = []
    for name in list_presets():
        study = load_preset(name)
        rows.append({"name": name, "runs": len(study.runs()), "description": study.description})
    return rows


def _report(directory):
    """``write_report(directory)`` of topokit.analysis; (path, note)."""
    from topokit.analysis.analyze import write_report

    try:
        return write_report(directory), None
    except Exception as exc:  # the runs are stored whatever happens to the report
        reason = " ".join(str(exc).split())
        return None, f"the report could not be written ({type(exc).__name__}: {reason})"


def _summary_text(summary, report, note) -> str:
    ran = summary.n_ok + summary.n_failed
    if ran:
        workers = f"{summary.workers} worker{'s' if summary.workers != 1 else ''}"
        done = f"{ran} ran now in {summary.seconds:.1f} s on {workers}"
        if summary.n_skipped:
            done += f", {summary.n_skipped} already stored"
        if summary.n_elsewhere:
            done += f", {summary.n_elsewhere} done by another driver"
    elif summary.n_elsewhere:
        done = f"{summary.n_elsewhere} done by another driver meanwhile"
    else:
        done = "nothing left to run"
    lines = [
        f"study {summary.study!r}: {summary.stored['ok']} of {summary.n_runs} runs ok, "
        f"{summary.stored['failed']} failed ({done})",
        f"results: {summary.directory / 'results.sqlite'}",
    ]
    if summary.n_unnamed:
        lines.append(
            f"{summary.n_unnamed} stored runs are not named by this study file (kept, not in "
            f"the report): {summary.unnamed}"
        )
    if summary.stored["failed"]:
        lines.append(
            "failed runs are stored with their error (listed on stderr); --retry-failed "
            "runs them again"
        )
    if report is not None:
        lines.append(f"report: {report}")
    if note is not None:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _plan_text(plan) -> str:
    from topokit.analysis.runner import format_duration  # analysis: only when used

    grid = plan.grid
    families = []
    for spec in grid["families"]:
        params = ", ".join(f"{k}={'|'.join(map(str, v))}" for k, v in spec["params"].items())
        axis = "".join(f" {k}={v}" for k, v in spec.items() if k in ("densities", "degrees"))
        if "dynamic" in spec:
            axis += f" dynamic={'|'.join(spec['dynamic'])}"
        families.append(spec["name"] + (f"({params})" if params else "") + axis)
    lines = [
        f"study {plan.study!r} (dry run: nothing is run or written)",
        f"  sizes:     {'; '.join('-'.join(map(str, s)) for s in grid['sizes'])}",
        f"  families:  {'; '.join(families)}",
    ]
    if grid["densities"] is not None:
        lines.append(f"  densities: {', '.join(map(str, grid['densities']))}")
    if grid["degrees"] is not None:
        lines.append(f"  degrees:   {', '.join(map(str, grid['degrees']))}")
    lines.append(f"  seeds:     {', '.join(map(str, grid['seeds']))}")
    for key, values in grid["training"].items():
        lines.append(f"  training.{key}: {', '.join(map(str, values))}")
    stored = plan.n_stored["ok"] + plan.n_stored["failed"]
    lines.append(
        f"runs: {plan.n_runs} in the grid, {plan.n_new} to run, {stored} already stored "
        f"({plan.n_stored['ok']} ok, {plan.n_stored['failed']} failed) in {plan.directory}"
    )
    if plan.n_claimed:
        lines.append(
            f"{plan.n_claimed} of the runs to run are being done by another driver now "
            "(a driver started now leaves them to it)"
        )
    if plan.n_unnamed:
        lines.append(
            f"{plan.n_unnamed} stored runs are not named by this study file (kept): {plan.unnamed}"
        )
    if plan.n_new:
        if plan.seconds is None:
            when = f"about {format_duration(plan.run_seconds)} of run time (workers unknown)"
        else:
            workers = f"{plan.workers} worker{'s' if plan.workers != 1 else ''}"
            when = f"about {format_duration(plan.seconds)} on {workers}"
        lines.append(f"estimated time: {when}; {plan.estimate}")
    return "\n".join(lines)


def _resume_command(args) -> str:
    """The command line that goes on with the study of ``args``."""
    words = ["topokit", "study"]
    words += [args.config] if args.config is not None else ["--preset", args.preset or "default"]
    words += ["--out", args.out]
    if args.workers is not None:
        words += ["--workers", str(args.workers)]
    if args.dask is not None:
        words += ["--dask", args.dask]
    if args.retries is not None:
        words += ["--retries", str(args.retries)]
    return shlex.join(words)


def _stored_counts(directory) -> dict:
    """``{"ok": ..., "failed": ...}`` of the store in ``directory`` (zeros if none)."""
    from topokit.analysis.results import open_store

    try:
        with open_store(directory) as store:
            return store.counts()
    except TopokitError:  # interrupted before the store was made
        return {"ok": 0, "failed": 0}


def _interrupted(args) -> int:
    counts = _stored_counts(args.out)
    stored = counts["ok"] + counts["failed"]
    print(
        f"topokit: interrupted: {stored} run{'s' if stored != 1 else ''} stored in "
        f"{str(Path(args.out) / 'results.sqlite')!r} ({counts['ok']} ok, {counts['failed']} "
        f"failed); to resume: {_resume_command(args)}",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def _failure_text(directory, n_failed: int) -> str:
    """How many runs failed, their first distinct reasons, and where the rest are."""
    from topokit.analysis.results import load_failed

    reasons = list(dict.fromkeys(load_failed(directory)["error"].astype(str)))
    lines = [
        f"topokit: {n_failed} run{'s' if n_failed != 1 else ''} failed; "
        + (
            f"the first {_N_REASONS} of {len(reasons)} distinct reasons:"
            if len(reasons) > _N_REASONS
            else ("reason:" if len(reasons) == 1 else "reasons:")
        )
    ]
    lines += [f"  {' '.join(reason.split())}" for reason in reasons[:_N_REASONS]]
    lines.append(f"  all of them: topokit export {shlex.quote(str(directory))} --failed")
    return "\n".join(lines)


def _print_problems(exc: TopokitError) -> int:
    """A study's problems, one per line, on stderr; exit status 1."""
    head, *problems = str(exc).splitlines()
    print(f"topokit: error: {head}", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


def run(args) -> int:
    """Run the study (or plan it, with --dry-run), print a summary, write the report."""
    from topokit.analysis.runner import DEFAULT_RETRIES, StudyStoppedError, plan_study, run_study

    if args.list_presets:
        presets = _presets()
        if args.json:
            print_json(presets)
        else:
            width = max(len(p["name"]) for p in presets) + 2
            for p in presets:
                print(f"{p['name']:<{width}}{p['runs']:>4} runs  {p['description']}")
        return 0
    try:
        study = _load(args)
    except TopokitError as exc:
        if "\n" not in str(exc):
            raise
        return _print_problems(exc)
    if args.dry_run:
        plan = plan_study(
            study, args.out, workers=args.workers, dask=args.dask, retry_failed=args.retry_failed
        )
        if args.json:
            print_json(plan.to_dict())
        else:
            print(_plan_text(plan))
        return 0
    try:
        summary = run_study(
            study,
            args.out,
            workers=args.workers,
            dask=args.dask,
            progress=False if args.quiet else None,
            retry_failed=args.retry_failed,
            retries=DEFAULT_RETRIES if args.retries is None else args.retries,
            **({} if args.lease_seconds is None else {"lease_seconds": args.lease_seconds}),
        )
        # Ctrl-C while the report is written: the runs are all stored, and the command
        # printed writes the report
        report, note = _report(summary.directory)
    except KeyboardInterrupt:
        return _interrupted(args)
    except StudyStoppedError as exc:
        print(f"topokit: error: {exc}; to resume: {_resume_command(args)}", file=sys.stderr)
        return 1
    if args.json:
        print_json({**summary.to_dict(), "report": None if report is None else str(report)})
    elif not args.quiet:
        print(_summary_text(summary, report, note))
    if note is not None and (args.json or args.quiet):
        print(f"topokit: note: {note}", file=sys.stderr)
    n_failed = summary.stored["failed"]
    if n_failed:
        print(_failure_text(summary.directory, n_failed), file=sys.stderr)
        return EXIT_FAILED_RUNS
    return 0
