"""Every script in examples/ runs end to end on its small setting (``--quick``), so none can rot.

Each script runs in a subprocess from an empty temporary folder, with ``--output`` that
folder and the Agg backend. A script with a ``# requires: torch`` line (several modules:
``# requires: torch, dask``) is skipped when one of them is not importable. The files and
lines a script must produce are listed in ``EXPECTED``; a script not listed there must
still exit with status 0 and print something. ``FURTHER_CHECKS`` run a script a second
time: the same seeds give the same numbers, and a study resumes from its store.
"""

import csv
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES_DIR = pathlib.Path(__file__).parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))
_REQUIRES = re.compile(r"^#\s*requires:\s*(.+?)\s*$", re.MULTILINE)

COMPARED_FAMILIES = ["erdos_renyi", "ramanujan", "left_regular", "small_world", "scale_free"]
# script stem -> (files it writes under --output, patterns its stdout must match)
EXPECTED = {
    "compare_families": (
        ["compare_families.csv", "compare_families.png"],
        [r"test accuracy \(%\)", r"spectral_gap", r"fiedler_value"]
        + [rf"(?m)^{family}\s+\d+\.\d+ ± \d+\.\d+" for family in COMPARED_FAMILIES],
    ),
    "export_ramanujan_to_torch": (["ramanujan_mlp.pt"], [r"test accuracy: \d\.\d{3}"]),
    "spectral_gap_vs_accuracy": (
        [
            "spectral_gap_vs_accuracy.png",
            "spectral_gap_vs_accuracy.svg",
            "spectral-gap-vs-accuracy-quick/results.sqlite",
        ],
        [
            r"ran 24 runs \(0 failed\) on \d worker\(s\) in [\d.]+ s; 0 were already stored",
            r"Pearson r\s+[+-]\d\.\d{3} \[95% CI",
            r"partial r given net_density \(2 levels\)\s+[+-]\d\.\d{3} \[95% CI",
        ],
    ),
}


def required_modules(script: pathlib.Path) -> list[str]:
    """The modules named on the script's ``# requires:`` lines."""
    names = []
    for line in _REQUIRES.findall(script.read_text(encoding="utf-8")):
        names += [name.strip() for name in line.split(",") if name.strip()]
    return names


def run_quick(script: pathlib.Path, folder: pathlib.Path) -> subprocess.CompletedProcess:
    """Run ``script --quick --output folder`` from ``folder`` (skip if a requirement is missing)."""
    missing = [name for name in required_modules(script) if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"{script.name} requires {', '.join(missing)}, which is not installed")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, str(script), "--quick", "--output", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_examples_found():
    names = {path.stem for path in EXAMPLES}
    assert set(EXPECTED) <= names, f"missing examples: {sorted(set(EXPECTED) - names)}"


def csv_rows(path: pathlib.Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def check_compare_families(script, folder, result):
    """One row per (family, seed), every family with the same weight count, accuracies
    well above chance (10 classes); a second run gives the same table (timings aside)."""
    rows = csv_rows(folder / "compare_families.csv")
    assert [(r["family"], r["seed"]) for r in rows] == [
        (family, str(seed)) for family in COMPARED_FAMILIES for seed in range(2)
    ]
    assert len({r["n_edges"] for r in rows}) == 1
    for row in rows:
        assert 0.3 < float(row["test_accuracy"]) <= 1.0, row
    again = run_quick(script, folder / "again")
    assert again.returncode == 0, again.stderr[-3000:]
    rows_again = csv_rows(folder / "again" / "compare_families.csv")
    for row in (*rows, *rows_again):
        del row["train_seconds"]
    assert rows_again == rows


def check_spectral_gap_vs_accuracy(script, folder, result):
    """A second run on the same folder finds every run stored, trains nothing, and
    draws the same figure from the same statistics."""
    (folder / "spectral_gap_vs_accuracy.png").unlink()
    again = run_quick(script, folder)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "ran 0 runs (0 failed)" in again.stdout
    assert "24 were already stored" in again.stdout
    assert (folder / "spectral_gap_vs_accuracy.png").is_file()
    statistics = [[ln for ln in r.stdout.splitlines() if " r " in ln] for r in (result, again)]
    assert len(statistics[0]) == 2
    assert statistics[0] == statistics[1]


# script stem -> a further check, given (script, output folder, first result)
FURTHER_CHECKS = {
    "compare_families": check_compare_families,
    "spectral_gap_vs_accuracy": check_spectral_gap_vs_accuracy,
}


@pytest.mark.parametrize("script", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_runs_quick(script, tmp_path):
    result = run_quick(script, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), f"{script.name} printed nothing"
    files, patterns = EXPECTED.get(script.stem, ([], []))
    for name in files:
        assert (tmp_path / name).is_file(), f"{name} not written; stdout:\n{result.stdout}"
    for pattern in patterns:
        assert re.search(pattern, result.stdout), f"no {pattern!r} in:\n{result.stdout}"
    if script.stem in FURTHER_CHECKS:
        FURTHER_CHECKS[script.stem](script, tmp_path, result)


def test_docs_page_includes_every_example():
    """docs/examples.md shows each script (a literalinclude of ../examples/NAME.py)."""
    page = (EXAMPLES_DIR.parent / "docs" / "examples.md").read_text(encoding="utf-8")
    included = set(re.findall(r"```\{literalinclude\} \.\./examples/(\w+\.py)", page))
    assert {path.name for path in EXAMPLES} <= included


def test_requires_line_is_parsed(tmp_path):
    script = tmp_path / "needs.py"
    script.write_text('"""Doc."""\n\n# requires: torch, some_module\nimport sys\n')
    assert required_modules(script) == ["torch", "some_module"]
    script.write_text("import sys  # requires: torch (not a line of its own)\n")
    assert required_modules(script) == []


def test_missing_requirement_skips(tmp_path):
    script = tmp_path / "needs_missing.py"
    script.write_text("# requires: topokit_no_such_module\nraise SystemExit(1)\n")
    with pytest.raises(pytest.skip.Exception, match="requires topokit_no_such_module"):
        run_quick(script, tmp_path)
