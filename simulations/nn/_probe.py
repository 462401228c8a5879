"""The noise probe: the BN/MBN noise realised inside a network, against the theory.

At checkpoints (the start of chosen epochs) of a training run, with the weights frozen:

1. population statistics of each normalised layer's input over the whole training set
   (``mu_pop``, ``sigma_pop^2``, skewness and excess kurtosis per channel), with the layers
   below normalised by their own population statistics;
2. ``batches`` random training batches of size m through a copy of the network in
   training mode, recording per layer and channel the batch statistics ``mu_B``,
   ``sigma_B^2`` (and for MBN the moving statistics it normalises with);
3. the realised noise ``xi_mu = (mu_B - mu_pop)/sigma_pop``, ``xi_sigma =
   sigma_B^2/sigma_pop^2``: Var xi_mu and Var xi_sigma (mean over channels) beside the
   Gaussian theory for n values per channel (``1/n``, ``2(n-1)/n^2``; n = m for an MLP,
   n = m H W for a conv layer), the kurtosis-corrected ``batch_statistics_moments(n,
   skewness, excess_kurtosis)`` with the measured moments, and for MBN the EMA noise of the
   schedule (``noise_trajectory``). For a conv layer the m H W values of a channel are
   neither independent nor identically distributed: positions of one image are correlated
   (which lowers the effective batch size ``m_eff = 1/Var xi_mu`` below m H W), but each
   position has its own mean and every batch covers every position, so that part of the
   spread carries no noise (which raises it, possibly above m H W). Measured, not assumed.

Standard errors come from one summary per batch (the mean over channels), so the
correlation between the channels of a layer is accounted for.
"""

from __future__ import annotations

import copy

import numpy as np

from noise_theory import batch_statistics_moments, noise_trajectory
from noise_theory._lib import positive_int

from ..mc import named_seed
from ._norm import MomentumBatchNorm, Normaliser
from ._train import _as_input, build_model, train

__all__ = ["PROBE_FIELDS", "noise_probe"]

PROBE_FIELDS = ["model", "depth", "norm", "batch_size", "epoch", "layer", "values_per_channel",
                "momentum", "var_xi_mu", "var_xi_mu_se", "var_xi_mu_gaussian", "m_eff",
                "var_xi_sigma", "var_xi_sigma_se", "var_xi_sigma_gaussian",
                "var_xi_sigma_kurtosis", "excess_kurtosis", "mbn_var_mu_measured",
                "mbn_var_mu_theory"]


def _population(net, X):
    """Per normaliser with statistics: (mu, var, skew, exkurt) of its input over X."""
    net = copy.deepcopy(net)
    out, h = [], X
    for layer in net.layers:
        if isinstance(layer, Normaliser) and layer.has_statistics:
            axes = layer._axes(h)
            mu = h.mean(axis=axes)
            c = h - layer._b(mu, h)
            var = (c ** 2).mean(axis=axes)
            sd = np.sqrt(np.maximum(var, 1e-300))
            skew = (c ** 3).mean(axis=axes) / sd ** 3
            kurt = (c ** 4).mean(axis=axes) / sd ** 4 - 3
            layer.set_population(mu, var)
            out.append((mu, var, skew, kurt))
        h = layer.forward(h, train=False)
    return out


def _probe_now(net, X, m, batches, rng, meta):
    pops = _population(net, X)
    work = copy.deepcopy(net)
    norms = [n for n in work.normalisers() if n.has_statistics]
    rec = [[] for _ in norms]
    used = [[] for _ in norms]
    with np.errstate(all="ignore"):
        for _ in range(batches):
            idx = rng.choice(len(X), m, replace=False)
            h = X[idx]
            for layer in work.layers:
                h = layer.forward(h, train=True)
            for k, n in enumerate(norms):
                rec[k].append((n.last_batch_mean, n.last_batch_var))
                used[k].append(n.last_mean)
    rows = []
    for k, (n, (mu, var, skew, kurt)) in enumerate(zip(norms, pops)):
        sd = np.sqrt(var)
        xm = np.array([(r[0] - mu) / sd for r in rec[k]])      # (batches, C)
        xs = np.array([r[1] / var for r in rec[k]])
        vpc = m * (1 if X.ndim == 2 else X.shape[2] * X.shape[3] // (4 if k > 0 and meta["pooled"] else 1))
        # The batches are independent but the channels of one batch are not, so the standard
        # errors come from one summary per batch (the mean over channels), never from the
        # channels as if they were independent. E xi_mu = 0 exactly (mu is the population
        # mean of the sampled set), so Var xi_mu = E xi_mu^2.
        qm = np.mean(xm ** 2, axis=1)                              # (batches,)
        qs = np.mean((xs - xs.mean(0)) ** 2, axis=1) * len(xs) / (len(xs) - 1)
        vm, vs = float(qm.mean()), float(qs.mean())
        sem = float(qm.std(ddof=1) / np.sqrt(qm.size))
        ses = float(qs.std(ddof=1) / np.sqrt(qs.size))
        g = batch_statistics_moments(vpc, skewness=0.0, excess_kurtosis=0.0)
        kc = batch_statistics_moments(vpc, skewness=np.clip(skew, -50, 50),
                                      excess_kurtosis=np.maximum(kurt, np.clip(skew, -50, 50) ** 2 - 2))
        row = dict(meta, layer=k + 1, values_per_channel=vpc, var_xi_mu=vm, var_xi_mu_se=sem,
                   var_xi_mu_gaussian=float(g.var_mean), m_eff=1.0 / vm, var_xi_sigma=vs,
                   var_xi_sigma_se=ses, var_xi_sigma_gaussian=float(g.var_var),
                   var_xi_sigma_kurtosis=float(np.mean(kc.var_var)),
                   excess_kurtosis=float(np.mean(kurt)), momentum=float(getattr(n, "momentum", 0.0)),
                   mbn_var_mu_measured=float("nan"), mbn_var_mu_theory=float("nan"))
        if isinstance(n, MomentumBatchNorm) and n.momentum > 0:
            u = np.array([(v - mu) / sd for v in used[k]])[batches // 4:]
            row["mbn_var_mu_measured"] = float(np.mean(u.var(axis=0, ddof=1)))
            # EMA reduction of noise_trajectory, applied to the measured batch noise
            nt = noise_trajectory(m, np.full(batches, n.momentum))
            row["mbn_var_mu_theory"] = float(nt.mean_noise_var[-1] * m) * vm
        rows.append(row)
    return rows


def noise_probe(config, data, *, seed=0, checkpoints=None, batches=400):
    """Train `config` on `data` and probe the realised noise at the start of the epochs in
    `checkpoints` (default: the last epoch); returns a list of row dicts (:data:`PROBE_FIELDS`)."""
    batches = positive_int(batches, "batches", minimum=10)
    epochs = config.epochs
    checkpoints = {epochs} if checkpoints is None else {positive_int(e, "checkpoints") for e in checkpoints}
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    s_train, s_probe = named_seed(seq, "train"), named_seed(seq, "probe")
    rng = np.random.default_rng(s_probe)
    rows = []
    probe_net = build_model(config.model, config.depth, config.norm, n_features=data.n_features,
                            n_classes=data.n_classes, image_shape=data.image_shape, rng=0)
    X = _as_input(probe_net, data.X_train, data.image_shape)
    pooled = config.model == "cnn"
    meta = {"model": config.model, "depth": config.depth, "norm": config.norm,
                "batch_size": config.batch_size, "pooled": pooled}

    def callback(net, epoch, step):
        if epoch in checkpoints:
            for r in _probe_now(net, X, config.batch_size, batches, rng, dict(meta, epoch=epoch)):
                r.pop("pooled", None)
                rows.append(r)

    train(config, data, seed=s_train, callback=callback)
    return rows
