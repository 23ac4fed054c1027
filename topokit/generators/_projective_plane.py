"""``projective_plane``: the point–line incidence graph of the projective plane PG(2, q)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit._validation import check_int
from topokit.generators._finite_field import galois_field, nearest_prime_powers, prime_power
from topokit.generators._registry import Family, Param, register
from topokit.generators._structured import check_fixed_edge_count, check_size
from topokit.graph import LayerGraph

__all__ = ["projective_plane"]

_NAME = "projective_plane"
_ROWS_PER_CHUNK = 1 << 22  # bound on (lines in a chunk) x (q + 1) while enumerating points


def _plane_size(q: int) -> int:
    return q * q + q + 1


def _nearest_sizes(n: int) -> str:
    """The sizes q²+q+1 (q a prime power) nearest to ``n``, in words."""
    below = next(
        (q for q in range(math.isqrt(n), 1, -1) if prime_power(q) and _plane_size(q) < n), None
    )
    above = next(q for q in itertools.count(2) if prime_power(q) and _plane_size(q) > n)
    choices = [f"{_plane_size(q)} (q={q})" for q in (below, above) if q is not None]
    return " or ".join(choices)


def _q_from_size(name: str, n) -> int:
    """The prime power q with q²+q+1 == n, or TopokitError naming the nearest sizes."""
    n = check_int(name, n, minimum=1)
    root = math.isqrt(4 * n - 3)
    q = (root - 1) // 2
    if root * root == 4 * n - 3 and q >= 2 and prime_power(q):
        return q
    exact = root * root == 4 * n - 3 and q >= 1
    not_prime_power = f" (q={q} is not a prime power)" if exact else ""
    raise TopokitError(
        f"{name} must be q²+q+1 for a prime power q; nearest: {_nearest_sizes(n)}, "
        f"got {n}{not_prime_power}"
    )


def _check_q(q) -> int:
    q = check_int("q", q, minimum=2)
    if prime_power(q) is None:
        below, above = nearest_prime_powers(q)
        raise TopokitError(
            f"q must be a prime power (2, 3, 4, 5, 7, 8, 9, 11, 13, 16, ...), got {q}; "
            f"nearest: {below} or {above}"
        )
    return q


def _resolve_q(q, n_in, n_out, degree) -> int:
    """q from the parameter, else from n_in, n_out or degree (= q + 1)."""
    if q is not None:
        return _check_q(q)
    if n_in is not None:
        return _q_from_size("n_in", n_in)
    if n_out is not None:
        return _q_from_size("n_out", n_out)
    if degree is not None:
        degree = check_int("degree", degree, minimum=1)
        if degree < 3 or prime_power(degree - 1) is None:
            below, above = nearest_prime_powers(max(degree - 1, 2))
            choices = " or ".join(str(c + 1) for c in (below, above) if c is not None)
            raise TopokitError(
                f"degree must be q+1 for a prime power q; nearest: {choices}, got {degree}"
            )
        return degree - 1
    raise TopokitError(
        f"family {_NAME!r} needs q (a prime power) or n_in = n_out = q²+q+1, got neither"
    )


def _points_on_lines(field, lines: np.ndarray) -> np.ndarray:
    """Indices of the q+1 points on each line, of shape (lines.size, q + 1), rows sorted.

    Points and lines share one indexing of the canonical homogeneous coordinates
    (leading nonzero coordinate 1): index ``i < q²`` is (1, i // q, i % q), index
    ``q² + b`` is (0, 1, b) and index ``q² + q`` is (0, 0, 1). The points x on line l
    (l · x = 0) are ``u + t v`` for t in GF(q), and ``v``, where (u, v) is a basis of
    the kernel of l, chosen by the form of l.
    """
    q = field.order
    add, mul, neg, inv = field.add, field.mul, field.neg, field.inv
    zeros = np.zeros(lines.size, dtype=np.int64)
    affine = lines < q * q  # l = (1, a, b): u = (-a, 1, 0), v = (-b, 0, 1)
    at_infinity = (lines >= q * q) & (lines < q * q + q)  # l = (0, 1, b): u = (1,0,0), v = (0,-b,1)
    a = np.where(affine, lines // q, 0)
    b = np.where(affine, lines % q, np.where(at_infinity, lines - q * q, 0))
    u = [np.where(affine, neg[a], 1), np.where(affine, 1, 0), zeros]
    v = [
        np.where(affine, neg[b], 0),
        np.where(affine, 0, np.where(at_infinity, neg[b], 1)),  # l = (0, 0, 1): v = (0, 1, 0)
        np.where(affine | at_infinity, 1, 0),
    ]
    t = np.arange(q)
    coords = [
        np.column_stack([add[u_c[:, None], mul[t[None, :], v_c[:, None]]], v_c])
        for u_c, v_c in zip(u, v, strict=True)
    ]
    x0, x1, x2 = coords
    lead = np.where(x0 != 0, x0, np.where(x1 != 0, x1, x2))
    scale = inv[lead]
    y0, y1, y2 = (mul[scale, x] for x in coords)
    points = np.where(y0 == 1, y1 * q + y2, np.where(y1 == 1, q * q + y2, q * q + q))
    points.sort(axis=1)
    return points


def _check(n_in=None, n_out=None, *, density=None, degree=None, q=None) -> tuple[int, int, int]:
    """``(q, q²+q+1, E)``, or the TopokitError the builder raises (builds nothing)."""
    q = _resolve_q(q, n_in, n_out, degree)
    n = _plane_size(q)
    check_size("n_in", n_in, n, f"q²+q+1 for q={q}")
    check_size("n_out", n_out, n, f"q²+q+1 for q={q}")
    n_edges = (q + 1) * n
    if n_edges >= 2**31:
        raise TopokitError(
            f"q={q} gives PG(2, q) with {n_edges} edges; at most 2**31 - 1 are supported "
            "(q <= 1289)"
        )
    check_fixed_edge_count(_NAME, n, n, n_edges, q + 1, density, degree, f"PG(2, {q})")
    return q, n, n_edges


def projective_plane(
    n_in=None, n_out=None, *, density=None, degree=None, rng=None, q=None
) -> LayerGraph:
    """Point–line incidence graph of the projective plane PG(2, q).

    Inputs are the ``q²+q+1`` points, outputs the ``q²+q+1`` lines of PG(2, q); point
    p feeds line l when ``p · l = 0`` over GF(q), both in canonical homogeneous
    coordinates (leading nonzero coordinate 1), indexed as: ``i < q²`` is
    (1, i // q, i % q), ``q² + b`` is (0, 1, b), ``q² + q`` is (0, 0, 1). Every neuron
    has degree ``q + 1``; any two points share exactly one line and any two lines
    one point, so ``B Bᵀ = q I + J`` and the singular values of the biadjacency B are
    ``q + 1`` (once) and ``sqrt(q)`` (``q² + q`` times): an optimal (Ramanujan) expander.
    B is symmetric under this indexing.

    Parameters
    ----------
    n_in, n_out : int, optional
        Must equal ``q²+q+1`` where given; ``q`` is inferred from them when omitted.
    density : float, optional
        Accepted only if it asks for the ``(q+1)(q²+q+1)`` edges of the plane.
    degree : int, optional
        Accepted only if it equals ``q + 1``; ``q`` is inferred from it when nothing
        else gives it.
    rng : ignored
        The construction is deterministic.
    q : int, optional
        The order of the plane, a prime power (2, 3, 4, 5, 7, 8, 9, 11, 13, 16, ...).

    Returns
    -------
    LayerGraph
        Of shape ``(q²+q+1, q²+q+1)`` with ``(q+1)(q²+q+1)`` edges; ``params`` holds ``q``.

    Raises
    ------
    TopokitError
        If ``q`` is not a prime power (naming the nearest ones), a size is not
        ``q²+q+1`` (naming the nearest feasible sizes), or density/degree disagree
        with the plane's fixed edge count.

    Examples
    --------
    >>> from topokit.generators._projective_plane import projective_plane
    >>> fano = projective_plane(q=2)
    >>> fano.shape, fano.n_edges, fano.fan_in.tolist()
    ((7, 7), 21, [3, 3, 3, 3, 3, 3, 3])
    >>> projective_plane(57).params
    {'q': 7}
    """
    q, n, n_edges = _check(n_in, n_out, density=density, degree=degree, q=q)

    field = galois_field(q)
    chunk = max(1, _ROWS_PER_CHUNK // (q + 1))
    indices = np.concatenate(
        [
            _points_on_lines(field, np.arange(start, min(start + chunk, n))).ravel()
            for start in range(0, n, chunk)
        ]
    ).astype(np.int32)
    indptr = np.arange(0, n_edges + 1, q + 1, dtype=np.int32)
    csr = sp.csr_array((np.ones(n_edges), indices, indptr), shape=(n, n))
    return LayerGraph._trusted(csr, family=_NAME, params={"q": q})


register(
    Family(
        name=_NAME,
        function=projective_plane,
        check=_check,
        summary="point–line incidence graph of the projective plane PG(2, q) (Ramanujan)",
        sizes="n_in = n_out = q²+q+1 for a prime power q (7, 13, 21, 31, 57, 73, 91, ...)",
        params=(
            Param(
                name="q",
                kind="int",
                default=None,
                constraint="a prime power (2, 3, 4, 5, 7, 8, ...); inferred from n_in if omitted",
                doc="order of the plane: q²+q+1 points and lines, each of degree q+1",
            ),
        ),
        edge_count="fixed",
        random=False,
        fixes_sizes=True,
    )
)
