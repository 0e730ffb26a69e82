"""LWLRAP on torch tensors and the fastai metric: the public name notebooks import.

``from audiometrics.torch_metrics import LWLRAP`` is what the companion training
notebook (and notebooks made from it) use; the code lives in
:mod:`audiometrics.metrics.lwlrap_torch`.
"""

from audiometrics.metrics.lwlrap_torch import *  # noqa: F401,F403
from audiometrics.metrics.lwlrap_torch import __all__  # noqa: F401
