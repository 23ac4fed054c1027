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
from topokit.nn import _layer_backward, _layer_forward, _panel_sums, _panels, _weight_gradient

__all__ = ["SparseLinear"]

_INITS = ("he", "glorot", "zeros")

# Dense products below this many multiply-adds run on one BLAS thread: OpenBLAS's
# worker threads spin for a while after each call and would take the cores from the
# sparse kernels' threads that run next (docs/performance.md). The values do not change.
_SMALL_PRODUCT = 1 << 26
# the BLAS libraries loaded when topokit.nn.linear was imported, as threadpoolctl found them
_BLAS_LIBRARIES = tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


class _OneBlasThread:
    """The BLAS libraries on one thread inside the ``with`` block, their counts restored after.

    What ``ThreadpoolController.limit(limits=1, user_api="blas")`` does, with the library
    controllers found once, at import: about 3 µs a product instead of 13 µs (the
    limiter looks the libraries up on every call), a dense layer's two or three products a
    step.
    """

    __slots__ = ("_saved",)

    def __enter__(self):
        self._saved = [(library, library.get_num_threads()) for library in _BLAS_LIBRARIES]
        for library, threads in self._saved:
            if threads != 1:
                library.set_num_threads(1)
        return self

    def __exit__(self, *exc_info):
        for library, threads in self._saved:
            if threads != 1:
                library.set_num_threads(threads)
        return False


def _blas_threads(work):
    if work < _SMALL_PRODUCT:
        return _OneBlasThread()
    return contextlib.nullcontext()


def _thin(graph) -> bool:
    """Few outputs (at most 32) and many inputs (at least 1024): a shape BLAS runs far
    below its peak, and the sparse kernels hold the few output rows in L1 cache
    (docs/performance.md)."""
    return graph.n_out <= 32 and graph.n_in >= 1024


def _row_sums(gt, out) -> None:
    """``out[j]``: row j of ``gt`` summed over its panels (:func:`_panel_sums.row_sums`).

    With one panel ``numpy.sum(gt[j])``, the same sums as numpy's, faster for short rows.
    """
    if gt.shape[1] <= _panel_sums.ROW_SUM_MAX:
        # memory-bound: worth both threads from a quarter of the kernels' threshold
        _panel_sums.row_sums(gt.itemsize * gt.size, gt, out)
        return
    panels = gt.reshape(-1, out.size, gt.shape[1])
    np.sum(panels[0], axis=1, out=out)
    for panel in panels[1:]:
        out += np.sum(panel, axis=1)


def _by_panel(a, n) -> np.ndarray:
    """A panel-layout array (P · n, width) as a (P, n, width) view."""
    return a.reshape(-1, n, a.shape[1])


def _feature_major(a, n) -> np.ndarray:
    """A panel-layout array as the (n, P · width) feature-major batch (a copy if P > 1)."""
    panels = _by_panel(a, n)
    if panels.shape[0] == 1:
        return panels[0]
    return panels.transpose(1, 0, 2).reshape(n, -1)


def _dense_product(matrix, a, out, n_out) -> None:
    """``out = matrix @ a`` for feature-major ``a`` (:func:`_feature_major`), panel-layout ``out``.

    One product over the whole batch (the panels side by side), not one per panel:
    BLAS runs wider products at a higher rate.
    """
    panels = _by_panel(out, n_out)
    if panels.shape[0] == 1:
        np.matmul(matrix, a, out=panels[0])
        return
    product = matrix @ a
    panels[...] = product.reshape(n_out, panels.shape[0], -1).transpose(1, 0, 2)


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
    Cost per step grows with the number of edges, not with ``n_in * n_out``. The
    sparse path gives the same values, bit for bit, whatever the number of threads.

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
        The fixed pattern.
    weight_data : ndarray of shape (n_edges,)
        The weights of the stored entries, in CSR (row-major) order; :attr:`weight`
        is ``W`` as a scipy CSR array sharing them.
    bias : ndarray of shape (n_out,)
    weight_grad : ndarray of shape (n_edges,)
        Gradient at the stored entries from the last :meth:`backward`.
    bias_grad : ndarray of shape (n_out,)
        Gradient of the bias from the last :meth:`backward`.
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
        # kernel work in float32 multiply-adds: a float64 one moves twice the bytes
        self._work_scale = self.dtype.itemsize // 4
        self.dense_threshold = _check_dense_threshold(dense_threshold)
        self._derive_pattern()
        self.weight_data = np.zeros(graph.n_edges, dtype=self.dtype)
        self.bias = np.zeros(graph.n_out, dtype=self.dtype)
        self.weight_grad = np.zeros_like(self.weight_data)
        self.bias_grad = np.zeros_like(self.bias)
        self._input_t = None
        self._panel_scratch = {}
        self.reset_parameters(init, rng=rng)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_panel_scratch"] = {}  # scratch space, rebuilt on the next step that needs it
        return state

    def _derive_pattern(self) -> None:
        """Derive everything the kernels read of the pattern from :attr:`graph`.

        Called by ``__init__``, and again by whoever replaces :attr:`graph` with another
        pattern of the same sizes (dynamic sparse training): the CSR arrays, the column
        order of the forward pass, the work split of the weight gradient, and on the dense
        path the positions of the entries. :attr:`weight_data` and the optimizer's state
        are the caller's to rearrange into the new CSR order; nothing else a step uses is
        kept across steps that depends on the pattern.
        """
        graph = self.graph
        # plain ints: read several times per training step, through scipy's properties
        self._n_in, self._n_out, self._n_edges = graph.n_in, graph.n_out, graph.n_edges
        csr = graph.biadjacency
        self._indptr = csr.indptr
        self._indices = csr.indices
        self._edge_rows = np.repeat(
            np.arange(graph.n_in, dtype=csr.indices.dtype), np.diff(csr.indptr)
        )
        self.uses_dense = graph.density >= self.dense_threshold and not _thin(graph)
        # every input joined to every output: the CSR data is the row-major matrix
        self._complete = graph.n_edges == graph.n_in * graph.n_out
        # a complete layer of few outputs (an output layer) on the sparse path: its
        # outputs in groups over each vector of the batch (more work items, not fewer)
        self._by_output_groups = self._complete and graph.n_out <= 32
        if self.uses_dense:
            self._flat = self._edge_rows.astype(np.int64) * graph.n_out + csr.indices
            if not self._complete:
                self._dense = np.zeros((graph.n_in, graph.n_out), dtype=self.dtype)
        else:
            self._columns = _layer_forward.column_order(csr.indptr, csr.indices, graph.n_out)
            # the weight gradient alone (first layer) of a single panel: a column block
            # per thread, whose rows of gt stay in its cache (more blocks cost more in
            # passes over xt than they save), or the rows in halves
            n_blocks = 2 if graph.n_out >= 32 else 1
            self._sddmm_block_ptr = _weight_gradient.column_blocks(
                csr.indptr, csr.indices, graph.n_out, n_blocks
            )
            self._sddmm_chunks = 1 if n_blocks > 1 else numba_config.NUMBA_NUM_THREADS
            # with several panels, a thread per panel: all of its rows in one pass
            self._sddmm_rows = np.stack([csr.indptr[:-1], csr.indptr[1:]], axis=1)

    # ------------------------------------------------------------- sizes
    @property
    def n_in(self) -> int:
        """Number of inputs."""
        return self._n_in

    @property
    def n_out(self) -> int:
        """Number of outputs."""
        return self._n_out

    @property
    def n_edges(self) -> int:
        """Number of stored weights."""
        return self._n_edges

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
            ``X·W + b`` in this layer's dtype.

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
        return self._forward_panels(np.ascontiguousarray(X.T)).T

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
            ``dL/dX = grad_Y·Wᵀ`` when ``input_grad``, else None.

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
        grad_xt = self._backward_panels(np.ascontiguousarray(grad_Y.T), input_grad=input_grad)
        return None if grad_xt is None else grad_xt.T

    # ------------------------- panel-layout plumbing of SparseMLP (internal)
    def _sync_dense(self) -> np.ndarray:
        if self._complete:
            return self.weight_data.reshape(self.graph.shape)
        self._dense.ravel()[self._flat] = self.weight_data
        return self._dense

    def _forward_panels(
        self, xt: np.ndarray, *, keep_input=True, activation=None, out=None
    ) -> np.ndarray:
        """``Wᵀ xt + b`` on activations in the panel layout: the model's forward step.

        Internal plumbing of :class:`~topokit.nn.SparseMLP`; :meth:`forward` is the
        batch-major public form.

        Parameters
        ----------
        xt : ndarray of shape (P · n_in, width)
            C-contiguous, of this layer's dtype, in the panel layout of
            :func:`~topokit.nn._panels.panel_shape` (P panels of ``width`` samples; one
            panel is the feature-major (n_in, batch) layout).
        keep_input : bool, default True
            Remember ``xt`` for :meth:`_backward_panels`.
        activation : Activation, optional
            Return its output instead; ReLU on the sparse path is fused into the kernel.
        out : ndarray of shape (P · n_out, width), optional
            C-contiguous, this dtype: receives the result.

        Returns
        -------
        ndarray of shape (P · n_out, width)
            In the layout of ``xt``; ``out`` if given, else a cache-line-aligned array.
        """
        self._input_t = xt if keep_input else None
        n_panels = xt.shape[0] // self.n_in if self.n_in else 1
        if out is None:
            out = _panels.empty_aligned((n_panels * self.n_out, xt.shape[1]), self.dtype)
        yt = out
        if self.uses_dense:
            with _blas_threads(self.n_in * self.n_out * xt.shape[1] * n_panels):
                x_all = _feature_major(xt, self.n_in)
                _dense_product(self._sync_dense().T, x_all, yt, self.n_out)
            _by_panel(yt, self.n_out)[...] += self.bias[:, None]
            if activation is not None:
                activation.apply(yt)
            return yt
        relu = activation is not None and activation.name == "relu"
        work = self._work_scale * self.n_edges * xt.shape[1] * n_panels
        if self._by_output_groups and _layer_forward.fits_complete(xt):
            # one walk down the inputs per group of outputs, the values of the forward
            # by columns
            _layer_forward.forward_complete(work, self.weight_data, self.bias, xt, yt, relu)
        else:
            _layer_forward.forward(work, self._columns, self.weight_data, self.bias, xt, yt, relu)
        if activation is not None and not relu:
            activation.apply(yt)
        return yt

    def _backward_in_place(self, activation) -> bool:
        """Whether :meth:`_backward_panels` may write the input gradient over its input.

        True on the sparse path when ``activation`` is ReLU: the fused backward reads
        each input row (for the weight gradient and the ReLU's derivative) only in the
        work item that then writes that row's gradient, and reads each element before
        it writes it. :class:`~topokit.nn.SparseMLP` then gives the input's array as
        ``out``: the step touches one array fewer per layer (2 MB at 4000 neurons and
        batch 128, float32), the same values bit for bit.
        """
        return not self.uses_dense and activation is not None and activation.name == "relu"

    def _backward_panels(
        self,
        gt: np.ndarray,
        *,
        input_grad=True,
        activation=None,
        out=None,
        input_grad_sums=None,
        bias_grad_ready=False,
        weight_decay=0.0,
    ):
        """Gradients for the last :meth:`_forward_panels`: the model's backward step.

        Internal plumbing of :class:`~topokit.nn.SparseMLP`; :meth:`backward` is the
        batch-major public form. Fills :attr:`weight_grad` (``X Gᵀ`` at the stored
        entries, plus ``weight_decay · W``) and :attr:`bias_grad` (the row sums of
        ``gt``). On the sparse path each panel's weight gradient is computed as for a
        batch alone and the panels' gradients are added in panel order; the dense path
        takes one BLAS product over the panels side by side.

        Parameters
        ----------
        gt : ndarray of shape (P · n_out, width)
            ``dL/dY`` in the panel layout of the last :meth:`_forward_panels`.
        input_grad : bool, default True
            Whether to compute and return ``W gt``.
        activation : Activation, optional
            The activation whose output was this layer's input: the returned gradient
            is ``W gt`` times its derivative there (:meth:`Activation.backprop`); ReLU
            on the sparse path is fused into the kernel.
        out : ndarray of shape (P · n_in, width), optional
            C-contiguous, this dtype: receives the input gradient. It may be the input
            of the last :meth:`_forward_panels` itself when :meth:`_backward_in_place`
            says so.
        input_grad_sums : ndarray of shape (n_in,), optional
            Receives the row sums of the returned gradient, ``numpy.sum(grad, axis=1)``
            bit for bit with one panel (with several, each panel's sums so taken, added
            in panel order): the previous layer's bias gradient, computed while the
            rows are in cache.
        bias_grad_ready : bool, default False
            :attr:`bias_grad` already holds the row sums of ``gt`` (the next layer's
            ``input_grad_sums``): leave it alone.
        weight_decay : float, default 0.0
            Adds ``weight_decay · W`` to :attr:`weight_grad` (the gradient of
            ``weight_decay / 2 · Σ W²``), in the pass that adds up the panels.

        Returns
        -------
        ndarray of shape (P · n_in, width) or None
            The input gradient in the layout of the input, when ``input_grad``.
        """
        xt = self._input_t
        decay = self.dtype.type(weight_decay)
        n_panels = gt.shape[0] // self.n_out if self.n_out else 1
        width = gt.shape[1]
        if not bias_grad_ready:
            _row_sums(gt, self.bias_grad)
        if input_grad and out is None:
            out = _panels.empty_aligned((n_panels * self.n_in, width), self.dtype)
        if self.uses_dense:
            grad_xt = self._dense_backward(
                xt, gt, out if input_grad else None, activation, input_grad_sums
            )
            if decay:
                grad, weights = self.weight_grad, self.weight_data
                _panel_sums.add_weight_decay(64 * grad.size, grad, weights, decay)
            return grad_xt
        work = self._work_scale * self.n_edges * width * n_panels
        grad = self._panel_rows("grad", self.weight_grad, n_panels)
        if not input_grad:
            zero = self.dtype.type(0)
            block_ptr, chunks = self._sddmm_block_ptr, self._sddmm_chunks
            if n_panels > 1:
                block_ptr = self._sddmm_rows
                chunks = max(1, numba_config.NUMBA_NUM_THREADS // n_panels)
            _weight_gradient.sddmm(
                work,
                *(block_ptr, self._indices, xt, gt, grad, zero, chunks),
                *(self.weight_grad, self.weight_data, decay),
            )
            return None
        # the weight gradient and the input gradient read the same rows of gt: one pass
        relu = activation is not None and activation.name == "relu"
        indptr, indices, data = self._indptr, self._indices, self.weight_data
        # the kernel sums the rows it writes, unless an activation changes them after
        sums_in_kernel = (
            input_grad_sums is not None
            and (activation is None or relu)
            and width <= _panel_sums.ROW_SUM_MAX
        )
        kernel_sums = sums_total = None
        if sums_in_kernel:
            kernel_sums = self._panel_rows("sums", input_grad_sums, n_panels)
            sums_total = input_grad_sums
        # with several panels the same call adds them up into the totals
        _layer_backward.backward(
            2 * work,
            *(indptr, indices, data, xt, gt, grad, out, relu),
            *(kernel_sums, self.weight_grad, sums_total, decay),
        )
        if activation is not None and not relu:
            activation.backprop(xt, out)
        if input_grad_sums is not None and not sums_in_kernel:
            _row_sums(out, input_grad_sums)
        return out

    def _weight_sum_of_squares(self) -> float:
        """``Σ W²`` over the stored weights, in their dtype, in an order fixed by ``n_edges``.

        The L2 penalty of :class:`~topokit.nn.SparseMLP`: a numba kernel
        (:func:`~topokit.nn._panel_sums.sum_of_squares`), the same bits for any number of
        threads, where ``numpy.dot`` would call BLAS and its own threads.
        """
        data = self.weight_data
        partial = self._panel_scratch.get("squares")
        n_blocks = _panel_sums.squares_blocks(data.size)
        if partial is None or partial.shape != (n_blocks,) or partial.dtype != data.dtype:
            partial = self._panel_scratch["squares"] = np.empty(n_blocks, dtype=data.dtype)
        return float(_panel_sums.sum_of_squares(data.size, data, partial))

    def _panel_rows(self, name, total, n_panels) -> np.ndarray:
        """A (n_panels, total.size) array for per-panel results: ``total`` itself for one."""
        if n_panels == 1:
            return total.reshape(1, -1)
        shape = (n_panels, total.size)
        scratch = self._panel_scratch.get(name)
        if scratch is None or scratch.shape != shape:
            scratch = self._panel_scratch[name] = np.empty(shape, dtype=self.dtype)
        return scratch

    def _dense_backward(self, xt, gt, grad_xt, activation, input_grad_sums):
        """:meth:`_backward_panels` on the dense BLAS path."""
        # the dense copy is still the one _forward_panels synchronised: no update since
        dense = self.weight_data.reshape(self.graph.shape) if self._complete else self._dense
        n_panels = gt.shape[0] // self.n_out
        with _blas_threads(self.n_in * self.n_out * gt.shape[1] * n_panels):
            # the batch's panels side by side: one product sums over all of them
            x_all = _feature_major(xt, self.n_in)
            g_all = _feature_major(gt, self.n_out)
            if self._complete:  # the full product is the gradient, in row-major order
                np.matmul(x_all, g_all.T, out=self.weight_grad.reshape(self.graph.shape))
            else:
                np.take((x_all @ g_all.T).ravel(), self._flat, out=self.weight_grad)
            if grad_xt is not None:
                _dense_product(dense, g_all, grad_xt, self.n_in)
        if grad_xt is not None and activation is not None:
            activation.backprop(xt, grad_xt)
        if grad_xt is not None and input_grad_sums is not None:
            _row_sums(grad_xt, input_grad_sums)
        return grad_xt

    def __repr__(self):
        path = "dense" if self.uses_dense else "sparse"
        return (
            f"SparseLinear(n_in={self.n_in}, n_out={self.n_out}, n_edges={self.n_edges}, "
            f"dtype={self.dtype.name}, path={path!r})"
        )
