"""Layers from scratch (numpy, float64): Linear, Conv2d, ReLU, Flatten, softmax cross-entropy.

Every layer has ``forward(x, *, train=True)`` returning its output and ``backward(dy)``
returning the gradient with respect to its input; parameter gradients are stored in
``layer.grads`` (same keys as ``layer.params``). A layer keeps what its backward needs from
the last forward call only.
"""

from __future__ import annotations

import numpy as np

from noise_theory._lib import ParameterValueError, positive_int

__all__ = ["Layer", "Linear", "Conv2d", "ReLU", "Flatten", "SoftmaxCrossEntropy", "Network"]


class Layer:
    """Base class: no parameters, identity."""

    def __init__(self):
        self.params = {}
        self.grads = {}

    def forward(self, x, *, train=True):
        return x

    def backward(self, dy):
        return dy

    def __repr__(self):
        return f"{type(self).__name__}()"


class Linear(Layer):
    """``y = x W^T + b`` with ``W`` of shape ``(out_features, in_features)`` (He init)."""

    def __init__(self, in_features, out_features, *, rng=None, bias=True):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        rng = np.random.default_rng(rng)
        self.params["W"] = rng.standard_normal((out_features, in_features)) * np.sqrt(2.0 / in_features)
        if bias:
            self.params["b"] = np.zeros(out_features)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, *, train=True):
        self._x = x
        y = x @ self.params["W"].T
        if "b" in self.params:
            y += self.params["b"]
        return y

    def backward(self, dy):
        self.grads["W"][...] = dy.T @ self._x
        if "b" in self.params:
            self.grads["b"][...] = dy.sum(axis=0)
        return dy @ self.params["W"]

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features})"


class Conv2d(Layer):
    """2-d convolution, stride 1, 'same' zero padding (odd kernel), by im2col.

    Input ``(N, C, H, W)``, output ``(N, F, H, W)``; weight ``(F, C, k, k)`` (He init).
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, *, rng=None, bias=True):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels")
        self.out_channels = positive_int(out_channels, "out_channels")
        k = positive_int(kernel_size, "kernel_size")
        if k % 2 == 0:
            raise ParameterValueError(f"`kernel_size` must be an odd integer >= 1; got kernel_size={k}.")
        self.k = k
        rng = np.random.default_rng(rng)
        fan_in = in_channels * k * k
        self.params["W"] = rng.standard_normal((out_channels, in_channels, k, k)) * np.sqrt(2.0 / fan_in)
        if bias:
            self.params["b"] = np.zeros(out_channels)
        self.grads = {k_: np.zeros_like(v) for k_, v in self.params.items()}

    def _cols(self, x):
        p = self.k // 2
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (self.k, self.k), axis=(2, 3))
        n, c, h, w = x.shape
        # (N, C, H, W, k, k) -> (N, H, W, C, k, k) -> (N*H*W, C*k*k)
        return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * h * w, c * self.k * self.k)

    def forward(self, x, *, train=True):
        n, c, h, w = x.shape
        self._shape = x.shape
        self._cols_x = cols = self._cols(x)
        out = cols @ self.params["W"].reshape(self.out_channels, -1).T
        if "b" in self.params:
            out += self.params["b"]
        return np.ascontiguousarray(out.reshape(n, h, w, self.out_channels).transpose(0, 3, 1, 2))

    def backward(self, dy):
        n, c, h, w = self._shape
        k, p = self.k, self.k // 2
        d = dy.transpose(0, 2, 3, 1).reshape(n * h * w, self.out_channels)
        wmat = self.params["W"].reshape(self.out_channels, -1)
        self.grads["W"][...] = (d.T @ self._cols_x).reshape(self.params["W"].shape)
        if "b" in self.params:
            self.grads["b"][...] = d.sum(axis=0)
        dcols = (d @ wmat).reshape(n, h, w, c, k, k)
        dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
        for i in range(k):
            for j in range(k):
                dxp[:, :, i:i + h, j:j + w] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        return dxp[:, :, p:p + h, p:p + w]

    def __repr__(self):
        return f"Conv2d({self.in_channels}, {self.out_channels}, {self.k})"


class ReLU(Layer):
    """``max(x, 0)``."""

    def forward(self, x, *, train=True):
        self._mask = x > 0
        return np.where(self._mask, x, 0.0)

    def backward(self, dy):
        return np.where(self._mask, dy, 0.0)


class Flatten(Layer):
    """``(N, ...) -> (N, prod(...))``."""

    def forward(self, x, *, train=True):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self._shape)


class SoftmaxCrossEntropy:
    """Mean softmax cross-entropy of logits ``(N, K)`` against integer labels ``(N,)``."""

    def forward(self, logits, y):
        z = logits - logits.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        self._p = np.exp(z - lse[:, None])
        self._y = y
        return float(np.mean(lse - z[np.arange(len(y)), y]))

    def backward(self):
        n = len(self._y)
        d = self._p.copy()
        d[np.arange(n), self._y] -= 1.0
        return d / n


class Network:
    """A stack of layers and a softmax cross-entropy loss."""

    def __init__(self, layers):
        self.layers = list(layers)
        self.loss_fn = SoftmaxCrossEntropy()

    def forward(self, x, *, train=True):
        for layer in self.layers:
            x = layer.forward(x, train=train)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def loss(self, x, y, *, train=True):
        return self.loss_fn.forward(self.forward(x, train=train), y)

    def loss_and_grad(self, x, y, *, train=True):
        """Forward, loss, backward: returns the loss; gradients are in each layer's ``grads``."""
        loss = self.loss(x, y, train=train)
        self.backward(self.loss_fn.backward())
        return loss

    def parameters(self):
        """``(layer index, name, param, grad)`` for every parameter, in layer order."""
        return [(i, k, layer.params[k], layer.grads[k])
                for i, layer in enumerate(self.layers) for k in layer.params]

    def normalisers(self):
        from ._norm import Normaliser
        return [layer for layer in self.layers if isinstance(layer, Normaliser)]

    def __repr__(self):
        return "Network(" + ", ".join(map(repr, self.layers)) + ")"
