"""Arithmetic in the finite field GF(q), q = p^k, as lookup tables (private).

Elements are the integers ``0 .. q-1``: the integer ``c_0 + c_1 p + ... + c_{k-1} p^{k-1}``
stands for the polynomial ``c_0 + c_1 x + ... + c_{k-1} x^{k-1}`` modulo a primitive
polynomial of degree ``k`` over GF(p). For a prime ``q`` this is ordinary arithmetic
modulo ``q``. ``0`` is the zero and ``1`` the unit of every field.

The tables are ``q x q`` arrays, so this is meant for ``q`` up to a few thousand.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["GaloisField", "galois_field", "nearest_prime_powers", "nearest_primes", "prime_power"]


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % d for d in range(2, math.isqrt(n) + 1))


def prime_power(q: int) -> tuple[int, int] | None:
    """``(p, k)`` with ``q == p**k`` and ``p`` prime, or None if ``q`` is not a prime power."""
    if q < 2:
        return None
    p = next(d for d in range(2, q + 1) if q % d == 0)  # the smallest prime factor
    k = 0
    while q % p == 0:
        q //= p
        k += 1
    return (p, k) if q == 1 else None


def _nearest(n: int, accept) -> tuple[int | None, int]:
    """The largest accepted integer below ``n`` (None if there is none) and the smallest above."""
    below = next((m for m in range(n - 1, 1, -1) if accept(m)), None)
    above = next(m for m in itertools.count(n + 1) if accept(m))
    return below, above


def nearest_prime_powers(n: int) -> tuple[int | None, int]:
    """The nearest prime powers strictly below and above ``n`` (below may be None)."""
    return _nearest(n, lambda m: prime_power(m) is not None)


def nearest_primes(n: int) -> tuple[int | None, int]:
    """The nearest primes strictly below and above ``n`` (below may be None)."""
    return _nearest(n, _is_prime)


@dataclass(frozen=True, eq=False)
class GaloisField:
    """The field GF(q) as lookup tables over the elements ``0 .. q-1``.

    Attributes
    ----------
    order : int
        ``q``, the number of elements.
    characteristic : int
        The prime ``p``.
    degree : int
        ``k``, with ``q = p**k``.
    modulus : tuple of int
        Coefficients ``(m_0, ..., m_k)`` (``m_k = 1``) of the primitive polynomial
        the field is built on.
    generator : int
        The class of ``x`` modulo ``modulus``: an element of multiplicative order ``q - 1``.
    add, mul : ndarray of shape (q, q)
        Sum and product tables.
    neg, inv : ndarray of shape (q,)
        Additive inverse and multiplicative inverse (``inv[0]`` is 0, unused).
    """

    order: int
    characteristic: int
    degree: int
    modulus: tuple[int, ...]
    generator: int
    add: np.ndarray
    mul: np.ndarray
    neg: np.ndarray
    inv: np.ndarray

    def __repr__(self):
        return f"GaloisField(order={self.order})"


def _powers_of_x(p: int, k: int, tail: tuple[int, ...]) -> list[int] | None:
    """Successive powers ``x^0, x^1, ...`` modulo the monic ``x^k + tail(x)`` over GF(p).

    Returns the ``p^k - 1`` distinct nonzero powers (as integers) when ``x`` has order
    ``p^k - 1`` (the polynomial is primitive), else None.
    """
    q = p**k
    coefficients = [1] + [0] * (k - 1)  # x^0
    powers = []
    for _ in range(q - 1):
        value = sum(c * p**i for i, c in enumerate(coefficients))
        if powers and value == 1:
            return None  # x has order below q - 1
        powers.append(value)
        top = coefficients[-1]  # multiply by x, then replace x^k by -tail(x)
        coefficients = [0, *coefficients[:-1]]
        coefficients = [(c - top * t) % p for c, t in zip(coefficients, tail, strict=True)]
    value = sum(c * p**i for i, c in enumerate(coefficients))
    return powers if value == 1 else None


@functools.lru_cache(maxsize=32)
def galois_field(q: int) -> GaloisField:
    """GF(q) for a prime power ``q`` (cached).

    Raises
    ------
    ValueError
        If ``q`` is not a prime power (callers check first and raise TopokitError).
    """
    factors = prime_power(q)
    if factors is None:
        raise ValueError(f"q={q} is not a prime power")
    p, k = factors
    # Smallest primitive polynomial x^k + tail(x) in lexicographic order of the tail
    # (constant term first); one always exists.
    for tail in itertools.product(range(p), repeat=k):
        if tail[0] == 0:
            continue
        powers = _powers_of_x(p, k, tail)
        if powers is not None:
            break
    exp = np.array(powers + powers, dtype=np.int64)  # exp[i] = g^i, doubled to skip a mod
    log = np.zeros(q, dtype=np.int64)
    log[exp[: q - 1]] = np.arange(q - 1)

    elements = np.arange(q, dtype=np.int64)
    add = np.zeros((q, q), dtype=np.int64)
    neg = np.zeros(q, dtype=np.int64)
    for i in range(k):  # digit by digit in base p: coefficient-wise sum modulo p
        digit = (elements // p**i) % p
        add += ((digit[:, None] + digit[None, :]) % p) * p**i
        neg += (-digit % p) * p**i
    mul = np.zeros((q, q), dtype=np.int64)
    mul[1:, 1:] = exp[log[1:, None] + log[None, 1:]]
    inv = np.zeros(q, dtype=np.int64)
    inv[1:] = exp[(q - 1 - log[1:]) % (q - 1)]
    table_dtype = np.int32
    return GaloisField(
        order=q,
        characteristic=p,
        degree=k,
        modulus=(*tail, 1),
        generator=int(exp[1]),
        add=add.astype(table_dtype),
        mul=mul.astype(table_dtype),
        neg=neg.astype(table_dtype),
        inv=inv.astype(table_dtype),
    )
