"""Training-step throughput of the default MLP (64-128-128-10, BN) at m = 2 and 64: the
fused numba step against a plain-numpy baseline (the layer objects), same run, interleaved."""

from __future__ import annotations

import time

import numpy as np

from ._fused import FusedMLP
from ._train import build_model, one_blas_thread

__all__ = ["bench_training_step"]


def _stepper(m, fused, steps):
    rng = np.random.default_rng(0)
    net = build_model("mlp", 2, "bn", n_features=64, n_classes=10, rng=1)
    X = rng.standard_normal((steps * m, 64))
    y = rng.integers(0, 10, steps * m)
    if fused:
        f = FusedMLP(net)

        def run():
            for i in range(steps):
                f.step(X[i * m:(i + 1) * m], y[i * m:(i + 1) * m], 1e-3)
    else:
        params = net.parameters()
        vel = [np.zeros_like(p) for *_, p, _ in params]

        def run():
            for i in range(steps):
                net.loss_and_grad(X[i * m:(i + 1) * m], y[i * m:(i + 1) * m])
                for v, (_, _, p, g) in zip(vel, params):
                    v *= 0.9
                    v += g + 1e-4 * p
                    p -= 1e-3 * v
    return run


def bench_training_step(seconds, *, batch_sizes=(2, 64), steps=200):
    """Steps per second of the fused path and of the plain-numpy layer path (BLAS on one
    thread), median of interleaved calls; an entry of ``EXTRA_BENCHMARKS``.

    Returns ``{"nn_fused_steps_per_s_m<M>": ..., "nn_numpy_steps_per_s_m<M>": ...,
    "nn_fused_ms_per_step_m<M>": ..., "nn_fused_speedup_m<M>": ...}``.
    """
    out = {}
    with one_blas_thread():
        for m in batch_sizes:
            fns = [_stepper(m, True, steps), _stepper(m, False, steps)]
            for fn in fns:
                fn()  # warm up (numba compile, caches)
            times = [[], []]
            budget = max(seconds / len(batch_sizes), 1e-3)
            while len(times[0]) < 3 or min(sum(t) for t in times) < budget:
                for t, fn in zip(times, fns):
                    start = time.perf_counter()
                    fn()
                    t.append(time.perf_counter() - start)
            fused, plain = (steps / float(np.median(t)) for t in times)
            out[f"nn_fused_steps_per_s_m{m}"] = fused
            out[f"nn_numpy_steps_per_s_m{m}"] = plain
            out[f"nn_fused_ms_per_step_m{m}"] = 1e3 / fused
            out[f"nn_fused_speedup_m{m}"] = fused / plain
    return out
