"""PyTorch hand-off: masks from a Topology, sparse CSR tensors, and masks read back."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.nn.utils import prune  # noqa: E402

from topokit import LayerGraph, TopokitError, Topology  # noqa: E402
from topokit.interop.torch import (  # noqa: E402
    apply_topology,
    to_sparse_csr,
    topology_from_model,
    topology_from_state_dict,
)
from topokit.interop.weights import read_weights, topology_from_weights  # noqa: E402
from topokit.nn import SparseLinear  # noqa: E402


def _mlp(sizes, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    layers = []
    for k, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b, dtype=dtype))
        if k < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _dense_masks(topology):
    """Each layer's mask as a numpy bool array of nn.Linear's shape (out, in)."""
    return [layer.biadjacency.toarray().T != 0 for layer in topology]


TOPOLOGIES = {
    "erdos_renyi": lambda: Topology.build([30, 20, 10], "erdos_renyi", density=0.3, rng=0),
    "ramanujan": lambda: Topology.build([40, 24, 12, 4], "ramanujan", degree=6, rng=1),
    "projective_plane": lambda: Topology.build([13, 13, 13], "projective_plane", q=3),
    "mixed": lambda: Topology.build(
        [16, 8, 3], ["small_world", "dense"], density=[0.25, None], p=0.2, rng=2
    ),
}


# ---------------------------------------------------------------- masks out
@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_forward_equals_dense_matmul_with_masked_weight(name):
    top = TOPOLOGIES[name]()
    model = _mlp(top.sizes)
    originals = [m.weight.detach().numpy().copy() for m in model if isinstance(m, nn.Linear)]
    biases = [m.bias.detach().numpy().copy() for m in model if isinstance(m, nn.Linear)]
    apply_topology(model, top)
    x = torch.randn(
        7, top.sizes[0], dtype=torch.float64, generator=torch.Generator().manual_seed(5)
    )
    # numpy oracle: x @ (W * mask).T + b with ReLU between layers
    h = x.numpy()
    masks = _dense_masks(top)
    for k, (weight, bias, mask) in enumerate(zip(originals, biases, masks, strict=True)):
        h = h @ (weight * mask).T + bias
        if k < len(masks) - 1:
            h = np.maximum(h, 0)
    out = model(x).detach().numpy()
    np.testing.assert_allclose(out, h, rtol=1e-12, atol=1e-12)
    # and exactly what the same torch op gives with the masked dense weight
    first = model[0]
    expected = nn.functional.linear(x, first.weight_orig * torch.from_numpy(masks[0]), first.bias)
    assert torch.equal(first(x), expected)


def test_weights_are_left_as_they_were():
    top = TOPOLOGIES["erdos_renyi"]()
    model = _mlp(top.sizes)
    before = [m.weight.detach().clone() for m in model if isinstance(m, nn.Linear)]
    layers = apply_topology(model, top)
    for layer, weight in zip(layers, before, strict=True):
        assert torch.equal(layer.weight_orig.detach(), weight)
        assert prune.is_pruned(layer)
        assert set(dict(layer.named_buffers())) == {"weight_mask"}


def test_rescale_multiplies_by_dense_over_sparse_fan_in():
    # output 2 has no input: left as it is
    graph = LayerGraph(np.array([[1, 1, 0], [0, 1, 0], [0, 1, 0], [1, 1, 0]]))
    model = _mlp([4, 3])
    before = model[0].weight.detach().clone()
    apply_topology(model, graph, rescale=True)
    factor = torch.tensor([np.sqrt(4 / 2), np.sqrt(4 / 4), 1.0], dtype=torch.float64)
    torch.testing.assert_close(
        model[0].weight_orig.detach(), before * factor[:, None], rtol=1e-15, atol=0
    )


def test_rescale_keeps_the_dense_preactivation_variance():
    torch.manual_seed(0)
    layer = nn.Linear(2000, 400)
    nn.init.normal_(layer.weight, std=1.0)
    graph = Topology.build([2000, 400], "left_regular", degree=50, rng=0)[0]
    apply_topology(nn.Sequential(layer), graph, rescale=True)
    x = torch.randn(256, 2000)
    with torch.no_grad():
        variance = (layer(x) - layer.bias).var().item()
    assert variance == pytest.approx(2000.0, rel=0.05)  # the dense layer's: in_features * 1


@pytest.mark.parametrize("optimizer", ["sgd", "adam_weight_decay"])
def test_masked_entries_stay_zero_through_training(optimizer):
    top = TOPOLOGIES["ramanujan"]()
    model = _mlp(top.sizes, dtype=torch.float32)
    layers = apply_topology(model, top)
    masks = [torch.from_numpy(m) for m in _dense_masks(top)]
    before = [layer.weight_orig.detach().clone() for layer in layers]
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=0.1, weight_decay=0.1)
    x, y = torch.randn(32, top.sizes[0]), torch.randint(0, top.sizes[-1], (32,))
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        for layer, mask in zip(layers, masks, strict=True):
            assert torch.count_nonzero(layer.weight_orig.grad[~mask]) == 0
            assert torch.count_nonzero(layer.weight_orig.grad[mask]) > 0
        opt.step()
    model(x)  # the pre-hook recomputes weight = weight_orig * weight_mask
    for layer, mask, start in zip(layers, masks, before, strict=True):
        assert torch.count_nonzero(layer.weight[~mask]) == 0
        assert not torch.equal(layer.weight_orig[mask], start[mask])  # it did train
        if optimizer == "sgd":  # no gradient and no decay: the hidden entries never move
            assert torch.equal(layer.weight_orig.detach()[~mask], start[~mask])


def test_explicit_modules_skip_other_linear_layers():
    model = _mlp([12, 10, 8, 4])
    top = Topology.build([10, 8, 4], "erdos_renyi", density=0.5, rng=0)
    layers = apply_topology(model, top, modules=[model[2], model[4]])
    assert layers == [model[2], model[4]]
    assert not prune.is_pruned(model[0])
    assert topology_from_model(model, modules=[model[2], model[4]]) == top


# ------------------------------------------------------------ errors, untouched
def _unpruned(model):
    return not any(prune.is_pruned(m) for m in model.modules() if isinstance(m, nn.Linear))


@pytest.mark.parametrize(
    ("sizes", "top_sizes", "match"),
    [
        pytest.param([6, 5, 4], [6, 5], r"model has 2 nn.Linear layers but the topology has 1 "
                     r"layers \(sizes \[6, 5\]\)", id="count"),
        pytest.param([6, 5, 4], [6, 5, 3], r"layer 1, nn.Linear '2' \(in_features=5, "
                     r"out_features=4\): topology layer 1 maps 5 -> 3 neurons, so the weight "
                     r"must have shape \(out_features, in_features\) = \(3, 5\), got \(4, 5\)",
                     id="shape"),
        pytest.param([6, 5, 4], [5, 6, 4], r"layer 0, nn.Linear '0' .* = \(6, 5\), got \(5, 6\)",
                     id="transposed"),
    ],
)  # fmt: skip
def test_mismatch_names_the_layer_and_changes_nothing(sizes, top_sizes, match):
    model = _mlp(sizes)
    state = {key: value.clone() for key, value in model.state_dict().items()}
    top = Topology.build(top_sizes, "dense")
    with pytest.raises(TopokitError, match=match):
        apply_topology(model, top)
    assert _unpruned(model)
    assert model.state_dict().keys() == state.keys()
    assert all(torch.equal(model.state_dict()[key], value) for key, value in state.items())


def test_already_pruned_module_is_refused():
    model = _mlp([6, 5, 4])
    prune.random_unstructured(model[2], "weight", amount=0.5)
    with pytest.raises(TopokitError, match=r"layer 1, nn.Linear '2' .* is already pruned"):
        apply_topology(model, Topology.build([6, 5, 4], "dense"))
    assert not prune.is_pruned(model[0])  # the first layer was checked, not masked


@pytest.mark.parametrize(
    ("model", "topology", "modules", "match"),
    [
        pytest.param("not a model", None, None, "model must be a torch.nn.Module, got str",
                     id="model-type"),
        pytest.param(None, "dense", None, "topology must be a Topology or LayerGraph, got str",
                     id="topology-type"),
        pytest.param(None, None, ["relu"], r"modules\[0\] must be a torch.nn.Linear, got ReLU",
                     id="modules-type"),
        pytest.param(None, None, ["twice"], r"modules\[1\] is the same nn.Linear as modules\[0\]",
                     id="modules-twice"),
    ],
)  # fmt: skip
def test_argument_errors(model, topology, modules, match):
    net = _mlp([4, 3, 2])
    model = net if model is None else model
    topology = Topology.build([4, 3, 2], "dense") if topology is None else topology
    if modules == ["relu"]:
        modules = [net[1], net[2]]
    elif modules == ["twice"]:
        modules = [net[0], net[0]]
    with pytest.raises(TopokitError, match=match):
        apply_topology(model, topology, modules=modules)


# ------------------------------------------------------------ masks read back
@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_round_trip_through_masks(name):
    top = TOPOLOGIES[name]()
    model = _mlp(top.sizes)
    apply_topology(model, top)
    assert topology_from_model(model) == top
    assert topology_from_state_dict(model.state_dict()) == top


@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_round_trip_through_a_saved_state_dict(name, tmp_path):
    top = TOPOLOGIES[name]()
    model = _mlp(top.sizes)
    apply_topology(model, top)
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    assert read_weights(path) == top


def test_plain_weights_give_their_nonzero_pattern():
    model = _mlp([9, 7, 3])
    with torch.no_grad():
        model[0].weight[model[0].weight.abs() < 0.1] = 0
        model[2].weight[:, 1] = 0
    expected = Topology(
        [LayerGraph((m.weight.detach().numpy().T != 0).astype(float)) for m in (model[0], model[2])]
    )
    assert topology_from_model(model) == expected
    assert topology_from_state_dict(model.state_dict()) == expected
    assert expected[1].fan_out[1] == 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.bool])
def test_topology_from_weights_takes_tensors(dtype):
    weights = [torch.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, 0.0]]), torch.tensor([[1.0, 0.0]])]
    given = [w.clone().to(dtype).requires_grad_(dtype != torch.bool) for w in weights]
    top = topology_from_weights(given)
    expected = [LayerGraph(w.numpy().T != 0) for w in weights]  # found to be (out, in)
    assert top == Topology(expected)


def test_state_dict_skips_norm_layers_and_prefers_masks():
    model = nn.Sequential(nn.Linear(10, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    top = Topology.build([10, 8, 2], "biregular", degree=4, rng=3)
    apply_topology(model, top)
    assert topology_from_state_dict(model.state_dict()) == top


def test_checkpoint_dict_is_read_from_its_state_dict(tmp_path):
    top = TOPOLOGIES["erdos_renyi"]()
    model = _mlp(top.sizes)
    apply_topology(model, top)
    path = tmp_path / "checkpoint.pth"
    torch.save({"epoch": 3, "model_state_dict": model.state_dict()}, path)
    assert read_weights(path) == top


def test_model_whose_layers_do_not_chain():
    model = nn.Sequential(nn.Linear(6, 5), nn.Linear(4, 3))
    match = (
        r"nn.Linear '1' \(in_features=4, out_features=3\) does not take the outputs of the "
        r"layer before it, nn.Linear '0'"
    )
    with pytest.raises(TopokitError, match=match):
        topology_from_model(model)


def test_model_without_linear_layers():
    with pytest.raises(TopokitError, match=r"model has no nn\.Linear layers"):
        topology_from_model(nn.Sequential(nn.ReLU()))


@pytest.mark.parametrize(
    ("state_dict", "match"),
    [
        pytest.param({"conv.weight": torch.ones(4, 3, 3, 3), "fc.weight": torch.ones(2, 4)},
                     r"state dict entry 'conv.weight' has shape \(4, 3, 3, 3\): only 2-D",
                     id="conv"),
        pytest.param({"fc.bias": torch.ones(3)}, "state_dict has no 2-D weights", id="no-weights"),
        pytest.param([torch.ones(2, 2)], "state_dict must be a mapping", id="list"),
        pytest.param({"a.weight": torch.ones(3, 4), "b.weight": torch.ones(2, 5)},
                     r"entry 'b.weight' of shape \(2, 5\) takes 5 inputs but entry 'a.weight' "
                     r"of shape \(3, 4\) gives 3 outputs",
                     id="no-chain"),
    ],
)  # fmt: skip
def test_state_dict_errors(state_dict, match):
    with pytest.raises(TopokitError, match=match):
        topology_from_state_dict(state_dict)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param("model", r"holds pickled Python objects \(a whole model\?\).*"
                     r"torch.save\(model.state_dict\(\), path\)", id="whole-model"),
        pytest.param("garbage", "cannot read '.*' as a PyTorch file", id="garbage"),
        pytest.param("tensor", "holds a Tensor, not a state dict", id="tensor"),
        pytest.param("dict", "holds a dict that is not a state dict", id="other-dict"),
    ],
)  # fmt: skip
def test_bad_pytorch_files(tmp_path, content, match):
    path = tmp_path / "file.pt"
    if content == "model":
        torch.save(_mlp([3, 2]), path)
    elif content == "garbage":
        path.write_bytes(b"this is not a PyTorch file")
    elif content == "tensor":
        torch.save(torch.eye(3), path)
    else:
        torch.save({"epoch": 1, "weights": [torch.eye(2)]}, path)
    with pytest.raises(TopokitError, match=match):
        read_weights(path)


# ------------------------------------------------------------ sparse tensors
def test_sparse_csr_of_a_graph_is_its_transpose():
    graph = Topology.build([15, 9], "erdos_renyi", density=0.3, rng=4)[0]
    tensor = to_sparse_csr(graph)
    assert tensor.layout == torch.sparse_csr
    assert tensor.shape == (9, 15)
    assert tensor.dtype == torch.float32
    assert tensor.crow_indices().dtype == torch.int64
    assert tensor.values().numel() == graph.n_edges
    np.testing.assert_array_equal(tensor.to_dense().numpy(), graph.biadjacency.toarray().T)


def test_sparse_csr_weights_align_with_the_csr_entries():
    graph = Topology.build([11, 7], "biregular", degree=3, rng=5)[0]
    values = np.random.default_rng(0).normal(size=graph.n_edges)
    tensor = to_sparse_csr(graph, values, dtype=torch.float64)
    rows, cols = graph.edges()
    expected = np.zeros((graph.n_out, graph.n_in))
    expected[cols, rows] = values  # edge k of the row-major order carries values[k]
    np.testing.assert_array_equal(tensor.to_dense().numpy(), expected)


@pytest.mark.parametrize("product", ["matmul", "sparse.mm", "linear"])
def test_sparse_csr_of_a_sparse_linear_matches_its_forward(product):
    graph = Topology.build([50, 30], "ramanujan", degree=5, rng=6)[0]
    layer = SparseLinear(graph, rng=0, dense_threshold=None)
    layer.bias[:] = np.random.default_rng(1).normal(size=layer.n_out)
    x = np.random.default_rng(2).normal(size=(8, 50)).astype(np.float32)
    expected = layer.forward(x)
    tensor = to_sparse_csr(layer)
    xt, bias = torch.from_numpy(x), torch.from_numpy(layer.bias)
    if product == "matmul":
        out = (tensor @ xt.T).T + bias
    elif product == "sparse.mm":
        out = torch.sparse.mm(tensor, xt.T).T + bias
    else:
        out = nn.functional.linear(xt, tensor, bias)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_sparse_csr_never_densifies(rng):
    # 10^6 x 10^6 dense would be 4 TB of float32
    n = 1_000_000
    graph = LayerGraph.from_edges(rng.permutation(n)[:100], rng.permutation(n)[:100], n, n)
    tensor = to_sparse_csr(graph)
    assert tensor.shape == (n, n)
    assert tensor.values().numel() == 100


@pytest.mark.parametrize(
    ("layer", "weights", "dtype", "match"),
    [
        pytest.param("graph", [1.0, 2.0], torch.float32,
                     r"weights must have shape \(n_edges,\) = \(3,\).* got shape \(2,\)",
                     id="weights-shape"),
        pytest.param("linear", [1.0, 2.0, 3.0], torch.float32,
                     "weights must be None for a SparseLinear", id="weights-and-linear"),
        pytest.param("matrix", None, torch.float32,
                     "layer must be a LayerGraph or a topokit.nn.SparseLinear, got csr_array",
                     id="layer-type"),
        pytest.param("graph", None, torch.int64,
                     "dtype must be a floating-point torch.dtype, got torch.int64", id="dtype"),
    ],
)  # fmt: skip
def test_sparse_csr_errors(layer, weights, dtype, match):
    graph = LayerGraph(np.array([[1, 0], [1, 1]]))
    layer = {"graph": graph, "linear": SparseLinear(graph), "matrix": sp.csr_array(np.eye(2))}[
        layer
    ]
    with pytest.raises(TopokitError, match=match):
        to_sparse_csr(layer, weights, dtype=dtype)
