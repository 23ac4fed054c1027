"""pytest only: leave out ``torch.py`` (its doctests) where PyTorch is not installed.

The suite runs with ``--doctest-modules``, which imports every module under
``topokit/``; ``topokit.interop.torch`` imports torch, an optional dependency.
"""

import importlib.util


def _torch_installed() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a finder that refuses it, or a broken entry
        return False


collect_ignore = [] if _torch_installed() else ["torch.py"]
