"""The fused training step of an MLP (Linear -> BN/MBN/none -> ReLU stacks): forward,
backward and the SGD update in one numba-compiled call on preallocated buffers.

At m = 2 a training step is dominated by per-call overhead (a Python call per layer and a
numpy call per operation); this path removes it. It computes the same arithmetic as the
layer objects (:mod:`simulations.nn._layers`, :mod:`simulations.nn._norm`) - the tests check
agreement to 1e-12 over many steps - and shares the parameter arrays with them: the layers'
``params`` and ``grads`` become views of one flat buffer, so after training the layer objects
hold the trained weights. Normalisation state (running/moving/inference statistics) is
copied in at construction and back with :meth:`FusedMLP.sync`.
"""

from __future__ import annotations

import numpy as np

from noise_theory._lib import ParameterValueError

from ._layers import Linear, ReLU
from ._norm import BatchNorm, MomentumBatchNorm, NoNorm

__all__ = ["FusedMLP", "fusable"]

_KIND = {NoNorm: 0, BatchNorm: 1, MomentumBatchNorm: 2}


def fusable(net):
    """Whether `net` is ``[Linear, (BatchNorm|MomentumBatchNorm|NoNorm), ReLU]* + Linear``
    with one normaliser type."""
    layers = net.layers
    if len(layers) < 1 or (len(layers) - 1) % 3 or not isinstance(layers[-1], Linear):
        return False
    kinds = set()
    for i in range(0, len(layers) - 1, 3):
        lin, norm, act = layers[i:i + 3]
        if not (isinstance(lin, Linear) and isinstance(act, ReLU) and type(norm) in _KIND
                and "b" in lin.params):
            return False
        kinds.add(type(norm))
    return len(kinds) <= 1 and "b" in layers[-1].params


_STEP = None


def _compile():
    global _STEP
    if _STEP is not None:
        return _STEP
    import numba  # deferred: numba

    @numba.njit(cache=True, fastmath=False)
    def step(x, y, P, G, V, offs, dims, S, kind, lam, tau, lam_r, unbiased, first,
             lr, wd, mom, eps, H, Z, XH, XB, SD, hoff):
        m = x.shape[0]
        L = dims.shape[0] - 1
        # ---------------- forward
        h0 = H[hoff[0]:hoff[0] + m * dims[0]].reshape((m, dims[0]))
        h0[:, :] = x
        for layer in range(L):
            din, dout = dims[layer], dims[layer + 1]
            hin = H[hoff[layer]:hoff[layer] + m * din].reshape((m, din))
            W = P[offs[layer, 0]:offs[layer, 0] + dout * din].reshape((dout, din))
            b = P[offs[layer, 1]:offs[layer, 1] + dout]
            z = Z[hoff[layer + 1]:hoff[layer + 1] + m * dout].reshape((m, dout))
            np.dot(hin, W.T, z)
            for i in range(m):
                for j in range(dout):
                    z[i, j] += b[j]
            hout = H[hoff[layer + 1]:hoff[layer + 1] + m * dout].reshape((m, dout))
            if layer == L - 1:
                hout[:, :] = z
                break
            xh = XH[hoff[layer + 1]:hoff[layer + 1] + m * dout].reshape((m, dout))
            if kind == 0:
                for i in range(m):
                    for j in range(dout):
                        hout[i, j] = z[i, j] if z[i, j] > 0 else 0.0
                continue
            gam = P[offs[layer, 2]:offs[layer, 2] + dout]
            bet = P[offs[layer, 3]:offs[layer, 3] + dout]
            st = S[offs[layer, 4]:offs[layer, 4] + 4 * dout]
            sd = SD[2 * hoff[layer + 1] // m: 2 * hoff[layer + 1] // m + 2 * dout]
            xb = XB[hoff[layer + 1]:hoff[layer + 1] + m * dout].reshape((m, dout))
            for j in range(dout):
                mu_b = 0.0
                for i in range(m):
                    mu_b += z[i, j]
                mu_b /= m
                var_b = 0.0
                for i in range(m):
                    var_b += (z[i, j] - mu_b) ** 2
                var_b /= m
                if kind == 1:
                    mu, var = mu_b, var_b
                    v = var_b * (m / (m - 1.0)) if unbiased else var_b
                    st[j] = lam_r * st[j] + (1 - lam_r) * mu_b
                    st[dout + j] = lam_r * st[dout + j] + (1 - lam_r) * v
                else:
                    if first:
                        st[2 * dout + j] = mu_b
                        st[3 * dout + j] = var_b
                    else:
                        st[2 * dout + j] = tau * st[2 * dout + j] + (1 - tau) * mu_b
                        st[3 * dout + j] = tau * st[3 * dout + j] + (1 - tau) * var_b
                    if lam == 0.0 or first:
                        mu, var = mu_b, var_b
                    else:
                        mu = lam * st[j] + (1 - lam) * mu_b
                        var = lam * st[dout + j] + (1 - lam) * var_b
                    st[j] = mu
                    st[dout + j] = var
                s = np.sqrt(var + eps)
                sd[j] = s
                for i in range(m):
                    xh[i, j] = (z[i, j] - mu) / s
                    xb[i, j] = (z[i, j] - mu_b) / s
                    t = gam[j] * xh[i, j] + bet[j]
                    hout[i, j] = t if t > 0 else 0.0
        # ---------------- loss (mean softmax cross-entropy) and its gradient
        K = dims[L]
        logits = H[hoff[L]:hoff[L] + m * K].reshape((m, K))
        g = Z[hoff[L]:hoff[L] + m * K].reshape((m, K))
        loss = 0.0
        for i in range(m):
            mx = logits[i, 0]
            for k in range(1, K):
                mx = max(mx, logits[i, k])
            se = 0.0
            for k in range(K):
                se += np.exp(logits[i, k] - mx)
            lse = np.log(se)
            loss += lse - (logits[i, y[i]] - mx)
            for k in range(K):
                g[i, k] = np.exp(logits[i, k] - mx - lse) / m
            g[i, y[i]] -= 1.0 / m
        loss /= m
        # ---------------- backward (g holds dL/dz of the current layer)
        for layer in range(L - 1, -1, -1):
            din, dout = dims[layer], dims[layer + 1]
            hin = H[hoff[layer]:hoff[layer] + m * din].reshape((m, din))
            W = P[offs[layer, 0]:offs[layer, 0] + dout * din].reshape((dout, din))
            gW = G[offs[layer, 0]:offs[layer, 0] + dout * din].reshape((dout, din))
            gb = G[offs[layer, 1]:offs[layer, 1] + dout]
            np.dot(g.T, hin, gW)
            for j in range(dout):
                acc = 0.0
                for i in range(m):
                    acc += g[i, j]
                gb[j] = acc
            if layer == 0:
                break
            # dL/dh_in, then back through ReLU and the normaliser of the layer below
            gin = Z[hoff[layer]:hoff[layer] + m * din].reshape((m, din))
            hz = H[hoff[layer]:hoff[layer] + m * din].reshape((m, din))
            np.dot(g, W, gin)
            for i in range(m):
                for j in range(din):
                    if hz[i, j] <= 0.0:
                        gin[i, j] = 0.0
            if kind != 0:
                below = layer - 1
                gam = P[offs[below, 2]:offs[below, 2] + din]
                ggam = G[offs[below, 2]:offs[below, 2] + din]
                gbet = G[offs[below, 3]:offs[below, 3] + din]
                xh = XH[hoff[layer]:hoff[layer] + m * din].reshape((m, din))
                xb = XB[hoff[layer]:hoff[layer] + m * din].reshape((m, din))
                sd = SD[2 * hoff[layer] // m: 2 * hoff[layer] // m + 2 * din]
                c = 1.0 if (kind == 1 or lam == 0.0 or first) else 1.0 - lam
                for j in range(din):
                    sg = 0.0
                    sgx = 0.0
                    for i in range(m):
                        sg += gin[i, j]
                        sgx += gin[i, j] * xh[i, j]
                    ggam[j] = sgx
                    gbet[j] = sg
                    f = gam[j] / sd[j]
                    for i in range(m):
                        gin[i, j] = f * (gin[i, j] - c * (sg + xb[i, j] * sgx) / m)
            g = gin
        # ---------------- SGD with momentum and weight decay (PyTorch's update)
        for k in range(P.shape[0]):
            d = G[k] + wd * P[k]
            V[k] = mom * V[k] + d
            P[k] -= lr * V[k]
        return loss

    _STEP = step
    return step


class FusedMLP:
    """Fused SGD steps for a fusable MLP `net` (see :func:`fusable`), sharing its arrays."""

    def __init__(self, net, *, weight_decay=1e-4, sgd_momentum=0.9):
        if not fusable(net):
            raise ParameterValueError("`net` must be [Linear, BatchNorm|MomentumBatchNorm|NoNorm, "
                                      "ReLU]* + Linear with one normaliser type.")
        self.net = net
        lins = [layer for layer in net.layers if isinstance(layer, Linear)]
        self.norms = [net.layers[i + 1] for i in range(0, len(net.layers) - 1, 3)]
        self.kind = _KIND[type(self.norms[0])] if self.norms else 0
        self.dims = np.array([lins[0].in_features] + [lin.out_features for lin in lins], np.int64)
        L = len(lins)
        offs = np.full((L, 5), -1, np.int64)
        chunks, pos, spos = [], 0, 0
        for i, lin in enumerate(lins):
            names = [("W", lin), ("b", lin)]
            if i < L - 1 and self.kind:
                names += [("gamma", self.norms[i]), ("beta", self.norms[i])]
                offs[i, 4] = spos
                spos += 4 * lin.out_features
            for col, (k, layer) in enumerate(names):
                offs[i, col] = pos
                chunks.append((layer, k, pos))
                pos += layer.params[k].size
        self.P, self.G, self.V = np.zeros(pos), np.zeros(pos), np.zeros(pos)
        for layer, k, o in chunks:  # the layers' arrays become views of the flat buffers
            p = layer.params[k]
            n = p.size
            self.P[o:o + n] = p.ravel()
            layer.params[k] = self.P[o:o + n].reshape(p.shape)
            layer.grads[k] = self.G[o:o + n].reshape(p.shape)
        self.offs, self.S = offs, np.zeros(max(spos, 1))
        self.first = True
        self._load_state()
        self.weight_decay, self.sgd_momentum = float(weight_decay), float(sgd_momentum)
        self._m = None

    def _state(self, i):
        c = self.dims[i + 1]
        o = self.offs[i, 4]
        return self.S[o:o + 4 * c].reshape(4, c)

    def _load_state(self):
        for i, norm in enumerate(self.norms if self.kind else ()):
            st = self._state(i)
            if self.kind == 1:
                st[0], st[1] = norm.running_mean, norm.running_var
            else:
                if norm._started:
                    self.first = False
                    st[0], st[1] = norm.moving_mean, norm.moving_var
                st[2], st[3] = norm.inference_mean, norm.inference_var

    def sync(self):
        """Copy the normalisation state back into the layer objects."""
        for i, norm in enumerate(self.norms if self.kind else ()):
            st = self._state(i).copy()
            if self.kind == 1:
                norm.running_mean, norm.running_var = st[0], st[1]
            elif not self.first:
                norm.moving_mean, norm.moving_var = st[0], st[1]
                norm.inference_mean, norm.inference_var = st[2], st[3]
                norm._started = True

    def _buffers(self, m):
        if self._m != m:
            hoff = np.concatenate([[0], np.cumsum(m * self.dims)]).astype(np.int64)
            n = int(hoff[-1])
            self._bufs = (np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(2 * n // m + 2), hoff)
            self._m = m
        return self._bufs

    def step(self, x, y, lr):
        """One SGD step on the batch ``(x, y)``; returns the loss before the update."""
        m = x.shape[0]
        H, Z, XH, XB, SD, hoff = self._buffers(m)
        norm = self.norms[0] if self.norms else None
        lam = tau = lam_r = 0.0
        unbiased = False
        if self.kind == 1:
            lam_r, unbiased = norm.momentum, norm.unbiased_running_var
        elif self.kind == 2:
            lam, tau = norm.momentum, norm.inference_momentum
        loss = _compile()(np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, np.int64),
                          self.P, self.G, self.V, self.offs, self.dims, self.S, self.kind,
                          lam, tau, lam_r, unbiased, self.first, float(lr), self.weight_decay,
                          self.sgd_momentum, float(norm.eps) if norm is not None else 0.0,
                          H, Z, XH, XB, SD, hoff)
        self.first = False
        return loss
