"""PyTorch hand-off: a Topology as pruning masks, a layer as a sparse CSR tensor, and back.

Needs PyTorch (``pip install 'topokit[torch]'``). The masks go through
``torch.nn.utils.prune.custom_from_mask``, so a masked model follows the convention
PyTorch users know: each ``nn.Linear`` keeps its trainable ``weight_orig`` and a
``weight_mask`` buffer, and a forward pre-hook sets ``weight = weight_orig * weight_mask``.

Shapes: topokit's layer ``k`` has a biadjacency of shape (n_in, n_out) (``X @ W``);
``nn.Linear.weight`` has shape (out_features, in_features) (``X @ W.T``). Every
function here takes care of the transpose.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn.utils import prune

from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.interop import _state_dict
from topokit.interop._patterns import as_matrix, pattern_layer
from topokit.topology import Topology

__all__ = ["apply_topology", "to_sparse_csr", "topology_from_model", "topology_from_state_dict"]

# topokit.nn (numba, scikit-learn: about a second) is imported inside to_sparse_csr, the
# one function that takes a SparseLinear, so that masking a PyTorch model does not load it.


# ---------------------------------------------------------------- helpers
def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TopokitError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _linear_layers(model, modules) -> list[tuple[str, nn.Linear]]:
    """``(name, module)`` of the layers to use: ``modules`` or every nn.Linear in order."""
    _check_model(model)
    names = {id(module): name or "<model>" for name, module in model.named_modules()}
    if modules is None:
        return [(names[id(m)], m) for m in model.modules() if isinstance(m, nn.Linear)]
    modules = list(modules)
    for k, module in enumerate(modules):
        if not isinstance(module, nn.Linear):
            raise TopokitError(
                f"modules[{k}] must be a torch.nn.Linear, got {type(module).__name__}"
            )
    seen = {}
    for k, module in enumerate(modules):
        if id(module) in seen:
            raise TopokitError(
                f"modules[{k}] is the same nn.Linear as modules[{seen[id(module)]}]; "
                f"each layer may appear once"
            )
        seen[id(module)] = k
    return [(names.get(id(m), f"modules[{k}]"), m) for k, m in enumerate(modules)]


def _describe(name: str, module: nn.Linear) -> str:
    sizes = f"in_features={module.in_features}, out_features={module.out_features}"
    return f"nn.Linear {name!r} ({sizes})"


def _mask(layer: LayerGraph, weight: torch.Tensor) -> torch.Tensor:
    """Bool mask of ``weight``'s shape (n_out, n_in), True on the layer's edges."""
    inputs, outputs = layer.edges()
    mask = torch.zeros(weight.shape, dtype=torch.bool, device=weight.device)
    rows = torch.from_numpy(outputs).to(weight.device)
    cols = torch.from_numpy(inputs).to(weight.device)
    mask[rows, cols] = True
    return mask


def _rescale_factors(layer: LayerGraph, weight: torch.Tensor) -> torch.Tensor:
    """``sqrt(in_features / fan_in)`` per output neuron (1 where fan_in is 0), shape (n_out, 1)."""
    fan_in = layer.fan_in.astype(np.float64)
    factor = np.ones_like(fan_in)
    connected = fan_in > 0
    factor[connected] = np.sqrt(layer.n_in / fan_in[connected])
    return torch.as_tensor(factor, dtype=weight.dtype, device=weight.device)[:, None]


# ------------------------------------------------------------- masks out
def apply_topology(model, topology, *, modules=None, rescale=False) -> list[nn.Linear]:
    """Mask a model's ``nn.Linear`` layers with a topology's layer graphs.

    Layer ``k`` of ``topology`` masks the ``k``-th ``nn.Linear`` of ``model.modules()``
    (or ``modules[k]``) through ``torch.nn.utils.prune.custom_from_mask``: the module
    gets a trainable parameter ``weight_orig``, a buffer ``weight_mask`` (the layer's
    biadjacency transposed, of shape (out_features, in_features)) and a forward
    pre-hook that sets ``weight = weight_orig * weight_mask``. Masked entries therefore
    stay zero through training, whatever the optimizer. Biases are left as they are.

    Parameters
    ----------
    model : torch.nn.Module
    topology : Topology or LayerGraph
        One layer graph per linear layer; a LayerGraph counts as a one-layer topology.
    modules : sequence of torch.nn.Linear, optional
        The layers to mask, in topology order, instead of every ``nn.Linear`` of
        ``model`` in ``model.modules()`` order.
    rescale : bool, default False
        Whether to multiply each output neuron's weights by
        ``sqrt(in_features / fan_in)``, its dense fan-in over its fan-in in the
        topology, so that at initialisation its pre-activation has the variance it had
        in the dense layer (for weights drawn i.i.d. with zero mean, as PyTorch's
        default initialisation does). Outputs with no input are left as they are. By
        default no weight is changed: the mask only hides entries.

    Returns
    -------
    list of torch.nn.Linear
        The masked layers, in topology order.

    Raises
    ------
    TopokitError
        If the number of linear layers differs from the number of topology layers, a
        layer's weight does not have shape (n_out, n_in) of its topology layer (the
        message names the layer, the expected and the actual shape), a module is
        already pruned, or an argument has the wrong type. Everything is checked
        before any module is changed: on error the model is untouched.

    Examples
    --------
    >>> import torch
    >>> from topokit import Topology
    >>> from topokit.interop.torch import apply_topology
    >>> model = torch.nn.Sequential(
    ...     torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    >>> top = Topology.build([64, 32, 10], "ramanujan", degree=8, rng=0)
    >>> layers = apply_topology(model, top)
    >>> [int(layer.weight_mask.sum()) for layer in layers] == [g.n_edges for g in top]
    True
    >>> layers[0].weight_mask.shape    # (out_features, in_features)
    torch.Size([32, 64])
    """
    if isinstance(topology, LayerGraph):
        topology = Topology([topology])
    if not isinstance(topology, Topology):
        raise TopokitError(
            f"topology must be a Topology or LayerGraph, got {type(topology).__name__}"
        )
    layers = _linear_layers(model, modules)
    if len(layers) != len(topology):
        where = "modules" if modules is not None else "model"
        raise TopokitError(
            f"{where} has {len(layers)} nn.Linear layers but the topology has "
            f"{len(topology)} layers (sizes {topology.sizes}); they must match one to one"
        )
    for k, ((name, module), graph) in enumerate(zip(layers, topology, strict=True)):
        expected = (graph.n_out, graph.n_in)
        actual = tuple(module.weight.shape)
        if actual != expected:
            raise TopokitError(
                f"layer {k}, {_describe(name, module)}: topology layer {k} maps "
                f"{graph.n_in} -> {graph.n_out} neurons, so the weight must have shape "
                f"(out_features, in_features) = {expected}, got {actual}"
            )
        if prune.is_pruned(module):
            raise TopokitError(
                f"layer {k}, {_describe(name, module)}, is already pruned; a second mask "
                f"would multiply into the first. Remove it first with "
                f"torch.nn.utils.prune.remove(module, 'weight')"
            )
    for (_, module), graph in zip(layers, topology, strict=True):
        mask = _mask(graph, module.weight)
        if rescale:
            with torch.no_grad():
                module.weight.mul_(_rescale_factors(graph, module.weight))
        prune.custom_from_mask(module, "weight", mask)
    return [module for _, module in layers]


# ------------------------------------------------------------ tensors out
def to_sparse_csr(layer, weights=None, *, dtype=torch.float32) -> torch.Tensor:
    """A layer's weights as a torch sparse CSR tensor of shape (n_out, n_in).

    The tensor follows ``nn.Linear.weight``'s convention, so for inputs ``x`` of shape
    (batch, n_in), ``(t @ x.T).T`` (or ``torch.sparse.mm(t, x.T).T``, or
    ``torch.nn.functional.linear(x, t)``) is topokit's ``x @ W``. It is built from
    the CSR arrays directly, in time and memory that grow with the number of edges;
    nothing is densified.

    Parameters
    ----------
    layer : LayerGraph or topokit.nn.SparseLinear
        A layer graph (values 1, or ``weights``) or a trained SparseLinear (its
        ``weight_data``).
    weights : array_like of shape (n_edges,), optional
        For a LayerGraph: the value of each edge, aligned with the stored entries of
        ``layer.biadjacency`` in row-major order (as ``SparseLinear.weight_data``).
        Not allowed with a SparseLinear.
    dtype : torch.dtype, default torch.float32
        A floating-point dtype for the values.

    Returns
    -------
    torch.Tensor
        Sparse CSR (``layout=torch.sparse_csr``) of shape (n_out, n_in), int64 indices.

    Raises
    ------
    TopokitError
        For a ``layer`` of another type, ``weights`` of the wrong shape or given with a
        SparseLinear, or a non-floating ``dtype``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from topokit import LayerGraph
    >>> from topokit.interop.torch import to_sparse_csr
    >>> g = LayerGraph(np.array([[1, 0], [1, 1], [0, 1]]))    # 3 inputs, 2 outputs
    >>> t = to_sparse_csr(g, weights=[1.0, 2.0, 3.0, 4.0])
    >>> t.shape, t.layout
    (torch.Size([2, 3]), torch.sparse_csr)
    >>> t.to_dense()
    tensor([[1., 2., 0.],
            [0., 3., 4.]])
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TopokitError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    if isinstance(layer, LayerGraph):
        graph = layer
        values = np.ones(graph.n_edges) if weights is None else np.asarray(weights)
        if values.shape != (graph.n_edges,):
            raise TopokitError(
                f"weights must have shape (n_edges,) = ({graph.n_edges},), one value per "
                f"stored entry of layer.biadjacency in row-major order, got shape {values.shape}"
            )
    else:
        from topokit.nn import SparseLinear

        if not isinstance(layer, SparseLinear):
            raise TopokitError(
                f"layer must be a LayerGraph or a topokit.nn.SparseLinear, "
                f"got {type(layer).__name__}"
            )
        if weights is not None:
            raise TopokitError(
                "weights must be None for a SparseLinear: its own weight_data are exported"
            )
        graph, values = layer.graph, layer.weight_data
    csr = graph.biadjacency
    transposed = sp.csr_array((values, csr.indices, csr.indptr), shape=csr.shape).T.tocsr()
    transposed.sort_indices()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(transposed.indptr.astype(np.int64)),
            torch.from_numpy(transposed.indices.astype(np.int64)),
            torch.as_tensor(transposed.data, dtype=dtype),
            size=transposed.shape,
            check_invariants=True,
        )


# ----------------------------------------------------------- masks back in
def topology_from_model(model, *, modules=None) -> Topology:
    """The Topology of a model's ``nn.Linear`` layers: their masks, or nonzero weights.

    A layer pruned with ``torch.nn.utils.prune`` (it has a ``weight_mask``) gives the
    mask's nonzero pattern; any other layer the nonzero pattern of its ``weight``.
    Layers are taken in ``model.modules()`` order (or ``modules``) and must form a
    chain, each taking the previous one's outputs, as in a plain MLP.

    Parameters
    ----------
    model : torch.nn.Module
    modules : sequence of torch.nn.Linear, optional
        The layers to read, in order, instead of every ``nn.Linear`` of ``model``.

    Returns
    -------
    Topology
        Layer k's biadjacency is the pattern of layer k's weight transposed, of shape
        (in_features, out_features).

    Raises
    ------
    TopokitError
        If there is no linear layer, or a layer's ``in_features`` differs from the
        previous layer's ``out_features`` (the message names both).

    Examples
    --------
    >>> import torch
    >>> from topokit import Topology
    >>> from topokit.interop.torch import apply_topology, topology_from_model
    >>> model = torch.nn.Sequential(
    ...     torch.nn.Linear(20, 12), torch.nn.Tanh(), torch.nn.Linear(12, 3))
    >>> top = Topology.build([20, 12, 3], "erdos_renyi", density=0.3, rng=1)
    >>> _ = apply_topology(model, top)
    >>> topology_from_model(model) == top
    True
    """
    layers = _linear_layers(model, modules)
    if not layers:
        raise TopokitError(f"model has no nn.Linear layers ({type(model).__name__})")
    for k in range(1, len(layers)):
        (before_name, before), (name, module) = layers[k - 1], layers[k]
        if module.in_features != before.out_features:
            raise TopokitError(
                f"{_describe(name, module)} does not take the outputs of the layer before it, "
                f"{_describe(before_name, before)}: topology_from_model needs the linear "
                f"layers to chain in order, as in an MLP (pass modules=[...] to choose them)"
            )
    graphs = []
    for name, module in layers:
        mask = getattr(module, "weight_mask", None)
        source = mask if isinstance(mask, torch.Tensor) else module.weight
        pattern = as_matrix(source, f"nn.Linear {name!r}")
        graphs.append(pattern_layer(pattern, "out_in", f"nn.Linear {name!r}"))
    return Topology(graphs)


def topology_from_state_dict(state_dict) -> Topology:
    """The Topology of the linear layers in a PyTorch state dict.

    For each module, in state-dict order, the first present of
    ``<name>.weight_mask`` (a module pruned with ``torch.nn.utils.prune``),
    ``<name>.weight_orig`` and ``<name>.weight`` gives the layer: its nonzero pattern,
    read as (out_features, in_features). Biases and buffers are ignored, 1-D weights
    (normalisation layers) are skipped.

    Parameters
    ----------
    state_dict : mapping of str to torch.Tensor
        ``model.state_dict()`` (numpy arrays work too).

    Returns
    -------
    Topology

    Raises
    ------
    TopokitError
        If ``state_dict`` is not a mapping, holds no 2-D weight, holds a weight of more
        than two dimensions (a convolution: the message names the key; a topology
        without that layer would be silently wrong, so it is not skipped), or the
        layers do not chain.

    Examples
    --------
    >>> import torch
    >>> from topokit import Topology
    >>> from topokit.interop.torch import apply_topology, topology_from_state_dict
    >>> model = torch.nn.Sequential(torch.nn.Linear(10, 6), torch.nn.Linear(6, 2))
    >>> top = Topology.build([10, 6, 2], "biregular", degree=3, rng=0)
    >>> _ = apply_topology(model, top)
    >>> sorted(model.state_dict())
    ['0.bias', '0.weight_mask', '0.weight_orig', '1.bias', '1.weight_mask', '1.weight_orig']
    >>> topology_from_state_dict(model.state_dict()) == top
    True
    """
    return _state_dict.topology_from_state_dict(state_dict)
