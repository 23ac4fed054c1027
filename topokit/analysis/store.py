"""The result store of a study: one SQLite file, ``DIR/results.sqlite``.

The driver of a study is its only writer. Each finished run is committed in its own
transaction (WAL journal, ``synchronous=FULL``), so killing the driver at any moment,
``kill -9`` included, loses at most the runs still in flight and never leaves half a run.
A run is keyed by :attr:`RunConfig.key <topokit.analysis.study.RunConfig.key>`; recording
it twice stores it once.

Tables (schema version :data:`SCHEMA_VERSION`):

- ``meta(key, value)``: ``schema_version``.
- ``study(study_key, name, config_json, config_toml, created, versions_json)``: one row.
- ``runs(run_key, config_json, family, seed, status, error, started, finished, seconds,
  test_accuracy, train_accuracy, final_loss, epochs_to_target, epochs, versions_json)``;
  ``status`` is ``'ok'`` or ``'failed'``.
- ``layer_metrics(run_key, layer, key, value)``, ``network_metrics(run_key, key, value)``.
- ``curves(run_key, epoch, loss, train_accuracy, val_accuracy, seconds)``.

Failed runs are kept, with their error, and are *not* retried when a study resumes,
unless asked (``pending(runs, retry_failed=True)``): the failures topokit records
(a family that cannot build the sizes, a diverging training) come back with the same
seed. A retried run's new record replaces the failed one.
"""

from __future__ import annotations

import json
import platform
import sqlite3
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from topokit._errors import TopokitError
from topokit._plain import to_plain

__all__ = ["SCHEMA_VERSION", "STORE_FILENAME", "ResultStore", "RunResult", "library_versions"]

#: Version of the tables' layout, recorded in ``meta``.
SCHEMA_VERSION = 1
#: The store's file name inside the study folder.
STORE_FILENAME = "results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS study (
    study_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config_json TEXT NOT NULL,
    config_toml TEXT NOT NULL,
    created TEXT NOT NULL,
    versions_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_key TEXT PRIMARY KEY,
    config_json TEXT NOT NULL,
    family TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error TEXT,
    started TEXT,
    finished TEXT,
    seconds REAL,
    test_accuracy REAL,
    train_accuracy REAL,
    final_loss REAL,
    epochs_to_target INTEGER,
    epochs INTEGER,
    versions_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS layer_metrics (
    run_key TEXT NOT NULL,
    layer INTEGER NOT NULL,
    key TEXT NOT NULL,
    value,
    PRIMARY KEY (run_key, layer, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS network_metrics (
    run_key TEXT NOT NULL,
    key TEXT NOT NULL,
    value,
    PRIMARY KEY (run_key, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS curves (
    run_key TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    loss REAL,
    train_accuracy REAL,
    val_accuracy REAL,
    seconds REAL,
    PRIMARY KEY (run_key, epoch)
) WITHOUT ROWID;
"""
_CHILD_TABLES = ("layer_metrics", "network_metrics", "curves")
_DISTRIBUTIONS = (
    "topokit",
    "numpy",
    "scipy",
    "networkx",
    "igraph",
    "scikit-learn",
    "numba",
)


def library_versions() -> dict:
    """Versions of Python and of the libraries a run depends on (None where absent).

    Returns
    -------
    dict
        ``"python"`` and each of topokit, numpy, scipy, networkx, igraph, scikit-learn
        and numba → its version string, or None where the distribution is not installed.

    Examples
    --------
    >>> from topokit.analysis import library_versions
    >>> sorted(library_versions())[:3]
    ['igraph', 'networkx', 'numba']
    """
    versions = {"python": platform.python_version()}
    for name in _DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class RunResult:
    """What one run produced: outcomes, metrics and learning curve.

    Each parameter is an attribute of the same name; all but ``status`` are optional.

    Parameters
    ----------
    status : {"ok", "failed"}
        Whether the run succeeded.
    error : str or None
        Why the run failed (one line is best).
    started, finished : str or None
        ISO 8601 UTC times.
    seconds : float or None
        Wall time of the run (topology, metrics and training).
    test_accuracy, train_accuracy, final_loss : float or None
        Outcomes of the training.
    epochs_to_target : int or None
        First epoch (from 1) whose validation accuracy reached the recipe's
        ``target_accuracy``; None if never reached or no target.
    epochs : int or None
        Epochs trained.
    layer_metrics : list of dict
        One dict of metric key → value per layer, in layer order.
    network_metrics : dict
        ``net_...`` (and aggregated) metric key → value.
    curve : list of dict
        One dict per epoch with keys ``epoch``, ``loss``, ``train_accuracy``,
        ``val_accuracy``, ``seconds`` (missing keys are stored as NULL).
    versions : dict
        :func:`library_versions` of the process that ran it (by default, of the process
        that makes the result).

    Raises
    ------
    TopokitError
        If ``status`` is neither ``"ok"`` nor ``"failed"``.

    Examples
    --------
    >>> from topokit.analysis import RunResult
    >>> result = RunResult("ok", test_accuracy=0.93, epochs=10)
    >>> result.status, result.error, result.layer_metrics
    ('ok', None, [])
    >>> RunResult.failed("layer 0 (64 -> 128): degree must be <= 64").status
    'failed'
    """

    status: str
    error: str | None = None
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    test_accuracy: float | None = None
    train_accuracy: float | None = None
    final_loss: float | None = None
    epochs_to_target: int | None = None
    epochs: int | None = None
    layer_metrics: list = field(default_factory=list)
    network_metrics: dict = field(default_factory=dict)
    curve: list = field(default_factory=list)
    versions: dict = field(default_factory=library_versions)

    def __post_init__(self):
        if self.status not in ("ok", "failed"):
            raise TopokitError(f"status must be 'ok' or 'failed', got {self.status!r}")

    @classmethod
    def failed(cls, error: str, **fields) -> RunResult:
        """A failed run's result, with its error message.

        Parameters
        ----------
        error : str or Exception
            Why the run failed; stored as ``str(error)``.
        **fields
            Other fields of :class:`RunResult` (``seconds``, ``started``, ...).

        Returns
        -------
        RunResult
            With ``status="failed"``.

        Examples
        --------
        >>> from topokit.analysis import RunResult
        >>> result = RunResult.failed(ValueError("loss is nan"), seconds=1.5)
        >>> result.status, result.error, result.seconds
        ('failed', 'loss is nan', 1.5)
        """
        return cls(status="failed", error=str(error), **fields)


class ResultStore:
    """The SQLite store of one study in ``directory`` (``directory/results.sqlite``).

    Parameters
    ----------
    directory : str or os.PathLike
        The study's output folder; created if missing (unless ``readonly``).
    study : Study, optional
        The study that writes here. A new store is bound to it; an existing store made
        by a different study configuration is refused and left untouched.
    readonly : bool, default False
        Open the file read-only (``mode=ro``); any write raises TopokitError. A store in
        a folder this user cannot write is read as immutable when no write-ahead log is
        pending.

    Raises
    ------
    TopokitError
        If the folder cannot be created or written, the file is not a topokit store,
        its schema is newer than this topokit, or it belongs to another study.

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import ResultStore, RunResult, load_study
    >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
    >>> run = study.runs()[0]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         stored = store.record(run, RunResult("ok", test_accuracy=0.9))
    ...         again = store.record(run, RunResult("ok", test_accuracy=0.9))
    ...         left = store.pending(study.runs())
    ...         counts = store.counts()
    >>> stored, again, left, counts
    (True, False, [], {'ok': 1, 'failed': 0})
    """

    def __init__(self, directory, study=None, *, readonly: bool = False):
        self.directory = Path(directory)
        self.path = self.directory / STORE_FILENAME
        self.readonly = bool(readonly)
        self._connection = None
        if readonly:
            if not self.path.is_file():
                raise TopokitError(f"no result store at {str(self.path)!r}")
            self._connection = self._connect_readonly()
        else:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise TopokitError(
                    f"cannot create the study folder {str(self.directory)!r}: {exc}"
                ) from exc
            self._connection = self._connect(str(self.path), uri=False)
        try:
            self._check_existing(study)
            if not readonly:
                self._initialize(study)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ opening

    def _connect(self, target, *, uri):
        try:
            connection = sqlite3.connect(target, uri=uri, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise TopokitError(f"cannot open the result store {str(self.path)!r}: {exc}") from exc
        return connection

    def _connect_readonly(self):
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        connection = self._connect(uri, uri=True)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            # A WAL store in a folder we cannot write: SQLite cannot create the shared-memory
            # file. With no write-ahead log on disk, everything is in the main file and it
            # can be read as immutable.
            connection.close()
            if not isinstance(exc, sqlite3.OperationalError) or Path(f"{self.path}-wal").exists():
                self._fail("read", exc)
            connection = self._connect(f"{uri}&immutable=1", uri=True)
        return connection

    def _tables(self) -> set[str]:
        rows = self._execute("SELECT name FROM sqlite_master WHERE type = 'table'", action="read")
        return {name for (name,) in rows}

    def _check_existing(self, study) -> None:
        tables = self._tables()
        if not tables:
            if self.readonly:
                raise TopokitError(f"{str(self.path)!r} is empty, not a topokit result store")
            return
        if not {"meta", "study", "runs"} <= tables:
            raise TopokitError(
                f"{str(self.path)!r} is not a topokit result store (tables: {sorted(tables)})"
            )
        row = self._execute(
            "SELECT value FROM meta WHERE key = 'schema_version'", action="read"
        ).fetchone()
        if row is None:
            raise TopokitError(
                f"{str(self.path)!r} is not a topokit result store (no schema version)"
            )
        version = int(row[0])
        if version > SCHEMA_VERSION:
            raise TopokitError(
                f"result store {str(self.path)!r} has schema version {version}; this topokit "
                f"reads version {SCHEMA_VERSION} (upgrade topokit)"
            )
        stored = self.study_info()
        if study is not None and stored is not None and stored["study_key"] != study.key:
            raise TopokitError(
                f"{str(self.path)!r} holds the results of study {stored['name']!r} "
                f"(key {stored['study_key'][:12]}), not of study {study.name!r} "
                f"(key {study.key[:12]}); the configurations differ. Use another output "
                "folder, or run the original study file to resume it"
            )

    def _initialize(self, study) -> None:
        self._execute("PRAGMA journal_mode = WAL", action="set up")
        self._execute("PRAGMA synchronous = FULL", action="set up")
        with self._transaction("set up"):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._connection.execute(statement)
            self._connection.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            if study is not None:
                self._connection.execute(
                    "INSERT OR IGNORE INTO study VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        study.key,
                        study.name,
                        json.dumps(study.to_dict(), sort_keys=True),
                        study.source,
                        _now(),
                        json.dumps(library_versions(), sort_keys=True),
                    ),
                )

    # ------------------------------------------------------------ plumbing

    def _fail(self, action: str, exc: sqlite3.Error):
        text = str(exc)
        hint = ""
        if "readonly" in text or "read-only" in text:
            hint = " (the store or its folder is read-only)"
        elif "full" in text:
            hint = " (the disk is full)"
        raise TopokitError(
            f"cannot {action} the result store {str(self.path)!r}: {text}{hint}; "
            "the runs already stored are intact"
        ) from exc

    def _execute(self, sql, parameters=(), *, action):
        if self._connection is None:
            raise TopokitError(f"the result store {str(self.path)!r} is closed")
        try:
            return self._connection.execute(sql, parameters)
        except sqlite3.Error as exc:
            self._fail(action, exc)

    @contextmanager
    def _transaction(self, action: str):
        if self._connection is None:
            raise TopokitError(f"the result store {str(self.path)!r} is closed")
        try:
            self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._fail(action, exc)
        try:
            yield
            self._connection.execute("COMMIT")
        except BaseException as exc:
            if self._connection.in_transaction:
                # SQLite may have rolled back already (as it can on SQLITE_FULL)
                with suppress(sqlite3.Error):
                    self._connection.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                self._fail(action, exc)
            raise

    def close(self) -> None:
        """Close the connection (the store stays on disk).

        A writer first checkpoints the write-ahead log into ``results.sqlite``, so the
        file holds every stored run even while a reader keeps the log open. Closing a
        closed store does nothing; leaving a ``with`` block closes the store.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from topokit.analysis import ResultStore
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     store = ResultStore(folder)
        ...     store.close()
        ...     on_disk = (pathlib.Path(folder) / "results.sqlite").is_file()
        >>> on_disk, repr(store).endswith("closed)")
        (True, True)
        """
        if self._connection is not None:
            if not self.readonly:
                with suppress(sqlite3.Error):
                    self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._connection.close()
            self._connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        state = "closed" if self._connection is None else "read-only" if self.readonly else "open"
        return f"ResultStore({str(self.directory)!r}, {state})"

    # ------------------------------------------------------------ writing

    def record(self, run, result: RunResult) -> bool:
        """Store one run's result in one transaction.

        Parameters
        ----------
        run : RunConfig
        result : RunResult

        Returns
        -------
        bool
            True if stored; False if the run was already stored as finished (a run that
            succeeded is never overwritten; a failed one is replaced by a new result).

        Raises
        ------
        TopokitError
            If the store cannot be written (read-only, disk full) or is closed; nothing of
            this run is stored then, and the runs already stored are intact.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
        >>> run = study.runs()[0]
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         first = store.record(run, RunResult.failed("loss is nan"))
        ...         retried = store.record(run, RunResult("ok", test_accuracy=0.9))
        ...         again = store.record(run, RunResult("ok", test_accuracy=0.8))
        ...         accuracy = store.run_rows()[0]["test_accuracy"]
        >>> first, retried, again, accuracy
        (True, True, False, 0.9)
        """
        key = run.key
        with self._transaction("write to"):
            row = self._connection.execute(
                "SELECT status FROM runs WHERE run_key = ?", (key,)
            ).fetchone()
            if row is not None and (row[0] == "ok" or result.status == "failed"):
                return False
            if row is not None:
                for table in ("runs", *_CHILD_TABLES):
                    self._connection.execute(f"DELETE FROM {table} WHERE run_key = ?", (key,))
            self._insert(run, result)
        return True

    def _insert(self, run, result: RunResult) -> None:
        # Values go in through to_plain(..., non_finite="keep"): numpy scalars become
        # Python ones; SQLite keeps inf and stores NaN as NULL.
        key = run.key
        execute = self._connection.execute
        execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                json.dumps(run.to_dict(), sort_keys=True),
                run.family,
                run.seed,
                result.status,
                result.error,
                result.started,
                result.finished,
                to_plain(result.seconds, non_finite="keep"),
                to_plain(result.test_accuracy, non_finite="keep"),
                to_plain(result.train_accuracy, non_finite="keep"),
                to_plain(result.final_loss, non_finite="keep"),
                to_plain(result.epochs_to_target, non_finite="keep"),
                to_plain(result.epochs, non_finite="keep"),
                json.dumps(result.versions, sort_keys=True),
            ),
        )
        self._connection.executemany(
            "INSERT INTO layer_metrics VALUES (?, ?, ?, ?)",
            [
                (key, layer, name, to_plain(value, non_finite="keep"))
                for layer, metrics in enumerate(result.layer_metrics)
                for name, value in metrics.items()
            ],
        )
        self._connection.executemany(
            "INSERT INTO network_metrics VALUES (?, ?, ?)",
            [
                (key, name, to_plain(value, non_finite="keep"))
                for name, value in result.network_metrics.items()
            ],
        )
        self._connection.executemany(
            "INSERT INTO curves VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    key,
                    int(point.get("epoch", index + 1)),
                    to_plain(point.get("loss"), non_finite="keep"),
                    to_plain(point.get("train_accuracy"), non_finite="keep"),
                    to_plain(point.get("val_accuracy"), non_finite="keep"),
                    to_plain(point.get("seconds"), non_finite="keep"),
                )
                for index, point in enumerate(result.curve)
            ],
        )

    # ------------------------------------------------------------ reading

    def study_info(self) -> dict | None:
        """The study this store belongs to.

        Returns
        -------
        dict or None
            The study row: ``study_key``, ``name``, ``config`` (the study's
            :meth:`~topokit.analysis.Study.to_dict`), ``config_toml``, ``created`` (ISO
            8601 UTC) and ``versions`` (:func:`library_versions` at creation); None for a
            store made without a study.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1]\\n[[families]]\\nname = "dense"')
        >>> ok, failed = study.runs()
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.record(ok, RunResult("ok", test_accuracy=0.9))
        ...         _ = store.record(failed, RunResult.failed("loss is nan"))
        ...         info = store.study_info()
        >>> info["name"], info["config"]["seeds"], info["study_key"] == study.key
        ('study', [0, 1], True)
        """
        row = self._execute("SELECT * FROM study", action="read").fetchone()
        if row is None:
            return None
        key, name, config_json, toml_text, created, versions_json = row
        return {
            "study_key": key,
            "name": name,
            "config": json.loads(config_json),
            "config_toml": toml_text,
            "created": created,
            "versions": json.loads(versions_json),
        }

    def statuses(self) -> dict[str, str]:
        """The status of every stored run.

        Returns
        -------
        dict of str to str
            Run key (:attr:`RunConfig.key <topokit.analysis.RunConfig.key>`) →
            ``'ok'`` or ``'failed'``.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1]\\n[[families]]\\nname = "dense"')
        >>> ok, failed = study.runs()
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.record(ok, RunResult("ok", test_accuracy=0.9))
        ...         _ = store.record(failed, RunResult.failed("loss is nan"))
        ...         statuses = store.statuses()
        >>> statuses == {ok.key: "ok", failed.key: "failed"}
        True
        """
        rows = self._execute("SELECT run_key, status FROM runs", action="read")
        return dict(rows.fetchall())

    def counts(self) -> dict[str, int]:
        """Number of stored runs by status.

        Returns
        -------
        dict of str to int
            ``{'ok': ..., 'failed': ...}``, both keys always present.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1]\\n[[families]]\\nname = "dense"')
        >>> ok, failed = study.runs()
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.record(ok, RunResult("ok", test_accuracy=0.9))
        ...         _ = store.record(failed, RunResult.failed("loss is nan"))
        ...         counts = store.counts()
        >>> counts
        {'ok': 1, 'failed': 1}
        """
        counts = {"ok": 0, "failed": 0}
        for status in self.statuses().values():
            counts[status] += 1
        return counts

    def pending(self, runs, *, retry_failed: bool = False) -> list:
        """The runs of ``runs`` still to do, in their order, each key once.

        Parameters
        ----------
        runs : iterable of RunConfig
        retry_failed : bool, default False
            Also return runs stored as failed.

        Returns
        -------
        list of RunConfig

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1]\\n[[families]]\\nname = "dense"')
        >>> ok, failed = study.runs()
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.record(ok, RunResult("ok", test_accuracy=0.9))
        ...         _ = store.record(failed, RunResult.failed("loss is nan"))
        ...         todo = store.pending(study.runs())
        ...         retry = store.pending(study.runs(), retry_failed=True)
        >>> todo, retry == [failed]
        ([], True)
        """
        statuses = self.statuses()
        todo, seen = [], set()
        for run in runs:
            key = run.key
            if key in seen:
                continue
            seen.add(key)
            status = statuses.get(key)
            if status is None or (retry_failed and status == "failed"):
                todo.append(run)
        return todo

    def run_rows(self) -> list[dict]:
        """Every stored run, ordered by finishing time (then run key).

        Returns
        -------
        list of dict
            One dict per run with the columns of the ``runs`` table (see the module
            docstring); ``config_json`` and ``versions_json`` come parsed, as ``config``
            (:meth:`RunConfig.to_dict <topokit.analysis.RunConfig.to_dict>`) and
            ``versions``.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1]\\n[[families]]\\nname = "dense"')
        >>> ok, failed = study.runs()
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.record(ok, RunResult("ok", test_accuracy=0.9))
        ...         _ = store.record(failed, RunResult.failed("loss is nan"))
        ...         rows = store.run_rows()
        >>> sorted((row["seed"], row["status"], row["error"]) for row in rows)
        [(0, 'ok', None), (1, 'failed', 'loss is nan')]
        """
        cursor = self._execute("SELECT * FROM runs ORDER BY finished, run_key", action="read")
        names = [d[0] for d in cursor.description]
        rows = []
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            row["config"] = json.loads(row.pop("config_json"))
            row["versions"] = json.loads(row.pop("versions_json"))
            rows.append(row)
        return rows

    def layer_metric_rows(self) -> list[tuple]:
        """Every stored layer metric, ordered by run key and layer.

        Returns
        -------
        list of tuple
            ``(run_key, layer, key, value)``, ``layer`` from 0; a NaN value reads as None.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
        >>> result = RunResult("ok", layer_metrics=[{"n_edges": 640}],
        ...                    network_metrics={"net_n_edges": 640},
        ...                    curve=[{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5}])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.record(study.runs()[0], result)
        ...         rows = store.layer_metric_rows()
        >>> [row[1:] for row in rows]
        [(0, 'n_edges', 640)]
        """
        sql = "SELECT run_key, layer, key, value FROM layer_metrics ORDER BY run_key, layer"
        return self._execute(sql, action="read").fetchall()

    def network_metric_rows(self) -> list[tuple]:
        """Every stored whole-network (and aggregated) metric, ordered by run key.

        Returns
        -------
        list of tuple
            ``(run_key, key, value)``; a NaN value reads as None.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
        >>> result = RunResult("ok", layer_metrics=[{"n_edges": 640}],
        ...                    network_metrics={"net_n_edges": 640},
        ...                    curve=[{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5}])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.record(study.runs()[0], result)
        ...         rows = store.network_metric_rows()
        >>> [row[1:] for row in rows]
        [('net_n_edges', 640)]
        """
        sql = "SELECT run_key, key, value FROM network_metrics ORDER BY run_key"
        return self._execute(sql, action="read").fetchall()

    def curve_rows(self) -> list[tuple]:
        """Every stored point of the learning curves, ordered by run key and epoch.

        Returns
        -------
        list of tuple
            ``(run_key, epoch, loss, train_accuracy, val_accuracy, seconds)``, ``epoch``
            from 1; values not recorded read as None.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
        >>> result = RunResult("ok", layer_metrics=[{"n_edges": 640}],
        ...                    network_metrics={"net_n_edges": 640},
        ...                    curve=[{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5}])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.record(study.runs()[0], result)
        ...         rows = store.curve_rows()
        >>> [row[1:] for row in rows]
        [(1, 2.0, None, None, None), (2, 1.5, None, None, None)]
        """
        sql = "SELECT * FROM curves ORDER BY run_key, epoch"
        return self._execute(sql, action="read").fetchall()
