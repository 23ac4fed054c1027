"""Hand-off to other tools: PyTorch models, weight files and graph-exchange formats.

``topokit.interop.torch`` needs PyTorch (``pip install topokit[torch]``) and is imported
on its own; everything else here needs only topokit's own dependencies.
"""
