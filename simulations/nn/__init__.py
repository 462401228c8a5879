"""Neural networks from scratch (numpy): layers, BN, MBN and baselines, a trainer, the
training experiment and the noise probe."""

from ._layers import AvgPool2d, Conv2d, Flatten, Layer, Linear, Network, ReLU, SoftmaxCrossEntropy
from ._norm import BatchNorm, BatchRenorm, GroupNorm, MomentumBatchNorm, NoNorm, Normaliser

__all__ = ["Layer", "Linear", "Conv2d", "AvgPool2d", "ReLU", "Flatten", "SoftmaxCrossEntropy", "Network",
           "Normaliser", "BatchNorm", "MomentumBatchNorm", "BatchRenorm", "GroupNorm", "NoNorm"]
