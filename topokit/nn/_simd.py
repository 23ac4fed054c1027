"""Explicit 64-byte SIMD vectors for the numba layer kernels of :mod:`topokit.nn`.

numba vectorises loops on its own, but it keeps a loop's running sums in memory: a
gather kernel then loads and stores its accumulator row once per pass over a few
edges. With these intrinsics a kernel holds a whole 128-wide float32 accumulator in
eight vector registers across every edge of a neuron, and issues exactly the fused
multiply-adds it writes (so the summation order of each element is the one written).

A vector holds 64 bytes: 16 float32 or 8 float64 (:func:`lanes`). LLVM maps it to
one AVX-512 register, two AVX ones or four SSE ones, whichever the CPU has. A tile is a
tuple of 1, 4 or 8 vectors along a row (``count`` a compile-time literal); the
``*_columns`` intrinsics hold a group of output columns instead, one vector each.
Every intrinsic fixes its order of operations (:func:`total`, :func:`dot_tile`,
:func:`pairwise_total8` document theirs), which is what keeps the kernels' results
independent of tiling and threads.

With ``NUMBA_DISABLE_JIT=1`` the names of this module are NumPy functions of the same
meaning instead (:mod:`topokit.nn._simd_numpy`), so that the kernels run as plain
Python for debugging.
"""

from __future__ import annotations

from llvmlite import binding, ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

# bytes in one vector: the batch width that the column groups need is a multiple of it
VECTOR_BYTES = 64
# LLVM names intrinsics after their pointer types: "p0i8" for i8* until pointers
# became opaque (LLVM 17 and later accept only "p0").
_PREFETCH = "llvm.prefetch.p0" if binding.llvm_version_info[0] >= 17 else "llvm.prefetch.p0i8"


class Vector(types.Type):
    """numba type of a vector of ``dtype`` (float32 or float64): 64 bytes, or ``lanes``."""

    def __init__(self, dtype, lanes=None):
        self.dtype = dtype
        self.lanes = lanes or VECTOR_BYTES // (dtype.bitwidth // 8)
        super().__init__(name=f"Vector({dtype}x{self.lanes})")


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = ir.FloatType() if fe_type.dtype == types.float32 else ir.DoubleType()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))


def _pointer(context, builder, signature, args, vector_type):
    """Pointer to ``array[row, col]`` (the first three arguments) as a vector pointer."""
    item = _row_pointer(context, builder, signature, args)
    return builder.bitcast(item, ir.PointerType(vector_type))


def _intrinsic_call(builder, name, return_type, args):
    function_type = ir.FunctionType(return_type, [arg.type for arg in args])
    function = cgutils.get_or_insert_function(builder.module, function_type, name)
    return builder.call(function, args)


def _suffix(vector_type):
    bits = 32 if isinstance(vector_type.element, ir.FloatType) else 64
    return f"v{vector_type.count}f{bits}"


@intrinsic
def lanes(typingctx, array):
    """Number of elements of ``array``'s dtype in one vector (a compile-time constant)."""
    count = VECTOR_BYTES // (array.dtype.bitwidth // 8)

    def codegen(context, builder, signature, args):
        return context.get_constant(types.intp, count)

    return types.intp(array), codegen


def _load_codegen(vector, align):
    """Codegen loading ``vector`` from ``array[row, col]`` (the first three arguments)."""

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(vector)
        pointer = _pointer(context, builder, signature, args, vector_type)
        return builder.load(pointer, align=align)

    return codegen


@intrinsic
def load(typingctx, array, row, col):
    """The vector ``array[row, col : col + lanes]`` of a C-contiguous 2-D array."""
    vector = Vector(array.dtype)
    return vector(array, row, col), _load_codegen(vector, array.dtype.bitwidth // 8)


@intrinsic
def store(typingctx, array, row, col, value):
    """``array[row, col : col + lanes] = value``."""

    def codegen(context, builder, signature, args):
        pointer = _pointer(context, builder, signature, args, args[3].type)
        builder.store(args[3], pointer, align=array.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return types.none(array, row, col, value), codegen


def _broadcast(context, builder, signature, args, vector):
    """The second argument, cast to the first one's dtype, in every lane of ``vector``."""
    scalar = context.cast(builder, args[1], signature.args[1], vector.dtype)
    return _splat_value(builder, scalar, context.get_value_type(vector))


def _splat_value(builder, scalar, vector_type):
    """``scalar`` (already of the vector's element type) in every lane of ``vector_type``."""
    undefined = ir.Constant(vector_type, ir.Undefined)
    first = builder.insert_element(undefined, scalar, ir.Constant(ir.IntType(32), 0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), vector_type.count), [0] * vector_type.count)
    return builder.shuffle_vector(first, undefined, zeros)


@intrinsic
def splat(typingctx, array, value):
    """A vector of ``array``'s dtype with every element ``value``."""
    vector = Vector(array.dtype)

    def codegen(context, builder, signature, args):
        return _broadcast(context, builder, signature, args, vector)

    return vector(array, value), codegen


@intrinsic
def splat_tile(typingctx, array, value, count):
    """A tuple of ``count`` vectors (``count`` literal) of ``array``'s dtype, all ``value``."""
    n = _literal_count(count)
    if n is None:
        return None
    vector = Vector(array.dtype)
    tile = types.UniTuple(vector, n)

    def codegen(context, builder, signature, args):
        value = _broadcast(context, builder, signature, args, vector)
        return context.make_tuple(builder, tile, [value] * n)

    return tile(array, value, count), codegen


def _elements(context, builder, array_type, array, start, start_type, n, element_type):
    """``array[start], ..., array[start + n - 1]`` of a 1-D array, cast to ``element_type``."""
    value = context.make_array(array_type)(context, builder, array)
    first = context.cast(builder, start, start_type, types.intp)
    elements = []
    for c in range(n):
        index = builder.add(first, ir.Constant(first.type, c))
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, value, [index], wraparound=False
        )
        element = context.unpack_value(builder, array_type.dtype, pointer)
        elements.append(context.cast(builder, element, array_type.dtype, element_type))
    return elements


@intrinsic
def splat_columns(typingctx, array, values, start, count):
    """A tuple of ``count`` vectors of ``array``'s dtype, vector c all ``values[start + c]``.

    ``values`` is 1-D and ``count`` a literal: one vector per output column of a group.
    """
    n = _literal_count(count)
    if n is None or not (isinstance(values, types.Array) and values.ndim == 1):
        return None
    vector = Vector(array.dtype)
    tile = types.UniTuple(vector, n)

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(vector)
        elements = _elements(
            context,
            builder,
            signature.args[1],
            args[1],
            args[2],
            signature.args[2],
            n,
            array.dtype,
        )
        return context.make_tuple(
            builder, tile, [_splat_value(builder, e, vector_type) for e in elements]
        )

    return tile(array, values, start, count), codegen


@intrinsic
def fma_columns(typingctx, weights, start, x, accs):
    """``weights[start + c] * x + accs[c]`` for each vector c of ``accs``, fused.

    One vector ``x`` of inputs times a different weight for each output column of a
    group: ``weights`` is 1-D, of ``x``'s dtype.
    """
    if not (isinstance(accs, types.UniTuple) and isinstance(x, Vector) and accs.dtype == x):
        return None
    if not (isinstance(weights, types.Array) and weights.ndim == 1 and weights.dtype == x.dtype):
        return None

    def codegen(context, builder, signature, args):
        vector_type = args[2].type
        name = f"llvm.fma.{_suffix(vector_type)}"
        elements = _elements(
            context,
            builder,
            signature.args[0],
            args[0],
            args[1],
            signature.args[1],
            accs.count,
            x.dtype,
        )
        values = [
            _intrinsic_call(
                builder,
                name,
                vector_type,
                [_splat_value(builder, e, vector_type), args[2], builder.extract_value(args[3], c)],
            )
            for c, e in enumerate(elements)
        ]
        return context.make_tuple(builder, accs, values)

    return accs(weights, start, x, accs), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` element by element, rounded once (a fused multiply-add)."""
    if not isinstance(a, Vector) or a != b or a != c:
        return None

    def codegen(context, builder, signature, args):
        return _intrinsic_call(builder, f"llvm.fma.{_suffix(args[0].type)}", args[0].type, args)

    return a(a, b, c), codegen


def _elementwise(instruction, doc):
    """An intrinsic applying the IR builder's ``instruction`` to two equal vectors."""

    def typer(typingctx, a, b):
        if not isinstance(a, Vector) or a != b:
            return None

        def codegen(context, builder, signature, args):
            return getattr(builder, instruction)(args[0], args[1])

        return a(a, b), codegen

    typer.__doc__ = doc
    return intrinsic(typer)


mul = _elementwise("fmul", "``a * b`` element by element.")
add = _elementwise("fadd", "``a + b`` element by element.")


@intrinsic
def relu(typingctx, a):
    """``numpy.maximum(a, 0)``: 0 where ``a < 0``, else ``a`` (NaN and -0.0 kept)."""
    if not isinstance(a, Vector):
        return None

    def codegen(context, builder, signature, args):
        return _relu_value(builder, args[0])

    return a(a), codegen


def _relu_value(builder, value):
    """``numpy.maximum(value, 0)`` of one vector value: a select, NaN and -0.0 kept."""
    zero = ir.Constant(value.type, None)
    return builder.select(builder.fcmp_ordered("<", value, zero), zero, value)


@intrinsic
def relu_tile(typingctx, values):
    """:func:`relu` of each vector of a tuple."""
    if not (isinstance(values, types.UniTuple) and isinstance(values.dtype, Vector)):
        return None

    def codegen(context, builder, signature, args):
        result = [
            _relu_value(builder, builder.extract_value(args[0], v)) for v in range(values.count)
        ]
        return context.make_tuple(builder, values, result)

    return values(values), codegen


@intrinsic
def times_positive(typingctx, a, b):
    """``a * (1 if b > 0 else 0)`` element by element (NaN and infinities propagate)."""
    if not isinstance(a, Vector) or a != b:
        return None

    def codegen(context, builder, signature, args):
        vector_type = args[0].type
        zero = ir.Constant(vector_type, None)
        one = ir.Constant(vector_type, [ir.Constant(vector_type.element, 1.0)] * vector_type.count)
        positive = builder.fcmp_ordered(">", args[1], zero)
        return builder.fmul(args[0], builder.select(positive, one, zero))

    return a(a, b), codegen


@intrinsic
def total(typingctx, a):
    """Sum of the elements of ``a``: halves added pairwise, ``log2(lanes)`` times.

    First ``a[:n/2] + a[n/2:]``, then the same on that, down to one element: a fixed
    order, the same on every call.
    """
    if not isinstance(a, Vector):
        return None

    def codegen(context, builder, signature, args):
        value = _halves_added(builder, args[0], 1)
        return builder.extract_element(value, ir.Constant(ir.IntType(32), 0))

    return a.dtype(a), codegen


def _literal_count(count):
    if not isinstance(count, types.IntegerLiteral):
        return None
    return count.literal_value


def _row_pointer(context, builder, signature, args):
    """Pointer to ``array[row, col]`` (the first three arguments), as an element pointer."""
    array_type = signature.args[0]
    array = context.make_array(array_type)(context, builder, args[0])
    indices = [
        context.cast(builder, value, kind, types.intp)
        for value, kind in zip(args[1:3], signature.args[1:3], strict=True)
    ]
    return cgutils.get_item_pointer(context, builder, array_type, array, indices, wraparound=False)


@intrinsic
def load_tile(typingctx, array, row, col, count):
    """The ``count`` vectors that follow ``array[row, col]`` (a tuple; ``count`` literal)."""
    n = _literal_count(count)
    if n is None:
        return None
    vector = Vector(array.dtype)
    tile = types.UniTuple(vector, n)

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(vector)
        base = _row_pointer(context, builder, signature, args)
        values = []
        for v in range(n):
            item = builder.gep(base, [ir.Constant(ir.IntType(64), v * vector.lanes)])
            pointer = builder.bitcast(item, ir.PointerType(vector_type))
            values.append(builder.load(pointer, align=array.dtype.bitwidth // 8))
        return context.make_tuple(builder, tile, values)

    return tile(array, row, col, count), codegen


@intrinsic
def prefetch_tile(typingctx, array, row, col, count):
    """Prefetch the ``count`` vectors that follow ``array[row, col]`` (one line each)."""
    n = _literal_count(count)
    if n is None:
        return None

    def codegen(context, builder, signature, args):
        base = _row_pointer(context, builder, signature, args)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        hints = [ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)]
        lanes_ = VECTOR_BYTES // (array.dtype.bitwidth // 8)
        for v in range(n):
            item = builder.gep(base, [ir.Constant(ir.IntType(64), v * lanes_)])
            pointer = builder.bitcast(item, i8p)
            _intrinsic_call(builder, _PREFETCH, ir.VoidType(), [pointer, *hints])
        return context.get_dummy_value()

    return types.none(array, row, col, count), codegen


@intrinsic
def fma_tile(typingctx, w, xs, accs):
    """``w * xs[v] + accs[v]`` for each vector v of the tuples, fused."""
    if not (isinstance(xs, types.UniTuple) and xs == accs and isinstance(xs.dtype, Vector)):
        return None
    if w != xs.dtype:
        return None

    def codegen(context, builder, signature, args):
        vector_type = args[0].type
        name = f"llvm.fma.{_suffix(vector_type)}"
        values = [
            _intrinsic_call(
                builder,
                name,
                vector_type,
                [args[0], builder.extract_value(args[1], v), builder.extract_value(args[2], v)],
            )
            for v in range(xs.count)
        ]
        return context.make_tuple(builder, accs, values)

    return accs(w, xs, accs), codegen


@intrinsic
def at(typingctx, array, index):
    """``array[index]`` of a 1-D array, for an index known to be in range (no wraparound)."""
    if not isinstance(array, types.Array) or array.ndim != 1:
        return None

    def codegen(context, builder, signature, args):
        value = context.make_array(signature.args[0])(context, builder, args[0])
        position = context.cast(builder, args[1], signature.args[1], types.intp)
        pointer = cgutils.get_item_pointer(
            context, builder, signature.args[0], value, [position], wraparound=False
        )
        return context.unpack_value(builder, array.dtype, pointer)

    return array.dtype(array, index), codegen


def _is_vectors(values):
    """Whether a numba type is a tuple of vectors (a tile or a group of columns)."""
    return isinstance(values, types.UniTuple) and isinstance(values.dtype, Vector)


def _store_vector(builder, item, value, array):
    """Store the vector ``value`` at the element pointer ``item`` of an ``array`` type."""
    pointer = builder.bitcast(item, ir.PointerType(value.type))
    builder.store(value, pointer, align=array.dtype.bitwidth // 8)


@intrinsic
def store_tile(typingctx, array, row, col, values):
    """``array[row, col : col + count · lanes] = values`` (a tuple of ``count`` vectors)."""
    if not _is_vectors(values):
        return None

    def codegen(context, builder, signature, args):
        base = _row_pointer(context, builder, signature, args)
        for v in range(values.count):
            item = builder.gep(base, [ir.Constant(ir.IntType(64), v * values.dtype.lanes)])
            _store_vector(builder, item, builder.extract_value(args[3], v), array)
        return context.get_dummy_value()

    return types.none(array, row, col, values), codegen


@intrinsic
def store_columns(typingctx, array, row, col, values):
    """``array[row + c, col : col + lanes] = values[c]`` for each vector c of a tuple."""
    if not _is_vectors(values):
        return None

    def codegen(context, builder, signature, args):
        value = context.make_array(array)(context, builder, args[0])
        first = context.cast(builder, args[1], signature.args[1], types.intp)
        column = context.cast(builder, args[2], signature.args[2], types.intp)
        for c in range(values.count):
            row = builder.add(first, ir.Constant(first.type, c))
            item = cgutils.get_item_pointer(
                context, builder, array, value, [row, column], wraparound=False
            )
            _store_vector(builder, item, builder.extract_value(args[3], c), array)
        return context.get_dummy_value()

    return types.none(array, row, col, values), codegen


def _is_dot_pair(xs, ys):
    """Whether two numba types are tiles that :func:`dot_tile` takes."""
    return (
        isinstance(xs, types.UniTuple)
        and xs == ys
        and xs.count in (1, 2, 4, 8)
        and isinstance(xs.dtype, Vector)
    )


def _dot_vector_value(builder, xs, ys, n):
    """LLVM code of :func:`dot_vector`: the products of two tiles summed to one vector."""
    x = [builder.extract_value(xs, v) for v in range(n)]
    y = [builder.extract_value(ys, v) for v in range(n)]
    vector_type = x[0].type
    name = f"llvm.fma.{_suffix(vector_type)}"
    if n == 1:
        sums = [builder.fmul(x[0], y[0])]
    else:
        sums = [
            _intrinsic_call(
                builder,
                name,
                vector_type,
                [x[2 * p + 1], y[2 * p + 1], builder.fmul(x[2 * p], y[2 * p])],
            )
            for p in range(n // 2)
        ]
    while len(sums) > 1:
        sums = [builder.fadd(sums[2 * q], sums[2 * q + 1]) for q in range(len(sums) // 2)]
    return sums[0]


def _halves_added(builder, value, segments):
    """Each of ``segments`` equal runs of lanes of ``value`` summed as :func:`total` sums a
    vector (first halves added to second halves, down to one lane a run): a vector of
    ``segments`` lanes, run q's total in lane q."""
    size = value.type.count // segments
    while size > 1:
        half = size // 2
        low = [q * size + i for q in range(segments) for i in range(half)]
        high = [q * size + half + i for q in range(segments) for i in range(half)]
        value = builder.fadd(
            _shuffled(builder, value, None, low), _shuffled(builder, value, None, high)
        )
        size = half
    return value


def _shuffled(builder, a, b, lanes):
    """The ``lanes`` of ``a`` (then of ``b``, numbered on from ``a``'s) as one vector."""
    b = ir.Constant(a.type, ir.Undefined) if b is None else b
    mask = ir.Constant(ir.VectorType(ir.IntType(32), len(lanes)), lanes)
    return builder.shuffle_vector(a, b, mask)


@intrinsic
def dot_tile(typingctx, xs, ys):
    """``Σ xs[v] · ys[v]`` over a tuple of one, two, four or eight vectors, as one scalar.

    Products in pairs as ``fma(x1, y1, x0 · y0)``, the pair sums added pairwise,
    ``(p0 + p1) + (p2 + p3)`` for eight (:func:`dot_vector`), then the vector's
    elements by :func:`total`'s order.
    """
    if not _is_dot_pair(xs, ys):
        return None
    n = xs.count

    def codegen(context, builder, signature, args):
        value = _halves_added(builder, _dot_vector_value(builder, *args, n), 1)
        return builder.extract_element(value, ir.Constant(ir.IntType(32), 0))

    return xs.dtype.dtype(xs, ys), codegen


@intrinsic
def dot_vector(typingctx, xs, ys):
    """:func:`dot_tile` before its last step: the products summed to one vector.

    ``total(dot_vector(xs, ys)) == dot_tile(xs, ys)``, bit for bit; four of them go to
    :func:`add_totals`, which sums several with fewer shuffles than their totals one by one.
    """
    if not _is_dot_pair(xs, ys):
        return None
    n = xs.count

    def codegen(context, builder, signature, args):
        return _dot_vector_value(builder, *args, n)

    return xs.dtype(xs, ys), codegen


@intrinsic
def add_totals(typingctx, array, index, vectors, first):
    """``array[index + q] = (0 if first else array[index + q]) + total(vectors[q])``.

    ``vectors`` is a tuple of two or four vectors. Their totals are :func:`total`'s, bit
    for bit, taken together: before each addition the vectors' halves go side by side
    into shared vectors, so four totals of sixteen lanes take five vector additions and
    ten shuffles instead of sixteen and sixteen. ``array`` is 1-D, of the vectors'
    dtype, with ``index + len(vectors) - 1`` in range; those elements are read and
    written as one unaligned vector. ``first`` (a bool at run time): start from 0
    (``0 + t`` turns a total of -0.0 into 0.0, as the kernels' ``zero + dot`` does).
    """
    if not (_is_vectors(vectors) and vectors.count in (2, 4)):
        return None
    if not (isinstance(array, types.Array) and array.ndim == 1):
        return None
    if array.dtype != vectors.dtype.dtype:
        return None
    n = vectors.count

    def codegen(context, builder, signature, args):
        values = [builder.extract_value(args[2], q) for q in range(n)]
        lanes_ = values[0].type.count
        runs, size = 1, lanes_  # each vector holds ``runs`` partial totals of ``size`` lanes
        while len(values) > 1:
            half = size // 2
            low = [r * size + i for r in range(runs) for i in range(half)]
            high = [r * size + half + i for r in range(runs) for i in range(half)]
            values = [
                builder.fadd(
                    _shuffled(builder, a, b, low + [lanes_ + i for i in low]),
                    _shuffled(builder, a, b, high + [lanes_ + i for i in high]),
                )
                for a, b in zip(values[::2], values[1::2], strict=True)
            ]
            runs, size = 2 * runs, half
        totals = _halves_added(builder, values[0], runs)
        element = context.make_array(signature.args[0])(context, builder, args[0])
        position = context.cast(builder, args[1], signature.args[1], types.intp)
        item = cgutils.get_item_pointer(
            context, builder, signature.args[0], element, [position], wraparound=False
        )
        pointer = builder.bitcast(item, ir.PointerType(totals.type))
        align = array.dtype.bitwidth // 8
        start = builder.select(
            args[3], ir.Constant(totals.type, None), builder.load(pointer, align=align)
        )
        builder.store(builder.fadd(start, totals), pointer, align=align)
        return context.get_dummy_value()

    return types.none(array, index, vectors, first), codegen


@intrinsic
def times_positive_tile(typingctx, values, masks):
    """:func:`times_positive` of each vector of a tuple by the matching one of ``masks``."""
    if not (isinstance(values, types.UniTuple) and values == masks):
        return None
    if not isinstance(values.dtype, Vector):
        return None

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(values.dtype)
        zero = ir.Constant(vector_type, None)
        one = ir.Constant(vector_type, [ir.Constant(vector_type.element, 1.0)] * vector_type.count)
        result = []
        for v in range(values.count):
            positive = builder.fcmp_ordered(">", builder.extract_value(args[1], v), zero)
            factor = builder.select(positive, one, zero)
            result.append(builder.fmul(builder.extract_value(args[0], v), factor))
        return context.make_tuple(builder, values, result)

    return values(values, masks), codegen


@intrinsic
def load8(typingctx, array, row, col):
    """The eight elements ``array[row, col : col + 8]`` as one vector, whatever the dtype."""
    vector = Vector(array.dtype, 8)
    return vector(array, row, col), _load_codegen(vector, array.dtype.bitwidth // 8)


@intrinsic
def pairwise_total8(typingctx, a):
    """``((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))`` of an eight-element vector.

    The order in which numpy's pairwise summation combines its eight running sums.
    """
    if not isinstance(a, Vector) or a.lanes != 8:
        return None

    def codegen(context, builder, signature, args):
        r = [builder.extract_element(args[0], ir.Constant(ir.IntType(32), i)) for i in range(8)]
        low = builder.fadd(builder.fadd(r[0], r[1]), builder.fadd(r[2], r[3]))
        high = builder.fadd(builder.fadd(r[4], r[5]), builder.fadd(r[6], r[7]))
        return builder.fadd(low, high)

    return a.dtype(a), codegen


# With NUMBA_DISABLE_JIT=1 (numba.config.DISABLE_JIT, the switch njit itself reads when
# a kernel is decorated) the kernels run as Python, where an intrinsic cannot: every
# name of _simd_numpy.__all__ then replaces the intrinsic of that name.
if config.DISABLE_JIT:
    from topokit.nn._simd_numpy import *  # noqa: F403
