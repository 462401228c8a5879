"""Closed forms for the noise of batch normalisation (BN) and Momentum BN (MBN).

Imports numpy and scipy only. Momentum is always the weight on *history* (lambda, tau);
BN variance is the biased (divide-by-m) one unless ``ddof=1``. All quantities are in
population units (mu = 0, sigma = 1).

API
---
"""

__all__ = []
