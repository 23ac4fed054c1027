"""The ``topokit`` command line: outputs, files, and one-line errors with exit status 1."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from topokit import __version__
from topokit.cli import main
from topokit.generators import families, get_family, layer_graph
from topokit.graph import LayerGraph
from topokit.io import load, save_layer
from topokit.topology import Topology


def run_cli(capsys, *argv):
    """Run ``main`` in-process; return (status, stdout, stderr)."""
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def layer_path(tmp_path):
    pattern = np.random.default_rng(3).random((30, 20)) < 0.2
    path = tmp_path / "layer.npz"
    save_layer(LayerGraph(pattern), path)
    return path


# ------------------------------------------------------------------ global
def test_version(capsys):
    status, out, err = run_cli(capsys, "--version")
    assert (status, out, err) == (0, f"topokit {__version__}\n", "")


@pytest.mark.parametrize("argv", [["-h"], ["--help"]], ids=["-h", "--help"])
def test_top_level_help_lists_the_commands(capsys, argv):
    status, out, _ = run_cli(capsys, *argv)
    assert status == 0
    for command in ("families", "graph", "metrics", "draw"):
        assert command in out


def test_no_arguments_prints_the_help(capsys):
    _, help_text, _ = run_cli(capsys, "--help")
    status, out, err = run_cli(capsys)
    assert (status, out, err) == (0, help_text, "")


def test_console_script_without_arguments_prints_the_help():
    done = subprocess.run(
        [sys.executable, "-m", "topokit"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("usage: topokit")
    assert "Run 'topokit COMMAND -h'" in done.stdout


HEAVY = ("numba", "sklearn", "pandas", "statsmodels", "matplotlib")


@pytest.mark.parametrize(
    "argv",
    [["families"], ["--help"], ["graph", "--help"], ["train", "--help"], ["study", "--help"]],
    ids=["families", "--help", "graph--help", "train--help", "study--help"],
)
def test_light_commands_import_no_heavy_library(argv):
    # startup speed (benchmarks/bench_startup.py): these need none of them
    code = (
        "import sys, contextlib, io\nfrom topokit.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()): main({argv!r})\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pytest.mark.parametrize(("quiet", "shown"), [([], True), (["-q"], False)], ids=["shown", "quiet"])
def test_compilation_notice_on_stderr_unless_quiet(capsys, monkeypatch, layer_path, quiet, shown):
    import logging

    from topokit.cli import _metrics
    from topokit.nn._compile import COMPILING_MESSAGE

    def run(args):  # what the kernels' first compilation logs (topokit/nn/_compile.py)
        logging.getLogger("topokit.nn").info(COMPILING_MESSAGE)
        return 0

    monkeypatch.setattr(_metrics, "run", run)
    status, out, err = run_cli(capsys, "metrics", layer_path, *quiet)
    assert (status, out) == (0, "")
    assert err == (f"topokit: {COMPILING_MESSAGE}\n" if shown else "")
    assert logging.getLogger("topokit").handlers == []  # main leaves no handler behind


def test_families_does_not_load_the_analysis():
    # topokit.analysis is imported only by the commands that need it (see cli/_study.py)
    code = (
        "import sys; from topokit.cli import main; main(['families', '--json']); "
        "assert 'topokit.analysis' not in sys.modules, 'loaded'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("command", ["families", "graph", "metrics", "draw"])
def test_every_command_has_help(capsys, command):
    status, out, err = run_cli(capsys, command, "-h")
    assert status == 0
    assert out.startswith(f"usage: topokit {command}")
    assert err == ""


# ---------------------------------------------------------------- families
def test_families_json_lists_every_family(capsys):
    status, out, err = run_cli(capsys, "families", "--json")
    assert (status, err) == (0, "")
    listed = json.loads(out)
    assert [entry["name"] for entry in listed] == families()
    assert listed == [json.loads(json.dumps(get_family(n).describe())) for n in families()]


def test_families_table_starts_a_line_with_each_name(capsys):
    status, out, _ = run_cli(capsys, "families")
    assert status == 0
    starts = {line.split()[0] for line in out.splitlines() if line and not line[0].isspace()}
    assert starts == set(families())


# ------------------------------------------------------------------- graph
def test_graph_writes_a_layer_scipy_reads(capsys, tmp_path):
    path = tmp_path / "er.npz"
    status, out, err = run_cli(
        capsys, "graph", "erdos_renyi", "--n-in", 50, "--n-out", 40, "--density", 0.1,
        "--seed", 0, "--output", path,
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert out.startswith(f"wrote {path}")
    assert out.count("\n") == 1
    matrix = sp.load_npz(path)
    assert matrix.shape == (50, 40)
    assert matrix.nnz == 200  # round(0.1 * 50 * 40)
    expected = layer_graph("erdos_renyi", 50, 40, density=0.1, rng=0).biadjacency
    assert (matrix != expected).nnz == 0


def test_graph_json_summary(capsys, tmp_path):
    path = tmp_path / "dense.npz"
    status, out, _ = run_cli(
        capsys, "graph", "dense", "--n-in", 3, "--n-out", 4, "-o", path, "--json"
    )
    assert status == 0
    summary = json.loads(out)
    seed = summary.pop("seed")  # drawn without --seed (tests/test_cli_seeds.py)
    assert isinstance(seed, int)
    assert 0 <= seed < 2**32
    assert summary == {
        "path": str(path),
        "family": "dense",
        "sizes": [3, 4],
        "n_edges": 12,
        "params": {},
    }


def test_graph_param_fixes_the_sizes(capsys, tmp_path):
    path = tmp_path / "plane.npz"
    status, _, err = run_cli(capsys, "graph", "projective_plane", "--param", "q=3", "-o", path)
    assert (status, err) == (0, "")
    matrix = sp.load_npz(path)
    assert matrix.shape == (13, 13)  # q² + q + 1 points and lines
    assert matrix.nnz == 13 * 4  # each of degree q + 1


def test_graph_repeated_params_of_list_type(capsys, tmp_path):
    path = tmp_path / "array.npz"
    status, _, _ = run_cli(capsys, "graph", "array_code", "-p", "q=5", "-p", "l=3", "-o", path)
    assert status == 0
    assert load(path) == layer_graph("array_code", q=5, l=3)
    path = tmp_path / "radix.npz"
    status, _, _ = run_cli(
        capsys, "graph", "radix", "-p", "radices=2,2", "--n-in", 8, "--n-out", 4, "-o", path
    )
    assert status == 0
    assert load(path) == layer_graph("radix", 8, 4, radices=[2, 2])


def test_graph_sizes_builds_a_topology(capsys, tmp_path):
    path = tmp_path / "net.npz"
    status, out, _ = run_cli(
        capsys, "graph", "erdos_renyi", "--sizes", "40,30,20,10", "--density", 0.2,
        "--seed", 5, "-o", path, "--json",
    )  # fmt: skip
    assert status == 0
    topology = load(path)
    assert isinstance(topology, Topology)
    expected = Topology.build(
        [40, 30, 20, 10], "erdos_renyi", density=0.2, dense_output=True, rng=5
    )
    assert topology == expected
    assert [layer.family for layer in topology] == ["erdos_renyi", "erdos_renyi", "dense"]
    summary = json.loads(out)
    assert summary["sizes"] == [40, 30, 20, 10]
    assert summary["n_edges"] == topology.n_edges == 240 + 120 + 20 * 10


@pytest.mark.parametrize("command", ["graph", "metrics"])
def test_sparse_output_builds_the_output_layer_from_the_family(capsys, tmp_path, command):
    path = tmp_path / "net.npz"
    argv = ["erdos_renyi", "--sizes", "40,30,10", "--density", 0.2, "--seed", 5]
    argv += ["--sparse-output", "--json"] + (["-o", path] if command == "graph" else [])
    status, out, err = run_cli(capsys, command, *argv)
    assert (status, err) == (0, "")
    expected = Topology.build([40, 30, 10], "erdos_renyi", density=0.2, rng=5)
    key = "n_edges" if command == "graph" else "net_n_edges"
    assert json.loads(out)[key] == expected.n_edges == 240 + 60
    if command == "graph":
        assert load(path) == expected


def test_sizes_of_one_layer_is_the_familys(capsys, tmp_path):
    path = tmp_path / "net.npz"
    argv = ["erdos_renyi", "--sizes", "40,10", "--density", 0.2, "--seed", 5, "-o", path]
    status, _, err = run_cli(capsys, "graph", *argv)
    assert (status, err) == (0, "")
    assert load(path) == Topology.build([40, 10], "erdos_renyi", density=0.2, rng=5)
    assert load(path).n_edges == 80


def test_metrics_sizes_has_a_dense_output_layer(capsys):
    argv = ["erdos_renyi", "--sizes", "40,30,10", "--density", 0.2, "--seed", 5, "--json"]
    status, out, _ = run_cli(capsys, "metrics", *argv)
    assert status == 0
    printed = json.loads(out)
    assert [layer["density"] for layer in printed["layers"]] == [0.2, 1.0]
    assert printed["net_n_edges"] == 240 + 300


# ----------------------------------------------------------------- metrics
def test_metrics_json_of_a_layer_file(capsys, layer_path):
    from topokit.metrics import LAYER_METRICS, layer_metrics

    status, out, err = run_cli(capsys, "metrics", layer_path, "--json")
    assert (status, err) == (0, "")
    printed = json.loads(out)
    assert list(printed) == list(LAYER_METRICS)
    expected = layer_metrics(load(layer_path))
    for key in LAYER_METRICS:
        assert printed[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-12), key


def test_metrics_keys_selects(capsys, layer_path):
    status, out, _ = run_cli(capsys, "metrics", layer_path, "--keys", "n_edges,lambda1", "--json")
    assert status == 0
    printed = json.loads(out)
    assert set(printed) == {"n_edges", "lambda1"}
    assert printed["n_edges"] == load(layer_path).n_edges


def test_metrics_of_a_family_equals_metrics_of_its_file(capsys, tmp_path):
    path = tmp_path / "er.npz"
    options = ["--n-in", 60, "--n-out", 30, "--density", 0.2, "--seed", 1]
    assert run_cli(capsys, "graph", "erdos_renyi", *options, "-o", path)[0] == 0
    from_family = json.loads(run_cli(capsys, "metrics", "erdos_renyi", *options, "--json")[1])
    from_file = json.loads(run_cli(capsys, "metrics", path, "--json")[1])
    assert from_family.pop("seed") == 1  # a build records its seed; a file has its own
    assert from_family == pytest.approx(from_file, rel=1e-12)


def test_metrics_of_a_topology(capsys, tmp_path):
    from topokit.metrics import NETWORK_METRICS, layer_metrics, network_metrics

    topology = Topology.build([30, 20, 10], "erdos_renyi", density=0.3, rng=2)
    path = tmp_path / "net.npz"
    topology.save(path)
    status, out, err = run_cli(capsys, "metrics", path, "--json")
    assert (status, err) == (0, "")  # no progress bar when stderr is not a terminal
    printed = json.loads(out)
    assert printed["sizes"] == [30, 20, 10]
    assert set(NETWORK_METRICS) <= set(printed)
    network = network_metrics(topology)
    assert {k: printed[k] for k in network} == pytest.approx(network, rel=1e-12)
    assert len(printed["layers"]) == 2
    for printed_layer, layer in zip(printed["layers"], topology, strict=True):
        assert printed_layer == pytest.approx(layer_metrics(layer), rel=1e-12)


def test_metrics_sizes_builds_a_topology(capsys):
    argv = ["erdos_renyi", "--sizes", "20,10,5", "--density", 0.5, "--seed", 0, "--json"]
    status, out, _ = run_cli(capsys, "metrics", *argv)
    assert status == 0
    assert json.loads(out)["sizes"] == [20, 10, 5]


def test_metrics_table_shows_every_key(capsys, layer_path):
    from topokit.metrics import LAYER_METRICS

    status, out, _ = run_cli(capsys, "metrics", layer_path)
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == list(LAYER_METRICS)


def test_metrics_table_of_a_topology_has_a_column_per_layer(capsys, tmp_path):
    path = tmp_path / "net.npz"
    Topology.build([12, 8, 4], "dense").save(path)
    status, out, _ = run_cli(capsys, "metrics", path)
    assert status == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert rows["metric"] == ["layer", "0", "layer", "1"]
    assert rows["n_edges"] == ["96", "32"]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(("terminal", "quiet", "shown"), [(True, False, True),
    (True, True, False), (False, False, False)], ids=["terminal", "quiet", "piped"])  # fmt: skip
def test_progress_only_on_a_terminal(monkeypatch, terminal, quiet, shown):
    from topokit.cli._common import progress

    stream = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress(total=3, desc="layers", quiet=quiet) as bar:
        for _ in range(3):
            bar.update()
    assert ("layers" in stream.getvalue()) == shown


# ------------------------------------------------------------------- draw
def test_draw_writes_a_png(capsys, tmp_path, layer_path):
    from matplotlib.image import imread

    path = tmp_path / "layer.png"
    status, out, err = run_cli(capsys, "draw", layer_path, "--output", path)
    assert (status, out, err) == (0, f"wrote {path}\n", "")
    height, width, _ = imread(path).shape
    assert (height > 600, width > 900) == (True, True)


def test_draw_picks_a_layer_of_a_network(capsys, tmp_path):
    path = tmp_path / "layer1.svg"
    argv = ["dense", "--sizes", "6,5,4", "--layer", 1, "-o", path]
    assert run_cli(capsys, "draw", *argv)[0] == 0
    assert "5 inputs → 4 outputs" in path.read_text(encoding="utf-8")


# ------------------------------------------------------------------ errors
def _garbage(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"this is not a zip archive")
    return path


def _npy(tmp_path):
    path = tmp_path / "matrix.npy"
    np.save(path, np.eye(3))
    return path


def _network(tmp_path):
    path = tmp_path / "net.npz"
    Topology.build([4, 3, 2], "dense").save(path)
    return path


ERRORS = [
    pytest.param(["graph", "nope", "--n-in", 3, "--n-out", 3, "-o", "{tmp}/x.npz"],
                 "unknown family 'nope'; valid families: ", id="unknown-family"),
    pytest.param(["graph", "dense", "--n-in", 3, "--n-out", 3, "-p", "q5", "-o", "{tmp}/x.npz"],
                 "--param must be KEY=VALUE, got 'q5'", id="param-syntax"),
    pytest.param(["graph", "dense", "--n-in", 3, "--n-out", 3, "-p", "q=5", "-o", "{tmp}/x.npz"],
                 "unknown parameter 'q' for family 'dense'", id="unknown-param"),
    pytest.param(["graph", "projective_plane", "-p", "q=x", "-o", "{tmp}/x.npz"],
                 "parameter q must be of type int", id="param-type"),
    pytest.param(["graph", "projective_plane", "-p", "q=3", "-p", "q=4", "-o", "{tmp}/x.npz"],
                 "--param q given twice", id="param-twice"),
    pytest.param(["graph", "erdos_renyi", "--n-in", 5, "--n-out", 5, "--density", 1.5,
                  "-o", "{tmp}/x.npz"], r"density must be in \(0.0, 1.0\], got 1.5",
                 id="density-1.5"),
    pytest.param(["graph", "erdos_renyi", "--n-in", 5, "--n-out", 5, "--degree", 6,
                  "-o", "{tmp}/x.npz"], "degree .* must be <= n_in=5, got 6", id="degree>n_in"),
    pytest.param(["graph", "erdos_renyi", "--n-in", 5, "--density", 0.5, "-o", "{tmp}/x.npz"],
                 "needs the layer sizes: give --n-out", id="missing-size"),
    pytest.param(["graph", "dense", "--sizes", "5,x", "-o", "{tmp}/x.npz"],
                 "--sizes must be comma-separated integers", id="bad-sizes"),
    pytest.param(["graph", "dense", "--sizes", "5,4", "--n-in", 5, "-o", "{tmp}/x.npz"],
                 "give --sizes or --n-in/--n-out, not both", id="sizes-and-n-in"),
    pytest.param(["graph", "erdos_renyi", "--n-in", 5, "--n-out", 4, "--density", 0.5,
                  "--sparse-output", "-o", "{tmp}/x.npz"],
                 r"--sparse-output only applies to a network \(--sizes\)",
                 id="sparse-output-layer"),
    pytest.param(["graph", "erdos_renyi", "--sizes", "5,4,3", "--dense-output",
                  "-o", "{tmp}/x.npz"],
                 "--dense-output is gone: the output layer is dense by default; give "
                 "--sparse-output", id="dense-output-gone"),
    pytest.param(["graph", "dense", "--n-in", 3, "--n-out", 3, "-o", "{tmp}/x.txt"],
                 "--output must end in .npz", id="output-suffix"),
    pytest.param(["graph", "dense", "--n-in", 3, "--n-out", 3, "-o", "{tmp}/no/dir/x.npz"],
                 "No such file or directory", id="output-dir"),
    pytest.param(["graph", "erdos_renyi", "--density", 0.5, "--degree", 2],
                 "argument --degree: not allowed with argument --density", id="density-and-degree"),
    pytest.param(["graph", "dense", "--n-in", "x"], "argument --n-in: invalid int value: 'x'",
                 id="argparse-type"),
    pytest.param(["graph", "dense"], "the following arguments are required: -o/--output",
                 id="argparse-required"),
    pytest.param(["frobnicate"], "invalid choice: 'frobnicate'", id="unknown-command"),
    pytest.param(["metrics", "{tmp}/missing.npz"], "graph file '.*missing.npz' does not exist",
                 id="missing-file"),
    pytest.param(["metrics", "{garbage}"], "cannot read '.*bad.npz' as an .npz file",
                 id="malformed-npz"),
    pytest.param(["metrics", "no_such_family"], "'no_such_family' is not a family name",
                 id="metrics-unknown-family"),
    pytest.param(["metrics", "{tmp}/layer.npy"], "is not an existing file", id="not-a-path"),
    pytest.param(["metrics", "{npy}"], "is not a graph file: graph files end in .npz",
                 id="npy-file"),
    pytest.param(["metrics", "{tmp}"], "is a directory", id="directory"),
    pytest.param(["metrics", "{garbage}", "--density", 0.5],
                 "--density only apply when building from a family", id="options-with-file"),
    pytest.param(["metrics", "{garbage}", "--sparse-output"],
                 "--sparse-output only apply when building from a family",
                 id="sparse-output-with-file"),
    pytest.param(["metrics", "dense", "--n-in", 2, "--n-out", 2, "--keys", ","],
                 "--keys must list metric names", id="empty-keys"),
    pytest.param(["draw", "dense", "--n-in", 3, "--n-out", 3, "-o", "{tmp}/x.txt"],
                 "figure path must end in .png, .svg, .pdf", id="draw-suffix"),
    pytest.param(["draw", "{network}", "--layer", 2, "-o", "{tmp}/x.png"],
                 r"--layer must be in \[0, 1\] for a network of 2 layers", id="draw-layer"),
    pytest.param(["draw", "dense", "--n-in", 3, "--n-out", 3, "--layer", 1, "-o", "{tmp}/x.png"],
                 "--layer must be 0 for a single layer graph, got 1", id="draw-layer-of-layer"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "match"), ERRORS)
def test_errors_are_one_line_and_exit_1(capsys, tmp_path, argv, match):
    import re

    names = {
        "tmp": tmp_path,
        "garbage": _garbage(tmp_path),
        "network": _network(tmp_path),
        "npy": _npy(tmp_path),
    }
    argv = [str(arg).format(**names) for arg in argv]
    status, out, err = run_cli(capsys, *argv)
    assert status == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.endswith("\n")
    assert err.startswith("topokit: error: ")
    assert re.search(match, err), err
    assert "Traceback" not in err


# ------------------------------------------------------- the installed script
def _script_command():
    script = Path(sys.executable).with_name("topokit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "topokit"]


def test_python_dash_m_prints_the_version():
    result = subprocess.run(
        [sys.executable, "-m", "topokit", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, f"topokit {__version__}\n", "")


def test_console_script_json_and_error(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    path = tmp_path / "layer.npz"
    result = subprocess.run(
        [*_script_command(), "graph", "dense", "--n-in", "4", "--n-out", "2", "-o", str(path),
         "--json"],
        capture_output=True, text=True, check=False, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["n_edges"] == 8
    assert sp.load_npz(path).shape == (4, 2)
    result = subprocess.run(
        [*_script_command(), "graph", "dense", "--n-in", "4", "--n-out", "2", "--density", "1.5",
         "-o", str(path)],
        capture_output=True, text=True, check=False, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "topokit: error: density must be in (0.0, 1.0], got 1.5\n"
