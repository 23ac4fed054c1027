"""One figure of a layer graph: its edge pattern, degree histograms and singular values.

Drawn with matplotlib's Agg canvas on a standalone :class:`~matplotlib.figure.Figure`
(no pyplot, no display, no global figure state). The cost grows with the number of
edges: the pattern is binned into at most 500 x 500 cells and the spectrum comes
from the Gram matrix of the smaller side, so no dense ``n_in x n_out`` array is made.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from topokit._atomic import replacing
from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.spectrum import ramanujan_bound, top_singular_values

__all__ = ["check_figure_path", "draw_layer"]

_MAX_CELLS = 500  # the pattern panel shows at most this many cells per side
_SCATTER_EDGES = 20_000  # up to this many edges, one marker per edge
_DENSE_SPECTRUM_SIDE = 2000  # all singular values when the smaller side is at most this
_TOP_SINGULAR_VALUES = 50  # otherwise the largest this many

_FORMATS = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".eps")  # picked by the path's suffix

_FAN_IN_COLOR = "#1f77b4"
_FAN_OUT_COLOR = "#2ca02c"


def draw_layer(graph: LayerGraph, path=None):
    """Draw one layer graph: edge pattern, fan-in/fan-out histograms, singular values.

    Panels: (a) the biadjacency pattern (one marker per edge for small graphs, else
    the fraction of edges present in each of at most 500 x 500 cells); (b) and (c)
    histograms of the fan-in of the outputs and the fan-out of the inputs; (d) the
    singular values of the biadjacency B (all of them when the smaller side has at
    most 2000 neurons, else the largest 50), marking lambda1, lambda2 and the
    Ramanujan bound ``sqrt(E/n_in - 1) + sqrt(E/n_out - 1)``.

    Parameters
    ----------
    graph : LayerGraph
        The layer to draw.
    path : str or os.PathLike, optional
        Where to save the figure; the suffix picks the format (``.png``, ``.svg``,
        ``.pdf``, ``.jpg``, ``.jpeg`` or ``.eps``). Not saved when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, on an Agg canvas.

    Raises
    ------
    TopokitError
        If ``graph`` is not a LayerGraph or ``path`` has another suffix.
    OSError
        If the file cannot be written.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.graph import LayerGraph
    >>> from topokit.draw import draw_layer
    >>> figure = draw_layer(LayerGraph(np.eye(4)))
    >>> [axes.get_title(loc="left") for axes in figure.axes[:4]]
    ['(a) edge pattern', '(b) fan-in', '(c) fan-out', '(d) singular values of B']
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(graph, LayerGraph):
        raise TopokitError(f"graph must be a LayerGraph, got {type(graph).__name__}")
    if path is not None:
        check_figure_path(path)
    figure = Figure(figsize=(12, 8.5), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(2, 2)
    pattern_axes = figure.add_subplot(grid[0, 0])
    fan_in_axes = figure.add_subplot(grid[1, 0])
    fan_out_axes = figure.add_subplot(grid[1, 1])
    spectrum_axes = figure.add_subplot(grid[0, 1])
    _draw_pattern(pattern_axes, graph)
    _draw_degrees(fan_in_axes, graph.fan_in, "fan-in", "output", "inputs", _FAN_IN_COLOR)
    _draw_degrees(fan_out_axes, graph.fan_out, "fan-out", "input", "outputs", _FAN_OUT_COLOR)
    fan_in_axes.set_title("(b) fan-in", loc="left", fontweight="bold")
    fan_out_axes.set_title("(c) fan-out", loc="left", fontweight="bold")
    _draw_spectrum(spectrum_axes, graph)
    figure.suptitle(_title(graph), fontsize=14)
    if path is not None:
        # the suffix picks the format; an interrupted save keeps the previous file
        with replacing(path) as file:
            figure.savefig(file, dpi=150, format=os.path.splitext(os.fspath(path))[1][1:].lower())
    return figure


def check_figure_path(path) -> None:
    """Check that ``path`` ends in an image suffix that :func:`draw_layer` writes.

    The suffix (any case) picks the format: ``.png``, ``.svg``, ``.pdf``, ``.jpg``,
    ``.jpeg`` or ``.eps``. The command line checks its ``--output`` with this before it
    builds or reads a graph.

    Parameters
    ----------
    path : str or os.PathLike
        Where a figure is to be saved.

    Raises
    ------
    TopokitError
        If the suffix is none of those; the message lists them.

    Examples
    --------
    >>> from topokit import TopokitError
    >>> from topokit.draw import check_figure_path
    >>> check_figure_path("layer.PNG")
    >>> try:
    ...     check_figure_path("layer.txt")
    ... except TopokitError as exc:
    ...     print(exc)
    figure path must end in .png, .svg, .pdf, .jpg, .jpeg, .eps, got 'layer.txt'
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in _FORMATS:
        raise TopokitError(
            f"figure path must end in {', '.join(_FORMATS)}, got {os.fspath(path)!r}"
        )


def _title(graph: LayerGraph) -> str:
    family = graph.family or "layer graph"
    return (
        f"{family}: {graph.n_in:,} inputs → {graph.n_out:,} outputs, "
        f"{graph.n_edges:,} edges, density {graph.density:.3g}"
    )


# ---------------------------------------------------------------- (a) pattern
def _binned_pattern(graph: LayerGraph, max_cells: int = _MAX_CELLS):
    """Fraction of the possible edges present in each cell of a coarse grid.

    Inputs are split into ``min(n_in, max_cells)`` consecutive groups of nearly
    equal size (rows), outputs likewise (columns). Cost O(E + n_in + n_out).

    Returns
    -------
    fraction : ndarray of shape (row_cells, column_cells)
        Edges in the cell over the neuron pairs in it (exactly B when both sides
        have at most ``max_cells`` neurons).
    counts : ndarray of int64, same shape
        Edges in each cell.
    """
    rows, columns = graph.edges()
    row_cell, row_sizes = _groups(graph.n_in, max_cells)
    column_cell, column_sizes = _groups(graph.n_out, max_cells)
    n_columns = column_sizes.size
    flat = row_cell[rows] * n_columns + column_cell[columns]
    counts = np.bincount(flat, minlength=row_sizes.size * n_columns).reshape(
        row_sizes.size, n_columns
    )
    fraction = counts / np.outer(row_sizes, column_sizes)
    return fraction, counts


def _groups(n: int, max_cells: int):
    """Cell of each of ``n`` neurons split into ``min(n, max_cells)`` runs, and run sizes."""
    cells = min(n, max_cells)
    cell = (np.arange(n, dtype=np.int64) * cells) // n
    return cell, np.bincount(cell, minlength=cells)


def _draw_pattern(axes, graph: LayerGraph) -> None:
    from matplotlib.colors import PowerNorm

    axes.set_title("(a) edge pattern", loc="left", fontweight="bold")
    if graph.n_edges <= _SCATTER_EDGES:
        rows, columns = graph.edges()
        cell_points = 330 / max(graph.n_in, graph.n_out)  # axes are about 330 points tall
        size = float(np.clip(cell_points**2, 0.6, 40.0))
        axes.scatter(columns + 0.5, rows + 0.5, s=size, marker="s", linewidths=0, color="black")
        axes.set_xlim(0, graph.n_out)
        axes.set_ylim(graph.n_in, 0)
        axes.set_title("one square per edge", loc="right", fontsize=9)
    else:
        fraction, _ = _binned_pattern(graph)
        top = max(float(fraction.max()), 1e-12)
        image = axes.imshow(
            fraction,
            cmap="Greys",
            norm=PowerNorm(gamma=0.4, vmin=0.0, vmax=top),  # faint cells stay visible
            extent=(0, graph.n_out, graph.n_in, 0),
            aspect="auto",
            interpolation="nearest",
        )
        colorbar = axes.figure.colorbar(image, ax=axes, fraction=0.05, pad=0.01, aspect=30)
        colorbar.set_label("fraction of pairs joined")
        rows, columns = fraction.shape
        axes.set_title(f"binned into {rows} × {columns} cells", loc="right", fontsize=9)
    axes.set_xlabel("output neuron j")
    axes.set_ylabel("input neuron i")


# ---------------------------------------------------------------- (b, c) degrees
def _draw_degrees(axes, degrees, name: str, side: str, other: str, color: str) -> None:
    from matplotlib.ticker import MaxNLocator

    low, high = int(degrees.min()), int(degrees.max())
    bins = np.arange(low - 0.5, high + 1.5) if high - low <= 60 else 60
    axes.hist(degrees, bins=bins, color=color, edgecolor="white", linewidth=0.5)
    mean = float(degrees.mean())
    axes.axvline(mean, color="black", linestyle="--", linewidth=1, label=f"mean {mean:.3g}")
    axes.legend(loc="upper right", fontsize=9)
    axes.set_title(
        f"{degrees.size:,} {side}s: min {low}, mean {mean:.3g}, max {high}",
        loc="right",
        fontsize=9,
    )
    axes.set_xlabel(f"{name} ({other} per {side} neuron)")
    axes.set_ylabel(f"number of {side} neurons")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if high - low <= 12:
        axes.set_xticks(range(low, high + 1))
    else:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))


# ---------------------------------------------------------------- (d) spectrum
def _singular_values(biadjacency, *, dense_side=_DENSE_SPECTRUM_SIDE, top=_TOP_SINGULAR_VALUES):
    """Singular values of ``biadjacency`` in decreasing order, and whether they are all.

    All of them, from a dense eigendecomposition of the Gram matrix of the smaller
    side, when that side has at most ``dense_side`` neurons; else the largest
    ``top`` from :func:`topokit.spectrum.top_singular_values`.

    Returns
    -------
    values : ndarray of shape (k,)
    complete : bool
    """
    n_in, n_out = biadjacency.shape
    small = min(n_in, n_out)
    if small <= dense_side:
        gram = biadjacency.T @ biadjacency if n_in >= n_out else biadjacency @ biadjacency.T
        eigenvalues = np.linalg.eigvalsh(gram.toarray())[::-1]
        return np.sqrt(np.clip(eigenvalues, 0.0, None)), True
    with _one_blas_thread():
        return top_singular_values(biadjacency, k=min(top, small)), False


def _one_blas_thread():
    """Run ARPACK's BLAS-2 steps on one thread: measured 4.3 s against 43-59 s with the
    default threads on a busy 2-core machine (20,000 x 20,000 layer, top 50)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional speed-up (threadpoolctl comes with scikit-learn)
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _draw_spectrum(axes, graph: LayerGraph) -> None:
    values, complete = _singular_values(graph.biadjacency)
    index = np.arange(1, values.size + 1)
    style = {"marker": "o", "markersize": 3} if values.size <= 100 else {}
    axes.plot(index, values, color="0.35", linewidth=1, **style)
    for k, color in ((0, "#d62728"), (1, "#ff7f0e")):
        if k < values.size:
            axes.plot(
                index[k],
                values[k],
                "o",
                markersize=9,
                color=color,
                label=f"λ{k + 1} = {values[k]:.4g}",
                zorder=3,
            )
    bound = ramanujan_bound(graph.n_in, graph.n_out, graph.n_edges)
    if graph.n_edges:
        axes.axhline(
            bound,
            color="#9467bd",
            linestyle="--",
            linewidth=1.2,
            label=f"Ramanujan bound √(E/n_in−1)+√(E/n_out−1) = {bound:.4g}",
        )
    axes.legend(loc="best", fontsize=9)
    axes.set_title("(d) singular values of B", loc="left", fontweight="bold")
    shown = f"all {values.size:,}" if complete else f"largest {values.size} of {min(graph.shape):,}"
    axes.set_title(shown, loc="right", fontsize=9)
    axes.set_xlabel("index k")
    axes.set_ylabel("singular value σ_k")
    axes.set_xlim(0, values.size + 1)
    axes.set_ylim(bottom=0)
