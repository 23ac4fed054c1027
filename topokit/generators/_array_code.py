"""``array_code``: the array-code bigraph of Burnwal, Sinha and Vidyasagar (unbalanced Ramanujan).

Reference: S. P. Burnwal, K. Sinha, M. Vidyasagar, "New and explicit constructions of
unbalanced Ramanujan bipartite graphs", Ramanujan J. (2021), arXiv:1910.03937. The
biadjacency is the parity-check matrix of Fan's array LDPC code.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit._validation import check_int
from topokit.generators._finite_field import nearest_primes, prime_power
from topokit.generators._registry import Family, Param, register
from topokit.generators._structured import check_fixed_edge_count, check_size
from topokit.graph import LayerGraph

__all__ = ["array_code"]

_NAME = "array_code"


def _is_prime(n: int) -> bool:
    factors = prime_power(n)
    return factors is not None and factors[1] == 1


def _check_q(q) -> int:
    q = check_int("q", q, minimum=2)
    if not _is_prime(q):
        below, above = nearest_primes(q)
        choices = " or ".join(str(p) for p in (below, above) if p is not None)
        raise TopokitError(f"q must be a prime, got {q}; nearest: {choices}")
    return q


def _q_from_n_out(n_out) -> int:
    """The prime q with q² == n_out, or TopokitError naming the nearest feasible n_out."""
    n_out = check_int("n_out", n_out, minimum=1)
    root = math.isqrt(n_out)
    if root * root == n_out and _is_prime(root):
        return root
    below = next((p for p in range(math.isqrt(n_out - 1), 1, -1) if _is_prime(p)), None)
    above = next(p for p in range(root + 1, n_out + 2) if _is_prime(p))
    choices = " or ".join(f"{p * p} (q={p})" for p in (below, above) if p is not None)
    raise TopokitError(f"n_out must be q² for a prime q; nearest: {choices}, got {n_out}")


def _factorizations(n_in: int, n_blocks=None) -> list[tuple[int, int]]:
    """The (q, l) with l·q == n_in, q prime and 2 <= l <= q (l = n_blocks where given).

    At most one: q must be the largest prime factor of n_in, else l would contain
    a larger prime and exceed q.
    """
    return [
        (q, n_in // q)
        for q in range(max(2, math.isqrt(n_in)), n_in // 2 + 1)
        if n_in % q == 0 and _is_prime(q) and 2 <= n_in // q <= q and n_blocks in (None, n_in // q)
    ]


def _q_l_from_n_in(n_in, n_blocks) -> tuple[int, int]:
    """(q, l) with l·q == n_in, q prime, 2 <= l <= q, from n_in (and l where given)."""
    n_in = check_int("n_in", n_in, minimum=1)
    options = _factorizations(n_in, n_blocks)
    if not options:
        below = next((m for m in range(n_in - 1, 3, -1) if _factorizations(m, n_blocks)), None)
        above = next(m for m in itertools.count(n_in + 1) if _factorizations(m, n_blocks))
        choices = " or ".join(
            "{} (q={}, l={})".format(m, *_factorizations(m, n_blocks)[0])
            for m in (below, above)
            if m is not None
        )
        given_l = "" if n_blocks is None else f" with l={n_blocks}"
        raise TopokitError(
            f"n_in must be l·q for a prime q and 2 <= l <= q{given_l}; nearest: {choices}, "
            f"got {n_in}"
        )
    return options[0]


def _resolve(q, n_blocks, n_in, n_out, degree) -> tuple[int, int]:
    """(q, l) from the parameters, else from the sizes (n_out = q², n_in = l·q) or degree."""
    if n_blocks is not None:
        n_blocks = check_int("l", n_blocks, minimum=2)
    if q is not None:
        q = _check_q(q)
    elif n_out is not None:
        q = _q_from_n_out(n_out)
    elif n_in is not None:
        q, n_blocks = _q_l_from_n_in(n_in, n_blocks)
    else:
        raise TopokitError(f"family {_NAME!r} needs q (a prime) or n_out = q², got neither")
    if n_blocks is None:
        if n_in is not None:
            n_in = check_int("n_in", n_in, minimum=1)
            if n_in % q or not 2 <= n_in // q <= q:
                multiples = ", ".join(str(m * q) for m in range(2, q + 1))
                raise TopokitError(
                    f"n_in must be l·q with 2 <= l <= q for q={q} ({multiples}), got {n_in}"
                )
            n_blocks = n_in // q
        elif degree is not None:
            n_blocks = check_int("degree", degree, minimum=2)
        else:
            raise TopokitError(
                f"family {_NAME!r} needs l (2 <= l <= q={q}) or n_in = l·q, got neither"
            )
    if n_blocks > q:
        raise TopokitError(f"l must be <= q={q} (2 <= l <= q), got {n_blocks}; nearest: l={q}")
    return q, n_blocks


def _check(n_in=None, n_out=None, *, density=None, degree=None, q=None, l=None) -> tuple[int, int]:  # noqa: E741
    """``(q, l)``, or the TopokitError the builder raises (builds nothing)."""
    q, n_blocks = _resolve(q, l, n_in, n_out, degree)
    check_size("n_in", n_in, n_blocks * q, f"l·q for q={q}, l={n_blocks}")
    check_size("n_out", n_out, q * q, f"q² for q={q}")
    n_rows, n_cols, n_edges = n_blocks * q, q * q, n_blocks * q * q
    if n_edges >= 2**31:
        raise TopokitError(
            f"q={q}, l={n_blocks} give {n_edges} edges; at most 2**31 - 1 are supported"
        )
    check_fixed_edge_count(
        _NAME,
        n_rows,
        n_cols,
        n_edges,
        n_blocks,
        density,
        degree,
        f"the array code (q={q}, l={n_blocks})",
    )
    return q, n_blocks


def array_code(
    n_in=None,
    n_out=None,
    *,
    density=None,
    degree=None,
    rng=None,
    q=None,
    l=None,  # noqa: E741 (the paper's name)
) -> LayerGraph:
    """Array-code bigraph: an explicit unbalanced Ramanujan bipartite graph.

    For a prime ``q`` and ``2 <= l <= q`` the biadjacency B has shape ``(l·q, q²)``
    and is made of ``l x q`` blocks of size ``q x q``: block ``(i, j)`` is
    ``P^(i·j mod q)``, with ``P`` the cyclic shift (``P[u, (u + 1) mod q] = 1``). So
    input ``i·q + u`` feeds outputs ``j·q + (u + i·j) mod q`` for ``j = 0 .. q-1``:
    every input has fan-out ``q``, every output fan-in ``l`` (one input per block row).

    Spectrum: ``B Bᵀ = q I + (J_l − I_l) ⊗ J_q``, so the singular values of B are
    ``sqrt(l·q)`` (once), ``sqrt(q)`` (``l·(q−1)`` times) and ``0`` (``l − 1``
    times, and ``q² − l·q`` more on the longer side). ``lambda2 = sqrt(q) <=
    sqrt(q−1) + sqrt(l−1)``: the graph is Ramanujan (Burnwal, Sinha, Vidyasagar 2021).

    Parameters
    ----------
    n_in, n_out : int, optional
        Must equal ``l·q`` and ``q²`` where given; ``q`` and ``l`` are inferred from
        them when omitted.
    density : float, optional
        Accepted only if it asks for the ``l·q²`` edges of the graph.
    degree : int, optional
        Accepted only if it equals ``l`` (the fan-in of every output); gives ``l``
        when nothing else does.
    rng : ignored
        The construction is deterministic.
    q : int, optional
        A prime (2, 3, 5, 7, 11, ...).
    l : int, optional
        Number of block rows, ``2 <= l <= q``.

    Returns
    -------
    LayerGraph
        Of shape ``(l·q, q²)`` with ``l·q²`` edges; ``params`` holds ``q`` and ``l``.

    Raises
    ------
    TopokitError
        If ``q`` is not a prime (naming the nearest ones), ``l`` is outside
        ``[2, q]``, the sizes do not fit (naming feasible ones), the sizes leave
        ``q``, ``l`` ambiguous, or density/degree disagree with the fixed edge count.

    References
    ----------
    - S. P. Burnwal, K. Sinha, M. Vidyasagar, "New and explicit constructions of unbalanced
      Ramanujan bipartite graphs", *The Ramanujan Journal* (2021), arXiv:1910.03937.

    Examples
    --------
    >>> from topokit.generators._array_code import array_code
    >>> g = array_code(q=5, l=3)
    >>> g.shape, g.n_edges, set(g.fan_in.tolist()), set(g.fan_out.tolist())
    ((15, 25), 75, {3}, {5})
    >>> array_code(21, 49).params
    {'q': 7, 'l': 3}
    """
    q, n_blocks = _check(n_in, n_out, density=density, degree=degree, q=q, l=l)
    n_rows, n_cols, n_edges = n_blocks * q, q * q, n_blocks * q * q

    # row i·q + u holds, for j = 0 .. q-1, column j·q + (u + i·j) mod q (sorted by j)
    exponent = (np.arange(n_blocks)[:, None] * np.arange(q)[None, :]) % q  # (l, q): i·j mod q
    position = np.arange(q, dtype=np.int32)[None, :, None]  # u
    block_start = (np.arange(q, dtype=np.int32) * q)[None, None, :]  # j·q
    indices = block_start + (position + exponent[:, None, :].astype(np.int32)) % q  # (l, q, q)
    indptr = np.arange(0, n_edges + 1, q, dtype=np.int32)
    csr = sp.csr_array((np.ones(n_edges), indices.ravel(), indptr), shape=(n_rows, n_cols))
    return LayerGraph._trusted(csr, family=_NAME, params={"q": q, "l": n_blocks})


register(
    Family(
        name=_NAME,
        function=array_code,
        check=_check,
        summary="array-code bigraph of Burnwal–Sinha–Vidyasagar: explicit unbalanced Ramanujan",
        sizes="n_in = l·q, n_out = q² for a prime q and 2 <= l <= q",
        params=(
            Param(
                name="q",
                kind="int",
                default=None,
                constraint="a prime; inferred from n_out = q² if omitted",
                doc="block size; n_out = q², fan-out of every input q",
            ),
            Param(
                name="l",
                kind="int",
                default=None,
                constraint="2 <= l <= q; inferred from n_in = l·q if omitted",
                doc="number of block rows; n_in = l·q, fan-in of every output l",
            ),
        ),
        edge_count="fixed",
        random=False,
        fixes_sizes=True,
    )
)
