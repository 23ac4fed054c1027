"""Salvaging a damaged result store: every run that can still be read whole, into a new one.

The damaged file is only read (``mode=ro``). Its tables are read row by row, so that a
damaged page costs the rows on it and not the rest: ``runs`` and the other rowid tables by
probing each rowid, the metric and curve tables by their run key. Rows of the rowid tables
that hang below a damaged page (no B-tree leads to them any more) are found by reading the
file's table-leaf pages themselves, as SQLite lays them out, and told apart by their
number of columns and checked field by field. A run is salvaged only whole: its ``runs``
row and every one of its metric and curve rows, read through their intact B-trees; a run
any of whose rows cannot be read is counted as unreadable and left out (the next
``topokit study`` into the new folder runs it again). The runs each study definition
names are read from the definitions' TOML where the ``definition_runs`` table is damaged.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path

from topokit._errors import TopokitError
from topokit.analysis.store import (
    _CHILD_TABLES,
    STORE_FILENAME,
    ResultStore,
    _connect_damaged,
    integrity_problems,
)
from topokit.analysis.study import load_study

__all__ = ["salvage_store"]

_ROWID_TABLES = ("meta", "study", "definitions", "runs")
#: More rows than any page of a SQLite file of at most 64 KiB pages holds.
_MAX_ROWS_PER_PAGE = 65536 // 4
#: The first 16 bytes of every SQLite database file.
_HEADER = b"SQLite format 3\x00"


def _store_file(directory) -> Path:
    path = Path(directory)
    if path.name == STORE_FILENAME and path.is_file():
        return path
    if not (path / STORE_FILENAME).is_file():
        raise TopokitError(f"no result store at {str(path / STORE_FILENAME)!r}")
    return path / STORE_FILENAME


def _rows_by_rowid(connection, table) -> tuple[list, int]:
    """(readable rows, number of rows that could not be read) of a rowid table."""
    try:
        (top,) = connection.execute(f"SELECT max(rowid) FROM {table}").fetchone()
        (pages,) = connection.execute("PRAGMA page_count").fetchone()
    except sqlite3.DatabaseError:
        top = pages = None
    # empty, the path to the last row damaged, or a rowid no file of this size can reach
    # (a row takes more than 4 bytes): read what a scan reads
    if top is None or top > pages * _MAX_ROWS_PER_PAGE:
        return _rows_by_scan(connection, f"SELECT * FROM {table}")
    rows, unreadable = [], 0
    for rowid in range(1, top + 1):
        try:
            row = connection.execute(f"SELECT * FROM {table} WHERE rowid = ?", (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            unreadable += 1
            continue
        if row is not None:
            rows.append(row)
    return rows, unreadable


def _rows_by_scan(connection, sql, parameters=()) -> tuple[list, int]:
    """(rows read before the first error, 1 if an error stopped the scan else 0)."""
    rows = []
    try:
        for row in connection.execute(sql, parameters):
            rows.append(row)
    except sqlite3.DatabaseError:
        return rows, 1
    return rows, 0


def _is_json(text) -> bool:
    try:
        json.loads(text)
    except (TypeError, ValueError):
        return False
    return True


def _valid_run(row) -> bool:
    key, config, family, seed, status = row[:5]
    return (
        isinstance(key, str)
        and isinstance(family, str)
        and isinstance(seed, int)
        and status in ("ok", "failed")
        and _is_json(config)
        and _is_json(row[14])
    )


def _valid_definition(row) -> bool:
    return all(isinstance(value, str) for value in row) and _is_json(row[2]) and _is_json(row[-1])


#: Checks of the rows found on the pages, by table.
_VALID = {"runs": _valid_run, "definitions": _valid_definition, "study": _valid_definition}


def _merged(read, found, valid) -> list:
    """The rows read through the B-tree, plus the valid rows found on the pages whose key
    (first column) they lack; of several rows of one key, a run that succeeded wins (it is
    never overwritten; an older failed row may linger on a page)."""
    rows = {row[0]: row for row in read}
    extra = {}
    for row in found:
        if row[0] in rows or not valid(row):
            continue
        if row[0] not in extra or row[4:5] == ("ok",):
            extra[row[0]] = row
    return [*read, *extra.values()]


def _named_runs(definitions, scanned) -> list[tuple]:
    """``(study_key, run_key)`` rows: the scanned ones plus those each definition's TOML
    names (which stand in for a damaged ``definition_runs``)."""
    pairs = set(scanned)
    for row in definitions:
        study_key, toml_text = row[0], row[3]
        try:
            keys = {run.key for run in load_study(toml_text).runs()}
        except (TopokitError, OSError):
            continue
        pairs |= {(study_key, key) for key in keys}
    return sorted(pairs)


def salvage_store(directory, destination) -> dict:
    """Copy every run of a (damaged) result store that can be read whole into a new store.

    The source is only read. ``PRAGMA integrity_check`` says what is damaged; then each
    run whose row, metrics and learning curve can all be read goes to
    ``destination/results.sqlite``, with the study definitions that can be read. Runs
    that cannot be read whole are left out and counted: ``topokit study`` into
    ``destination`` runs them again. A sound store is copied whole.

    Parameters
    ----------
    directory : str or os.PathLike
        The study folder of the damaged store (or its ``results.sqlite``).
    destination : str or os.PathLike
        A folder for the new store; created if missing. It must not hold a store yet.

    Returns
    -------
    dict
        ``source`` and ``destination`` (the two files, as strings), ``problems`` (what
        ``PRAGMA integrity_check`` found, see
        :func:`~topokit.analysis.store.integrity_problems`), ``n_runs`` (runs salvaged),
        ``n_ok``, ``n_failed``, ``n_unreadable`` (runs whose key was read but not all of
        their rows), ``n_named`` (runs the current study definition names;
        None when no definition could be read) and ``n_missing`` (of those, runs not
        salvaged: to run again).

    Raises
    ------
    TopokitError
        If there is no store at ``directory``, the destination already holds a store (the
        source's own folder does), the source is not an SQLite file or its table list cannot be
        read (nothing can be salvaged then), or the destination cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from topokit.analysis import ResultStore, RunResult, load_study, salvage_store
    >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1]\\n[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         for run in study.runs():
    ...             _ = store.record(run, RunResult("ok", curve=[{"loss": 1.0}]))
    ...     report = salvage_store(folder, pathlib.Path(folder) / "salvaged")
    >>> report["problems"], report["n_runs"], report["n_unreadable"], report["n_missing"]
    ([], 2, 0, 0)
    """
    source = _store_file(directory)
    destination = Path(destination)
    target = destination / STORE_FILENAME
    if target.exists():
        raise TopokitError(
            f"the salvage destination {str(destination)!r} already holds a result store; "
            "give a new folder"
        )
    with source.open("rb") as file:
        if file.read(len(_HEADER)) != _HEADER:
            raise TopokitError(
                f"nothing can be salvaged from {str(source)!r}: it is not an SQLite database "
                "(it does not begin with SQLite's header)"
            )
    problems = integrity_problems(source)
    try:
        connection = _connect_damaged(source)
    except sqlite3.DatabaseError as exc:
        raise TopokitError(
            f"nothing can be salvaged from {str(source)!r}: it is not an SQLite database ({exc})"
        ) from exc
    try:
        try:
            tables = {
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
        except sqlite3.DatabaseError as exc:
            raise TopokitError(
                f"nothing can be salvaged from {str(source)!r}: its list of tables cannot be "
                f"read ({exc})"
            ) from exc
        if not {"meta", "runs"} <= tables:
            raise TopokitError(
                f"{str(source)!r} is not a topokit result store (tables: {sorted(tables)})"
            )
        read = {
            table: _rows_by_rowid(connection, table)[0] if table in tables else []
            for table in _ROWID_TABLES
        }
        for table, rows in _scan_pages(source).items():
            read[table] = _merged(read[table], rows, _VALID[table])
        runs = read["runs"]
        known = {run[0] for run in runs}
        known |= {key for (key,) in _rows_by_scan(connection, "SELECT run_key FROM runs")[0]}
        # the tables of the source's schema (a store of schema 3 has no snapshots)
        child_tables = [table for table in _CHILD_TABLES if table in tables]
        children, kept = {table: [] for table in child_tables}, []
        for run in runs:
            rows = {}
            for table in child_tables:
                rows[table], failed = _rows_by_scan(
                    connection, f"SELECT * FROM {table} WHERE run_key = ?", (run[0],)
                )
                if failed:
                    break
            else:
                kept.append(run)
                for table in child_tables:
                    children[table] += rows[table]
        definitions = read["definitions"]
        # a study row whose definition is lost (or schema 1, without definitions) stands
        # for its own definition
        defined = {row[0] for row in definitions}
        definitions += [
            (key, name, config, toml_text, made, made, versions)
            for key, name, config, toml_text, made, versions in read["study"]
            if key not in defined
        ]
        scanned = []
        if "definition_runs" in tables:
            scanned, _ = _rows_by_scan(connection, "SELECT * FROM definition_runs")
        named = _named_runs(definitions, scanned)
        study_rows = read["study"]
    finally:
        connection.close()
    if not study_rows and definitions:  # the study row is lost: the latest definition
        latest = max(definitions, key=lambda row: (row[5], row[4]))
        study_rows = [(latest[0], latest[1], latest[2], latest[3], latest[4], latest[6])]
    ResultStore(destination).close()  # the new store's tables, of this topokit's schema
    _write(target, study_rows, definitions, named, kept, children)
    current = study_rows[0][0] if study_rows else None
    named_keys = {run_key for study_key, run_key in named if study_key == current}
    kept_keys = {run[0] for run in kept}
    statuses = [run[4] for run in kept]
    return {
        "source": str(source),
        "destination": str(target),
        "problems": problems,
        "n_runs": len(kept),
        "n_ok": statuses.count("ok"),
        "n_failed": statuses.count("failed"),
        "n_unreadable": len(known - kept_keys),
        "n_named": len(named_keys) if current is not None else None,
        "n_missing": len(named_keys - kept_keys) if current is not None else None,
    }


def _write(target, study_rows, definitions, named, runs, children) -> None:
    connection = sqlite3.connect(target, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany("INSERT INTO study VALUES (?, ?, ?, ?, ?, ?)", study_rows[:1])
        connection.executemany("INSERT INTO definitions VALUES (?, ?, ?, ?, ?, ?, ?)", definitions)
        connection.executemany("INSERT INTO definition_runs VALUES (?, ?)", named)
        connection.executemany(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", runs
        )
        for table, rows in children.items():
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                connection.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        connection.execute("COMMIT")
    except sqlite3.Error as exc:
        raise TopokitError(f"cannot write the salvaged store {str(target)!r}: {exc}") from exc
    finally:
        connection.close()


# ------------------------------------------------------------ reading the pages themselves

_TABLE_LEAF = 0x0D
_COLUMNS = {15: "runs", 7: "definitions", 6: "study"}


def _varint(data, offset):
    """(value, next offset) of the SQLite variable-length integer at ``offset``."""
    value = 0
    for i in range(9):
        byte = data[offset + i]
        if i == 8:
            return (value << 8) | byte, offset + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, offset + i + 1
    raise IndexError  # not reached


def _record(payload) -> tuple:
    """The values of an SQLite record (the format of a table row)."""
    header_size, offset = _varint(payload, 0)
    types = []
    while offset < header_size:
        serial, offset = _varint(payload, offset)
        types.append(serial)
    values, offset = [], header_size
    for serial in types:
        if serial == 0:
            values.append(None)
        elif serial in (8, 9):
            values.append(serial - 8)
        elif 1 <= serial <= 6:
            size = (1, 2, 3, 4, 6, 8)[serial - 1]
            values.append(int.from_bytes(payload[offset : offset + size], "big", signed=True))
            offset += size
        elif serial == 7:
            values.append(struct.unpack(">d", payload[offset : offset + 8])[0])
            offset += 8
        elif serial >= 12:
            size = (serial - 12) // 2
            chunk = bytes(payload[offset : offset + size])
            values.append(chunk.decode("utf-8") if serial % 2 else chunk)
            offset += size
        else:
            raise ValueError(f"serial type {serial}")
        if offset > len(payload):
            raise ValueError("record overruns its payload")
    return tuple(values)


def _freelist(data, page_size) -> set[int]:
    """The free pages (their old content is not part of the database)."""
    free, trunk = set(), int.from_bytes(data[32:36], "big")
    while 0 < trunk <= len(data) // page_size and trunk not in free:
        free.add(trunk)
        base = (trunk - 1) * page_size
        count = int.from_bytes(data[base + 4 : base + 8], "big")
        for i in range(min(count, page_size // 4 - 2)):
            free.add(int.from_bytes(data[base + 8 + 4 * i : base + 12 + 4 * i], "big"))
        trunk = int.from_bytes(data[base : base + 4], "big")
    return free


def _payload(data, page_size, usable, cell) -> bytes:
    """The payload of a table-leaf cell at ``cell``, overflow pages followed."""
    size, offset = _varint(data, cell)
    _, offset = _varint(data, offset)  # the rowid
    most = usable - 35
    if size <= most:
        return data[offset : offset + size]
    least = (usable - 12) * 32 // 255 - 23
    local = least + (size - least) % (usable - 4)
    local = local if local <= most else least
    payload = bytearray(data[offset : offset + local])
    page = int.from_bytes(data[offset + local : offset + local + 4], "big")
    n_pages = len(data) // page_size
    seen = set()
    while len(payload) < size:
        if not 0 < page <= n_pages or page in seen:
            raise ValueError("broken overflow chain")
        seen.add(page)
        base = (page - 1) * page_size
        payload += data[base + 4 : base + 4 + min(usable - 4, size - len(payload))]
        page = int.from_bytes(data[base : base + 4], "big")
    return bytes(payload)


def _scan_pages(path) -> dict[str, list]:
    """The rows of the rowid tables (runs, study, definitions, meta) found on the file's
    table-leaf pages, whichever B-tree they hang from (or from none, when a page above
    them is damaged): table name -> rows, told apart by their number of columns."""
    data = Path(path).read_bytes()
    if len(data) < 100 or not data.startswith(_HEADER):
        return {}
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    usable = page_size - data[20]
    free = _freelist(data, page_size)
    found = {name: [] for name in _COLUMNS.values()}
    for number in range(1, len(data) // page_size + 1):
        if number in free:
            continue
        base = (number - 1) * page_size
        head = base + (100 if number == 1 else 0)
        if data[head] != _TABLE_LEAF:
            continue
        n_cells = int.from_bytes(data[head + 3 : head + 5], "big")
        for i in range(n_cells):
            pointer = head + 8 + 2 * i
            cell = base + int.from_bytes(data[pointer : pointer + 2], "big")
            try:
                row = _record(_payload(data, page_size, usable, cell))
            except (ValueError, IndexError, UnicodeDecodeError, struct.error):
                continue  # a damaged cell
            table = _COLUMNS.get(len(row))
            if table is not None:
                found[table].append(row)
    return found
