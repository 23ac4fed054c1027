"""``radix``: one layer of a RadiX-Net (Robinett and Kepner's mixed-radix topology).

Reference: R. A. Robinett, J. Kepner, "RadiX-Net: Structured Sparse Matrices for Deep
Neural Networks", IEEE IPDPSW 2019, arXiv:1905.00416.

A mixed-radix system ``N = (N_1, ..., N_M)`` with ``n' = N_1 ··· N_M`` gives M sparse
``n' x n'`` layers: layer ``i`` joins node ``j`` to nodes ``(j + k · N_1 ··· N_{i-1}) mod n'``
for ``k = 0 .. N_i − 1``, the sum of ``N_i`` powers of the cyclic shift. Every number
``0 .. n'−1`` has one mixed-radix expansion ``Σ k_i N_1 ··· N_{i-1}`` with digits
``k_i < N_i``, so the M layers together join every input to every output by exactly
one path. Widths are expanded by a Kronecker product with all-ones blocks: the
layer between widths ``n'·a`` and ``n'·b`` is ``W' ⊗ ones(a, b)``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit._validation import check_int
from topokit.generators._registry import Family, Param, register
from topokit.generators._structured import check_fixed_edge_count
from topokit.graph import LayerGraph

__all__ = ["radix"]

_NAME = "radix"


def _prime_factors(n: int) -> list[int]:
    factors, d = [], 2
    while d * d <= n:
        while n % d == 0:
            factors.append(d)
            n //= d
        d += 1
    return [*factors, n] if n > 1 else factors


def _check_radices(radices, n_in: int, n_out: int) -> list[int]:
    if radices is None:
        common = math.gcd(n_in, n_out)
        hint = (
            f"e.g. radices={_prime_factors(common)} (the prime factors of gcd(n_in, n_out)="
            f"{common})"
            if common > 1
            else "n_in and n_out need a common factor n' = N_1 ··· N_M > 1"
        )
        raise TopokitError(
            f"family {_NAME!r} needs radices=[N_1, ..., N_M] (each >= 2; their product n' "
            f"must divide n_in and n_out); {hint}"
        )
    if isinstance(radices, str) or not hasattr(radices, "__iter__"):
        raise TopokitError(f"radices must be a list of integers >= 2, got {radices!r}")
    radices = list(radices)
    if not radices:
        raise TopokitError("radices must list at least one integer >= 2, got []")
    checked = []
    for i, value in enumerate(radices):
        value = check_int(f"radices[{i}]", value)
        if value < 2:
            raise TopokitError(
                f"radices must all be >= 2 (a radix of 1 makes a one-to-one layer), got "
                f"radices[{i}]={value} in {radices}; drop it"
            )
        checked.append(value)
    return checked


def _check_multiple(name: str, n: int, width: int, radices: list[int]) -> int:
    """``n // width``, or TopokitError naming the nearest multiples of ``width``."""
    if n % width:
        lower = (n // width) * width
        choices = " or ".join(str(m) for m in (lower, lower + width) if m > 0)
        raise TopokitError(
            f"{name} must be a multiple of n' = prod(radices) = {width} for radices={radices}; "
            f"nearest: {choices}, got {n}"
        )
    return n // width


def _check(
    n_in, n_out, *, density=None, degree=None, radices=None, layer=0
) -> tuple[int, int, list[int], int]:
    """``(n_in, n_out, radices, layer)`` checked, or the TopokitError the builder raises
    (builds nothing)."""
    n_in = check_int("n_in", n_in, minimum=1)
    n_out = check_int("n_out", n_out, minimum=1)
    radices = _check_radices(radices, n_in, n_out)
    layer = check_int("layer", layer, minimum=0)
    width = math.prod(radices)
    a = _check_multiple("n_in", n_in, width, radices)
    b = _check_multiple("n_out", n_out, width, radices)
    position = layer % len(radices)
    n_radix = radices[position]
    fan_in, fan_out = n_radix * a, n_radix * b
    n_edges = n_in * fan_out
    if n_edges >= 2**31:
        raise TopokitError(
            f"radices={radices} with n_in={n_in}, n_out={n_out} give {n_edges} edges; "
            "at most 2**31 - 1 are supported"
        )
    check_fixed_edge_count(
        _NAME,
        n_in,
        n_out,
        n_edges,
        fan_in,
        density,
        degree,
        f"radix layer {layer} (radix {n_radix} of {radices}, n'={width})",
    )
    return n_in, n_out, radices, layer


def radix(n_in, n_out, *, density=None, degree=None, rng=None, radices=None, layer=0) -> LayerGraph:
    """One layer of a RadiX-Net: a mixed-radix sum of cyclic shifts, widened by Kronecker.

    With ``n' = prod(radices)``, ``N = radices[layer % M]`` and place value
    ``s = prod(radices[: layer % M])``, base node ``j`` (of ``n'``) joins base nodes
    ``(j + k·s) mod n'`` for ``k = 0 .. N−1``. Input ``j·a + x`` then feeds output
    ``j'·b + y`` for every ``x < a``, ``y < b`` when base node ``j`` joins ``j'``
    (the biadjacency is ``W' ⊗ ones(a, b)``, with ``n_in = n'·a`` and
    ``n_out = n'·b``). Every output has fan-in ``N·a`` and every input fan-out ``N·b``.

    A network of M consecutive layers ``0 .. M−1`` of one radix system (what
    ``Topology.build(sizes, "radix", radices=...)`` makes: it passes each layer's
    index as ``layer``) joins every input to every output. With ``a = b = 1`` the
    layer is a circulant matrix whose singular values are
    ``|Σ_k exp(2πi·t·k·s/n')|`` for ``t = 0 .. n'−1``; the Kronecker factor scales
    them by ``sqrt(a·b)`` and adds zeros.

    Parameters
    ----------
    n_in, n_out : int
        Multiples of ``n' = prod(radices)``.
    density : float, optional
        Accepted only if it asks for the layer's ``n'·N·a·b`` edges.
    degree : int, optional
        Accepted only if it equals the fan-in ``N·a``.
    rng : ignored
        The construction is deterministic.
    radices : list of int
        The mixed-radix system ``[N_1, ..., N_M]``, each ``>= 2`` (on the command
        line ``4,4,4``). Required; the error for a missing one suggests the prime
        factors of ``gcd(n_in, n_out)``.
    layer : int, default 0
        Which radix this layer uses (taken modulo ``M``).

    Returns
    -------
    LayerGraph
        ``params`` holds ``radices`` and ``layer``.

    Raises
    ------
    TopokitError
        If ``radices`` is missing, empty or holds a value below 2, a size is not a
        multiple of ``n'`` (naming the nearest multiples), ``layer`` is negative, or
        density/degree disagree with the fixed edge count.

    References
    ----------
    - R. A. Robinett, J. Kepner, "RadiX-Net: Structured Sparse Matrices for Deep Neural
      Networks", IEEE IPDPSW (2019), arXiv:1905.00416.

    Examples
    --------
    >>> from topokit.generators._radix import radix
    >>> g = radix(8, 8, radices=[2, 4], layer=1)
    >>> g.n_edges, g.fan_in.tolist()
    (32, [4, 4, 4, 4, 4, 4, 4, 4])
    >>> g.biadjacency.indices[:4].tolist()  # base node 0 joins 0, 2, 4, 6 (place value 2)
    [0, 2, 4, 6]
    >>> radix(16, 24, radices=[2, 4]).shape  # a = 2, b = 3
    (16, 24)
    """
    n_in, n_out, radices, layer = _check(
        n_in, n_out, density=density, degree=degree, radices=radices, layer=layer
    )
    width = math.prod(radices)
    a, b = n_in // width, n_out // width
    position = layer % len(radices)
    n_radix = radices[position]
    place = math.prod(radices[:position])
    fan_out = n_radix * b
    n_edges = n_in * fan_out

    base = np.arange(width, dtype=np.int64)[:, None]
    targets = np.sort((base + np.arange(n_radix) * place) % width, axis=1)  # (n', N)
    columns = (targets[:, :, None] * b + np.arange(b)).reshape(width, fan_out)
    indices = np.repeat(columns, a, axis=0).ravel().astype(np.int32)
    indptr = np.arange(0, n_edges + 1, fan_out, dtype=np.int32)
    csr = sp.csr_array((np.ones(n_edges), indices, indptr), shape=(n_in, n_out))
    return LayerGraph._trusted(csr, family=_NAME, params={"radices": radices, "layer": layer})


register(
    Family(
        name=_NAME,
        function=radix,
        check=_check,
        summary="RadiX-Net layer: mixed-radix sum of cyclic shifts, widened by Kronecker",
        sizes="n_in = n'·a, n_out = n'·b for n' = prod(radices) and integers a, b >= 1",
        params=(
            Param(
                name="radices",
                kind="ints",
                default=None,
                constraint="integers >= 2 whose product divides n_in and n_out (required)",
                doc="the mixed-radix system N_1, ..., N_M (e.g. 4,4,4)",
            ),
            Param(
                name="layer",
                kind="int",
                default=0,
                constraint=">= 0, taken modulo the number of radices",
                doc="which radix this layer uses; Topology.build passes the layer index",
            ),
        ),
        edge_count="fixed",
        random=False,
        fixes_sizes=False,
    )
)
