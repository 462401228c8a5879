"""Layers from scratch (numpy, float64): Linear, Conv2d, ReLU, Flatten, softmax cross-entropy.

Every layer has ``forward(x, *, train=True)`` returning its output and ``backward(dy)``
returning the gradient with respect to its input; parameter gradients are stored in
``layer.grads`` (same keys as ``layer.params``). A layer keeps what its backward needs from
the last forward call only.
"""

from __future__ import annotations

import numpy as np

from noise_theory._lib import ParameterValueError, positive_int

from ._norm import Normaliser

__all__ = [
    "AvgPool2d",
    "Conv2d",
    "Flatten",
    "Layer",
    "Linear",
    "Network",
    "ReLU",
    "SoftmaxCrossEntropy",
]

_COL = None


def _col_kernels():
    """numba im2col / col2im for stride 1, 'same' padding (one call instead of ~10 numpy
    calls: the per-step overhead that dominates at m = 2)."""
    global _COL
    if _COL is None:
        import numba  # deferred: numba

        @numba.njit(cache=True)
        def im2col(x, k):
            n, c, h, w = x.shape
            p = k // 2
            out = np.zeros((n * h * w, c * k * k))
            for a in range(n):
                for i in range(h):
                    for j in range(w):
                        r = (a * h + i) * w + j
                        for ch in range(c):
                            for di in range(k):
                                ii = i + di - p
                                if ii < 0 or ii >= h:
                                    continue
                                for dj in range(k):
                                    jj = j + dj - p
                                    if 0 <= jj < w:
                                        out[r, (ch * k + di) * k + dj] = x[a, ch, ii, jj]
            return out

        @numba.njit(cache=True)
        def col2im(cols, n, c, h, w, k):
            p = k // 2
            dx = np.zeros((n, c, h, w))
            for a in range(n):
                for i in range(h):
                    for j in range(w):
                        r = (a * h + i) * w + j
                        for ch in range(c):
                            for di in range(k):
                                ii = i + di - p
                                if ii < 0 or ii >= h:
                                    continue
                                for dj in range(k):
                                    jj = j + dj - p
                                    if 0 <= jj < w:
                                        dx[a, ch, ii, jj] += cols[r, (ch * k + di) * k + dj]
            return dx

        _COL = (im2col, col2im)
    return _COL


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
        # rows (n, i, j), columns (channel, di, dj): (N*H*W, C*k*k)
        return _col_kernels()[0](np.ascontiguousarray(x, dtype=np.float64), self.k)

    def forward(self, x, *, train=True):
        n, _c, h, w = x.shape
        self._shape = x.shape
        self._cols_x = cols = self._cols(x)
        out = cols @ self.params["W"].reshape(self.out_channels, -1).T
        if "b" in self.params:
            out += self.params["b"]
        return np.ascontiguousarray(out.reshape(n, h, w, self.out_channels).transpose(0, 3, 1, 2))

    def backward(self, dy):
        n, c, h, w = self._shape
        k = self.k
        d = dy.transpose(0, 2, 3, 1).reshape(n * h * w, self.out_channels)
        wmat = self.params["W"].reshape(self.out_channels, -1)
        self.grads["W"][...] = (d.T @ self._cols_x).reshape(self.params["W"].shape)
        if "b" in self.params:
            self.grads["b"][...] = d.sum(axis=0)
        return _col_kernels()[1](d @ wmat, n, c, h, w, k)

    def __repr__(self):
        return f"Conv2d({self.in_channels}, {self.out_channels}, {self.k})"


class AvgPool2d(Layer):
    """Non-overlapping ``size x size`` average pooling (H, W divisible by `size`)."""

    def __init__(self, size=2):
        super().__init__()
        self.size = positive_int(size, "size")

    def forward(self, x, *, train=True):
        n, c, h, w = x.shape
        s = self.size
        if h % s or w % s:
            raise ParameterValueError(f"AvgPool2d({s}) needs H, W divisible by {s}; got {x.shape}.")
        self._shape = x.shape
        return x.reshape(n, c, h // s, s, w // s, s).mean(axis=(3, 5))

    def backward(self, dy):
        s = self.size
        up = np.repeat(np.repeat(dy, s, axis=2), s, axis=3)
        return up / (s * s)

    def __repr__(self):
        return f"AvgPool2d({self.size})"


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
        return [layer for layer in self.layers if isinstance(layer, Normaliser)]

    def __repr__(self):
        return "Network(" + ", ".join(map(repr, self.layers)) + ")"
