"""Dynamic sparse training in studies: the TOML keys, the runs' outcomes, and the layer
graphs stored along training (snapshots) with their metrics."""

import math
import sqlite3

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from topokit import LayerGraph, Topology
from topokit._errors import TopokitError
from topokit.analysis import (
    ResultStore,
    RunResult,
    export_results,
    load_results,
    load_snapshot_topology,
    load_snapshots,
    load_study,
    run_study,
    salvage_store,
)
from topokit.analysis._snapshots import decode_layer, dynamic_outcomes, encode_layer
from topokit.analysis.store import SCHEMA_VERSION, STORE_FILENAME
from topokit.analysis.study import DYNAMIC_DEFAULTS, RunConfig, build_topology
from topokit.cli import main
from topokit.metrics import layer_metrics, network_metrics
from topokit.nn import SparseMLP
from topokit.nn.dynamic import DynamicSparsity

METRICS = [
    "n_edges",
    "spectral_gap",
    "ramanujan_gap",
    "fiedler_value",
    "isolated_inputs",
    "net_spectral_gap",
    "net_effective_density",
]

STUDY = f"""
name = "learned"
dataset = "digits"
sizes = [64, 32, 32, 10]
densities = [0.25]
seeds = [0]
metrics = {METRICS!r}

[training]
epochs = 2
learning_rate = 0.01
dynamic = ["static", "set", "rigl"]

[[families]]
name = "erdos_renyi"

[[families]]
name = "snip"
dynamic = "static"
"""

DROP = 0.3  # the default drop fraction
EDGES = [round(0.25 * 64 * 32), round(0.25 * 32 * 32), 32 * 10]  # 512, 256, 320 (dense)
POSITIONS = [64 * 32, 32 * 32, 32 * 10]


# ---------------------------------------------------------------- the TOML keys


def _text(training="", families='[[families]]\nname = "erdos_renyi"\n', top=""):
    return (
        f'name = "d"\ndataset = "digits"\nsizes = [64, 32, 32, 10]\ndensities = [0.25]\n'
        f"seeds = [0]\n{top}"
        f"[training]\nepochs = 3\n{training}\n{families}"
    )


def test_one_rule_labels_every_run():
    runs = load_study(_text('dynamic = "set"')).runs()
    assert [(run.label, run.dynamic, run.training["dynamic"]) for run in runs] == [
        ("erdos_renyi(dynamic=set)", "set", "set")
    ]
    assert runs[0].to_dict()["training"]["dynamic"] == "set"
    assert runs[0].snapshots
    assert runs[0].snapshot_epochs == (0, -1)


def test_a_list_of_rules_sweeps_them():
    study = load_study(_text('dynamic = ["static", "set", "rigl"]'))
    assert [run.dynamic for run in study.runs()] == ["static", "set", "rigl"]
    assert study.swept_training == {"dynamic": ("static", "set", "rigl")}


def test_static_runs_keep_the_keys_of_a_study_without_the_keys():
    plain = load_study(_text()).runs()
    swept = load_study(_text('dynamic = ["static", "set"]')).runs()
    assert swept[0].key == plain[0].key
    assert load_study(_text('dynamic = "static"')).key == load_study(_text()).key
    config = plain[0].to_dict()
    assert not set(DYNAMIC_DEFAULTS) & set(config["training"])
    assert "snapshot_epochs" not in config
    again = RunConfig.from_dict(config)
    assert again == plain[0]
    assert again.key == plain[0].key


def test_a_family_brings_its_own_rules():
    families = (
        '[[families]]\nname = "erdos_renyi"\ndynamic = ["set", "rigl"]\n'
        '[[families]]\nname = "ramanujan"\n'
    )
    runs = load_study(_text('dynamic = "static"', families)).runs()
    assert [run.label for run in runs] == [
        "erdos_renyi(dynamic=set)",
        "erdos_renyi(dynamic=rigl)",
        "ramanujan",
    ]


def test_a_static_run_is_listed_once_across_the_dynamic_keys():
    study = load_study(_text('dynamic = ["static", "set"]\ndrop_fraction = [0.5, 0.3, 0.1]'))
    runs = study.runs()
    assert [(run.dynamic, run.training["drop_fraction"]) for run in runs] == [
        ("static", 0.3),
        ("set", 0.5),
        ("set", 0.3),
        ("set", 0.1),
    ]
    assert len({run.key for run in runs}) == 4


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"dynamic": "set"}, id="dynamic"),
        pytest.param({"drop_fraction": 0.5}, id="drop_fraction"),
        pytest.param({"update_interval": 10}, id="update_interval"),
        pytest.param({"update_until": 0.5}, id="update_until"),
    ],
)
def test_run_key_covers_the_dynamic_keys(change):
    base = RunConfig("digits", (64, 32, 10), "erdos_renyi", {}, 0.25, None, seed=0)
    changed = RunConfig(
        "digits", (64, 32, 10), "erdos_renyi", {}, 0.25, None, seed=0,
        training={**base.training, **change},
    )  # fmt: skip
    assert changed.key != base.key
    assert RunConfig.from_dict(changed.to_dict()) == changed


def test_snapshot_epochs_are_sorted_and_part_of_the_runs_that_learn():
    study = load_study(_text('dynamic = ["static", "set"]', top="snapshot_epochs = [-1, 2, 0]\n"))
    static, rewired = study.runs()
    assert study.snapshot_epochs == (0, 2, -1)
    assert rewired.snapshot_epochs == (0, 2, -1)
    assert rewired.to_dict()["snapshot_epochs"] == [0, 2, -1]
    assert static.snapshot_epochs == (0, -1)
    assert not static.snapshots
    assert RunConfig.from_dict(rewired.to_dict()) == rewired


def test_a_pruned_run_takes_snapshots_without_a_rule():
    families = '[[families]]\nname = "snip"\n'
    (run,) = load_study(_text(families=families, top="snapshot_epochs = [1]\n")).runs()
    assert run.dynamic == "static"
    assert run.snapshots
    assert run.snapshot_epochs == (1,)


@pytest.mark.parametrize(
    ("training", "families", "top", "message"),
    [
        pytest.param(
            'dynamic = "sat"',
            None,
            "",
            r"training\.dynamic must be one of static, set, rigl, got 'sat'",
            id="unknown-rule",
        ),
        pytest.param(
            'dynamic = ["set", "set"]',
            None,
            "",
            r"training\.dynamic has repeated values",
            id="repeated-rule",
        ),
        pytest.param(
            "drop_fraction = 1.0",
            None,
            "",
            r"training\.drop_fraction must be in \(0, 1\), got 1\.0",
            id="drop-fraction-1",
        ),
        pytest.param(
            "drop_fraction = [0.2, 0]",
            None,
            "",
            r"training\.drop_fraction must be in \(0, 1\), got 0",
            id="drop-fraction-0",
        ),
        pytest.param(
            "update_interval = 0",
            None,
            "",
            r"training\.update_interval must be an integer >= 1, got 0",
            id="update-interval",
        ),
        pytest.param(
            "update_until = 1.5",
            None,
            "",
            r"training\.update_until must be in \(0, 1\], got 1\.5",
            id="update-until",
        ),
        pytest.param(
            "",
            '[[families]]\nname = "erdos_renyi"\ndynamic = "magnitude"\n',
            "",
            r"families\[0\] \(erdos_renyi\): dynamic must be one of static, set, rigl, "
            r"got 'magnitude'",
            id="family-rule",
        ),
        pytest.param(
            'dynamic = "set"',
            '[[families]]\nname = "dense"\n',
            "",
            r"training\.dynamic = 'set' needs a sparse layer to rewire \(fewer edges than "
            r"n_in \* n_out\), got dense at sizes \[64, 32, 32, 10\] whose layers are all "
            r'complete: give its \[\[families\]\] table dynamic = "static"',
            id="no-sparse-layer",
        ),
        pytest.param(
            'dynamic = "rigl"',
            '[[families]]\nname = "erdos_renyi"\ndensities = [1.0]\n',
            "",
            r"training\.dynamic = 'rigl' needs a sparse layer .* erdos_renyi at sizes "
            r"\[64, 32, 32, 10\], density 1\.0 whose layers are all complete",
            id="complete-density",
        ),
        pytest.param(
            'dynamic = "set"',
            None,
            "snapshot_epochs = [0, 4]\n",
            r"snapshot_epochs must be at most training\.epochs = 3 \(or -1 for the last "
            r"epoch trained\), got 4",
            id="snapshot-after-training",
        ),
        pytest.param(
            'dynamic = "set"',
            None,
            "snapshot_epochs = [-2]\n",
            r"snapshot_epochs must be a non-empty list of epoch indices \(0 the start, -1 "
            r"the last epoch trained\), got \[-2\]",
            id="snapshot-negative",
        ),
        pytest.param(
            'dynamic = "set"',
            None,
            "snapshot_epochs = []\n",
            r"snapshot_epochs must be a non-empty list",
            id="snapshot-empty",
        ),
        pytest.param(
            "",
            None,
            "snapshot_epochs = [0, 1]\n",
            r"snapshot_epochs records the graphs of dynamic and pruned runs, and this study "
            r"has none",
            id="snapshot-nothing-learns",
        ),
    ],
)
def test_bad_dynamic_input(training, families, top, message):
    kwargs = {} if families is None else {"families": families}
    with pytest.raises(TopokitError, match=message):
        load_study(_text(training, top=top, **kwargs))


def test_a_dense_family_beside_dynamic_ones_runs_static():
    families = '[[families]]\nname = "erdos_renyi"\n[[families]]\nname = "dense"\n'
    families += 'dynamic = "static"\n'
    runs = load_study(_text('dynamic = "set"', families)).runs()
    assert [run.label for run in runs] == ["erdos_renyi(dynamic=set)", "dense"]


# ------------------------------------------------------------- stored graphs


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param((5, 7, [(0, 0), (1, 3), (4, 6)]), id="small"),
        pytest.param((3, 4, []), id="empty"),
        pytest.param((3, 4, [(i, j) for i in range(3) for j in range(4)]), id="complete"),
        pytest.param((70_000, 70_000, [(0, 1), (69_999, 69_998)]), id="wide-gaps"),
    ],
)
def test_a_layer_graph_round_trips_through_its_bytes(shape):
    n_in, n_out, edges = shape
    rows, cols = zip(*edges, strict=True) if edges else ((), ())
    biadjacency = sp.csr_array((np.ones(len(edges)), (rows, cols)), shape=(n_in, n_out))
    graph = LayerGraph(biadjacency)
    again = decode_layer(encode_layer(graph), n_in, n_out, family="erdos_renyi")
    assert again.family == "erdos_renyi"
    assert again.biadjacency.shape == (n_in, n_out)
    assert (again.biadjacency != graph.biadjacency).nnz == 0
    assert again.n_edges == len(edges)


def test_dynamic_outcomes_by_hand():
    topology = Topology.build([20, 30, 2], "erdos_renyi", density=0.2, rng=0)
    model = SparseMLP(topology, rng=0)
    hook = DynamicSparsity("set", drop_fraction=0.5, rng=0)
    hook.update(model, None, None, step=5, epoch=0)
    hook.update(model, None, None, step=10, epoch=1)
    run, layers = dynamic_outcomes(hook, topology)
    # 120 and 12 edges; 60 and 6 change at each of the two updates
    assert run["n_updates"] == 2
    assert run["edges_changed_per_update"] == (2 * 60 + 2 * 6) / 2
    assert [layer["edges_changed_per_update"] for layer in layers] == [60.0, 6.0]
    ever = [round(f * n) for f, n in zip(hook.ever_active_fraction(), (600, 60), strict=True)]
    assert [layer["ever_active_fraction"] for layer in layers] == [ever[0] / 600, ever[1] / 60]
    assert run["ever_active_fraction"] == pytest.approx(sum(ever) / 660, rel=1e-12)
    # the positions ever active: the start's, then each update's new ones
    assert 120 + 60 <= ever[0] <= 120 + 2 * 60


def test_no_update_gives_nan_per_update():
    topology = Topology.build([20, 30, 2], "erdos_renyi", density=0.2, rng=0)
    run, layers = dynamic_outcomes(DynamicSparsity("rigl"), topology)
    assert run["n_updates"] == 0
    assert math.isnan(run["edges_changed_per_update"])
    assert run["ever_active_fraction"] == pytest.approx(132 / 660)
    assert [layer["ever_active_fraction"] for layer in layers] == [0.2, 0.2]


# ------------------------------------------------------------ a real study


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("learned")
    summary = run_study(load_study(STUDY), folder, workers=1, progress=False)
    assert (summary.n_ok, summary.n_failed) == (4, 0)
    return folder


@pytest.fixture(scope="module")
def results(folder):
    return load_results(folder).set_index("variant")


@pytest.fixture(scope="module")
def snapshots(folder):
    return load_snapshots(folder)


def test_results_name_the_rule(results):
    assert results["dynamic"].to_dict() == {
        "erdos_renyi": "static",
        "erdos_renyi(dynamic=rigl)": "rigl",
        "erdos_renyi(dynamic=set)": "set",
        "snip": "static",
    }
    assert (results["test_accuracy"] > 0.3).all()  # chance is 0.1


def test_set_outcomes_are_exact(results):
    row = results.loc["erdos_renyi(dynamic=set)"]
    changed = [int(DROP * EDGES[0]), int(DROP * EDGES[1]), 0]  # the dense output: none
    assert row["n_updates"] == 1  # at the end of epoch 1: never on the last step
    assert row["edges_changed_per_update"] == sum(changed)
    for k in range(3):
        assert row[f"edges_changed_per_update_layer{k}"] == changed[k]
        # one update: the regrown positions were never active before
        expected = 1.0 if k == 2 else (EDGES[k] + changed[k]) / POSITIONS[k]
        assert row[f"ever_active_fraction_layer{k}"] == pytest.approx(expected, rel=1e-12)
    expected = (EDGES[0] + changed[0] + EDGES[1] + changed[1]) / (POSITIONS[0] + POSITIONS[1])
    assert row["ever_active_fraction"] == pytest.approx(expected, rel=1e-12)


def test_rigl_outcomes_follow_its_annealed_fraction(results):
    row = results.loc["erdos_renyi(dynamic=rigl)"]
    assert row["n_updates"] == 1
    changed = [row[f"edges_changed_per_update_layer{k}"] for k in range(3)]
    # the cosine annealing at the end of epoch 1 of 2 (update_until 0.75): below 0.3
    assert 0 < changed[0] < int(DROP * EDGES[0])
    assert changed[2] == 0
    fraction = changed[0] / EDGES[0]
    assert int(fraction * EDGES[1]) in (changed[1], changed[1] + 1)
    for k in range(2):
        expected = (EDGES[k] + changed[k]) / POSITIONS[k]
        assert row[f"ever_active_fraction_layer{k}"] == pytest.approx(expected, rel=1e-12)


def test_static_runs_have_no_dynamic_outcomes(results):
    for variant in ("erdos_renyi", "snip"):
        assert results.loc[variant, ["ever_active_fraction", "n_updates"]].isna().all()


def test_snapshots_at_the_start_and_the_end(snapshots):
    assert sorted(set(snapshots["variant"])) == [
        "erdos_renyi(dynamic=rigl)",
        "erdos_renyi(dynamic=set)",
        "snip",
    ]
    assert snapshots.groupby("variant")["epoch"].apply(list).to_dict() == {
        "erdos_renyi(dynamic=rigl)": [0, 2],
        "erdos_renyi(dynamic=set)": [0, 2],
        "snip": [0, 2],
    }
    head = ["run_key", "family", "variant", "density", "degree", "seed", "sizes", "dynamic"]
    assert list(snapshots.columns[: len(head) + 1]) == [*head, "epoch"]
    assert "learning_rate" not in snapshots.columns  # not varied
    assert {"net_spectral_gap", "spectral_gap_layer0", "fiedler_value_layer2"} <= set(
        snapshots.columns
    )
    assert not any(c.startswith("degree_in") for c in snapshots.columns)
    # every layer keeps its edge count (snip's are its global ranking's)
    for k in range(3):
        assert (snapshots.groupby("run_key")[f"n_edges_layer{k}"].nunique() == 1).all()
        rewired = snapshots[snapshots["family"] == "erdos_renyi"]
        assert (rewired[f"n_edges_layer{k}"] == EDGES[k]).all()


def _close(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return math.isclose(float(a), float(b), rel_tol=1e-8, abs_tol=1e-9)


def test_snapshot_metrics_are_those_of_the_stored_graphs(folder, snapshots):
    layer_keys = [key for key in METRICS if not key.startswith("net_")]
    net_keys = [key for key in METRICS if key.startswith("net_")]
    for row in snapshots.itertuples(index=False):
        row = row._asdict()
        topology = load_snapshot_topology(folder, row["run_key"], row["epoch"])
        assert topology.sizes == [64, 32, 32, 10]
        for k, graph in enumerate(topology):
            direct = layer_metrics(graph, keys=layer_keys)
            for key in layer_keys:
                assert _close(row[f"{key}_layer{k}"], direct[key]), (row["variant"], key, k)
        direct = network_metrics(topology, keys=net_keys)
        for key in net_keys:
            assert _close(row[key], direct[key]), (row["variant"], key)


def test_the_start_snapshot_is_the_runs_topology(folder, results, snapshots):
    runs = {run.key: run for run in load_study(STUDY).runs()}
    for row in snapshots[snapshots["epoch"] == 0].itertuples():
        start = load_snapshot_topology(folder, row.run_key, 0)
        built = build_topology(runs[row.run_key])
        for graph, expected in zip(start, built, strict=True):
            assert (graph.biadjacency != expected.biadjacency).nnz == 0
        # and its metrics are the run's own
        assert row.spectral_gap_layer0 == pytest.approx(
            results.loc[row.variant, "layer0_spectral_gap"], rel=1e-12
        )


def test_rewired_graphs_differ_by_the_edges_changed(folder, results, snapshots):
    for variant in ("erdos_renyi(dynamic=set)", "erdos_renyi(dynamic=rigl)"):
        key = results.loc[variant, "run_key"]
        start = load_snapshot_topology(folder, key, 0)
        end = load_snapshot_topology(folder, key, 2)
        for k in range(3):
            moved = (start[k].biadjacency != end[k].biadjacency).nnz
            assert moved == 2 * results.loc[variant, f"edges_changed_per_update_layer{k}"]
    key = results.loc["snip", "run_key"]
    start, end = (load_snapshot_topology(folder, key, epoch) for epoch in (0, 2))
    assert all((a.biadjacency != b.biadjacency).nnz == 0 for a, b in zip(start, end, strict=True))


def test_load_snapshot_topology_errors(folder, results):
    key = results.loc["erdos_renyi(dynamic=set)", "run_key"]
    with pytest.raises(TopokitError, match=r"epoch must be a snapshot epoch of run .*, got 1; "):
        load_snapshot_topology(folder, key, 1)
    static = results.loc["erdos_renyi", "run_key"]
    with pytest.raises(TopokitError, match=r"its snapshot epochs: none"):
        load_snapshot_topology(folder, static, 0)
    with pytest.raises(TopokitError, match=r"run_key must name one stored run .* 'nope'"):
        load_snapshot_topology(folder, "nope", 0)
    with pytest.raises(TopokitError, match=r"run_key must be a run's key .*, got ''"):
        load_snapshot_topology(folder, "", 0)


def test_export_snapshots(folder, snapshots, tmp_path, capsys):
    written = export_results(folder, tmp_path / "snapshots.csv", table="snapshots")
    frame = pd.read_csv(written)
    assert list(frame.columns) == list(snapshots.columns)
    assert len(frame) == len(snapshots)
    assert main(["export", str(folder), "--snapshots", "--output", str(tmp_path / "s.json")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "s.json")
    assert len(pd.read_json(tmp_path / "s.json")) == len(snapshots)


def test_salvage_keeps_the_snapshots(folder, snapshots, tmp_path):
    report = salvage_store(folder, tmp_path / "copy")
    assert report["n_runs"] == 4
    assert report["n_unreadable"] == 0
    pd.testing.assert_frame_equal(load_snapshots(tmp_path / "copy"), snapshots)
    pd.testing.assert_frame_equal(load_results(tmp_path / "copy"), load_results(folder))


def test_resume_and_grow(folder, tmp_path):
    import shutil

    copy = tmp_path / "study"
    shutil.copytree(folder, copy)
    again = run_study(load_study(STUDY), copy, workers=1, progress=False)
    assert (again.n_skipped, again.n_ok) == (4, 0)
    grown = STUDY.replace('dynamic = "static"\n', 'dynamic = ["static", "set"]\n')
    summary = run_study(load_study(grown), copy, workers=1, progress=False)
    assert (summary.n_skipped, summary.n_ok, summary.n_failed) == (4, 1, 0)
    frame = load_snapshots(copy)
    assert frame.groupby("variant")["epoch"].apply(list)["snip(dynamic=set)"] == [0, 2]
    assert len(frame) == 8


# ---------------------------------------------------------------- old stores


@pytest.mark.parametrize("version", [2, 3])
def test_an_old_store_reads_and_upgrades_in_place(tmp_path, version):
    study = load_study(_text('dynamic = ["static", "set"]'))
    static, rewired = study.runs()
    with ResultStore(tmp_path, study) as store:
        store.record(static, RunResult("ok", test_accuracy=0.5))
    connection = sqlite3.connect(tmp_path / STORE_FILENAME)
    for table in ("outcomes", "snapshot_metrics", "snapshot_graphs"):
        connection.execute(f"DROP TABLE {table}")
    if version == 2:
        connection.execute("DROP TABLE claims")
    connection.execute(f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'")
    connection.commit()
    connection.close()
    # read as it is
    assert load_results(tmp_path)["dynamic"].tolist() == ["static"]
    assert load_snapshots(tmp_path).empty
    with pytest.raises(TopokitError, match="its snapshot epochs: none"):
        load_snapshot_topology(tmp_path, static.key, 0)
    # a study opening it for writing adds the tables
    graph = Topology.build([64, 32, 32, 10], "erdos_renyi", density=0.25, rng=0)
    layers = [
        {"n_in": g.n_in, "n_out": g.n_out, "n_edges": g.n_edges, "edges": encode_layer(g)}
        for g in graph
    ]
    snapshot = {"epoch": 0, "layers": layers, "layer_metrics": [{}] * 3,
                "network_metrics": {"net_density": 0.5}}  # fmt: skip
    with ResultStore(tmp_path, study) as store:
        store.record(rewired, RunResult("ok", outcomes={"n_updates": 2}, snapshots=[snapshot]))
    connection = sqlite3.connect(tmp_path / STORE_FILENAME)
    stored = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    connection.close()
    assert stored == (str(SCHEMA_VERSION),) == ("4",)
    assert load_results(tmp_path).set_index("dynamic")["n_updates"].to_dict() == pytest.approx(
        {"static": math.nan, "set": 2.0}, nan_ok=True
    )
    assert load_snapshots(tmp_path)["net_density"].tolist() == [0.5]
    again = load_snapshot_topology(tmp_path, rewired.key, 0)
    assert [g.n_edges for g in again] == [g.n_edges for g in graph]


def test_a_retried_run_replaces_its_snapshots(tmp_path):
    study = load_study(_text('dynamic = "set"'))
    (run,) = study.runs()
    graph = Topology.build([64, 32, 32, 10], "erdos_renyi", density=0.25, rng=0)
    layers = [
        {"n_in": g.n_in, "n_out": g.n_out, "n_edges": g.n_edges, "edges": encode_layer(g)}
        for g in graph
    ]
    with ResultStore(tmp_path, study) as store:
        store.record(run, RunResult.failed("loss is nan"))
        snapshot = {"epoch": 3, "layers": layers, "network_metrics": {"net_density": 0.1}}
        assert store.record(run, RunResult("ok", snapshots=[snapshot]))
        assert store.snapshot_epochs() == {run.key: [3]}
        assert [row[1:] for row in store.snapshot_metric_rows()] == [(3, -1, "net_density", 0.1)]


def test_the_report_follows_the_graph_along_training(folder, snapshots):
    """analyze_study hands the stored snapshots to the report: its section, the figures."""
    from topokit.analysis import analyze_study

    analysis = analyze_study(folder, figures=True)
    text = analysis.report.read_text()
    assert "## The graph along training" in text
    assert (folder / "figures" / "trajectories_layer0.png").exists()
    assert any(path.name.startswith("degrees_layer0") for path in (folder / "figures").iterdir())
    n_runs = snapshots["run_key"].nunique()
    assert f"{n_runs} runs stored snapshots" in text
