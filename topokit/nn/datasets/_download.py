"""Fetching a file from a list of mirrors: checksum, atomic write, clear failure."""

from __future__ import annotations

import hashlib
import http.client
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from topokit._atomic import replacing

__all__ = ["TIMEOUT_SECONDS", "DownloadError", "fetch"]

TIMEOUT_SECONDS = 30.0
_CHUNK_BYTES = 1 << 20


class DownloadError(OSError):
    """No mirror delivered the file; the message says what each one answered."""


def fetch(
    filename: str,
    mirrors,
    folder: Path,
    *,
    md5: str | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> Path:
    """Download ``filename`` from the first mirror that delivers it into ``folder``.

    Each mirror is a base URL; the file's URL is the base joined with ``filename``. The
    bytes go to a temporary file in ``folder`` that is renamed to ``folder/filename``
    only once it is complete and, where ``md5`` is given, its MD5 matches; otherwise it
    is deleted and the next mirror is tried.

    Raises
    ------
    DownloadError
        If every mirror failed; the message lists each URL with its reason.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the folder {folder} ({exc})") from exc
    target = folder / filename
    failures = []
    for base in mirrors:
        url = base if base.endswith("/") else base + "/"
        url += filename
        try:
            _fetch_one(url, target, md5, timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            failures.append(f"{url}: {_reason(exc)}")
        else:
            return target
    if not failures:
        failures.append("no mirror given")
    raise DownloadError("; ".join(failures))


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc) or type(exc).__name__


def _fetch_one(url: str, target: Path, md5: str | None, timeout: float) -> None:
    digest = hashlib.md5(usedforsecurity=False)
    # whole or not at all: a partial or corrupted download never takes the target's name
    with (
        replacing(target) as out,
        urllib.request.urlopen(url, timeout=timeout) as response,
    ):
        expected_bytes = response.headers.get("Content-Length")
        expected_bytes = int(expected_bytes) if expected_bytes else None
        received = 0
        with tqdm(
            total=expected_bytes,
            unit="B",
            unit_scale=True,
            desc=target.name,
            disable=None,
            leave=False,
        ) as progress:
            while chunk := response.read(_CHUNK_BYTES):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                progress.update(len(chunk))
        if expected_bytes is not None and received != expected_bytes:
            raise DownloadError(f"incomplete: received {received} of {expected_bytes} bytes")
        if md5 is not None and digest.hexdigest() != md5:
            raise DownloadError(
                f"checksum mismatch: MD5 {digest.hexdigest()}, expected {md5} "
                "(the mirror served a different or corrupted file)"
            )
