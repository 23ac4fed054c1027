"""The ``learned`` preset: designed topologies beside dynamic sparse training and pruning.

The preset uses study keys of dynamic sparse training in studies: ``[training] dynamic``
(TRAINING_DEFAULTS gains ``dynamic``), a ``dynamic`` list in a ``[[families]]`` table (only
erdos_renyi is rewired, so each rule is compared with the graph it starts from) and
``snapshot_epochs``. The tests that load it skip, saying so, while the study does not know
``dynamic``; once it does, they must pass.
"""

from importlib import resources

import pytest

from topokit.analysis import list_presets, load_preset
from topokit.analysis.study import TRAINING_DEFAULTS

needs_dynamic_studies = pytest.mark.skipif(
    "dynamic" not in TRAINING_DEFAULTS,
    reason="the study file does not know [training] dynamic yet (dynamic sparse training in "
    "studies); the preset loads once it does",
)

EXPECTED = {
    ("erdos_renyi", "static"),
    ("erdos_renyi", "set"),
    ("erdos_renyi", "rigl"),
    ("ramanujan", "static"),
    ("magnitude", "static"),
    ("lottery", "static"),
    ("snip", "static"),
    ("synflow", "static"),
}


def test_learned_is_listed():
    assert "learned" in list_presets()


def test_learned_preset_file_names_the_methods():
    # what the file asks for, independent of the study code that reads it
    import tomllib

    text = (resources.files("topokit.analysis") / "presets" / "learned.toml").read_text("utf-8")
    config = tomllib.loads(text)
    assert config["dataset"] == "digits"
    assert config["sizes"] == [64, 256, 256, 10]
    assert len(config["densities"]) == 2
    assert len(config["seeds"]) >= 4
    names = [family["name"] for family in config["families"]]
    assert names == ["erdos_renyi", "ramanujan", "magnitude", "lottery", "snip", "synflow"]
    assert config["families"][0]["dynamic"] == ["static", "set", "rigl"]
    assert all("dynamic" not in family for family in config["families"][1:])


@needs_dynamic_studies
def test_learned_preset_loads_and_validates():
    study = load_preset("learned")
    assert study.name == "learned"
    assert study.dataset == "digits"
    assert study.sizes == ((64, 256, 256, 10),)
    assert len(study.densities) == 2
    assert len(study.seeds) >= 4
    runs = study.runs()
    methods = {(run.family, run.training.get("dynamic", "static")) for run in runs}
    assert methods == EXPECTED
    assert len(runs) == len(EXPECTED) * len(study.densities) * len(study.seeds)
    for run in runs:
        assert run.dense_layers == (2,)
        assert run.training["epochs"] == 30
