"""Study definitions: parsing, validation (all problems at once), expansion, run keys."""

import dataclasses
import hashlib
import json
import pickle

import pytest

from topokit._errors import TopokitError
from topokit._validation import edge_count
from topokit.analysis.study import (
    FORMAT_VERSION,
    TRAINING_DEFAULTS,
    RunConfig,
    build_topology,
    list_presets,
    load_preset,
    load_study,
)

BASE = """
name = "grid"
dataset = "digits"
sizes = [[64, 32, 10], [64, 16, 10]]
densities = [0.25, 0.5]
seeds = [0, 1]
dense_layers = [-1]

[training]
epochs = 3

[[families]]
name = "small_world"
p = [0.0, 0.1, 1.0]

[[families]]
name = "erdos_renyi"

[[families]]
name = "dense"
"""


@pytest.fixture
def study():
    return load_study(BASE)


# ------------------------------------------------------------------ expansion


def test_grid_size(study):
    # per sizes and seed: small_world 3 p x 2 densities + erdos_renyi 2 + dense 1 = 9
    assert len(study.runs()) == 2 * 2 * 9


def test_runs_are_the_full_grid(study):
    seen = {
        (run.sizes, run.seed, run.family, tuple(run.params.items()), run.density)
        for run in study.runs()
    }
    expected = set()
    for sizes in [(64, 32, 10), (64, 16, 10)]:
        for seed in (0, 1):
            for p in (0.0, 0.1, 1.0):
                for density in (0.25, 0.5):
                    expected.add((sizes, seed, "small_world", (("p", p),), density))
            for density in (0.25, 0.5):
                expected.add((sizes, seed, "erdos_renyi", (), density))
            expected.add((sizes, seed, "dense", (), None))
    assert seen == expected


def test_fixed_edge_count_family_gets_no_density(study):
    dense = [run for run in study.runs() if run.family == "dense"]
    assert len(dense) == 4
    assert all(run.density is None and run.degree is None for run in dense)


def test_dense_layers_are_normalized(study):
    assert {run.dense_layers for run in study.runs()} == {(1,)}


def test_run_key_is_sha256_of_canonical_json(study):
    run = study.runs()[0]
    config = run.to_dict()
    # keys hash the training schedule under the name it had when keys were first written
    config["training"]["learning_rate_schedule"] = config["training"].pop("schedule")
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    assert run.key == hashlib.sha256(canonical.encode()).hexdigest()
    assert run.to_dict()["format"] == FORMAT_VERSION


def test_run_key_is_stable_across_sessions():
    # A literal: if this changes, every existing store would rerun its runs.
    # The recipe is the study default at the time the literal was recorded (epochs 20,
    # batch size 32, patience 5; today's defaults are topokit.nn.DEFAULT_RECIPE).
    training = {**TRAINING_DEFAULTS, "epochs": 20, "batch_size": 32, "patience": 5}
    run = RunConfig("digits", (64, 32, 10), "erdos_renyi", {}, 0.25, None, 0, training=training)
    assert run.key == "4f48a0c955450ad827f53ca05a715296a720661b6fe4af9e1a7a1bff82794030"


def test_run_keys_are_unique(study):
    keys = [run.key for run in study.runs()]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"dataset": "mnist"}, id="dataset"),
        pytest.param({"sizes": (64, 33, 10)}, id="sizes"),
        pytest.param({"family": "biregular"}, id="family"),
        pytest.param({"params": {"p": 0.2}}, id="params"),
        pytest.param({"density": 0.5}, id="density"),
        pytest.param({"seed": 1}, id="seed"),
        pytest.param({"dense_layers": ()}, id="dense_layers"),
        pytest.param({"training": {**TRAINING_DEFAULTS, "epochs": 3}}, id="training"),
        pytest.param({"metrics": ("spectral_gap",)}, id="metrics"),
    ],
)
def test_run_key_covers_every_field(change):
    fields = {
        "dataset": "digits",
        "sizes": (64, 32, 10),
        "family": "small_world",
        "params": {"p": 0.1},
        "density": 0.25,
        "degree": None,
        "seed": 0,
        "dense_layers": (1,),
    }
    base = RunConfig(**fields)
    assert RunConfig(**{**fields, **change}).key != base.key


def test_run_config_round_trips(study):
    for run in study.runs()[:5]:
        again = RunConfig.from_dict(json.loads(json.dumps(run.to_dict())))
        assert again == run
        assert again.key == run.key
        assert pickle.loads(pickle.dumps(run)).key == run.key


def test_run_config_rejects_other_format():
    config = RunConfig("digits", (8, 2), "dense", {}, None, None, seed=0).to_dict()
    config["format"] = FORMAT_VERSION + 1
    with pytest.raises(TopokitError, match="format must be 1"):
        RunConfig.from_dict(config)


@pytest.mark.parametrize("key", ["dataset", "seed", "training"])
def test_run_config_names_the_keys_it_misses(key):
    config = RunConfig("digits", (8, 2), "dense", {}, None, None, seed=0).to_dict()
    del config[key]
    with pytest.raises(TopokitError, match=rf"has no {key!r} key"):
        RunConfig.from_dict(config)


def test_study_key_ignores_layout_and_description(study):
    reordered = BASE.replace('name = "grid"', 'description = "same grid"\nname = "grid"')
    reordered = reordered.replace("seeds = [0, 1]", "# a comment\nseeds = [ 0, 1 ]")
    assert load_study(reordered).key == study.key


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("seeds = [0, 1]", "seeds = [0, 1, 2]", id="seeds"),
        pytest.param("epochs = 3", "epochs = 4", id="training"),
        pytest.param('name = "grid"', 'name = "other"', id="name"),
    ],
)
def test_study_key_changes_with_configuration(study, old, new):
    assert load_study(BASE.replace(old, new)).key != study.key


def test_n_seeds():
    text = BASE.replace("seeds = [0, 1]", "n_seeds = 3")
    assert sorted({run.seed for run in load_study(text).runs()}) == [0, 1, 2]


def test_default_seeds_and_dataset():
    study = load_study('sizes = [64, 10]\n[[families]]\nname = "dense"')
    assert study.seeds == (0, 1, 2)
    assert study.dataset == "digits"
    assert study.training == TRAINING_DEFAULTS


def test_degrees_axis():
    study = load_study(
        'sizes = [64, 8, 10]\ndegrees = [2, 3]\nseeds = [0]\n[[families]]\nname = "erdos_renyi"'
    )
    assert [(run.density, run.degree) for run in study.runs()] == [(None, 2), (None, 3)]


def test_family_overrides_the_edge_axis():
    study = load_study(BASE.replace('name = "erdos_renyi"', 'name = "erdos_renyi"\ndegrees = [4]'))
    er = {(run.density, run.degree) for run in study.runs() if run.family == "erdos_renyi"}
    assert er == {(None, 4)}


def test_ints_parameter_is_one_value_and_list_of_lists_sweeps():
    # n' = 8: layer 0 is 64 -> 8, the output layer dense
    radix = 'sizes = [64, 8, 10]\ndense_layers = [-1]\nseeds = [0]\n[[families]]\nname = "radix"\n'
    one = load_study(radix + "radices = [2, 4]")
    assert [run.params for run in one.runs()] == [{"radices": [2, 4]}]
    two = load_study(radix + "radices = [[2, 4], [4, 2]]")
    assert [run.params for run in two.runs()] == [{"radices": [2, 4]}, {"radices": [4, 2]}]


def test_metrics_default_to_all(study):
    assert study.metrics is None
    assert study.layer_metric_keys is None
    assert study.network_metric_keys is None
    assert study.runs()[0].layer_metric_keys is None


def test_aggregated_metrics_are_network_keys():
    text = BASE.replace('dataset = "digits"', 'dataset = "digits"\nmetrics = ["min_spectral_gap"]')
    study = load_study(text)
    assert study.layer_metric_keys == ()
    assert study.network_metric_keys == ("min_spectral_gap", "net_density")


def test_metrics_split_by_level():
    text = BASE.replace(
        'dataset = "digits"', 'dataset = "digits"\nmetrics = ["spectral_gap", "net_fiedler_value"]'
    )
    study = load_study(text)
    assert study.layer_metric_keys == ("spectral_gap",)
    assert study.network_metric_keys == ("net_fiedler_value", "net_density")
    run = study.runs()[0]
    assert run.metrics == ("spectral_gap", "net_fiedler_value", "net_density")
    assert run.layer_metric_keys == ("spectral_gap",)
    assert run.network_metric_keys == ("net_fiedler_value", "net_density")


def test_infeasible_combinations_are_refused_at_load():
    text = 'sizes = [64, 8, 10]\ndegrees = [65]\nseeds = [0]\n[[families]]\nname = "erdos_renyi"'
    with pytest.raises(TopokitError) as info:
        load_study(text)
    head, problem = str(info.value).splitlines()
    assert head == "invalid study 'study' (<text>): 1 problem:"
    # the error building the run gives, after the combination's name
    run = RunConfig("digits", (64, 8, 10), "erdos_renyi", {}, None, 65, seed=0)
    with pytest.raises(TopokitError) as built:
        build_topology(run)
    assert problem == f"erdos_renyi at sizes [64, 8, 10], degree 65: {built.value}"
    assert "layer 0 (64 -> 8): degree" in problem


# ------------------------------------------------------------------ topology


def test_build_topology_edge_counts(study):
    run = next(r for r in study.runs() if r.family == "erdos_renyi" and r.sizes == (64, 32, 10))
    topology = build_topology(run)
    assert topology.sizes == [64, 32, 10]
    assert topology[0].n_edges == edge_count(64, 32, density=run.density)
    assert topology[1].n_edges == 32 * 10  # the dense output layer
    assert topology[1].family == "dense"


def test_build_topology_is_deterministic(study):
    run = next(r for r in study.runs() if r.family == "small_world" and r.params["p"] == 0.1)
    assert build_topology(run) == build_topology(run)
    other = dataclasses.replace(run, seed=run.seed + 7)
    assert build_topology(other) != build_topology(run)


def test_rngs_are_independent_streams():
    run = RunConfig("digits", (8, 2), "dense", {}, None, None, seed=5)
    topology_rng, training_rng = run.rngs()
    assert topology_rng.random() != training_rng.random()
    assert run.rngs()[0].random() == dataclasses.replace(run).rngs()[0].random()


# ------------------------------------------------------------------ reading


def test_load_from_file_resolves_dataset_path(tmp_path):
    (tmp_path / "data.npz").write_bytes(b"")
    path = tmp_path / "study.toml"
    # a user file: its shape is not known before loading, so any sizes are accepted
    path.write_text(BASE.replace('"digits"', '"data.npz"').replace("[64, 16, 10]", "[5, 4, 3]"))
    study = load_study(path)
    assert study.dataset == str((tmp_path / "data.npz").resolve())
    assert study.source == path.read_text()
    assert load_study(str(path)).key == study.key


def test_missing_file():
    with pytest.raises(TopokitError, match=r"study file 'nowhere\.toml' does not exist"):
        load_study("nowhere.toml")


def test_invalid_toml_names_the_line():
    with pytest.raises(TopokitError, match=r"not valid TOML: .*line 2"):
        load_study('name = "x"\nsizes = = [1, 2]\n')


def test_all_problems_reported_together():
    text = """
    name = "broken"
    colour = "blue"
    dataset = "imagenet"
    sizes = [64, 0]
    densities = [0.5, 1.5]
    seeds = [0, 0]
    metrics = ["spectral_gap", "spectral_gapp"]
    [training]
    epochs = 0
    optimizer = "rmsprop"
    lr = 0.1
    [[families]]
    name = "smallworld"
    [[families]]
    name = "small_world"
    q = 2
    p = "high"
    """
    with pytest.raises(TopokitError) as info:
        load_study(text)
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == "invalid study 'broken' (<text>): 12 problems:"
    expected = [
        "unknown key 'colour'; valid keys: name, description, dataset",
        "unknown dataset 'imagenet'; valid datasets: digits",
        "sizes must list at least two positive integers (input ... output), got [64, 0]",
        "families[0]: unknown family 'smallworld'; valid families: ",
        "families[1] (small_world): unknown parameter 'q'; valid parameters: p, densities, degrees",
        "families[1] (small_world): parameter 'p' of family 'small_world' must be of type float",
        "densities must be in (0, 1], got 1.5",
        "seeds has repeated values: [0, 0]",
        "training: unknown key 'lr'; valid keys: epochs, batch_size",
        "training.epochs must be an integer >= 1, got 0",
        "training.optimizer must be one of sgd, adam, got 'rmsprop'",
        "metrics: unknown keys 'spectral_gapp'; valid layer keys: n_in, n_out",
    ]
    assert len(lines) == 1 + len(expected)
    for line, start in zip(lines[1:], expected, strict=True):
        assert line.startswith(start), (line, start)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "sizes = [64, 10]", r"at least one \[\[families\]\] table is required", id="no-family"
        ),
        pytest.param(
            '[[families]]\nname = "dense"', "sizes is required, e.g. sizes = ", id="no-sizes"
        ),
        pytest.param(
            'sizes = [64, 10]\n[[families]]\nname = "erdos_renyi"',
            "families erdos_renyi need an edge count: give densities",
            id="no-edge-count",
        ),
        pytest.param(
            "sizes = [64, 10]\ndensities = [0.5]\ndegrees = [1]\n"
            '[[families]]\nname = "erdos_renyi"',
            "give densities or degrees, not both",
            id="both-axes",
        ),
        pytest.param(
            'sizes = [64, 10]\nseeds = [0]\nn_seeds = 2\n[[families]]\nname = "dense"',
            "give seeds or n_seeds, not both",
            id="seeds-and-n_seeds",
        ),
        pytest.param(
            'sizes = [64, 10]\nseeds = [-1]\n[[families]]\nname = "dense"',
            "seeds must be a non-empty list of non-negative integers, got",
            id="negative-seed",
        ),
        pytest.param(
            'sizes = [64, 4, 10]\ndense_layers = [2]\n[[families]]\nname = "dense"',
            r"dense_layers \[2\] out of range for sizes \[64, 4, 10\]",
            id="dense-layer-range",
        ),
        pytest.param(
            'sizes = [64, 10]\ndensities = [0.5]\n[[families]]\nname = "dense"\ndensities = [0.5]',
            "family 'dense' fixes its own edge count",
            id="density-for-dense",
        ),
        pytest.param(
            'sizes = [64, 10]\n[training]\ntarget_accuracy = 1.5\n[[families]]\nname = "dense"',
            r"training.target_accuracy must be in \(0, 1\], got 1.5",
            id="target",
        ),
        pytest.param(
            "sizes = [64, 10]\n[training]\nvalidation_fraction = 0.0\nearly_stopping = true\n"
            '[[families]]\nname = "dense"',
            "early_stopping needs a validation_fraction > 0",
            id="early-stopping",
        ),
        pytest.param(
            'sizes = [64, 10]\n[training]\nactivation = "gelu"\n[[families]]\nname = "dense"',
            "training.activation must be one of relu, tanh, logistic, identity, got 'gelu'",
            id="activation",
        ),
        pytest.param(
            'sizes = [64, 10]\ndataset = "missing.npz"\n[[families]]\nname = "dense"',
            "dataset file 'missing.npz' does not exist",
            id="dataset-file",
        ),
        pytest.param(
            'sizes = [64, 10]\ndensities = [0.5]\n[[families]]\nname = "erdos_renyi"\n'
            '[[families]]\nname = "erdos_renyi"',
            "the grid lists 3 runs more than once",
            id="duplicate-runs",
        ),
        pytest.param(
            'sizes = [8, 2]\n[[families]]\nname = "dense"',
            r"sizes \[8, 2\] must start with 64 inputs and end with 10 outputs \(the classes\) "
            "for dataset 'digits'",
            id="sizes-vs-dataset",
        ),
        pytest.param(
            'sizes = [64, 10]\nmetrics = "some"\n[[families]]\nname = "dense"',
            'metrics must be "all" or a non-empty list of metric keys',
            id="metrics-string",
        ),
    ],
)
def test_single_problem(text, message):
    with pytest.raises(TopokitError, match=message):
        load_study(text)


# ------------------------------------------------------------------ presets


def test_list_presets():
    assert list_presets() == ["default", "learned", "mnist"]


def test_unknown_preset():
    message = "unknown preset 'tiny'; valid presets: default, learned, mnist"
    with pytest.raises(TopokitError, match=message):
        load_preset("tiny")


def test_default_preset():
    study = load_preset("default")
    assert study.dataset == "digits"
    assert len(study.densities) == 3
    assert len(study.seeds) >= 3
    names = [spec.name for spec in study.families]
    for name in ("erdos_renyi", "ramanujan", "left_regular", "scale_free", "dense"):
        assert name in names
    small_world = next(spec for spec in study.families if spec.name == "small_world")
    assert small_world.params["p"] == (0.0, 0.1, 1.0)
    assert study.dense_layers == (-1,)


def test_default_preset_builds_every_topology():
    # The densities are chosen so that every family can build the default sizes.
    study = load_preset("default")
    seen = set()
    for run in study.runs():
        if (run.label, run.density) not in seen:
            seen.add((run.label, run.density))
            build_topology(run)


# Recorded before the training keys got one name each and the defaults moved to
# topokit.nn.DEFAULT_RECIPE: existing study folders resume by these keys.
PRESET_KEYS = {
    "default": (
        176,
        "4055f5bbf211a1f8220f8cef60ab475f0264c42c67a0172abd180d25196ac1c5",
        "3e0d1ac90086332b599e80cf7b4714333591936eb53f692efc48243ef922063d",
    ),
    "mnist": (
        185,
        "dd5e81d2b999780f4c0835ca48335e0c7cedf66fece41e5ab7e075c10ad22ed4",
        "aa77b59d74c2dcd21e4de77189b884462667e5c8e9f96ba4afd612becf9c7b2c",
    ),
}


@pytest.mark.parametrize("name", sorted(PRESET_KEYS))
def test_preset_keeps_its_study_and_run_keys(name):
    n_runs, study_key, run_keys = PRESET_KEYS[name]
    study = load_preset(name)
    runs = study.runs()
    assert len(runs) == n_runs
    assert study.key == study_key
    assert hashlib.sha256("".join(run.key for run in runs).encode()).hexdigest() == run_keys


@pytest.mark.parametrize(
    ("name", "recipe"),
    [
        pytest.param("default", {"epochs": 30, "batch_size": 32, "patience": 5}, id="default"),
        pytest.param("mnist", {"epochs": 30, "batch_size": 128, "patience": 5}, id="mnist"),
    ],
)
def test_preset_keeps_its_recipe(name, recipe):
    training = load_preset(name).training
    assert {key: training[key] for key in recipe} == recipe


def test_training_defaults_are_the_shared_recipe():
    from topokit.nn import DEFAULT_RECIPE

    assert {key: TRAINING_DEFAULTS[key] for key in DEFAULT_RECIPE.as_dict()} == (
        DEFAULT_RECIPE.as_dict()
    )
    # the order the "valid keys" of an unknown-key error lists them in
    assert list(TRAINING_DEFAULTS) == [
        "epochs",
        "batch_size",
        "optimizer",
        "learning_rate",
        "schedule",
        "momentum",
        "nesterov",
        "activation",
        "weight_decay",
        "early_stopping",
        "patience",
        "validation_fraction",
        "target_accuracy",
        "dynamic",
        "drop_fraction",
        "update_interval",
        "update_until",
    ]
    assert TRAINING_DEFAULTS["target_accuracy"] is None


def test_old_training_key_raises_naming_the_new_one():
    text = 'sizes = [64, 10]\n[training]\nlearning_rate_schedule = "cosine"\n'
    text += '[[families]]\nname = "dense"\n'
    with pytest.raises(
        TopokitError,
        match=r"training\.learning_rate_schedule is called schedule now: write schedule = 'cosine'",
    ):
        load_study(text)


def test_a_stored_run_under_the_old_training_key_reads_back_with_its_key():
    run = load_preset("default").runs()[0]
    stored = run.to_dict()
    stored["training"]["learning_rate_schedule"] = stored["training"].pop("schedule")
    again = RunConfig.from_dict(stored)
    assert again.training == run.training
    assert again.key == run.key


def test_mnist_preset():
    study = load_preset("mnist")
    assert study.dataset == "mnist"
    assert study.sizes == ((784, 1000, 1000, 10),)
    assert len(study.runs()) > len(load_preset("default").runs())


def test_format_example_in_the_module_docstring_is_valid():
    import topokit.analysis.study as module

    block = module.__doc__.split("A study file::")[1].split("The training keys")[0]
    text = "\n".join(line[4:] for line in block.splitlines())
    study = load_study(text)
    # 3 seeds x (small_world 3 p x 3 densities + left_regular 2 degrees + dense)
    assert len(study.runs()) == 3 * (3 * 3 + 2 + 1)


def test_dataset_shapes_cover_every_built_in_dataset():
    from topokit.analysis import _registries
    from topokit.nn.datasets import load_dataset

    assert set(_registries._DATASET_SHAPES) == set(_registries.dataset_names())
    digits = load_dataset("digits")
    assert _registries.dataset_shape("digits") == (digits.n_features, digits.n_classes)
