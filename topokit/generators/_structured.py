"""Checks shared by the structured families, whose parameters fix the edge count (private)."""

from __future__ import annotations

from topokit._errors import TopokitError
from topokit._validation import check_int, edge_count

__all__ = ["check_fixed_edge_count", "check_size"]


def check_size(name: str, value, expected: int, reason: str) -> None:
    """Raise unless the size ``value`` (None allowed: not given) equals ``expected``."""
    if value is None:
        return
    value = check_int(name, value, minimum=1)
    if value != expected:
        raise TopokitError(f"{name} must be {expected} ({reason}), got {value}")


def check_fixed_edge_count(
    family: str, n_in: int, n_out: int, n_edges: int, fan_in: int, density, degree, what: str
) -> None:
    """Accept ``density``/``degree`` only where they ask for the family's fixed edge count.

    ``fan_in`` is the fan-in that every output of the family has; ``what`` names the
    graph in messages (e.g. ``"PG(2, 7)"``).
    """
    if density is None and degree is None:
        return
    if density is not None and degree is not None:
        edge_count(n_in, n_out, density, degree)  # raises "give density or degree, not both"
    if degree is not None:
        degree = check_int("degree", degree, minimum=1)
        if degree != fan_in:
            raise TopokitError(
                f"family {family!r}: every output of {what} has fan-in {fan_in}, so degree "
                f"must be {fan_in} (or omitted), got {degree}"
            )
        return
    asked = edge_count(n_in, n_out, density=density)
    if asked != n_edges:
        raise TopokitError(
            f"family {family!r}: {what} has exactly {n_edges} edges (density "
            f"{n_edges / (n_in * n_out):.6g}), but density={density} asks for {asked}; "
            "omit density or give that value"
        )
