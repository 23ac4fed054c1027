"""The result store of a study: one SQLite file, ``DIR/results.sqlite``.

The drivers of a study (usually one) are its only writers; the workers never touch it.
Each finished run is committed in its own transaction (WAL journal while a writer has it
open, ``synchronous=FULL``), so killing a driver at any moment, ``kill -9`` included, loses
at most the runs still in flight and never leaves half a run. Closing the last writer
switches the file back to a rollback journal, so a closed store is the one file, without
``-wal``/``-shm`` files beside it. A file this topokit refuses (not SQLite, another
database, a newer schema) is checked without writing anything; a damaged one is reported
with what ``PRAGMA integrity_check`` finds (:func:`integrity_problems`), and
:func:`~topokit.analysis.salvage_store` copies its readable runs into a new store.
A run is keyed by :attr:`RunConfig.key <topokit.analysis.study.RunConfig.key>`; recording
it twice stores it once.

A store keeps the runs of every definition of its study that wrote into it: a study file
that grows (more seeds, another family, another density, a changed recipe) runs only
the runs not stored yet, and the runs a changed file no longer names stay stored.
:meth:`ResultStore.study_run_keys` gives the runs the current definition names.

Tables (schema version :data:`SCHEMA_VERSION`):

- ``meta(key, value)``: ``schema_version``.
- ``study(study_key, name, config_json, config_toml, created, versions_json)``: one row,
  the current definition (the last study opened on the store for writing).
- ``definitions(study_key, name, config_json, config_toml, first_used, last_used,
  versions_json)``: every definition that wrote into the store.
- ``definition_runs(study_key, run_key)``: the runs each definition names.
- ``runs(run_key, config_json, family, seed, status, error, started, finished, seconds,
  test_accuracy, train_accuracy, final_loss, epochs_to_target, epochs, versions_json)``;
  ``status`` is ``'ok'`` or ``'failed'``.
- ``layer_metrics(run_key, layer, key, value)``, ``network_metrics(run_key, key, value)``.
- ``curves(run_key, epoch, loss, train_accuracy, val_accuracy, seconds)``.
- ``claims(run_key, driver, expires)``: the runs a driver is doing now, each held until
  ``expires`` (Unix time) unless its driver renews the lease (:meth:`ResultStore.claim`).
- ``retries(run_key, finished)``: when a failed run was last retried and failed again (a
  failure does not replace a stored failure), so that drivers retrying the runs that had
  failed before they started do not retry it again.
- ``outcomes(run_key, layer, key, value)``: the outcomes of dynamic sparse training
  (``ever_active_fraction``, ``edges_changed_per_update``, ``n_updates``), per layer
  (``layer`` from 0) and for the run (``layer`` -1).
- ``snapshot_metrics(run_key, epoch, layer, key, value)``: the metrics of a run's layer
  graphs at a snapshot epoch (0 the start, ``e`` after ``e`` epochs), per layer and for
  the network (``layer`` -1), for runs that learn their graph (dynamic or pruned).
- ``snapshot_graphs(run_key, epoch, layer, n_in, n_out, n_edges, edges)``: the layer
  graphs themselves, ``edges`` the flat positions ``i * n_out + j`` of the edges as
  zlib-compressed gaps (a snapshot of a ``[64, 128, 128, 10]`` network at density 0.1
  takes about 2 kB, one of ``[784, 4000, 4000, 10]`` at density 0.01 about 250 kB).

Several drivers may share one store: each claims the runs it is about to do
(:meth:`ResultStore.claim`, in small batches, each in one ``BEGIN IMMEDIATE``
transaction, so that two drivers never claim the same run), renews its claims while they
are in flight (:meth:`ResultStore.renew_claims`), and a run recorded is no longer claimed.
The claims of a driver that died expire, and the next driver takes those runs over.

Failed runs are kept, with their error, and are *not* retried when a study resumes,
unless asked (``pending(runs, retry_failed=True)``): the failures topokit records
(a family that cannot build the sizes, a diverging training) come back with the same
seed. A retried run's new record replaces the failed one.
"""

from __future__ import annotations

import json
import platform
import random
import shlex
import sqlite3
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from topokit._errors import TopokitError
from topokit._plain import to_plain

__all__ = [
    "SCHEMA_VERSION",
    "STORE_FILENAME",
    "ResultStore",
    "RunResult",
    "integrity_problems",
    "library_versions",
]

#: Version of the tables' layout, recorded in ``meta``; a store of an older version (1: no
#: definitions, 2: no claims, 3: no outcomes and snapshots) gains the tables it lacks when a
#: study opens it for writing.
SCHEMA_VERSION = 4
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
CREATE TABLE IF NOT EXISTS definitions (
    study_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config_json TEXT NOT NULL,
    config_toml TEXT NOT NULL,
    first_used TEXT NOT NULL,
    last_used TEXT NOT NULL,
    versions_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS definition_runs (
    study_key TEXT NOT NULL,
    run_key TEXT NOT NULL,
    PRIMARY KEY (study_key, run_key)
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
CREATE TABLE IF NOT EXISTS claims (
    run_key TEXT PRIMARY KEY,
    driver TEXT NOT NULL,
    expires REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retries (
    run_key TEXT PRIMARY KEY,
    finished TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outcomes (
    run_key TEXT NOT NULL,
    layer INTEGER NOT NULL,
    key TEXT NOT NULL,
    value,
    PRIMARY KEY (run_key, layer, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshot_metrics (
    run_key TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    layer INTEGER NOT NULL,
    key TEXT NOT NULL,
    value,
    PRIMARY KEY (run_key, epoch, layer, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshot_graphs (
    run_key TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    layer INTEGER NOT NULL,
    n_in INTEGER NOT NULL,
    n_out INTEGER NOT NULL,
    n_edges INTEGER NOT NULL,
    edges BLOB NOT NULL,
    PRIMARY KEY (run_key, epoch, layer)
);
"""
#: The tables holding a run's rows besides ``runs``: a retried run's new record replaces
#: them all.
_CHILD_TABLES = (
    "layer_metrics",
    "network_metrics",
    "curves",
    "outcomes",
    "snapshot_metrics",
    "snapshot_graphs",
)
#: The ``layer`` of a value of the whole run (network) in the outcome and snapshot tables.
RUN_LAYER = -1
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


#: How many problems of ``PRAGMA integrity_check`` a damaged store's error quotes.
_N_PROBLEMS = 3
#: Seconds a new store's set-up is tried again while another process sets it up too.
_SETUP_SECONDS = 30.0


def integrity_problems(path, limit: int = 100) -> list[str]:
    """What ``PRAGMA integrity_check`` finds in an SQLite file, read-only.

    Parameters
    ----------
    path : str or os.PathLike
        The file (a study's ``results.sqlite``).
    limit : int, default 100
        Report at most this many problems.

    Returns
    -------
    list of str
        The problems SQLite reports, one per item; empty when the file is sound. A check
        that cannot finish (a page it needs is unreadable) ends the list with
        ``"integrity_check stopped: REASON"``, after the problems of the longest check
        that did finish.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from topokit.analysis import ResultStore
    >>> from topokit.analysis.store import integrity_problems
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     ResultStore(folder).close()
    ...     problems = integrity_problems(pathlib.Path(folder) / "results.sqlite")
    >>> problems
    []
    """
    try:
        connection = _connect_damaged(path)
    except sqlite3.Error as exc:
        return [f"integrity_check stopped: {exc}"]
    stopped = None
    try:
        # a check that meets a page it cannot read stops with an error; one asked for fewer
        # problems may finish before it
        for most in sorted({int(limit), 10, 3, 1}, reverse=True):
            if most > limit:
                continue
            try:
                rows = connection.execute(f"PRAGMA integrity_check({most})").fetchall()
            except sqlite3.Error as exc:
                stopped = stopped or f"integrity_check stopped: {exc}"
                continue
            problems = [
                line
                for (text,) in rows
                for line in text.splitlines()
                if line != "ok" and not line.startswith("***")
            ]
            return problems + ([stopped] if stopped else [])
    finally:
        connection.close()
    return [stopped]


def _connect_damaged(path) -> sqlite3.Connection:
    """A read-only connection that reads what it can of a damaged file.

    ``writable_schema`` lets SQLite open a file shorter than its header says (a truncated
    store) by reading the pages that are there; the connection is read-only all the same.
    """
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=30.0)
    connection.execute("PRAGMA writable_schema = ON")
    return connection


def _damage_report(path) -> str:
    """What ``PRAGMA integrity_check`` found in a damaged store, and what to do."""
    problems = integrity_problems(path, limit=_N_PROBLEMS)
    stopped = [p for p in problems if p.startswith("integrity_check stopped")]
    problems = [p for p in problems if p not in stopped]
    if problems:
        some = "at least " if stopped or len(problems) >= _N_PROBLEMS else ""
        found = f"found {some}{len(problems)} problem(s): {'; '.join(problems)}"
    else:
        found = "found nothing wrong in the file itself"
    if stopped:
        found += f" ({stopped[0].replace('integrity_check ', 'the check ')})"
    folder = shlex.quote(str(Path(path).parent))
    return (
        f"PRAGMA integrity_check {found}. The store is damaged: runs stored in it may be "
        f"unreadable or lost. 'topokit export {folder} --salvage NEW_DIR' copies every run "
        "that can still be read whole into a new store in NEW_DIR and says how many could "
        "not be read"
    )


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
    outcomes : dict
        Outcomes of dynamic sparse training for the run: ``ever_active_fraction``,
        ``edges_changed_per_update``, ``n_updates`` (empty for a static run).
    layer_outcomes : list of dict
        The same per layer, in layer order (``ever_active_fraction``,
        ``edges_changed_per_update``).
    snapshots : list of dict
        The layer graphs at the snapshot epochs, one dict per epoch: ``epoch``,
        ``layers`` (one dict per layer: ``n_in``, ``n_out``, ``n_edges`` and ``edges``,
        the bytes of the stored graph, see the module docstring), ``layer_metrics`` (one dict per
        layer) and ``network_metrics`` (a dict).

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
    outcomes: dict = field(default_factory=dict)
    layer_outcomes: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)

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
        The study that writes here; it becomes the store's current definition (see
        :meth:`study_info`, :meth:`study_run_keys`, :meth:`definitions`). An existing store
        of a study of another name, or of another run-configuration format, is refused
        (the message names the differing fields) and left untouched; any other change of
        the study (seeds, families, densities, sizes, recipe) grows the store.
    readonly : bool, default False
        Open the file read-only (``mode=ro``); any write raises TopokitError. A store in
        a folder this user cannot write is read as immutable when no write-ahead log is
        pending.

    Raises
    ------
    TopokitError
        If the folder cannot be created or written, the file is not a topokit store,
        its schema is newer than this topokit, or it belongs to a study of another name
        or run-configuration format.

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
        self._writing = False  # set once this connection has set the store up for writing
        if readonly:
            if not self.path.is_file():
                raise TopokitError(f"no result store at {str(self.path)!r}")
        else:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise TopokitError(
                    f"cannot create the study folder {str(self.directory)!r}: {exc}"
                ) from exc
        if self.path.is_file() and self.path.stat().st_size:
            # an existing file is checked first through a connection that writes nothing,
            # not even SQLite's -shm file, so that a file this topokit refuses is left
            # exactly as it was
            self._connection = self._connect_to_check()
            try:
                self._check_existing(study)
            finally:
                self._connection.close()
        if readonly:
            self._connection = self._connect_readonly()
        else:
            self._connection = self._connect(str(self.path), uri=False)
        try:
            self._check_existing(study)
            if not readonly:
                self._initialize(study)
                self._writing = True
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

    def _connect_to_check(self):
        """A read-only connection; without a write-ahead log beside the file (no writer has
        it open), also immutable: SQLite then creates no file beside it."""
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        if not Path(f"{self.path}-wal").exists():
            uri += "&immutable=1"
        return self._connect(uri, uri=True)

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
            self._check_compatible(stored, study)

    def _check_compatible(self, stored, study) -> None:
        """Refuse a study that cannot grow the stored one: another name (another study,
        most likely a mistaken output folder) or another run-configuration format."""
        given = study.to_dict()
        differing = [
            f"{name} ({stored['config'].get(name)!r} in the store, {given[name]!r} in the file)"
            for name in ("name", "format")
            if stored["config"].get(name) != given[name]
        ]
        if differing:
            raise TopokitError(
                f"{str(self.path)!r} holds the results of study {stored['name']!r} "
                f"(key {stored['study_key'][:12]}), not of study {study.name!r} "
                f"(key {study.key[:12]}); they differ in {', '.join(differing)}. A study "
                "folder grows with its study (seeds, families, densities, sizes, recipe) "
                f"but keeps one name: use another output folder, or name the study "
                f"{stored['name']!r} to grow it"
            )

    def _initialize(self, study) -> None:
        self._setting_up(lambda: self._execute("PRAGMA journal_mode = WAL", action="set up"))
        self._execute("PRAGMA synchronous = FULL", action="set up")
        self._setting_up(lambda: self._create(study))

    def _setting_up(self, step) -> None:
        """Run a set-up ``step``, again while another process sets the store up too.

        Two drivers that open a new store at the same moment both switch it to WAL and
        create its tables. SQLite answers "locked" at once, without the busy timeout, to
        the one of two connections whose lock upgrade would deadlock the other; the step
        is tried again after a short random pause, for at most :data:`_SETUP_SECONDS`.
        """
        deadline = time.monotonic() + _SETUP_SECONDS
        while True:
            try:
                return step()
            except TopokitError as exc:
                cause = str(exc.__cause__) if isinstance(exc.__cause__, sqlite3.Error) else ""
                if not ("locked" in cause or "busy" in cause) or time.monotonic() > deadline:
                    raise
            time.sleep(0.02 + 0.08 * random.random())

    def _create(self, study) -> None:
        with self._transaction("set up"):
            execute = self._connection.execute
            tables = {name for (name,) in execute("SELECT name FROM sqlite_master")}
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    execute(statement)
            execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version' "
                "AND CAST(value AS INTEGER) < ?",
                (str(SCHEMA_VERSION), SCHEMA_VERSION),
            )
            if "definitions" not in tables and "study" in tables:
                # a store of schema 1: its runs are those of its one study definition
                execute(
                    "INSERT OR IGNORE INTO definitions SELECT study_key, name, config_json, "
                    "config_toml, created, created, versions_json FROM study"
                )
                execute(
                    "INSERT OR IGNORE INTO definition_runs "
                    "SELECT study.study_key, runs.run_key FROM study, runs"
                )
            if study is not None:
                self._record_definition(study)

    def _record_definition(self, study) -> None:
        """Make ``study`` the current definition and add it to the history."""
        execute, now = self._connection.execute, _now()
        config = json.dumps(study.to_dict(), sort_keys=True)
        versions = json.dumps(library_versions(), sort_keys=True)
        execute(
            "INSERT INTO definitions VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (study_key) "
            "DO UPDATE SET last_used = excluded.last_used",
            (study.key, study.name, config, study.source, now, now, versions),
        )
        self._connection.executemany(
            "INSERT OR IGNORE INTO definition_runs VALUES (?, ?)",
            [(study.key, run.key) for run in study.runs()],
        )
        (first_used,) = execute(
            "SELECT first_used FROM definitions WHERE study_key = ?", (study.key,)
        ).fetchone()
        execute("DELETE FROM study")
        execute(
            "INSERT INTO study VALUES (?, ?, ?, ?, ?, ?)",
            (study.key, study.name, config, study.source, first_used, versions),
        )

    # ------------------------------------------------------------ plumbing

    def _fail(self, action: str, exc: sqlite3.Error):
        text = str(exc)
        where = f"cannot {action} the result store {str(self.path)!r}: {text}"
        if "not a database" in text:
            raise TopokitError(
                f"{where}: the file is not an SQLite database, so not a topokit result "
                "store (or a store whose header is destroyed, of which nothing can be read)"
            ) from exc
        if "malformed" in text or "corrupt" in text:
            raise TopokitError(f"{where}. {_damage_report(self.path)}") from exc
        hint = ""
        if "readonly" in text or "read-only" in text:
            hint = " (the store or its folder is read-only)"
        elif "full" in text:
            hint = " (the disk is full)"
        elif "locked" in text or "busy" in text:
            hint = " (another process held it too long)"
        # SQLite rolls a refused or failed transaction back whole (the file itself being
        # sound, which the two cases above rule out): what was stored before stays
        raise TopokitError(f"{where}{hint}; the runs already stored are intact") from exc

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

        A writer first checkpoints the write-ahead log into ``results.sqlite`` and, when no
        other connection has the file open, switches it back to a rollback journal: the
        ``-wal`` and ``-shm`` files go, and the closed store is the one file. Closing a
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
            if self._writing:
                with suppress(sqlite3.Error):
                    self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                with suppress(sqlite3.Error):  # busy while another connection reads
                    self._connection.execute("PRAGMA journal_mode = DELETE")
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
                if row[0] == "failed":  # a retry that failed again: noted, not stored
                    self._connection.execute(
                        "INSERT OR REPLACE INTO retries VALUES (?, ?)",
                        (key, result.finished or _now()),
                    )
                self._connection.execute("DELETE FROM claims WHERE run_key = ?", (key,))
                return False
            if row is not None:
                for table in ("runs", "retries", *_CHILD_TABLES):
                    self._connection.execute(f"DELETE FROM {table} WHERE run_key = ?", (key,))
            self._insert(run, result)
            self._connection.execute("DELETE FROM claims WHERE run_key = ?", (key,))
        return True

    # ------------------------------------------------------------ claims

    def claim(
        self,
        runs,
        driver: str,
        *,
        lease_seconds: float,
        limit: int | None = None,
        retry_failed_before: str | None = None,
    ) -> tuple[list, set[str]]:
        """Claim runs to do, in one transaction: no other driver can claim them meanwhile.

        Goes through ``runs`` in order and claims each run that is neither stored nor
        claimed by another driver whose lease is live, until ``limit`` are claimed. A
        claim expires ``lease_seconds`` from now unless renewed
        (:meth:`renew_claims`); recording the run (:meth:`record`) or releasing it
        (:meth:`release_claims`) ends it. Expired claims (of a driver that died) are
        dropped first, so their runs can be claimed again.

        Parameters
        ----------
        runs : iterable of RunConfig
            The candidates, in the order to do them.
        driver : str
            Who claims (one id per driver process and call, e.g. host, pid and a random
            part); a run this driver claimed already is claimed again (renewed).
        lease_seconds : float
            How long the claim holds without renewal.
        limit : int, optional
            Claim at most this many (default: every claimable run).
        retry_failed_before : str, optional
            An ISO 8601 UTC time: runs stored as failed, finished before it and not
            retried since, are claimable too (a driver retrying failed runs passes its
            start time, so that a run another driver retried since, with success or not,
            is not retried twice).

        Returns
        -------
        claimed : list of RunConfig
            The runs claimed now, in the order of ``runs``.
        done : set of str
            Keys of the runs of ``runs`` (looked at before the limit was reached) that
            are stored, so no longer to do.

        Raises
        ------
        TopokitError
            If the store is read-only, closed or cannot be written.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1, 2]\\n'
        ...                    '[[families]]\\nname = "dense"')
        >>> runs = study.runs()
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.record(runs[0], RunResult("ok"))
        ...         first, done = store.claim(runs, "driver-a", lease_seconds=60, limit=1)
        ...         second, _ = store.claim(runs, "driver-b", lease_seconds=60)
        ...         claims = store.live_claims()
        >>> first == [runs[1]], done == {runs[0].key}, second == [runs[2]]
        (True, True, True)
        >>> sorted(claims.values())
        ['driver-a', 'driver-b']
        """
        self._check_writable("claim runs in")
        now = time.time()
        claimed, done = [], set()
        with self._claims_transaction("claim runs in"):
            execute = self._connection.execute
            execute("DELETE FROM claims WHERE expires < ?", (now,))
            for run in runs:
                if limit is not None and len(claimed) >= limit:
                    break
                key = run.key
                row = execute(
                    "SELECT status, max(coalesce(runs.finished, ''), coalesce(retries.finished, "
                    "'')) FROM runs LEFT JOIN retries USING (run_key) WHERE run_key = ?",
                    (key,),
                ).fetchone()
                if row is not None and not (
                    row[0] == "failed"
                    and retry_failed_before is not None
                    and row[1] < retry_failed_before
                ):
                    done.add(key)
                    continue
                holder = execute("SELECT driver FROM claims WHERE run_key = ?", (key,)).fetchone()
                if holder is not None and holder[0] != driver:
                    continue
                execute(
                    "INSERT OR REPLACE INTO claims VALUES (?, ?, ?)",
                    (key, driver, now + lease_seconds),
                )
                claimed.append(run)
        return claimed, done

    def renew_claims(self, driver: str, *, lease_seconds: float) -> int:
        """Extend every claim of ``driver`` to ``lease_seconds`` from now.

        Parameters
        ----------
        driver : str
            As given to :meth:`claim`.
        lease_seconds : float

        Returns
        -------
        int
            The claims renewed (a claim that expired and was taken over by another
            driver is not).

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1]\\n[[families]]\\nname = "dense"')
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.claim(study.runs(), "driver-a", lease_seconds=60)
        ...         renewed = store.renew_claims("driver-a", lease_seconds=60)
        >>> renewed
        2
        """
        self._check_writable("renew claims in")
        with self._claims_transaction("renew claims in"):
            cursor = self._connection.execute(
                "UPDATE claims SET expires = ? WHERE driver = ?",
                (time.time() + lease_seconds, driver),
            )
        return cursor.rowcount

    def release_claims(self, driver: str, keys=None) -> int:
        """End claims of ``driver``: those of ``keys``, or all of them.

        Parameters
        ----------
        driver : str
            As given to :meth:`claim`.
        keys : iterable of str, optional
            Run keys; default: every claim of ``driver``.

        Returns
        -------
        int
            The claims ended.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1]\\n[[families]]\\nname = "dense"')
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.claim(study.runs(), "driver-a", lease_seconds=60)
        ...         released = store.release_claims("driver-a")
        ...         left = store.live_claims()
        >>> released, left
        (2, {})
        """
        self._check_writable("release claims in")
        with self._claims_transaction("release claims in"):
            if keys is None:
                cursor = self._connection.execute("DELETE FROM claims WHERE driver = ?", (driver,))
                return cursor.rowcount
            return sum(
                self._connection.execute(
                    "DELETE FROM claims WHERE driver = ? AND run_key = ?", (driver, key)
                ).rowcount
                for key in keys
            )

    def live_claims(self) -> dict[str, str]:
        """The claims whose lease has not expired.

        Returns
        -------
        dict of str to str
            Run key → the driver that claimed it (see :meth:`claim`); empty for a store
            without claims (schema 2 and older, read-only).

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.claim(study.runs(), "driver-a", lease_seconds=60)
        ...         claims = store.live_claims()
        >>> list(claims.values())
        ['driver-a']
        """
        if "claims" not in self._tables():
            return {}
        rows = self._execute(
            "SELECT run_key, driver FROM claims WHERE expires >= ?", (time.time(),), action="read"
        )
        return dict(rows.fetchall())

    @contextmanager
    def _claims_transaction(self, action: str):
        """A transaction of claims alone, committed without waiting for the disk
        (``synchronous=NORMAL``): a claim lost to a power cut costs at most a run done
        twice, while a wait for the disk per claim would slow every run down."""
        self._execute("PRAGMA synchronous = NORMAL", action=action)
        try:
            with self._transaction(action):
                yield
        finally:
            self._execute("PRAGMA synchronous = FULL", action=action)

    def _check_writable(self, action: str) -> None:
        if self.readonly:
            raise TopokitError(
                f"cannot {action} the result store {str(self.path)!r}: it was opened read-only"
            )

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
        values = [(RUN_LAYER, result.outcomes), *enumerate(result.layer_outcomes)]
        self._connection.executemany(
            "INSERT INTO outcomes VALUES (?, ?, ?, ?)",
            [
                (key, layer, name, to_plain(value, non_finite="keep"))
                for layer, outcomes in values
                for name, value in outcomes.items()
            ],
        )
        for snapshot in result.snapshots:
            epoch = int(snapshot["epoch"])
            metrics = [(RUN_LAYER, snapshot.get("network_metrics", {}))]
            metrics += list(enumerate(snapshot.get("layer_metrics", [])))
            self._connection.executemany(
                "INSERT INTO snapshot_metrics VALUES (?, ?, ?, ?, ?)",
                [
                    (key, epoch, layer, name, to_plain(value, non_finite="keep"))
                    for layer, values in metrics
                    for name, value in values.items()
                ],
            )
            self._connection.executemany(
                "INSERT INTO snapshot_graphs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        key,
                        epoch,
                        layer,
                        int(graph["n_in"]),
                        int(graph["n_out"]),
                        int(graph["n_edges"]),
                        bytes(graph["edges"]),
                    )
                    for layer, graph in enumerate(snapshot.get("layers", []))
                ],
            )

    # ------------------------------------------------------------ reading

    def study_info(self) -> dict | None:
        """The current definition of the study this store belongs to.

        Returns
        -------
        dict or None
            The study row: ``study_key``, ``name``, ``config`` (the study's
            :meth:`~topokit.analysis.Study.to_dict`), ``config_toml``, ``created`` (ISO
            8601 UTC, when this definition first wrote into the store) and ``versions``
            (:func:`library_versions` then); None for a store made without a study.
            :meth:`definitions` lists the earlier definitions too.

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

    def study_run_keys(self) -> set[str] | None:
        """The run keys that the current study definition names.

        The current definition is the study last opened on the store for writing; the
        store may hold more runs (of earlier definitions), which these leave out.

        Returns
        -------
        set of str or None
            :attr:`RunConfig.key <topokit.analysis.RunConfig.key>` of each run of the
            current definition, stored or not; None for a store made without a study.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> text = 'name = "g"\\nsizes = [64, 10]\\nseeds = [0, 1]\\n[[families]]\\nname = "dense"'
        >>> study, grown = load_study(text), load_study(text.replace("[0, 1]", "[0, 2]"))
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         for run in study.runs():
        ...             _ = store.record(run, RunResult("ok", test_accuracy=0.9))
        ...     with ResultStore(folder, grown) as store:
        ...         named = store.study_run_keys()
        ...         stored = set(store.statuses())
        >>> named == {run.key for run in grown.runs()}, len(stored), len(stored - named)
        (True, 2, 1)
        """
        info = self.study_info()
        if info is None:
            return None
        if "definition_runs" not in self._tables():  # schema 1: one definition
            return set(self.statuses())
        rows = self._execute(
            "SELECT run_key FROM definition_runs WHERE study_key = ?",
            (info["study_key"],),
            action="read",
        )
        return {key for (key,) in rows}

    def definitions(self) -> list[dict]:
        """Every study definition that wrote into the store, oldest first.

        Returns
        -------
        list of dict
            One dict per definition: ``study_key``, ``name``, ``config`` (the study's
            :meth:`~topokit.analysis.Study.to_dict`), ``config_toml``, ``first_used``,
            ``last_used`` (ISO 8601 UTC), ``versions`` (:func:`library_versions` when
            first used) and ``n_runs`` (the runs it names).

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, load_study
        >>> text = 'name = "g"\\nsizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"'
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     ResultStore(folder, load_study(text)).close()
        ...     ResultStore(folder, load_study(text.replace("[0]", "[0, 1]"))).close()
        ...     with ResultStore(folder, readonly=True) as store:
        ...         history = store.definitions()
        >>> [(d["name"], d["config"]["seeds"], d["n_runs"]) for d in history]
        [('g', [0], 1), ('g', [0, 1], 2)]
        """
        if "definitions" not in self._tables():  # schema 1: the study row alone
            info = self.study_info()
            if info is None:
                return []
            return [
                {
                    "study_key": info["study_key"],
                    "name": info["name"],
                    "config": info["config"],
                    "config_toml": info["config_toml"],
                    "first_used": info["created"],
                    "last_used": info["created"],
                    "versions": info["versions"],
                    "n_runs": len(self.statuses()),
                }
            ]
        rows = self._execute(
            "SELECT d.*, (SELECT count(*) FROM definition_runs r WHERE r.study_key = "
            "d.study_key) FROM definitions d ORDER BY d.first_used, d.rowid",
            action="read",
        ).fetchall()
        history = []
        for key, name, config, toml_text, first, last, versions, n_runs in rows:
            history.append(
                {
                    "study_key": key,
                    "name": name,
                    "config": json.loads(config),
                    "config_toml": toml_text,
                    "first_used": first,
                    "last_used": last,
                    "versions": json.loads(versions),
                    "n_runs": n_runs,
                }
            )
        return history

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

    def outcome_rows(self) -> list[tuple]:
        """Every stored outcome of dynamic sparse training, ordered by run key and layer.

        Returns
        -------
        list of tuple
            ``(run_key, layer, key, value)``, ``layer`` -1 for the run's own values, else
            from 0; a NaN value reads as None. Empty for a store of schema 3 or older.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
        >>> result = RunResult("ok", outcomes={"n_updates": 3},
        ...                    layer_outcomes=[{"ever_active_fraction": 0.5}])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.record(study.runs()[0], result)
        ...         rows = store.outcome_rows()
        >>> [row[1:] for row in rows]
        [(-1, 'n_updates', 3), (0, 'ever_active_fraction', 0.5)]
        """
        if "outcomes" not in self._tables():
            return []
        sql = "SELECT run_key, layer, key, value FROM outcomes ORDER BY run_key, layer, key"
        return self._execute(sql, action="read").fetchall()

    def snapshot_metric_rows(self) -> list[tuple]:
        """Every stored metric of a snapshot, ordered by run key, epoch and layer.

        Returns
        -------
        list of tuple
            ``(run_key, epoch, layer, key, value)``, ``layer`` -1 for the network metrics,
            else from 0; a NaN value reads as None. Empty for a store of schema 3 or older.

        Examples
        --------
        >>> import tempfile
        >>> from topokit import Topology
        >>> from topokit.analysis import ResultStore, RunResult, load_study
        >>> from topokit.analysis._snapshots import encode_layer
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
        >>> graph = Topology.build([64, 10], "dense")[0]
        >>> snapshot = {"epoch": 0, "layer_metrics": [{"n_edges": 640}],
        ...             "network_metrics": {"net_n_edges": 640},
        ...             "layers": [{"n_in": 64, "n_out": 10, "n_edges": 640,
        ...                         "edges": encode_layer(graph)}]}
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         _ = store.record(study.runs()[0], RunResult("ok", snapshots=[snapshot]))
        ...         rows = store.snapshot_metric_rows()
        ...         graphs = store.snapshot_graph_rows(study.runs()[0].key, 0)
        >>> [row[1:] for row in rows], [row[:4] for row in graphs]
        ([(0, -1, 'net_n_edges', 640), (0, 0, 'n_edges', 640)], [(0, 64, 10, 640)])
        """
        if "snapshot_metrics" not in self._tables():
            return []
        sql = (
            "SELECT run_key, epoch, layer, key, value FROM snapshot_metrics "
            "ORDER BY run_key, epoch, layer, key"
        )
        return self._execute(sql, action="read").fetchall()

    def snapshot_epochs(self) -> dict[str, list[int]]:
        """The epochs at which each run stored its layer graphs.

        Returns
        -------
        dict of str to list of int
            Run key → its snapshot epochs, ascending; runs without snapshots are left
            out. Empty for a store of schema 3 or older.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         epochs = store.snapshot_epochs()
        >>> epochs
        {}
        """
        if "snapshot_graphs" not in self._tables():
            return {}
        rows = self._execute(
            "SELECT DISTINCT run_key, epoch FROM snapshot_graphs ORDER BY run_key, epoch",
            action="read",
        )
        epochs: dict[str, list[int]] = {}
        for key, epoch in rows:
            epochs.setdefault(key, []).append(epoch)
        return epochs

    def snapshot_graph_rows(self, run_key: str, epoch: int) -> list[tuple]:
        """The stored layer graphs of one run at one snapshot epoch, in layer order.

        Parameters
        ----------
        run_key : str
            The run's full key.
        epoch : int
            A snapshot epoch of the run (:meth:`snapshot_epochs`).

        Returns
        -------
        list of tuple
            ``(layer, n_in, n_out, n_edges, edges)``, ``edges`` the compressed bytes of
            the layer's edge positions; empty where the run stored no graph at ``epoch``.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         rows = store.snapshot_graph_rows(study.runs()[0].key, 0)
        >>> rows
        []
        """
        if "snapshot_graphs" not in self._tables():
            return []
        rows = self._execute(
            "SELECT layer, n_in, n_out, n_edges, edges FROM snapshot_graphs "
            "WHERE run_key = ? AND epoch = ? ORDER BY layer",
            (run_key, int(epoch)),
            action="read",
        )
        return rows.fetchall()
