"""``allocation`` in a study: one value or a sweep, keys of uniform runs unchanged, errors."""

import pytest

from topokit import TopokitError
from topokit.allocation import layer_densities
from topokit.analysis import ResultStore, load_results, load_study
from topokit.analysis.runner import run_study
from topokit.analysis.study import RunConfig, build_topology
from topokit.metrics import network_metrics

HEAD = """
name = "alloc"
dataset = "digits"
sizes = [64, 40, 20, 10]
densities = [0.2]
seeds = [0]
"""
FAMILIES = '[[families]]\nname = "erdos_renyi"\n[[families]]\nname = "dense"\n'
SPARSE = [(64, 40), (40, 20)]


def _erk_edges(density):
    densities = layer_densities(SPARSE, density, "erk")
    return [round(d * a * b) for d, (a, b) in zip(densities, SPARSE, strict=True)]


def test_erk_runs_build_erk_topologies():
    study = load_study(HEAD + 'allocation = "erk"\n' + FAMILIES)
    runs = study.runs()
    assert [(run.family, run.allocation) for run in runs] == [
        ("erdos_renyi", "erk"),
        ("dense", "uniform"),  # a family that fixes its edges has nothing to allocate
    ]
    assert runs[0].label == "erdos_renyi(allocation=erk)"
    edges = [layer.n_edges for layer in build_topology(runs[0])]
    assert edges == [*_erk_edges(0.2), 200]


def test_allocation_sweeps_as_a_list():
    study = load_study(HEAD + 'allocation = ["uniform", "erk"]\n' + FAMILIES)
    assert [(run.family, run.allocation) for run in study.runs()] == [
        ("erdos_renyi", "uniform"),
        ("erdos_renyi", "erk"),
        ("dense", "uniform"),
    ]
    uniform, erk = (build_topology(run) for run in study.runs()[:2])
    assert [layer.n_edges for layer in uniform] == [512, 160, 200]
    assert [layer.n_edges for layer in erk] == [*_erk_edges(0.2), 200]


def test_uniform_keys_are_those_of_before_allocations():
    plain = load_study(HEAD + FAMILIES)
    uniform = load_study(HEAD + 'allocation = "uniform"\n' + FAMILIES)
    assert plain.key == uniform.key
    assert "allocation" not in plain.to_dict()
    assert [run.key for run in plain.runs()] == [run.key for run in uniform.runs()]
    run = plain.runs()[0]
    assert "allocation" not in run.to_dict()
    assert run.key == RunConfig.from_dict(run.to_dict()).key  # read back without the field


def test_erk_changes_the_keys_and_round_trips():
    study = load_study(HEAD + 'allocation = "erk"\n' + FAMILIES)
    assert study.key != load_study(HEAD + FAMILIES).key
    assert study.to_dict()["allocation"] == ["erk"]
    run = study.runs()[0]
    assert run.to_dict()["allocation"] == "erk"
    assert RunConfig.from_dict(run.to_dict()) == run
    assert RunConfig.from_dict(run.to_dict()).key == run.key


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param(
            'allocation = "ERK"', "allocation must be one of uniform, erk, got 'ERK'", id="unknown"
        ),
        pytest.param("allocation = []", "allocation must not be empty", id="empty"),
        pytest.param("allocation = 3", "allocation must be one of uniform, erk, got 3", id="int"),
        pytest.param(
            'allocation = ["erk", "erk"]', "allocation lists a value more than once", id="twice"
        ),
    ],
)
def test_bad_allocation(line, message):
    with pytest.raises(TopokitError, match=message):
        load_study(HEAD + line + "\n" + FAMILIES)


def test_erk_with_degrees_is_refused_before_any_run():
    text = HEAD.replace("densities = [0.2]", "degrees = [4]") + 'allocation = "erk"\n' + FAMILIES
    with pytest.raises(TopokitError, match=r"give density, not degree \(got degree=4\)"):
        load_study(text)


def test_a_study_runs_and_stores_erk_runs(tmp_path):
    study = load_study(
        HEAD
        + 'allocation = ["uniform", "erk"]\nmetrics = ["n_edges", "net_effective_density"]\n'
        + "[training]\nepochs = 1\n"
        + '[[families]]\nname = "erdos_renyi"\n'
    )
    summary = run_study(study, tmp_path, workers=1, progress=False)
    assert (summary.n_ok, summary.n_failed) == (2, 0)
    with ResultStore(tmp_path, readonly=True) as store:
        assert {row["status"] for row in store.run_rows()} == {"ok"}
    frame = load_results(tmp_path)
    by_variant = frame.set_index("variant")
    assert by_variant.loc["erdos_renyi", "mean_n_edges"] == pytest.approx((512 + 160) / 2)
    assert by_variant.loc["erdos_renyi(allocation=erk)", "mean_n_edges"] == pytest.approx(
        sum(_erk_edges(0.2)) / 2
    )
    for run in study.runs():  # the network metric of learned graphs, recorded per run
        expected = network_metrics(build_topology(run), keys=["net_effective_density"])
        assert by_variant.loc[run.label, "net_effective_density"] == pytest.approx(
            expected["net_effective_density"], rel=1e-12
        )
