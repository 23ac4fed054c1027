"""GF(q) tables: field axioms, and agreement with naive polynomial arithmetic."""

import numpy as np
import pytest

from topokit.generators._finite_field import (
    galois_field,
    nearest_prime_powers,
    nearest_primes,
    prime_power,
)

ORDERS = [2, 3, 4, 5, 7, 8, 9, 16, 25, 27]


def _digits(value, p, k):
    return [(value // p**i) % p for i in range(k)]


def _naive_mul(a, b, p, modulus):
    """Product of two elements by schoolbook polynomial multiplication modulo ``modulus``."""
    k = len(modulus) - 1
    product = [0] * (2 * k - 1)
    for i, x in enumerate(_digits(a, p, k)):
        for j, y in enumerate(_digits(b, p, k)):
            product[i + j] = (product[i + j] + x * y) % p
    for top in range(2 * k - 2, k - 1, -1):  # x^top = x^(top-k) * (x^k) = -x^(top-k) * tail
        c = product[top]
        product[top] = 0
        for i in range(k):
            product[top - k + i] = (product[top - k + i] - c * modulus[i]) % p
    return sum(c * p**i for i, c in enumerate(product[:k]))


def _naive_add(a, b, p, k):
    pairs = zip(_digits(a, p, k), _digits(b, p, k), strict=True)
    return sum(((x + y) % p) * p**i for i, (x, y) in enumerate(pairs))


@pytest.mark.parametrize("q", ORDERS)
def test_addition_is_an_abelian_group(q):
    field = galois_field(q)
    add, neg = field.add, field.neg
    elements = np.arange(q)
    assert np.array_equal(add, add.T)
    assert np.array_equal(add[0], elements)
    assert np.all(add[elements, neg] == 0)
    assert np.array_equal(add[add[:, :, None], elements], add[elements[:, None, None], add[None]])
    # characteristic p: adding 1 to itself p times gives 0
    total = 0
    for _ in range(field.characteristic):
        total = add[total, 1]
    assert total == 0


@pytest.mark.parametrize("q", ORDERS)
def test_every_nonzero_element_has_an_inverse(q):
    field = galois_field(q)
    nonzero = np.arange(1, q)
    assert np.all(field.mul[nonzero, field.inv[nonzero]] == 1)
    assert np.all(field.mul[1:, 1:] != 0)  # no zero divisors
    assert np.array_equal(field.mul[1], np.arange(q))
    assert np.all(field.mul[0] == 0)


@pytest.mark.parametrize("q", ORDERS)
def test_multiplication_is_commutative_associative_and_distributive(q):
    field = galois_field(q)
    add, mul = field.add, field.mul
    a = np.arange(q)[:, None, None]
    b = np.arange(q)[None, :, None]
    c = np.arange(q)[None, None, :]
    assert np.array_equal(mul, mul.T)
    assert np.array_equal(mul[mul[a, b], c], mul[a, mul[b, c]])
    assert np.array_equal(mul[a, add[b, c]], add[mul[a, b], mul[a, c]])


@pytest.mark.parametrize("q", ORDERS)
def test_multiplicative_group_is_cyclic_of_order_q_minus_1(q):
    field = galois_field(q)
    powers = [1]
    for _ in range(q - 2):
        powers.append(int(field.mul[powers[-1], field.generator]))
    assert sorted(powers) == list(range(1, q))
    assert field.mul[powers[-1], field.generator] == 1


@pytest.mark.parametrize("q", [4, 8, 9, 16, 25, 27])
def test_tables_match_naive_polynomial_arithmetic(q):
    field = galois_field(q)
    p, k = field.characteristic, field.degree
    assert q == p**k
    assert field.modulus[-1] == 1
    assert len(field.modulus) == k + 1
    for a in range(q):
        for b in range(q):
            assert field.mul[a, b] == _naive_mul(a, b, p, field.modulus)
            assert field.add[a, b] == _naive_add(a, b, p, k)


@pytest.mark.parametrize("q", [2, 3, 5, 7, 13])
def test_prime_fields_are_integers_modulo_q(q):
    field = galois_field(q)
    a, b = np.meshgrid(np.arange(q), np.arange(q), indexing="ij")
    assert np.array_equal(field.add, (a + b) % q)
    assert np.array_equal(field.mul, (a * b) % q)


def test_gf4_by_hand():
    # 0, 1, x, x+1 modulo x² + x + 1: x·x = x + 1, x·(x + 1) = 1, (x + 1)² = x
    field = galois_field(4)
    assert field.modulus == (1, 1, 1)
    assert field.mul[2, 2] == 3
    assert field.mul[2, 3] == 1
    assert field.mul[3, 3] == 2
    assert field.add[2, 3] == 1
    assert field.add[3, 3] == 0


def test_prime_power_factorization():
    assert prime_power(8) == (2, 3)
    assert prime_power(81) == (3, 4)
    assert prime_power(13) == (13, 1)
    assert prime_power(12) is None
    assert prime_power(1) is None


def test_nearest_prime_powers_and_primes():
    assert nearest_prime_powers(6) == (5, 7)
    assert nearest_prime_powers(10) == (9, 11)
    assert nearest_prime_powers(2) == (None, 3)
    assert nearest_primes(9) == (7, 11)
    assert nearest_primes(2) == (None, 3)


def test_not_a_prime_power_is_refused():
    with pytest.raises(ValueError, match="q=6 is not a prime power"):
        galois_field(6)
