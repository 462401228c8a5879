"""Figures of the training experiment and of the noise probe (matplotlib, no pyplot)."""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy_figure", "curves_figure", "depth_figure"]

_COLORS = {"bn": "C0", "mbn": "C3", "brn": "C2", "gn": "C4", "none": "C7"}


def _fig(figsize, ncols=1, nrows=1):
    from matplotlib.figure import Figure  # deferred: matplotlib

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()


def _panels(rows):
    return sorted({(r["model"], r["depth"]) for r in rows})


def accuracy_figure(rows, *, population=False):
    """Test accuracy against batch size per normaliser (error bars: sd over seeds), one
    panel per (model, depth)."""
    panels = _panels(rows)
    fig, axes = _fig((4.2 * len(panels), 3.6), ncols=len(panels))
    key = "test_accuracy_population" if population else "test_accuracy"
    for ax, (model, depth) in zip(axes, panels):
        for norm, color in _COLORS.items():
            rs = sorted((r for r in rows if (r["model"], r["depth"], r["norm"]) == (model, depth, norm)),
                        key=lambda r: r["batch_size"])
            if rs:
                ax.errorbar([r["batch_size"] for r in rs], [r[key + "_mean"] for r in rs],
                            yerr=[np.nan_to_num(r[key + "_sd"]) for r in rs], marker="o",
                            capsize=3, color=color, label=norm)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size m")
        ax.set_title(f"{model}, depth {depth}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy" + (" (population stats)" if population else ""))
    axes[0].legend(fontsize=8)
    return fig


def curves_figure(rows, *, batch_size=None):
    """Mean training loss and test accuracy per epoch at one batch size (default the smallest)."""
    m = batch_size or min(r["batch_size"] for r in rows)
    panels = _panels(rows)
    fig, axes = _fig((4.2 * len(panels), 6.4), ncols=len(panels), nrows=2)
    n = len(panels)
    for k, (model, depth) in enumerate(panels):
        for r in rows:
            if (r["model"], r["depth"], r["batch_size"]) == (model, depth, m) and r.get("epoch_loss"):
                e = np.arange(1, len(r["epoch_loss"]) + 1)
                axes[k].plot(e, r["epoch_loss"], color=_COLORS[r["norm"]], label=r["norm"])
                axes[n + k].plot(e, r["epoch_test_accuracy"], color=_COLORS[r["norm"]])
        axes[k].set_yscale("log")
        axes[k].set_title(f"{model}, depth {depth}, m = {m}")
        axes[n + k].set_xlabel("epoch")
    axes[0].set_ylabel("training loss")
    axes[n].set_ylabel("test accuracy")
    axes[0].legend(fontsize=8)
    return fig


def depth_figure(rows):
    """Shallow against deep: accuracy(deep) - accuracy(shallow) per normaliser and m."""
    models = sorted({r["model"] for r in rows})
    depths = sorted({r["depth"] for r in rows})
    fig, axes = _fig((4.4 * len(models), 3.6), ncols=len(models))
    if len(depths) < 2:
        return fig
    lo, hi = depths[0], depths[-1]
    idx = {(r["model"], r["depth"], r["norm"], r["batch_size"]): r for r in rows}
    for ax, model in zip(axes, models):
        for norm, color in _COLORS.items():
            ms = sorted(m for (mo, d, no, m) in idx if (mo, d, no) == (model, lo, norm)
                        and (model, hi, norm, m) in idx)
            if ms:
                diff = [idx[(model, hi, norm, m)]["test_accuracy_mean"]
                        - idx[(model, lo, norm, m)]["test_accuracy_mean"] for m in ms]
                ax.plot(ms, diff, marker="o", color=color, label=norm)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size m")
        ax.set_title(f"{model}: depth {hi} minus depth {lo}")
    axes[0].set_ylabel("change in test accuracy")
    axes[0].legend(fontsize=8)
    return fig
