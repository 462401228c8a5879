"""Report section: BN and MBN trained from scratch (numpy) and the noise inside the network."""

from __future__ import annotations

import numpy as np

from ..nn._data import digits
from ..nn._experiment import run_experiment
from ..nn._figures import accuracy_figure  # deferred: matplotlib
from ..nn._probe import noise_probe
from ..nn._train import TrainConfig
from ._common import SectionSpec, md_rows, new_figure
from ._model import Claim, Figure, row


def _grid(ctx, section):
    small = {"models": ("mlp",), "depths": (2, 6), "norms": ("bn", "mbn"), "batch_sizes": (4, 64),
                 "seeds": 2, "epochs": 2}
    full = {"models": ("mlp", "cnn"), "depths": (2, 6), "norms": ("bn", "mbn", "brn", "gn", "none"),
                "batch_sizes": (2, 4, 8, 16, 32, 64), "seeds": 3, "epochs": 8}
    res = run_experiment(**(full if ctx.full else small), rng=ctx.seed_sequence("training grid"),
                         workers=ctx.workers, show_progress=False)
    header = ["model", "depth", "norm", "batch_size", "seeds", "test_accuracy_mean",
              "test_accuracy_sd", "test_accuracy_population_mean", "train_loss_mean", "diverged"]
    section.data["training_grid"] = (header, [[r[k] for k in header] for r in res.rows])
    section.notes.append("Training grid (test accuracy with running/inference statistics and "
                         "with population statistics recomputed at the final weights):\n\n"
                         + md_rows(header, [[f"{r[k]:.4g}" if isinstance(r[k], float) else r[k]
                                             for k in header] for r in res.rows]))

    fig = accuracy_figure(res.rows)
    section.figures.append(Figure("training_accuracy", "Test accuracy against batch size "
                                  "per normaliser (error bars: sd over seeds).", fig))
    ctx.cache["training_rows"] = res.rows


def _cell(value, spec=".4g"):
    """A table cell: floats formatted with `spec`, a value not computed (NaN) empty."""
    if isinstance(value, float):
        if value != value:
            return ""
        return format(value, spec) if spec else value
    return value


def _probe(ctx, section):
    data = digits()
    rows = []
    for model, norm in (("mlp", "bn"), ("mlp", "mbn")) + ((("cnn", "bn"),) if ctx.full else ()):
        cfg = TrainConfig(model=model, depth=2, norm=norm, batch_size=4, epochs=2 if not ctx.full else 8)
        rows += noise_probe(cfg, data, seed=ctx.seed_sequence("training probe", model, norm),
                            batches=400 if not ctx.full else 1000)  # the claim's n below
    # claim: first normalised layer of the MLP (input = standardised pixels, iid batches):
    # the batch mean noise has the variance 1/m whatever the input law
    first = [r for r in rows if r["model"] == "mlp" and r["layer"] == 1]
    section.claims.append(Claim(
        "training_probe_first_layer", "Inside the MLP, first layer: Var xi_mu = 1/m",
        "At the first normalised layer the batch is an iid sample of the layer's input, so "
        "the batch-mean noise has variance 1/m for any input law (the variance noise does "
        "not: it depends on the activations' kurtosis, reported beside it).",
        "Gaussian theory 1/m vs the noise probe (frozen weights, independent random batches; "
        "the standard error from one summary per batch, so the channels' correlation counts).",
        tuple(row({"model": r["model"], "norm": r["norm"], "m": r["batch_size"], "layer": r["layer"]},
                  r["var_xi_mu_gaussian"], estimate=r["var_xi_mu"], stderr=r["var_xi_mu_se"],
                  n=400 if not ctx.full else 1000)
              for r in first)))
    header = ["model", "norm", "batch_size", "layer", "values_per_channel", "var_xi_mu",
              "var_xi_mu_gaussian", "m_eff", "var_xi_sigma", "var_xi_sigma_gaussian",
              "var_xi_sigma_kurtosis", "excess_kurtosis", "mbn_var_mu_measured", "mbn_var_mu_theory"]
    # the MBN columns exist only for MBN layers: elsewhere they are empty (not computed), never NaN
    section.data["training_noise_probe"] = (header, [[_cell(r[k], None) for k in header] for r in rows])
    section.notes.append("Noise probe (realised noise inside the network vs theory; the mbn_* "
                         "columns are empty for layers that are not MBN):\n\n" + md_rows(
                             header, [[_cell(r[k]) for k in header] for r in rows]))
    a1, a2 = new_figure(section, "training_noise_probe", "Realised Var xi_mu (left) and "
                        "Var xi_sigma (right) per normalised layer beside the Gaussian and "
                        "kurtosis-corrected theory.", figsize=(10, 3.8), ncols=2)
    x = np.arange(len(rows))
    labels = [f"{r['model']} {r['norm']} L{r['layer']}" for r in rows]
    for ax, q in ((a1, "var_xi_mu"), (a2, "var_xi_sigma")):
        ax.bar(x - 0.2, [r[q] for r in rows], 0.4, label="measured")
        ax.bar(x + 0.2, [r[q + "_gaussian"] for r in rows], 0.4, label="Gaussian")
        if q == "var_xi_sigma":
            ax.plot(x, [r["var_xi_sigma_kurtosis"] for r in rows], "k^", label="kurtosis-corrected")
        ax.set_yscale("log")
        ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    a2.legend(fontsize=8)


TRAINING_SECTION = SectionSpec(
    "training", "7. BN and MBN trained from scratch",
    "Networks trained with the layers of `simulations.nn` (numpy, fused numba MLP step) on "
    "scikit-learn's digits: test accuracy per normaliser and batch size, and the noise the "
    "normalisers inject inside the network against the theory. A small grid by default "
    "(MLP, BN and MBN, m = 4 and 64, 2 seeds, 2 epochs); the full grid with --full.",
    (_grid, _probe))
