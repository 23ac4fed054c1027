"""A study's stored results as tidy pandas DataFrames, and their export.

:func:`load_results` gives one row per run. Its columns, in order:

- ``run_key``, ``status`` (``"ok"``/``"failed"``), ``error``;
- configuration: ``family``, ``variant`` (family with its parameters, e.g.
  ``"small_world(p=0.1)"``, the natural hue of a plot), ``param_<name>`` for each family
  parameter (empty where a family lacks it), ``density`` and ``degree`` as configured
  (NaN for families that fix their own edge count, such as ``dense``), ``seed``,
  ``sizes`` (``"64-128-128-10"``), ``dataset``;
- training: ``dynamic``, the run's rule of dynamic sparse training (``"static"``,
  ``"set"``, ``"rigl"``), always; then one column for each other ``[training]`` key whose
  value varies across the stored runs (a swept recipe), named by the key
  (``learning_rate``, ``batch_size``, ``optimizer``, ``drop_fraction``, ...) except
  ``epochs``, which is ``training_epochs`` (``epochs`` is the outcome below); see
  :data:`TRAINING_COLUMNS` and :func:`varied_training_columns`;
- outcomes: ``test_accuracy``, ``train_accuracy``, ``final_loss``,
  ``epochs_to_target``, ``epochs``, ``seconds``, ``started``, ``finished``; where some
  run trained with a dynamic rule, its outcomes (:data:`DYNAMIC_OUTCOMES`, NaN for the
  static runs): ``ever_active_fraction`` (the share of the sparse layers' positions that
  held an edge at some point of training, the in-time over-parameterization rate),
  ``edges_changed_per_update`` (edges dropped, as many regrown, per topology update, over
  all layers), ``n_updates``, and per layer ``ever_active_fraction_layer{k}`` and
  ``edges_changed_per_update_layer{k}``;
- whole-network metrics as recorded (``net_...``), then ``min_<key>`` and
  ``mean_<key>`` over the sparse layers for each per-layer metric, computed from the
  stored per-layer values by :func:`~topokit.metrics.sparse_aggregates` (the computation
  a run stores them with; a dense layer is left out, NaN for a run without sparse layer),
  or as stored where a run recorded no per-layer value of the key;
  the data-aware ``input_coverage`` and ``input_variance_fan_out`` of the first layer;
- per-layer metrics as ``layer{k}_<key>`` (``layer0_spectral_gap``, ...).

The measured network density is ``net_density``; ``density`` is the configured one.

:func:`load_snapshots` gives the metrics of the layer graphs along training (one row per
run and snapshot epoch) and :func:`load_snapshot_topology` a snapshot's graphs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from topokit._atomic import replacing
from topokit._errors import TopokitError
from topokit.analysis import _registries
from topokit.analysis._snapshots import decode_layer
from topokit.analysis.store import RUN_LAYER, STORE_FILENAME, ResultStore
from topokit.analysis.study import TRAINING_COLUMNS, TRAINING_DEFAULTS, RunConfig
from topokit.metrics import is_dense_layer, sparse_aggregates
from topokit.topology import Topology

__all__ = [
    "CONFIG_COLUMNS",
    "DYNAMIC_OUTCOMES",
    "OUTCOME_COLUMNS",
    "TRAINING_COLUMNS",
    "export_results",
    "load_curves",
    "load_failed",
    "load_layer_metrics",
    "load_results",
    "load_snapshot_topology",
    "load_snapshots",
    "open_store",
    "varied_training_columns",
]

#: Configuration columns of :func:`load_results` (``param_<name>`` columns follow ``variant``).
CONFIG_COLUMNS = ("family", "variant", "density", "degree", "seed", "sizes", "dataset")
#: Outcome columns of :func:`load_results`.
OUTCOME_COLUMNS = (
    "test_accuracy",
    "train_accuracy",
    "final_loss",
    "epochs_to_target",
    "epochs",
    "seconds",
    "started",
    "finished",
)
#: Outcome columns of :func:`load_results` for runs with a dynamic rule (present where
#: some run has them), each also per layer as ``<key>_layer{k}`` (but ``n_updates``).
DYNAMIC_OUTCOMES = ("ever_active_fraction", "edges_changed_per_update", "n_updates")
_FORMATS = ("csv", "parquet", "json")
#: The tables :func:`export_results` writes, by name, and the file name they default to.
_TABLES = ("results", "failed", "curves", "snapshots")


def open_store(directory) -> ResultStore:
    """Open the result store of a study folder read-only.

    Parameters
    ----------
    directory : str or os.PathLike
        The study's output folder, or its ``results.sqlite`` file itself.

    Returns
    -------
    ResultStore
        Read-only; use it as a context manager so that it is closed.

    Raises
    ------
    TopokitError
        If the folder does not exist or holds no store.

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import ResultStore, RunResult, load_study, open_store
    >>> study = load_study('name = "tiny"\\nsizes = [64, 10]\\nseeds = [0]\\n'
    ...                    '[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         _ = store.record(study.runs()[0], RunResult("ok", test_accuracy=0.9))
    ...     with open_store(folder) as store:
    ...         name, rows = store.study_info()["name"], store.run_rows()
    >>> name, [row["status"] for row in rows], store.readonly
    ('tiny', ['ok'], True)
    """
    directory = Path(directory)
    if directory.name == STORE_FILENAME and directory.is_file():
        directory = directory.parent  # the store file itself was given
    if not directory.is_dir():
        raise TopokitError(f"study folder {str(directory)!r} does not exist")
    return ResultStore(directory, readonly=True)


def _param_text(value):
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


def _config_columns(config: dict) -> dict:
    run = RunConfig.from_dict(config)
    row = {"family": run.family, "variant": run.label}
    for name, value in sorted(run.params.items()):
        row[f"param_{name}"] = _param_text(value)
    row.update(
        density=np.nan if run.density is None else run.density,
        degree=np.nan if run.degree is None else run.degree,
        seed=run.seed,
        sizes="-".join(str(n) for n in run.sizes),
        dataset=run.dataset,
    )
    return row


def _ordered(keys, preferred) -> list:
    keys = set(keys)
    head = [k for k in preferred if k in keys]
    return head + sorted(keys - set(head))


def _varied_training(configs) -> list[str]:
    """The training keys whose value differs between the runs, in TRAINING_DEFAULTS order."""
    recipes = [RunConfig.from_dict(config).training for config in configs]
    keys = dict.fromkeys(k for recipe in recipes for k in recipe)
    keys = [k for k in TRAINING_DEFAULTS if k in keys] + [
        k for k in keys if k not in TRAINING_DEFAULTS
    ]
    return [k for k in keys if len({repr(recipe.get(k)) for recipe in recipes}) > 1]


def _training_keys(configs) -> list[str]:
    """The training keys that have a column: ``dynamic``, then those that vary."""
    return ["dynamic"] + [key for key in _varied_training(configs) if key != "dynamic"]


def _config_frame(store: ResultStore) -> pd.DataFrame:
    runs = store.run_rows()
    varied = _training_keys([run["config"] for run in runs])
    training = [TRAINING_COLUMNS.get(key, f"training_{key}") for key in varied]
    rows = []
    for run in runs:
        row = {"run_key": run["run_key"], "status": run["status"], "error": run["error"]}
        row.update(_config_columns(run["config"]))
        recipe = RunConfig.from_dict(run["config"]).training
        for key, column in zip(varied, training, strict=True):
            row[column] = recipe.get(key)
        for name in OUTCOME_COLUMNS:
            row[name] = run[name]
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(
            columns=["run_key", "status", "error", *CONFIG_COLUMNS, *training, *OUTCOME_COLUMNS]
        )
    params = sorted(c for c in frame.columns if c.startswith("param_"))
    columns = ["run_key", "status", "error", "family", "variant", *params, *CONFIG_COLUMNS[2:]]
    columns += training
    columns += [c for c in OUTCOME_COLUMNS if c in frame.columns]
    frame = frame[columns]
    for name in ("density", "degree", "test_accuracy", "train_accuracy", "final_loss", "seconds"):
        if name in frame.columns:
            frame[name] = pd.to_numeric(frame[name]).astype(float)
    for name in ("epochs_to_target", "epochs"):
        if name in frame.columns:
            frame[name] = frame[name].astype("Float64").astype(float)
    return frame


def _layer_long(store: ResultStore) -> pd.DataFrame:
    rows = store.layer_metric_rows()
    return pd.DataFrame(rows, columns=["run_key", "layer", "key", "value"])


def _layer_wide(long: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, layer), one column per layer metric key."""
    if long.empty:
        return pd.DataFrame(columns=["run_key", "layer"])
    wide = long.pivot(index=["run_key", "layer"], columns="key", values="value")
    order = _ordered(wide.columns, _registries.layer_metric_keys())
    wide = wide[order].astype(float).reset_index()
    wide.columns.name = None
    return wide


def _wide_by_layer(rows, index: list, network_order, layer_order) -> pd.DataFrame:
    """Rows ``(*index, layer, key, value)`` as one row per index: the values of layer -1
    as columns ``key`` (in ``network_order``, others after, sorted), then those of layer
    ``k`` as ``key_layer{k}`` (by layer, then in ``layer_order``); floats."""
    long = pd.DataFrame(rows, columns=[*index, "layer", "key", "value"])
    if long.empty:
        return pd.DataFrame(columns=index)
    layers = long["layer"].astype(int)
    long["column"] = np.where(
        layers == RUN_LAYER, long["key"], long["key"] + "_layer" + layers.astype(str)
    )
    long["value"] = pd.to_numeric(long["value"].astype(object), errors="coerce").astype(float)
    wide = long.pivot(index=index, columns="column", values="value")
    network = _ordered(set(long.loc[layers == RUN_LAYER, "key"]), network_order)
    per_layer = []
    for layer in sorted(set(layers[layers != RUN_LAYER])):
        keys = set(long.loc[layers == layer, "key"])
        per_layer += [f"{key}_layer{layer}" for key in _ordered(keys, layer_order)]
    wide = wide[network + per_layer].reset_index()
    wide.columns.name = None
    return wide


def load_results(directory) -> pd.DataFrame:
    """One row per stored run of the study in ``directory``: configuration, outcomes,
    metrics (columns described in the module docstring).

    Parameters
    ----------
    directory : str or os.PathLike
        The study's output folder (holding ``results.sqlite``).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    TopokitError
        If the folder or its store does not exist or cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import ResultStore, RunResult, load_results, load_study
    >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1]\\n[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         for run in study.runs():
    ...             _ = store.record(run, RunResult("ok", test_accuracy=0.5 + run.seed / 10,
    ...                                             layer_metrics=[{"n_edges": 640}]))
    ...     frame = load_results(folder)
    >>> frame[["family", "seed", "sizes", "test_accuracy", "layer0_n_edges"]]
      family  seed  sizes  test_accuracy  layer0_n_edges
    0  dense     0  64-10            0.5           640.0
    1  dense     1  64-10            0.6           640.0
    """
    with open_store(directory) as store:
        frame = _config_frame(store)
        long = _layer_long(store)
        network = pd.DataFrame(store.network_metric_rows(), columns=["run_key", "key", "value"])
        families = {
            row["run_key"]: RunConfig.from_dict(row["config"]).layer_families()
            for row in store.run_rows()
        }
        outcomes = _wide_by_layer(
            store.outcome_rows(), ["run_key"], DYNAMIC_OUTCOMES, DYNAMIC_OUTCOMES
        )
    frame = frame.sort_values(["sizes", "family", "variant", "density", "degree", "seed"])
    frame = frame.reset_index(drop=True)
    if len(outcomes.columns) > 1:
        at = list(frame.columns).index("finished") + 1
        outcomes = outcomes.set_index("run_key")
        frame = frame.join(outcomes, on="run_key")
        order = list(frame.columns)
        moved = [c for c in order if c in outcomes.columns]
        rest = [c for c in order if c not in outcomes.columns]
        frame = frame[rest[:at] + moved + rest[at:]]
    if not network.empty:
        net = network.pivot(index="run_key", columns="key", values="value").astype(float)
    else:
        net = pd.DataFrame(index=pd.Index([], name="run_key"))
    wide = _layer_wide(long)
    if len(wide):
        metric_keys = [c for c in wide.columns if c not in ("run_key", "layer")]
        aggregates, recorded = _sparse_aggregates(wide, metric_keys, families)
        # recomputed from the per-layer values wherever a run stored them: stores written
        # before the aggregates left dense layers out read the same as new ones
        net = net.reindex(index=net.index.union(aggregates.index))
        for name in aggregates.columns:
            stored = net[name] if name in net.columns else np.nan
            net[name] = aggregates[name].where(recorded[name], stored)
        net = net[_ordered(net.columns, _registries.network_metric_keys())]
        per_layer = wide.pivot(index="run_key", columns="layer", values=metric_keys)
        per_layer.columns = [f"layer{layer}_{key}" for key, layer in per_layer.columns]
        layer_order = sorted(per_layer.columns, key=lambda c: int(c[5 : c.index("_")]))
        net = net.join(per_layer[layer_order], how="outer")
    else:
        net = net[_ordered(net.columns, _registries.network_metric_keys())]
    frame = frame.join(net, on="run_key")
    return frame


def varied_training_columns(frame: pd.DataFrame) -> list[str]:
    """The training columns of a :func:`load_results` frame that vary among its rows.

    A study that sweeps a ``[training]`` key has a column for it (see
    :data:`TRAINING_COLUMNS`); once the frame is narrowed (to the successful runs, to
    one study definition) a column may no longer vary, and is then left out.

    Parameters
    ----------
    frame : pandas.DataFrame
        From :func:`load_results`, or rows of it.

    Returns
    -------
    list of str
        Column names, in the frame's order, whose values are not all the same.

    Examples
    --------
    >>> import pandas as pd
    >>> from topokit.analysis import varied_training_columns
    >>> frame = pd.DataFrame({"learning_rate": [0.01, 0.1], "training_epochs": [5, 5],
    ...                       "density": [0.1, 0.2]})
    >>> varied_training_columns(frame)
    ['learning_rate']
    """
    names = set(TRAINING_COLUMNS.values())
    return [
        column
        for column in frame.columns
        if (column in names or column.startswith("training_"))
        and frame[column].astype(str).nunique(dropna=False) > 1
    ]


def _dense_flags(wide: pd.DataFrame, families: dict) -> np.ndarray:
    """Whether each (run, layer) row of ``wide`` is a dense layer
    (:func:`~topokit.metrics.is_dense_layer`): from its stored ``n_in``, ``n_out`` and
    ``n_edges``, else its stored ``density`` (1), else its configured family."""
    configured = np.array(
        [
            families.get(key, ())[int(layer)] == "dense"
            if int(layer) < len(families.get(key, ()))
            else False
            for key, layer in zip(wide["run_key"], wide["layer"], strict=True)
        ],
        dtype=bool,
    )
    flags = configured.copy()
    known = np.zeros(len(wide), dtype=bool)
    if {"n_in", "n_out", "n_edges"} <= set(wide.columns):
        sizes = wide[["n_in", "n_out", "n_edges"]].to_numpy(float)
        known = np.isfinite(sizes).all(axis=1)
        flags[known] = [is_dense_layer(*map(int, row)) for row in sizes[known]]
    if "density" in wide.columns:
        density = wide["density"].to_numpy(float)
        use = ~known & np.isfinite(density)
        flags[use] = density[use] == 1.0
    return flags


def _sparse_aggregates(wide: pd.DataFrame, keys: list, families: dict) -> pd.DataFrame:
    """``min_<key>``/``mean_<key>`` per run over its sparse layers
    (:func:`~topokit.metrics.sparse_aggregates`), and a boolean frame of the same shape:
    whether the run stored any per-layer value of the key (where not, a stored aggregate
    stands)."""
    wide = wide.assign(_dense=_dense_flags(wide, families))
    rows, index = [], []
    for run_key, layers in wide.groupby("run_key", sort=False):
        per_layer = [
            {key: value for key, value in zip(keys, values, strict=True) if np.isfinite(value)}
            for values in layers[keys].to_numpy(float)
        ]
        recorded = [key for key in keys if any(key in values for values in per_layer)]
        rows.append(sparse_aggregates(per_layer, layers["_dense"].tolist(), recorded))
        index.append(run_key)
    names = [f"{stat}_{key}" for key in keys for stat in ("min", "mean")]
    table = pd.DataFrame(rows, index=pd.Index(index, name="run_key"), columns=names)
    recorded = pd.DataFrame(
        {name: [name in row for row in rows] for name in names}, index=table.index
    )
    return table.astype(float), recorded


def load_layer_metrics(directory) -> pd.DataFrame:
    """Per-layer metrics in long-per-layer form: one row per (run, layer).

    Parameters
    ----------
    directory : str or os.PathLike
        The study's output folder (holding ``results.sqlite``).

    Returns
    -------
    pandas.DataFrame
        One row per (run, layer) with a stored layer metric, ordered by run key and
        layer. Columns: ``run_key``, ``family``, ``variant``, ``density``, ``degree``,
        ``seed``, ``sizes``, ``layer`` (index from 0), ``layer_family`` (``"dense"`` for
        the study's dense layers), then one float column per metric key.

    Raises
    ------
    TopokitError
        If the folder or its store does not exist or cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import ResultStore, RunResult, load_layer_metrics, load_study
    >>> study = load_study('sizes = [64, 4, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         _ = store.record(study.runs()[0], RunResult(
    ...             "ok", layer_metrics=[{"n_edges": 32}, {"n_edges": 8}]))
    ...     frame = load_layer_metrics(folder)
    >>> frame[["layer", "layer_family", "n_edges"]]
       layer layer_family  n_edges
    0      0        dense     32.0
    1      1        dense      8.0
    """
    with open_store(directory) as store:
        runs = {row["run_key"]: row["config"] for row in store.run_rows()}
        wide = _layer_wide(_layer_long(store))
    columns = ["run_key", "family", "variant", "density", "degree", "seed", "sizes"]
    info = []
    for key, layer in zip(wide["run_key"], wide["layer"], strict=True):
        row = _config_columns(runs[key])
        run = RunConfig.from_dict(runs[key])
        row = {name: row[name] for name in columns[1:]}
        row["layer_family"] = run.layer_families()[int(layer)]
        info.append(row)
    info = pd.DataFrame(info, columns=[*columns[1:], "layer_family"])
    frame = pd.concat([wide[["run_key", "layer"]], info, wide.drop(columns="run_key")], axis=1)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    head = [*columns, "layer", "layer_family"]
    return frame[head + [c for c in frame.columns if c not in head]]


def load_curves(directory) -> pd.DataFrame:
    """Learning curves: one row per (run, epoch).

    Parameters
    ----------
    directory : str or os.PathLike
        The study's output folder (holding ``results.sqlite``).

    Returns
    -------
    pandas.DataFrame
        One row per stored epoch, ordered by run key and epoch. Columns: ``run_key``,
        ``family``, ``variant``, ``density``, ``degree``, ``seed``, ``sizes``, ``epoch``
        (from 1), then the floats ``loss``, ``train_accuracy``, ``val_accuracy`` and
        ``seconds`` (NaN where not recorded).

    Raises
    ------
    TopokitError
        If the folder or its store does not exist or cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import ResultStore, RunResult, load_curves, load_study
    >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         _ = store.record(study.runs()[0], RunResult(
    ...             "ok", curve=[{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5}]))
    ...     curves = load_curves(folder)
    >>> curves[["family", "epoch", "loss"]]
      family  epoch  loss
    0  dense      1   2.0
    1  dense      2   1.5
    """
    with open_store(directory) as store:
        runs = {row["run_key"]: row["config"] for row in store.run_rows()}
        points = store.curve_rows()
    names = ["run_key", "epoch", "loss", "train_accuracy", "val_accuracy", "seconds"]
    curve = pd.DataFrame(points, columns=names)
    columns = ["family", "variant", "density", "degree", "seed", "sizes"]
    info = pd.DataFrame(
        [{c: _config_columns(runs[key])[c] for c in columns} for key in curve["run_key"]],
        columns=columns,
    )
    frame = pd.concat([curve[["run_key"]], info, curve.drop(columns="run_key")], axis=1)
    for name in names[2:]:
        frame[name] = frame[name].astype(float)
    return frame


def _run_columns(configs: dict) -> pd.DataFrame:
    """The identifying columns of runs: ``run_key``, ``family``, ``variant``, ``density``,
    ``degree``, ``seed``, ``sizes``, ``dynamic`` and the varied training columns (as
    :func:`load_results` has them, over every stored run)."""
    keys = _training_keys(list(configs.values()))
    columns = [TRAINING_COLUMNS.get(key, f"training_{key}") for key in keys]
    rows = []
    for run_key, config in configs.items():
        info = _config_columns(config)
        recipe = RunConfig.from_dict(config).training
        row = {"run_key": run_key}
        row.update({name: info[name] for name in _RUN_COLUMNS})
        row.update({column: recipe.get(key) for key, column in zip(keys, columns, strict=True)})
        rows.append(row)
    return pd.DataFrame(rows, columns=["run_key", *_RUN_COLUMNS, *columns])


_RUN_COLUMNS = ("family", "variant", "density", "degree", "seed", "sizes")


def load_snapshots(directory) -> pd.DataFrame:
    """The metrics of the layer graphs along training: one row per run and snapshot epoch.

    A run that learns its graph — by a dynamic rule (``training.dynamic``) or a pruning
    family — stores its layer graphs at the study's ``snapshot_epochs`` (default: the
    start and the last epoch trained) with the study's metrics computed on each. Epoch 0
    is the graph before the first step; epoch ``e`` the graph after ``e`` epochs,
    including a rewiring at the end of epoch ``e`` (the graph epoch ``e + 1`` trains on).
    :func:`load_snapshot_topology` gives a snapshot's graphs themselves.

    Parameters
    ----------
    directory : str or os.PathLike
        The study's output folder (holding ``results.sqlite``).

    Returns
    -------
    pandas.DataFrame
        Ordered as :func:`load_results` (then by epoch). Columns: ``run_key``,
        ``family``, ``variant``, ``density``, ``degree``, ``seed``, ``sizes``, ``dynamic``
        and the other varied training columns of :func:`load_results`; ``epoch``; the
        network metrics as recorded (``net_...``, ``min_...``, ``mean_...``,
        ``input_...``); the per-layer metrics as ``{key}_layer{k}``
        (``spectral_gap_layer0``, ``fiedler_value_layer1``, ...), all floats. Empty
        (with the run columns and ``epoch``) when no run stored snapshots.

    Raises
    ------
    TopokitError
        If the folder or its store does not exist or cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import load_snapshots, load_study, run_study
    >>> study = load_study('''
    ... sizes = [64, 16, 10]
    ... densities = [0.25]
    ... seeds = [0]
    ... metrics = ["n_edges", "spectral_gap"]
    ... [training]
    ... epochs = 2
    ... dynamic = "set"
    ... [[families]]
    ... name = "erdos_renyi"
    ... ''')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = run_study(study, folder, workers=1, progress=False)
    ...     snapshots = load_snapshots(folder)
    >>> snapshots[["variant", "dynamic", "epoch", "n_edges_layer0"]]
                        variant dynamic  epoch  n_edges_layer0
    0  erdos_renyi(dynamic=set)     set      0           256.0
    1  erdos_renyi(dynamic=set)     set      2           256.0
    """
    with open_store(directory) as store:
        configs = {row["run_key"]: row["config"] for row in store.run_rows()}
        rows = store.snapshot_metric_rows()
    metrics = _wide_by_layer(
        rows,
        ["run_key", "epoch"],
        _registries.network_metric_keys(),
        _registries.layer_metric_keys(),
    )
    runs = _run_columns(configs)
    if "epoch" not in metrics.columns:
        metrics = pd.DataFrame(columns=["run_key", "epoch"])
    frame = runs.merge(metrics, on="run_key", how="inner")
    frame["epoch"] = frame["epoch"].astype(int)
    order = ["sizes", "family", "variant", "density", "degree", "seed", "epoch"]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def load_snapshot_topology(directory, run_key: str, epoch: int) -> Topology:
    """The layer graphs of one run at one snapshot epoch, as a Topology.

    Parameters
    ----------
    directory : str or os.PathLike
        The study's output folder (holding ``results.sqlite``).
    run_key : str
        The run's key (the ``run_key`` column of :func:`load_snapshots`), or a prefix of
        it that names one stored run.
    epoch : int
        One of the run's snapshot epochs (the ``epoch`` column of :func:`load_snapshots`).

    Returns
    -------
    Topology
        The network's layer graphs at that epoch, each with the family of its layer in
        the run (``layer.family``); what :func:`topokit.metrics.layer_metrics`,
        :func:`topokit.save` and :func:`topokit.draw` take.

    Raises
    ------
    TopokitError
        If no stored run has that key or prefix (or several do), or the run stored no
        graph at that epoch (the message lists the epochs it stored).

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import load_snapshot_topology, load_snapshots, load_study, run_study
    >>> study = load_study('''
    ... sizes = [64, 16, 10]
    ... densities = [0.25]
    ... seeds = [0]
    ... metrics = ["n_edges"]
    ... [training]
    ... epochs = 2
    ... dynamic = "rigl"
    ... [[families]]
    ... name = "erdos_renyi"
    ... ''')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = run_study(study, folder, workers=1, progress=False)
    ...     key = load_snapshots(folder)["run_key"][0]
    ...     start = load_snapshot_topology(folder, key, 0)
    ...     end = load_snapshot_topology(folder, key[:12], 2)
    >>> start, end.sizes, [layer.n_edges for layer in end]
    (Topology(sizes=[64, 16, 10], n_edges=416), [64, 16, 10], [256, 160])
    """
    if not isinstance(run_key, str) or not run_key:
        raise TopokitError(f"run_key must be a run's key (a non-empty string), got {run_key!r}")
    with open_store(directory) as store:
        configs = {row["run_key"]: row["config"] for row in store.run_rows()}
        matches = [key for key in configs if key.startswith(run_key)]
        if len(matches) != 1:
            found = "no stored run" if not matches else f"{len(matches)} stored runs"
            raise TopokitError(
                f"run_key must name one stored run (its key or a prefix of it), got "
                f"{run_key!r}, which {found} of {str(directory)!r} start with"
            )
        (key,) = matches
        epochs = store.snapshot_epochs().get(key, [])
        rows = store.snapshot_graph_rows(key, epoch) if isinstance(epoch, int | np.integer) else []
    if not rows:
        stored = ", ".join(map(str, epochs)) if epochs else "none (a static run of a fixed family)"
        raise TopokitError(
            f"epoch must be a snapshot epoch of run {key[:12]}, got {epoch!r}; its snapshot "
            f"epochs: {stored}"
        )
    families = RunConfig.from_dict(configs[key]).layer_families()
    return Topology(
        [
            decode_layer(edges, n_in, n_out, family=families[layer])
            for layer, n_in, n_out, _, edges in rows
        ]
    )


def load_failed(directory) -> pd.DataFrame:
    """The failed runs of the study in ``directory``: one row per run, its configuration
    and its error.

    Parameters
    ----------
    directory : str or os.PathLike
        The study's output folder (holding ``results.sqlite``).

    Returns
    -------
    pandas.DataFrame
        Columns ``run_key``, the configuration columns of :func:`load_results`
        (``family``, ``variant``, ``param_<name>``, ``density``, ``degree``, ``seed``,
        ``sizes``, ``dataset``), ``error``, ``started`` and ``finished``; in the order
        the runs finished. Empty (with these columns) when no run failed.

    Raises
    ------
    TopokitError
        If the folder or its store does not exist or cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import ResultStore, RunResult, load_failed, load_study
    >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1]\\n[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         first, second = study.runs()
    ...         _ = store.record(first, RunResult("ok", test_accuracy=0.9))
    ...         _ = store.record(second, RunResult.failed("out of memory"))
    ...     failed = load_failed(folder)
    >>> failed[["family", "seed", "error"]]
      family  seed          error
    0  dense     1  out of memory
    """
    frame = load_results(directory)
    frame = frame[frame["status"] == "failed"]
    params = [c for c in frame.columns if c.startswith("param_") and frame[c].notna().any()]
    columns = ["run_key", "family", "variant", *params]
    columns += ["density", "degree", "seed", "sizes", "dataset", "error", "started", "finished"]
    frame = frame.sort_values("finished", kind="stable") if len(frame) else frame
    return frame[columns].reset_index(drop=True)


def _format_of(path, format):
    """The format to write: ``format``, else the suffix of ``path``, else csv; an error
    when the two disagree."""
    suffix = None if path is None else Path(path).suffix.lower().lstrip(".")
    if format is None:
        return suffix if suffix in _FORMATS else "csv"
    if format not in _FORMATS:
        raise TopokitError(f"format must be one of {', '.join(_FORMATS)}, got {format!r}")
    if suffix and suffix != format:
        raise TopokitError(
            f"format={format!r} disagrees with the suffix of {str(path)!r}: give a path "
            f"ending in .{format}, or the format of .{suffix}"
        )
    return format


def export_results(directory, path=None, *, format: str | None = None, table="results") -> Path:
    """Write a table of the study in ``directory`` to a CSV, Parquet or JSON file.

    Parameters
    ----------
    directory : str or os.PathLike
        The study's output folder.
    path : str or os.PathLike, optional
        Where to write; default ``directory/TABLE.FORMAT`` (``results.csv``, ...).
    format : {"csv", "parquet", "json"}, optional
        Default: the suffix of ``path`` where it names one, else csv. Parquet needs
        ``pyarrow``; JSON is a list of one object per row.
    table : {"results", "failed", "curves", "snapshots"}, default "results"
        Which table: :func:`load_results` (one row per run), :func:`load_failed` (the
        failed runs and their errors), :func:`load_curves` (one row per run and epoch) or
        :func:`load_snapshots` (the metrics of the layer graphs, one row per run and
        snapshot epoch).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    TopokitError
        For an unknown format or table, a ``format`` that disagrees with the suffix of
        ``path`` (nothing is written), a missing pyarrow, or a file that cannot be
        written.

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import ResultStore, RunResult, export_results, load_study
    >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         _ = store.record(study.runs()[0], RunResult("ok", test_accuracy=0.9))
    ...     written = export_results(folder, format="csv")
    ...     header = written.read_text().splitlines()[0]
    >>> written.name, header.split(",")[:4]
    ('results.csv', ['run_key', 'status', 'error', 'family'])
    """
    if table not in _TABLES:
        raise TopokitError(f"table must be one of {', '.join(_TABLES)}, got {table!r}")
    format = _format_of(path, format)
    if format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise TopokitError(
                "format='parquet' needs pyarrow: pip install pyarrow (or use format='csv')"
            ) from None
    loaders = {
        "results": load_results,
        "failed": load_failed,
        "curves": load_curves,
        "snapshots": load_snapshots,
    }
    frame = loaders[table](directory)
    path = Path(directory) / f"{table}.{format}" if path is None else Path(path)
    try:
        # whole or not at all: an interrupted export keeps the previous file
        with replacing(path, binary=format == "parquet") as file:
            if format == "csv":
                frame.to_csv(file, index=False)
            elif format == "json":
                frame.to_json(file, orient="records", indent=1)
            else:
                frame.to_parquet(file, index=False)
    except OSError as exc:
        raise TopokitError(f"cannot write {str(path)!r}: {exc}") from exc
    return path
