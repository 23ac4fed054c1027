"""PyTorch state dicts as topologies: which entries are layer weights, reading ``.pt`` files.

Nothing here imports torch at module import: :mod:`topokit.interop.weights` reads
``.pt`` files through this module and must import without torch installed.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping

from topokit._errors import TopokitError
from topokit.interop._patterns import build_topology

__all__ = ["load_state_dict", "select_weights", "topology_from_state_dict"]

# Per module, the entry that holds its connection pattern, best first: the mask of a
# module pruned with torch.nn.utils.prune, the weights under that mask, plain weights.
_WEIGHT_LEAVES = ("weight_mask", "weight_orig", "weight")

# Keys of a training checkpoint under which the model's state dict commonly sits.
_CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model")

_TORCH_MISSING = "pip install torch (or pip install 'topokit[torch]')"


def select_weights(state_dict: Mapping) -> dict:
    """The entry holding each module's connection pattern, in state-dict order.

    A module's entries are the keys ``<prefix>.weight_mask``, ``<prefix>.weight_orig``
    and ``<prefix>.weight`` (or ``weight`` alone); the first of these present is taken.
    Biases and buffers are ignored; 1-D weights (normalisation layers) are skipped.

    Raises
    ------
    TopokitError
        For a weight of more than two dimensions (a convolution): only nn.Linear-style
        2-D weights are layer graphs, and skipping it would give a topology that
        silently lacks a layer.
    """
    modules: dict[str, dict[str, str]] = {}
    for key in state_dict:
        prefix, _, leaf = str(key).rpartition(".")
        if leaf in _WEIGHT_LEAVES:
            modules.setdefault(prefix, {})[leaf] = key
    chosen = {}
    for leaves in modules.values():
        key = next(leaves[leaf] for leaf in _WEIGHT_LEAVES if leaf in leaves)
        shape = tuple(getattr(state_dict[key], "shape", ()))
        if len(shape) < 2:
            continue
        if len(shape) > 2:
            raise TopokitError(
                f"state dict entry {key!r} has shape {shape}: only 2-D weights (nn.Linear, "
                f"shape (out_features, in_features)) are layer graphs; pass a state dict "
                f"that holds only the linear layers, e.g. "
                f"{{k: v for k, v in sd.items() if k.startswith('classifier.')}}"
            )
        chosen[key] = state_dict[key]
    return chosen


def topology_from_state_dict(state_dict):
    """The Topology of the linear layers' patterns in a state dict (see torch.py)."""
    if not isinstance(state_dict, Mapping):
        raise TopokitError(
            f"state_dict must be a mapping of names to tensors (model.state_dict()), "
            f"got {type(state_dict).__name__}"
        )
    chosen = select_weights(state_dict)
    if not chosen:
        keys = list(state_dict)
        shown = ", ".join(map(repr, keys[:8])) + (", ..." if len(keys) > 8 else "")
        raise TopokitError(
            f"state_dict has no 2-D weights (keys ending in .weight, .weight_orig or "
            f".weight_mask); its keys are: {shown or 'none'}"
        )
    return build_topology({f"entry {key!r}": value for key, value in chosen.items()}, "out_in")


def _unpickler_reason(exc: Exception) -> str:
    found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\n|$)", str(exc), flags=re.S)
    return " ".join((found.group(1) if found else str(exc)).split())[:200]


def load_state_dict(path) -> Mapping:
    """Read a ``.pt``/``.pth`` file with ``torch.load(weights_only=True)`` as a state dict.

    A training checkpoint whose state dict sits under ``state_dict``,
    ``model_state_dict`` or ``model`` is read from there.

    Raises
    ------
    TopokitError
        If torch is not installed, the file is missing or unreadable, holds a pickled
        model (not a state dict), or holds something other than a mapping of tensors.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise TopokitError(f"weights file {path!r} does not exist")
    try:
        import torch
    except ImportError:
        raise TopokitError(
            f"reading the PyTorch file {path!r} needs torch: {_TORCH_MISSING}"
        ) from None
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = _unpickler_reason(exc)
        if "Unsupported global" in str(exc):
            raise TopokitError(
                f"{path!r} holds pickled Python objects (a whole model?), which "
                f"torch.load(weights_only=True) refuses to run; save the weights with "
                f"torch.save(model.state_dict(), path) and pass that file ({reason})"
            ) from None
        raise TopokitError(f"cannot read {path!r} as a PyTorch file: {reason}") from None
    except Exception as exc:  # torch.load fails on foreign bytes in many ways
        raise TopokitError(
            f"cannot read {path!r} as a PyTorch file: {_unpickler_reason(exc)}"
        ) from None
    return _state_dict_in(loaded, path)


def _is_tensor_dict(value) -> bool:
    return isinstance(value, Mapping) and all(hasattr(item, "shape") for item in value.values())


def _state_dict_in(loaded, path: str) -> Mapping:
    if _is_tensor_dict(loaded):
        return loaded
    if isinstance(loaded, Mapping):
        for key in _CHECKPOINT_KEYS:
            if _is_tensor_dict(loaded.get(key)):
                return loaded[key]
        raise TopokitError(
            f"{path!r} holds a dict that is not a state dict (not every entry is a tensor) "
            f"and has none of the checkpoint keys {', '.join(map(repr, _CHECKPOINT_KEYS))}; "
            f"its keys are {', '.join(map(repr, list(loaded)[:8]))}"
        )
    raise TopokitError(
        f"{path!r} holds a {type(loaded).__name__}, not a state dict; save the weights with "
        f"torch.save(model.state_dict(), path)"
    )
