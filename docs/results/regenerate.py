"""Regenerate the docs page "What the data say" (docs/results.md) from real studies.

Runs three studies into one folder — the ``default`` preset (digits), ``mnist1d.toml`` and
``mnist.toml`` (a reduced MNIST study), both beside this script — then analyses each one
with :func:`topokit.analysis.analyze_study` and writes ``docs/results.md`` and its figures
(``docs/results/*.png``) from the stored results. Every number on the page comes from here.

Studies are resumable: a second call runs only what is missing. MNIST is read through
``TOPOKIT_DATA`` (a folder holding ``mnist/``). Not run by CI; the page gives each study's time.

    python docs/results/regenerate.py --runs ../datasay-runs --workers 2
    python docs/results/regenerate.py --runs ../datasay-runs --page-only
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from topokit.analysis import (
    analyze_study,
    correlation_table,
    load_preset,
    load_results,
    load_study,
    run_study,
)

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent / "results.md"

#: (folder name, title, how to load the study, where the study is defined)
STUDIES = (
    ("digits", "Digits (the default study)", lambda: load_preset("default"), "`default` preset"),
    (
        "mnist1d",
        "MNIST-1D",
        lambda: load_study(HERE / "mnist1d.toml"),
        "`docs/results/mnist1d.toml`",
    ),
    (
        "mnist",
        "MNIST (reduced)",
        lambda: load_study(HERE / "mnist.toml"),
        "`docs/results/mnist.toml`",
    ),
)
#: The data set's name in sentences and in the comparison table, by folder name.
SHORT = {"digits": "digits", "mnist1d": "MNIST-1D", "mnist": "MNIST"}
#: Figures copied next to the page, by the report's file stem.
FIGURES = ("accuracy_vs_density", "accuracy_vs_normalized_spectral_gap")
MAX_FIGURE_BYTES = 200_000
#: Kinds of metric for the short statement, by a part of the metric's key (first match).
KINDS = (
    ("data-aware", ("input_",)),
    ("connectivity", ("isolated", "components", "dead", "path")),
    ("degree", ("fan_in", "fan_out", "biregular")),
    ("spectral and expansion", ("lambda", "gap", "fiedler", "expansion")),
)
SUPPORTED, SUGGESTIVE, NOT_SUPPORTED = "supported", "suggestive only", "not supported"


def _p(p) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.4f}" if p < 0.01 else f"{p:.3f}"


def _ci(row) -> str:
    return f"{row.partial_r:+.3f} [{row.partial_ci_low:+.3f}, {row.partial_ci_high:+.3f}]"


def _members(row, limit=3) -> str:
    others = [m.strip() for m in str(row.members).split(",") if m.strip() != row.metric]
    if not others:
        return ""
    shown = ", ".join(f"`{m}`" for m in others[:limit])
    return shown + (f" and {len(others) - limit} more" if len(others) > limit else "")


def _small_png(source: Path, target: Path) -> int:
    """Copy a PNG, shrunk to a 256-colour palette (and to 1000 px wide when wider)."""
    image = Image.open(source).convert("RGB")
    if image.width > 1000:
        image = image.resize((1000, round(image.height * 1000 / image.width)), Image.LANCZOS)
    for width in (image.width, 800, 640):
        scaled = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
        buffer = io.BytesIO()
        scaled.quantize(colors=256).save(buffer, format="PNG", optimize=True)
        if buffer.tell() < MAX_FIGURE_BYTES:
            break
    target.write_bytes(buffer.getvalue())
    return buffer.tell()


def _recipe(study) -> list[str]:
    training = study.training
    sizes = " / ".join("-".join(map(str, s)) for s in study.sizes)
    families = []
    for family in study.families:
        params = family.params
        text = family.name
        if params:
            text += (
                " (" + ", ".join(f"{k} = {', '.join(map(str, v))}" for k, v in params.items()) + ")"
            )
        families.append(text)
    stop = (
        f"early stopping after {training['patience']} epochs without improvement"
        if training["early_stopping"]
        else "no early stopping"
    )
    schedule = training.get("schedule", "constant")
    return [
        f"- data: `{study.dataset}`; network {sizes}, output layer dense",
        f"- families: {', '.join(families)}",
        f"- densities: {', '.join(str(d) for d in study.densities or ())}; "
        f"seeds: {', '.join(map(str, study.seeds))}",
        f"- training: at most {training['epochs']} epochs, batches of {training['batch_size']}, "
        f"{training['optimizer']} at learning rate {training['learning_rate']} ({schedule} "
        f"schedule), weight decay {training['weight_decay']}, {stop}, "
        f"{training['validation_fraction']:.0%} of the training data held out",
    ]


def _accuracy_table(ok: pd.DataFrame) -> list[str]:
    sparse = ok[ok["family"] != "dense"]
    densities = sorted(sparse["density"].dropna().unique())
    head = "| variant | " + " | ".join(f"density {d:g}" for d in densities) + " |"
    lines = [head, "|:--" + "|--:" * len(densities) + "|"]
    for variant, runs in sparse.groupby("variant", sort=True):
        cells = []
        for d in densities:
            acc = runs.loc[runs["density"] == d, "test_accuracy"] * 100
            cells.append(f"{acc.mean():.2f} ± {acc.std():.2f} ({len(acc)})" if len(acc) else "")
        lines.append(f"| `{variant}` | " + " | ".join(cells) + " |")
    dense = ok.loc[ok["family"] == "dense", "test_accuracy"] * 100
    if len(dense):
        lines += [
            "",
            f"The dense network (its own edge count) reaches {dense.mean():.2f} ± "
            f"{dense.std():.2f} ({len(dense)}).",
        ]
    return lines


def _ranking_table(ranking: pd.DataFrame) -> list[str]:
    tested = ranking[ranking["p_holm"].notna()]
    lines = [
        "| rank | metric | same as | n | partial r [95% CI] | Holm p | ΔR² (CV) | verdict |",
        "|--:|:--|:--|--:|:--|--:|--:|:--|",
    ]
    for k, row in enumerate(tested.itertuples(), start=1):
        delta = f"{row.delta_r2:+.3f}" if np.isfinite(row.delta_r2) else "n/a"
        lines.append(
            f"| {k} | `{row.metric}` | {_members(row)} | {int(row.n)} | {_ci(row)} | "
            f"{_p(row.p_holm)} | {delta} | {row.verdict} |"
        )
    return lines


def _n_range(rows) -> str:
    low, high = int(rows["n"].min()), int(rows["n"].max())
    return f"n = {low}" if low == high else f"n = {low} to {high} runs"


def _names(rows, limit=8) -> str:
    names = [f"`{row.metric}` ({row.partial_r:+.2f})" for row in rows.itertuples()]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more (table above)"
    return ", ".join(names)


def _paragraph(name, ok, ranking) -> str:
    tested = ranking[ranking["p_holm"].notna()]
    supported = tested[tested["verdict"] == SUPPORTED]
    suggestive = tested[tested["verdict"] == SUGGESTIVE]
    sparse = ok[ok["family"] != "dense"]
    by_level = sparse.groupby("density")["test_accuracy"].mean() * 100
    spread = sparse.groupby(["density", "variant"])["test_accuracy"].mean().groupby("density")
    gaps = (spread.max() - spread.min()) * 100
    extremes = "; ".join(
        f"at {d:g}, `{means.idxmax()[1]}` best and `{means.idxmin()[1]}` worst"
        for d, means in spread
    )
    noise = sparse.groupby(["density", "variant"])["test_accuracy"].std().median() * 100
    text = (
        f"On {name}, {len(ok)} runs succeeded. Mean sparse test accuracy goes from "
        f"{by_level.iloc[0]:.2f}% at density {by_level.index[0]:g} to {by_level.iloc[-1]:.2f}% "
        f"at density {by_level.index[-1]:g}; at one density the best and worst variant are "
        f"{gaps.min():.2f} to {gaps.max():.2f} points apart ({extremes}), against a median "
        f"seed-to-seed sd of {noise:.2f} points. Of {len(tested)} distinct metric groups tested "
        f"against test accuracy beyond density ({_n_range(tested)}), "
    )
    if len(supported):
        text += f"{len(supported)} are supported after the Holm correction: {_names(supported)}"
    else:
        text += "none is supported after the Holm correction"
    if len(suggestive):
        text += (
            f"; {len(suggestive)} more are suggestive only (95% CI excludes 0, Holm p ≥ 0.05): "
            f"{_names(suggestive)}"
        )
    rest = len(tested) - len(supported) - len(suggestive)
    if rest:
        text += (
            f"; the other {rest} {'is' if rest == 1 else 'are'} not supported (95% CI includes 0)."
        )
    else:
        text += "."
    if len(supported):
        best = supported.iloc[0]
        if np.isfinite(best.delta_r2):
            text += (
                f" The strongest, `{best.metric}`, moves the cross-validated R² of accuracy from "
                f"{best.r2_density:.3f} (density alone) to {best.r2_metric_density:.3f}."
            )
        text += _leave_one_out(ok, best.metric)
    return text


def _leave_one_out(ok: pd.DataFrame, metric: str) -> str:
    """How the partial r of ``metric`` moves when one sparse variant at a time is left out."""
    found = []
    for variant in sorted(ok.loc[ok["family"] != "dense", "variant"].unique()):
        table = correlation_table(ok[ok["variant"] != variant], [metric], ["test_accuracy"])
        row = table.iloc[0]
        if np.isfinite(row.partial_r):
            found.append((abs(row.partial_r), variant, row))
    if not found:
        return ""
    rs = [row.partial_r for _, _, row in found]
    _, variant, row = min(found, key=lambda item: item[0])
    return (
        f" Leaving out one variant at a time, the partial r of `{metric}` ranges from "
        f"{min(rs):+.3f} to {max(rs):+.3f}; it is closest to 0 without `{variant}`: "
        f"{_ci(row)}, n = {int(row.n)}."
    )


def _kind(metric: str) -> str:
    for kind, parts in KINDS:
        if any(part in metric for part in parts):
            return kind
    return "other"


def _short_statement(name: str, result: dict) -> str:
    """One line: the supported metric groups of a data set by kind, each kind's strongest."""
    ranking = result["ranking"]
    name = f"{name}** ({result['n_ok']} runs)"
    supported = ranking[ranking["verdict"] == SUPPORTED]
    if supported.empty:
        suggestive = ranking[ranking["verdict"] == SUGGESTIVE]
        return (
            f"- **{name}: no metric is supported beyond density; "
            f"{len(suggestive)} {'is' if len(suggestive) == 1 else 'are'} suggestive only."
        )
    parts = []
    for kind in [k for k, _ in KINDS] + ["other"]:
        rows = supported[[_kind(m) == kind for m in supported["metric"]]]
        if len(rows):
            top = rows.iloc[0]
            parts.append(f"{len(rows)} {kind} (strongest `{top.metric}`, {_ci(top)})")
    return f"- **{name}: supported beyond density: " + "; ".join(parts) + "."


def _group_of(metric: str, ranking: pd.DataFrame):
    """The ranking row of the group that holds ``metric``, or None."""
    for row in ranking.itertuples():
        if metric in [m.strip() for m in str(row.members).split(",")]:
            return row
    return None


def _comparison(results: dict) -> list[str]:
    """A table of every metric that stands for a supported or suggestive group anywhere,
    and a paragraph on where the datasets agree."""
    keys = list(results)
    metrics = []
    for key in keys:
        ranking = results[key]["ranking"]
        chosen = ranking[ranking["verdict"].isin([SUPPORTED, SUGGESTIVE])]
        metrics += [m for m in chosen["metric"] if m not in metrics]
    if not metrics:
        return ["No metric is supported or suggestive beyond density on any data set."]
    head = "| metric | " + " | ".join(results[k]["title"] for k in keys) + " |"
    lines = [head, "|:--" + "|:--" * len(keys) + "|"]
    status = {}
    for metric in metrics:
        cells = []
        for key in keys:
            correlations = results[key]["correlations"]
            row = correlations[
                (correlations["metric"] == metric) & (correlations["outcome"] == "test_accuracy")
            ]
            group = _group_of(metric, results[key]["ranking"])
            verdict = group.verdict if group is not None else "not recorded"
            r = row["partial_r"].iloc[0] if len(row) else math.nan
            status[metric, key] = (verdict, r)
            cells.append(f"{r:+.3f}, {verdict}" if np.isfinite(r) else verdict)
        lines.append(f"| `{metric}` | " + " | ".join(cells) + " |")

    def signs(m):
        return {np.sign(status[m, k][1]) for k in keys if status[m, k][0] == SUPPORTED}

    everywhere = [
        m for m in metrics if all(status[m, k][0] == SUPPORTED for k in keys) and len(signs(m)) == 1
    ]
    flipped = [m for m in metrics if len(signs(m)) > 1]
    somewhere = [
        m
        for m in metrics
        if any(status[m, k][0] == SUPPORTED for k in keys)
        and m not in everywhere
        and m not in flipped
    ]
    text = []
    if everywhere:
        text.append(
            "Supported on every data set, with the same sign: "
            + ", ".join(f"`{m}`" for m in everywhere)
            + "."
        )
    else:
        text.append("No metric is supported on every data set with the same sign.")
    patterns = {}
    for m in somewhere:
        patterns.setdefault(tuple(status[m, k][0] for k in keys), []).append(m)
    for pattern, names in patterns.items():
        where = [results[k]["title"] for k, v in zip(keys, pattern, strict=True) if v == SUPPORTED]
        elsewhere = [
            f"{results[k]['title']}: {v}"
            for k, v in zip(keys, pattern, strict=True)
            if v != SUPPORTED
        ]
        text.append(
            f"Supported on {' and '.join(where)} only ({'; '.join(elsewhere)}): "
            + ", ".join(f"`{m}`" for m in names)
            + "."
        )
    if flipped:
        text.append(
            "Supported on more than one data set but with opposite signs, so that what goes "
            "with higher accuracy on one goes with lower accuracy on another: "
            + "; ".join(
                f"`{m}` ("
                + ", ".join(
                    f"{results[k]['title']} {status[m, k][1]:+.2f} {status[m, k][0]}" for k in keys
                )
                + ")"
                for m in flipped
            )
            + "."
        )
    return [*lines, "", " ".join(text)]


def _minutes(ok: pd.DataFrame) -> str:
    started = pd.to_datetime(ok["started"]).min()
    finished = pd.to_datetime(ok["finished"]).max()
    return (
        f"{ok['seconds'].sum() / 60:.1f} min of training summed over the runs; "
        f"{(finished - started).total_seconds() / 60:.1f} min from the first start to the "
        "last finish"
    )


def write_page(folder: Path) -> None:
    """Analyse the studies stored under ``folder`` and write the page and its figures."""
    results = {}
    sections = []
    for key, title, load, source in STUDIES:
        directory = folder / key
        if not (directory / "results.sqlite").exists():
            print(f"{key}: no results in {directory}, left out", file=sys.stderr)
            continue
        study = load()
        analysis = analyze_study(directory)
        frame = load_results(directory)
        ok = frame[frame["status"] == "ok"]
        counts = analysis.counts
        results[key] = {
            "title": SHORT[key],
            "ranking": analysis.ranking,
            "correlations": analysis.correlations,
            "n_ok": counts["ok"],
        }
        lines = [f"## {title}", "", f"Study: {source}; {counts.get('planned', '?')} runs planned, "]
        lines[-1] += f"{counts['ok']} succeeded, {counts['failed']} failed ({_minutes(ok)})."
        lines += ["", *_recipe(study), "", "### Test accuracy by variant and density", ""]
        lines += [
            "Mean ± sd over seeds, in %, with the number of runs.",
            "",
            *_accuracy_table(ok),
            "",
            "### Which metrics explain accuracy beyond density",
            "",
            "Partial correlation with test accuracy given "
            + " or ".join(dict.fromkeys(analysis.ranking["controls"].dropna()))
            + " (a `mean_` or `min_` metric is over the sparse layers, so the dense runs have "
            "none), "
            "one row per group of metrics that are exact affine functions of each other "
            '("same as"), Holm-adjusted over the groups tested; ΔR² is the gain in '
            "cross-validated R² over density alone. Groups that density determines or that are "
            "constant are not tested.",
            "",
            *_ranking_table(analysis.ranking),
            "",
        ]
        for stem in FIGURES:
            source_png = directory / "figures" / f"{stem}.png"
            if source_png.exists():
                target = HERE / f"{key}-{stem}.png"
                size = _small_png(source_png, target)
                print(f"{target.relative_to(HERE.parent.parent)}: {size / 1000:.0f} KB")
                lines += [f"![{title}: {stem.replace('_', ' ')}](results/{target.name})", ""]
        lines += ["### What the data say", "", _paragraph(SHORT[key], ok, analysis.ranking), ""]
        sections.append("\n".join(lines))
        print(f"{key}: {counts}")
    page = [
        "# What the data say",
        "",
        "Three real studies, each asking which topology metrics explain a sparse network's "
        "test accuracy beyond its density: the default study on digits, the same topologies "
        "on MNIST-1D, and a reduced MNIST study. Everything below — tables, figures and "
        "sentences — is written by `docs/results/regenerate.py` from the studies' stored "
        "results; rerun it rather than edit the numbers. The statistics are those of every "
        "study report ({doc}`guides/statistics`): a verdict is *supported* when the 95% "
        "interval of the partial correlation excludes 0 and the Holm-adjusted p < 0.05, "
        "*suggestive only* when the interval excludes 0 but the adjusted p does not pass, "
        "*not supported* when the interval includes 0.",
        "",
        "```bash",
        "export TOPOKIT_DATA=/path/to/data   # a folder holding mnist/",
        "python docs/results/regenerate.py --runs ../datasay-runs --workers 2",
        "```",
        "",
        "## Across the data sets",
        "",
        "In short (groups of metrics that are exact affine functions of each other count "
        "once; the sign says whether more of the metric goes with higher accuracy at equal "
        "density):",
        "",
        *[_short_statement(result["title"], result) for result in results.values()],
        "",
        "Every metric that stands for a supported or suggestive group on some data set: its "
        "partial correlation with test accuracy given density, and its group's verdict, on "
        "each.",
        "",
        *_comparison(results),
        "",
        "How far this goes: each data set was studied with one network shape and one "
        "training recipe, and each family differs from the others in many metrics at once, "
        "so a supported metric is one that orders the runs of equal density the way their "
        "accuracy does, not a cause. `small_world` at p = 0 is a banded lattice that joins "
        "neighbouring indices — on a sequence such as MNIST-1D's, a local receptive field — "
        "and has the smallest spectral gap of the families, so any metric that singles it "
        "out takes its accuracy with it; the leave-one-variant-out sentences below say how "
        "much one variant drives a result. A metric undefined for some families "
        "(`input_variance_fan_out` is NaN when every first-layer fan-out is equal: in the MNIST "
        "study, for every family but `erdos_renyi` and `scale_free`) is tested on the other "
        "families' runs only: its n says how many. The metrics of a group are exact affine "
        "functions of each other in that study and are tested once; distinct metrics can "
        "still be strongly correlated, so several supported rows may tell one story. A "
        "verdict of *not supported* at this number of runs means no effect large enough to "
        "see, not no effect.",
        "",
        *sections,
    ]
    PAGE.write_text("\n".join(page).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {PAGE}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="folder of the study folders")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--only", choices=[key for key, *_ in STUDIES], action="append", help="run these only"
    )
    parser.add_argument("--page-only", action="store_true", help="write the page, run nothing")
    args = parser.parse_args(argv)
    if not args.page_only:
        for key, _, load, _ in STUDIES:
            if args.only and key not in args.only:
                continue
            summary = run_study(load(), args.runs / key, workers=args.workers)
            print(
                f"{key}: {summary.n_ok} runs ok and {summary.n_failed} failed now, "
                f"{summary.n_skipped} already stored"
            )
    write_page(args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
