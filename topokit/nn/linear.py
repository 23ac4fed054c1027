"""SparseLinear: one layer whose weights are CSR on a fixed bipartite pattern."""

from __future__ import annotations

import contextlib

import numpy as np
import scipy.sparse as sp
from numba import config as numba_config
from threadpoolctl import ThreadpoolController

from topokit._errors import TopokitError
from topokit._validation import check_real, make_rng
from topokit.graph import LayerGraph
from topokit.nn import _kernels

__all__ = ["SparseLinear"]

_INITS = ("he", "glorot", "zeros")

# Dense products below this many multiply-adds run on one BLAS thread: OpenBLAS's
# worker threads spin for a while after each call and take the cores from the
# sparse kernels' threads that run next (measured: ~85 ms of CPU per training step
# on a 2-core machine for a 4000x10 output layer). The values do not change.
_SMALL_PRODUCT = 1 << 26
_BLAS = ThreadpoolController()


def _blas_threads(work):
    if work < _SMALL_PRODUCT:
        return _BLAS.limit(limits=1, user_api="blas")
    return contextlib.nullcontext()


def _thin(graph) -> bool:
    """Few outputs and many inputs: a shape BLAS runs far below its peak.

    Measured on a 4000 x 10 layer at batch 128 (benchmarks/bench_training.py's output
    layer): its three products took about 0.9 ms in OpenBLAS and 0.6 ms in the
    sparse kernels, which then hold the ten output rows in L1 cache.
    """
    return graph.n_out <= 32 and graph.n_in >= 1024


def _row_sums(gt, out) -> None:
    """``out[j] = numpy.sum(gt[j])``: the same sums as numpy's, faster for short rows."""
    if gt.shape[1] <= _kernels.ROW_SUM_MAX:
        # memory-bound: worth both threads from a quarter of the kernels' threshold
        _kernels.row_sums(4 * gt.size, gt, out)
    else:
        np.sum(gt, axis=1, out=out)


def _check_dtype(dtype) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TopokitError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if dtype not in (np.float32, np.float64):
        raise TopokitError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _check_dense_threshold(value) -> float:
    if value is None:
        return np.inf
    return check_real("dense_threshold", value, low=0.0)


class SparseLinear:
    """An affine layer ``X -> X·W + b`` whose weights live only on a graph's edges.

    ``W`` has shape (n_in, n_out) and is stored as CSR on the pattern of
    ``graph.biadjacency``: ``weight_data[k]`` is the weight of the k-th stored entry
    in row-major order. The weight gradient is computed only at stored entries (a
    sampled dense-dense product), and optimizers update ``weight_data`` in place.
    Cost per step grows with the number of edges, not with ``n_in * n_out``.

    Parameters
    ----------
    graph : LayerGraph
        The fixed pattern: input i feeds output j when ``biadjacency[i, j] == 1``.
    init : {"he", "glorot", "zeros"}, default "he"
        Weight initialisation, scaled by each neuron's actual degree: ``he`` draws
        ``W[i, j] ~ N(0, 2 / fan_in[j])``; ``glorot`` draws
        ``N(0, 2 / (fan_in[j] + fan_out[i]))``. Biases start at zero.
    dtype : {numpy.float32, numpy.float64}, default numpy.float32
    dense_threshold : float or None, default 0.3
        A layer whose density is at least this uses dense BLAS products (a dense
        copy of ``W`` with the pattern held fixed); None never does. Both paths
        compute the same values up to floating-point rounding. Layers with at most
        32 outputs and at least 1024 inputs (such as a classifier's output layer)
        stay on the sparse kernels, which run that shape faster than BLAS.
    rng : None, int or numpy.random.Generator, optional
        Source of the initial weights.

    Attributes
    ----------
    graph : LayerGraph
    weight_data : ndarray of shape (n_edges,)
    bias : ndarray of shape (n_out,)
    weight_grad : ndarray of shape (n_edges,)
        Gradient at the stored entries from the last :meth:`backward`.
    bias_grad : ndarray of shape (n_out,)
    uses_dense : bool
        Whether this layer runs on the dense BLAS path.

    Raises
    ------
    TopokitError
        For an unknown ``init``, a dtype other than float32/float64, or a negative
        ``dense_threshold``.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.graph import LayerGraph
    >>> from topokit.nn import SparseLinear
    >>> layer = SparseLinear(LayerGraph(np.array([[1, 0], [1, 1]])), init="zeros")
    >>> layer.weight_data[:] = [1.0, 2.0, 3.0]    # W = [[1, 0], [2, 3]]
    >>> layer.forward(np.array([[1.0, 1.0]], dtype=np.float32)).tolist()
    [[3.0, 3.0]]
    """

    def __init__(self, graph, *, init="he", dtype=np.float32, dense_threshold=0.3, rng=None):
        if not isinstance(graph, LayerGraph):
            raise TopokitError(f"graph must be a LayerGraph, got {type(graph).__name__}")
        if init not in _INITS:
            raise TopokitError(f"init must be one of {list(_INITS)}, got {init!r}")
        self.graph = graph
        self.dtype = _check_dtype(dtype)
        self.dense_threshold = _check_dense_threshold(dense_threshold)
        csr = graph.biadjacency
        self._indptr = csr.indptr
        self._indices = csr.indices
        self._edge_rows = np.repeat(
            np.arange(graph.n_in, dtype=csr.indices.dtype), np.diff(csr.indptr)
        )
        self.uses_dense = graph.density >= self.dense_threshold and not _thin(graph)
        if self.uses_dense:
            self._flat = self._edge_rows.astype(np.int64) * graph.n_out + csr.indices
            self._complete = graph.n_edges == graph.n_in * graph.n_out
            if not self._complete:
                self._dense = np.zeros((graph.n_in, graph.n_out), dtype=self.dtype)
        else:
            self._blocks = _kernels.column_blocks(csr.indptr, csr.indices, graph.n_out)
            # the weight gradient reads whole rows of gt per edge: more than two column
            # blocks cost more in passes over xt than they save in cache misses (measured)
            n_blocks = min(2, self._blocks[0].shape[1] - 1)
            self._sddmm_block_ptr = _kernels.column_blocks(
                csr.indptr, csr.indices, graph.n_out, n_blocks
            )[0]
            # a work item per thread: the blocks, or the rows of a single one in halves
            self._sddmm_chunks = 1 if n_blocks > 1 else numba_config.NUMBA_NUM_THREADS
        self.weight_data = np.zeros(graph.n_edges, dtype=self.dtype)
        self.bias = np.zeros(graph.n_out, dtype=self.dtype)
        self.weight_grad = np.zeros_like(self.weight_data)
        self.bias_grad = np.zeros_like(self.bias)
        self._input_t = None
        self.reset_parameters(init, rng=rng)

    # ------------------------------------------------------------- sizes
    @property
    def n_in(self) -> int:
        """Number of inputs."""
        return self.graph.n_in

    @property
    def n_out(self) -> int:
        """Number of outputs."""
        return self.graph.n_out

    @property
    def n_edges(self) -> int:
        """Number of stored weights."""
        return self.graph.n_edges

    @property
    def weight(self) -> sp.csr_array:
        """``W`` as a scipy CSR array of shape (n_in, n_out) sharing ``weight_data``."""
        return sp.csr_array(
            (self.weight_data, self._indices, self._indptr), shape=self.graph.shape, copy=False
        )

    def reset_parameters(self, init="he", *, rng=None) -> None:
        """Draw new weights scaled by each neuron's degree; set the biases to zero.

        Parameters
        ----------
        init : {"he", "glorot", "zeros"}, default "he"
        rng : None, int or numpy.random.Generator, optional

        Raises
        ------
        TopokitError
            For an unknown ``init``.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.graph import LayerGraph
        >>> from topokit.nn import SparseLinear
        >>> layer = SparseLinear(LayerGraph(np.ones((3, 2))), rng=0)
        >>> layer.reset_parameters("zeros")
        >>> layer.weight_data.tolist()
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        """
        if init not in _INITS:
            raise TopokitError(f"init must be one of {list(_INITS)}, got {init!r}")
        self.bias[:] = 0
        if init == "zeros" or self.n_edges == 0:
            self.weight_data[:] = 0
            return
        generator = make_rng(rng)
        fan_in = self.graph.fan_in.astype(np.float64)[self._indices]
        if init == "he":
            scale = np.sqrt(2.0 / fan_in)
        else:
            fan_out = np.diff(self._indptr).astype(np.float64)[self._edge_rows]
            scale = np.sqrt(2.0 / (fan_in + fan_out))
        self.weight_data[:] = generator.standard_normal(self.n_edges) * scale

    # ---------------------------------------------------- batch-major API
    def forward(self, X) -> np.ndarray:
        """``X·W + b``; remembers ``X`` for :meth:`backward`.

        Parameters
        ----------
        X : array_like of shape (batch, n_in)

        Returns
        -------
        ndarray of shape (batch, n_out)

        Raises
        ------
        TopokitError
            If ``X`` is not 2-D with ``n_in`` columns.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.graph import LayerGraph
        >>> from topokit.nn import SparseLinear
        >>> layer = SparseLinear(LayerGraph(np.eye(2)), init="zeros")
        >>> layer.bias[:] = [0.5, -0.5]
        >>> layer.forward(np.zeros((1, 2))).tolist()
        [[0.5, -0.5]]
        """
        X = np.asarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise TopokitError(
                f"X must have shape (batch, {self.n_in}) for this layer, got {X.shape}"
            )
        return self.forward_t(np.ascontiguousarray(X.T)).T

    def backward(self, grad_Y, *, input_grad=True):
        """Gradients of a loss given ``grad_Y = dL/dY`` for the last :meth:`forward`.

        Sets :attr:`weight_grad` (``Σ_b X[b, i] grad_Y[b, j]`` at stored (i, j)) and
        :attr:`bias_grad`.

        Parameters
        ----------
        grad_Y : array_like of shape (batch, n_out)
        input_grad : bool, default True
            Whether to return ``dL/dX = grad_Y·Wᵀ``.

        Returns
        -------
        ndarray of shape (batch, n_in) or None

        Raises
        ------
        TopokitError
            If no forward pass came first or ``grad_Y`` has the wrong shape.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.graph import LayerGraph
        >>> from topokit.nn import SparseLinear
        >>> layer = SparseLinear(LayerGraph(np.array([[1, 0], [1, 1]])), init="zeros")
        >>> layer.weight_data[:] = [1.0, 2.0, 3.0]    # W = [[1, 0], [2, 3]]
        >>> _ = layer.forward(np.array([[1.0, 10.0]]))
        >>> layer.backward(np.array([[1.0, 1.0]])).tolist()    # grad_Y · Wᵀ
        [[1.0, 5.0]]
        >>> layer.weight_grad.tolist()    # X[b, i] · grad_Y[b, j] at (0,0), (1,0), (1,1)
        [1.0, 10.0, 10.0]
        """
        grad_Y = np.asarray(grad_Y, dtype=self.dtype)
        if self._input_t is None:
            raise TopokitError("backward needs a forward pass first")
        expected = (self._input_t.shape[1], self.n_out)
        if grad_Y.shape != expected:
            raise TopokitError(f"grad_Y must have shape {expected}, got {grad_Y.shape}")
        grad_xt = self.backward_t(np.ascontiguousarray(grad_Y.T), input_grad=input_grad)
        return None if grad_xt is None else grad_xt.T

    # ------------------------------------------------ feature-major kernels
    def _sync_dense(self) -> np.ndarray:
        if self._complete:
            return self.weight_data.reshape(self.graph.shape)
        self._dense.ravel()[self._flat] = self.weight_data
        return self._dense

    def forward_t(
        self, xt: np.ndarray, *, keep_input=True, activation=None, out=None
    ) -> np.ndarray:
        """Forward on feature-major activations: ``(Wᵀ xt) + b`` of shape (n_out, batch).

        ``xt`` must be a C-contiguous array of this layer's dtype, of shape (n_in, batch).
        With an ``activation`` (an :class:`~topokit.nn.activations.Activation`), returns
        its output instead; ReLU on the sparse path is fused into the kernel. ``out``
        (C-contiguous, shape (n_out, batch), this dtype) receives the result if given.
        """
        self._input_t = xt if keep_input else None
        if out is None:
            out = _kernels.empty_aligned((self.n_out, xt.shape[1]), self.dtype)
        yt = out
        if self.uses_dense:
            with _blas_threads(self.n_in * self.n_out * xt.shape[1]):
                np.matmul(self._sync_dense().T, xt, out=yt)
            yt += self.bias[:, None]
            if activation is not None:
                activation.apply(yt)
            return yt
        relu = activation is not None and activation.name == "relu"
        _kernels.forward(
            self.n_edges * xt.shape[1],
            *self._blocks,
            self.weight_data,
            self.bias,
            xt,
            yt,
            relu,
        )
        if activation is not None and not relu:
            activation.apply(yt)
        return yt

    def backward_t(
        self,
        gt: np.ndarray,
        *,
        input_grad=True,
        activation=None,
        out=None,
        input_grad_sums=None,
        bias_grad_ready=False,
    ):
        """Backward on feature-major gradients ``gt`` of shape (n_out, batch).

        Fills :attr:`weight_grad` and :attr:`bias_grad`; returns ``W gt`` of shape
        (n_in, batch) when ``input_grad``, else None. With an ``activation`` whose
        output was this layer's input, returns ``W gt`` times its derivative there
        (:meth:`Activation.backprop`); ReLU on the sparse path is fused into the kernel.
        ``out`` (C-contiguous, shape (n_in, batch), this dtype) receives it if given.

        ``input_grad_sums`` (shape (n_in,), this dtype), if given, receives the row
        sums of the returned gradient, ``numpy.sum(grad, axis=1)`` bit for bit: the
        previous layer's bias gradient, computed while the rows are in cache. That
        layer is then called with ``bias_grad_ready=True``: :attr:`bias_grad` already
        holds the row sums of ``gt``.
        """
        xt = self._input_t
        if not bias_grad_ready:
            _row_sums(gt, self.bias_grad)
        if self.uses_dense:
            # the dense copy is still the one forward_t synchronised: no update since
            dense = self.weight_data.reshape(self.graph.shape) if self._complete else self._dense
            if input_grad and out is None:
                out = _kernels.empty_aligned((self.n_in, gt.shape[1]), self.dtype)
            grad_xt = out if input_grad else None
            with _blas_threads(self.n_in * self.n_out * gt.shape[1]):
                if self._complete:  # the full product is the gradient, in row-major order
                    np.matmul(xt, gt.T, out=self.weight_grad.reshape(self.graph.shape))
                else:
                    np.take((xt @ gt.T).ravel(), self._flat, out=self.weight_grad)
                if input_grad:
                    np.matmul(dense, gt, out=grad_xt)
            if grad_xt is not None and activation is not None:
                activation.backprop(xt, grad_xt)
            if grad_xt is not None and input_grad_sums is not None:
                _row_sums(grad_xt, input_grad_sums)
            return grad_xt
        work = self.n_edges * gt.shape[1]
        grad = self.weight_grad
        if not input_grad:
            zero = self.dtype.type(0)
            block_ptr = self._sddmm_block_ptr
            chunks = self._sddmm_chunks
            _kernels.sddmm(work, block_ptr, self._indices, xt, gt, grad, zero, chunks)
            return None
        gxt = _kernels.empty_aligned((self.n_in, gt.shape[1]), self.dtype) if out is None else out
        # the weight gradient and the input gradient read the same rows of gt: one pass
        relu = activation is not None and activation.name == "relu"
        indptr, indices, data = self._indptr, self._indices, self.weight_data
        # the kernel sums the rows it writes, unless an activation changes them after
        sums_in_kernel = (
            input_grad_sums is not None
            and (activation is None or relu)
            and gt.shape[1] <= _kernels.ROW_SUM_MAX
        )
        kernel_sums = input_grad_sums if sums_in_kernel else None
        _kernels.backward(2 * work, indptr, indices, data, xt, gt, grad, gxt, relu, kernel_sums)
        if activation is not None and not relu:
            activation.backprop(xt, gxt)
        if input_grad_sums is not None and not sums_in_kernel:
            _row_sums(gxt, input_grad_sums)
        return gxt

    def __repr__(self):
        path = "dense" if self.uses_dense else "sparse"
        return (
            f"SparseLinear(n_in={self.n_in}, n_out={self.n_out}, n_edges={self.n_edges}, "
            f"dtype={self.dtype.name}, path={path!r})"
        )
