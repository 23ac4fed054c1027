"""Random simple graphs with near-regular degrees: the configuration model plus a repair.

Shared by ``biregular`` and ``ramanujan`` (which resamples it until certified).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from topokit.generators._sampling import (
    contains,
    csr_from_sorted_ids,
    first_occurrences,
    near_regular_degrees,
    sorted_unique,
)

__all__ = ["biregular_csr"]

_MAX_REPAIR_ROUNDS = 100_000  # a safety net; repairs take a handful of rounds in practice
_REFRESH_EVERY = 16  # rounds between exact recomputations of the current edge set


def _repeated_positions(edge_ids: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Positions of every copy of an edge except its first (``ordered`` is ``edge_ids`` sorted)."""
    repeated_values = sorted_unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if repeated_values.size == 0:
        return np.empty(0, dtype=np.int64)
    candidates = np.flatnonzero(contains(repeated_values, edge_ids))
    return candidates[~first_occurrences(edge_ids[candidates])]


def _repeats_among(values: np.ndarray) -> np.ndarray:
    """Boolean mask, True for every element whose value occurs more than once."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    same = ordered[1:] == ordered[:-1]
    repeated = np.zeros(values.size, dtype=bool)
    repeated[order[1:][same]] = True
    repeated[order[:-1][same]] = True
    return repeated


def _remove_repeats(
    rng: np.random.Generator, edge_ids: np.ndarray, ordered: np.ndarray, n_out: int
) -> np.ndarray:
    """Turn a multigraph into a simple graph with the same degrees, by random edge swaps.

    Each surplus copy (u, v) picks a random partner edge (x, y) and the pair becomes
    (u, y), (x, v). A swap is accepted only if both new edges are absent, its positions
    and new edges are used by no other swap of the round, and the partner is not itself
    a surplus copy; so swaps never create a repeat, and every degree is kept. Modifies
    and returns ``edge_ids``; ``ordered`` is ``edge_ids`` sorted (left unchanged).
    """
    bad = _repeated_positions(edge_ids, ordered)
    present = ordered
    added = np.empty(0, dtype=np.int64)
    for round_index in range(_MAX_REPAIR_ROUNDS):
        if bad.size == 0:
            return edge_ids
        if round_index % _REFRESH_EVERY == _REFRESH_EVERY - 1:
            present, added = np.sort(edge_ids), np.empty(0, dtype=np.int64)
        partners = rng.integers(0, edge_ids.size, size=bad.size)
        bad_inputs, bad_outputs = np.divmod(edge_ids[bad], n_out)
        partner_inputs, partner_outputs = np.divmod(edge_ids[partners], n_out)
        new_bad = bad_inputs * n_out + partner_outputs
        new_partner = partner_inputs * n_out + bad_outputs
        ok = ~np.isin(partners, bad)
        for new in (new_bad, new_partner):
            ok &= ~contains(present, new) & ~contains(added, new)
        ok &= ~_repeats_among(partners)
        ok &= ~_clash(new_bad, new_partner, ok)
        edge_ids[bad[ok]] = new_bad[ok]
        edge_ids[partners[ok]] = new_partner[ok]
        added = np.sort(np.concatenate([added, new_bad[ok], new_partner[ok]]))
        bad = bad[~ok]
    raise RuntimeError("biregular: could not remove repeated edges (please report this)")


def _clash(new_bad: np.ndarray, new_partner: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """True for accepted swaps whose new edges coincide with another accepted swap's."""
    accepted = np.flatnonzero(ok)
    new_ids = np.concatenate([new_bad[accepted], new_partner[accepted]])
    repeated = _repeats_among(new_ids).reshape(2, -1).any(axis=0)
    clash = np.zeros(ok.size, dtype=bool)
    clash[accepted[repeated]] = True
    return clash


def _sparse_biregular_ids(
    rng: np.random.Generator, n_in: int, n_out: int, n_edges: int
) -> np.ndarray:
    """Sorted edge ids of a simple near-biregular graph (configuration model + repair)."""
    fan_out = near_regular_degrees(rng, n_in, n_edges)
    fan_in = near_regular_degrees(rng, n_out, n_edges)
    inputs = np.repeat(np.arange(n_in, dtype=np.int64), fan_out)
    outputs = rng.permutation(np.repeat(np.arange(n_out, dtype=np.int64), fan_in))
    edge_ids = inputs * n_out + outputs
    ordered = np.sort(edge_ids)
    original = edge_ids.copy()
    _remove_repeats(rng, edge_ids, ordered, n_out)
    changed = np.flatnonzero(edge_ids != original)
    return _replace_sorted(ordered, original[changed], edge_ids[changed])


def _replace_sorted(ordered: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The sorted multiset ``ordered`` with the values ``old`` taken out and ``new`` put in.

    O(E) moves instead of a new O(E log E) sort, for the few edges the repair changed.
    """
    if old.size == 0:
        return ordered
    old, new = np.sort(old), np.sort(new)
    index = np.arange(old.size)
    run_start = np.maximum.accumulate(np.where(np.r_[True, old[1:] != old[:-1]], index, 0))
    kept = np.delete(ordered, np.searchsorted(ordered, old) + index - run_start)
    return np.insert(kept, np.searchsorted(kept, new), new)


def biregular_csr(rng: np.random.Generator, n_in: int, n_out: int, n_edges: int) -> sp.csr_array:
    """Canonical CSR of a random simple graph with near-regular degrees on both sides.

    Above density 1/2 the complement (also near-biregular) is drawn and inverted, so
    that the repair step always works on a graph at most half full.
    """
    n_pairs = n_in * n_out
    if 2 * n_edges > n_pairs:
        keep = np.ones(n_pairs, dtype=bool)
        keep[_sparse_biregular_ids(rng, n_in, n_out, n_pairs - n_edges)] = False
        edge_ids = np.flatnonzero(keep).astype(np.int64, copy=False)
    else:
        edge_ids = _sparse_biregular_ids(rng, n_in, n_out, n_edges)
    return csr_from_sorted_ids(edge_ids, n_in, n_out)
