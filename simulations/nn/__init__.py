"""Neural networks from scratch (numpy): layers, BN, MBN and baselines, a trainer, the
training experiment and the noise probe."""

from ._layers import (
           AvgPool2d,
           Conv2d,
           Flatten,
           Layer,
           Linear,
           Network,
           ReLU,
           SoftmaxCrossEntropy,
)
from ._norm import (
           BatchNorm,
           BatchRenorm,
           GroupNorm,
           MomentumBatchNorm,
           NoNorm,
           Normaliser,
)

__all__ = [
           "AvgPool2d",
           "BatchNorm",
           "BatchRenorm",
           "Conv2d",
           "Flatten",
           "GroupNorm",
           "Layer",
           "Linear",
           "MomentumBatchNorm",
           "Network",
           "NoNorm",
           "Normaliser",
           "ReLU",
           "SoftmaxCrossEntropy",
]
