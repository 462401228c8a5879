"""Figures of the theory, each a public function that draws on an axes and returns it.

Every function takes ``ax=None`` (then it draws on ``matplotlib.pyplot.gca()``) and returns
the axes; matplotlib is imported only when a function is called. Batch sizes are drawn on a
log2 axis wherever they span orders of magnitude. Momentum is the weight on history
(lambda, tau).
"""

from __future__ import annotations

import numpy as np

from noise_theory import (
    batch_statistics_moments,
    bn_output,
    effective_batch_size,
    ema_mean_noise,
    ema_variance_noise,
    expected_glm_loss,
    glm_regularizer,
    inference_momentum,
    mean_noise,
    noise_trajectory,
    paper_momentum,
    regularizer_strength,
    variance_noise,
)
from noise_theory._lib import ParameterValueError, choice, integer_array

__all__ = [
    "plot_noise_densities",
    "plot_noise_vs_batch_size",
    "plot_output_laws",
    "plot_kurtosis_effect",
    "plot_schedule",
    "plot_mbn_trajectory",
    "plot_regularizer_strength",
]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt  # deferred: matplotlib
        ax = plt.gca()
    return ax


def _colors(n):
    from matplotlib import colormaps  # deferred: matplotlib
    cmap = colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.05, 0.85, max(n, 1))]


def _log2_batch_axis(ax, m_values, axis="x"):
    """Log2 scale with plain labels at the powers of two spanning `m_values`."""
    from matplotlib.ticker import (  # deferred: matplotlib
        FixedLocator,
        NullFormatter,
        NullLocator,
    )

    lo, hi = float(np.min(m_values)), float(np.max(m_values))
    ticks = [2.0**k for k in range(int(np.floor(np.log2(lo))), int(np.ceil(np.log2(hi))) + 1)]
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=2)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(ticks))
    target.set_major_formatter(lambda v, pos: f"{v:g}")
    target.set_minor_locator(NullLocator())
    target.set_minor_formatter(NullFormatter())


def _plain_log_labels(axis):
    """Label a log axis with plain numbers (0.1, 0.2, 0.5) instead of 2x10^-1."""
    from matplotlib.ticker import FuncFormatter, LogLocator  # deferred: matplotlib

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, pos: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, pos: ""))


def _simulated_key(key):
    parts = str(key).split()
    if len(parts) != 2 or parts[0] not in ("BN", "MBN") or parts[1] not in ("mean", "variance"):
        raise ParameterValueError(f"`simulated` keys must be '<BN|MBN> <mean|variance>'; got {key!r}.")
    return parts[0], parts[1]


def _batch_sizes(m, name="m"):
    return np.atleast_1d(integer_array(m, name, minimum=2))


# ------------------------------------------------------------------ BN noise laws
def plot_noise_densities(m=(2, 4, 8, 16, 32, 64), *, which="variance", ax=None):
    r"""Densities of the BN noise variables for several batch sizes.

    Parameters
    ----------
    m : int or sequence of int
        Batch sizes (>= 2), one curve each.
    which : {"mean", "variance"}, keyword-only
        ``"mean"``: the additive noise :math:`\xi_\mu = (\mu_B-\mu)/\sigma \sim N(0, 1/m)`;
        ``"variance"``: the multiplicative noise
        :math:`\xi_\sigma = \sigma_B^2/\sigma^2 \sim \chi^2_{m-1}/m` (biased variance).
    ax : matplotlib Axes or None, keyword-only

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> from simulations import plot_noise_densities
    >>> ax = plot_noise_densities([2, 8, 32], which="mean", ax=ax)
    >>> ax.get_xlabel()
    'additive noise $\\xi_\\mu = (\\mu_B - \\mu)/\\sigma$'
    """

    which = choice(which, "which", ("mean", "variance"))
    ms = _batch_sizes(m)
    ax = _axes(ax)
    if which == "mean":
        x = np.linspace(-2.5, 2.5, 801)
        for mi, c in zip(ms, _colors(len(ms))):
            ax.plot(x, mean_noise(int(mi)).pdf(x), color=c, label=f"m = {mi}")
        ax.set_xlabel(r"additive noise $\xi_\mu = (\mu_B - \mu)/\sigma$")
        ax.set_title(r"Mean noise $\xi_\mu \sim N(0, 1/m)$")
    else:
        x = np.linspace(1e-3, 2.5, 1000)
        top = 0.0
        for mi, c in zip(ms, _colors(len(ms))):
            y = variance_noise(int(mi)).pdf(x)
            ax.plot(x, y, color=c, label=f"m = {mi}")
            top = max(top, float(np.max(y[x > 0.15])))
        ax.set_ylim(0, 1.15 * top)
        if 2 in [int(v) for v in ms]:
            ax.text(0.97, 0.5, "m = 2: the density\n" r"$\to \infty$ at 0 (clipped)",
                    transform=ax.transAxes, va="top", ha="right", fontsize="x-small",
                    color="0.35")
        ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel(r"multiplicative noise $\xi_\sigma = \sigma_B^2/\sigma^2$")
        ax.set_title(r"Variance noise $\xi_\sigma \sim \chi^2_{m-1}/m$")
    ax.set_ylabel("probability density")
    ax.legend(title="batch size", fontsize="small")
    return ax


def plot_noise_vs_batch_size(m=None, *, m0=32, simulated=None, ax=None):
    r"""Standard deviation of the BN and MBN noises against batch size (log-log).

    Theory curves: sd of :math:`\xi_\mu` (:math:`1/\sqrt m`) and of :math:`\xi_\sigma`
    (:math:`\sqrt{2(m-1)}/m`) for plain BN (solid), and the stationary noise of MBN at the
    end of the paper's schedule, momentum :math:`\lambda(T) = 1 - m/m_0` (dashed; equal to
    BN for :math:`m \ge m_0`).

    Parameters
    ----------
    m : sequence of int or None
        Batch sizes of the theory curves (default 2..256).
    m0 : int, keyword-only
        The paper's ideal batch size.
    simulated : dict or None, keyword-only
        ``"<model> <noise>" -> (m, sd, sd_stderr)`` arrays of simulated standard deviations,
        with model ``BN`` or ``MBN`` and noise ``mean`` or ``variance`` (e.g.
        ``"MBN mean"``); drawn as points with 95% confidence bars in the colour of their
        noise (MBN: open squares).
    ax : matplotlib Axes or None, keyword-only

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> from simulations import plot_noise_vs_batch_size
    >>> ax = plot_noise_vs_batch_size([2, 4, 8, 16, 32, 64], simulated={
    ...     "BN mean": ([2, 8], [0.71, 0.35], [0.01, 0.01])}, ax=ax)
    >>> ax.get_xscale(), ax.get_yscale()
    ('log', 'log')
    """

    ms = np.arange(2, 257) if m is None else _batch_sizes(m)
    ax = _axes(ax)
    lam = np.clip(1.0 - ms / m0, 0.0, None)
    colors = {"mean": "C0", "variance": "C1"}
    ax.plot(ms, mean_noise(ms).std(), color=colors["mean"],
            label=r"BN: sd $\xi_\mu = 1/\sqrt{m}$")
    ax.plot(ms, variance_noise(ms).std(), color=colors["variance"],
            label=r"BN: sd $\xi_\sigma = \sqrt{2(m-1)}/m$")
    ax.plot(ms, ema_mean_noise(ms, lam).std(), color=colors["mean"], ls="--",
            label=rf"MBN, $\lambda(T) = 1 - m/{m0}$: sd $\xi_\mu$")
    ax.plot(ms, np.sqrt(ema_variance_noise(ms, lam).var), color=colors["variance"], ls="--",
            label=rf"MBN, $\lambda(T) = 1 - m/{m0}$: sd $\xi_\sigma$")
    for key, (sm, sd, se) in (simulated or {}).items():
        model, noise = _simulated_key(key)
        color = colors[noise]
        symbol = r"\xi_\mu" if noise == "mean" else r"\xi_\sigma"
        # small markers and wide caps, so the 95% bars stay visible at the plotted scale
        # (where a bar is shorter than the marker the estimate is within 1% of the theory)
        ax.errorbar(sm, sd, yerr=1.96 * np.asarray(se), fmt="s" if model == "MBN" else "o",
                    ms=2.5, color=color, mfc="white" if model == "MBN" else color, capsize=4,
                    elinewidth=1.2, capthick=1.2, lw=1,
                    label=f"{model} simulated: sd ${symbol}$ (95% CI)")
    ax.axvline(m0, color="0.6", lw=0.8, ls=":")
    ax.text(m0, 0.97, rf" $m_0 = {m0}$", transform=ax.get_xaxis_transform(), va="top",
            fontsize="small", color="0.4")
    _log2_batch_axis(ax, ms)
    ax.set_yscale("log")
    _plain_log_labels(ax.yaxis)
    ax.set_xlabel("batch size m")
    ax.set_ylabel("noise standard deviation (population units)")
    ax.set_title("Noise against batch size: BN and MBN at the end of the schedule")
    ax.legend(fontsize="small", loc="upper right", ncol=1, framealpha=0.9)
    return ax


def plot_output_laws(m, *, ax=None):
    r"""In-batch against out-of-batch laws of the normalised output at batch size `m`.

    In-batch (what training computes): :math:`z = (x_i-\mu_B)/\sigma_B`, bounded by
    :math:`\sqrt{m-1}`; out-of-batch random sample: a scaled Student t with
    :math:`m-1` degrees of freedom; the population normalisation :math:`N(0,1)` for
    comparison. At ``m = 2`` the in-batch output is exactly :math:`\pm 1` (drawn as two
    atoms).

    Parameters
    ----------
    m : int
        Batch size, ``m >= 2``.
    ax : matplotlib Axes or None, keyword-only

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> from simulations import plot_output_laws
    >>> plot_output_laws(3, ax=ax).get_title()
    'm = 3'
    """
    from scipy.stats import norm  # deferred: scipy

    (mi,) = _batch_sizes(m)
    mi = int(mi)
    ax = _axes(ax)
    x = np.linspace(-4, 4, 1601)
    ax.plot(x, norm.pdf(x), color="0.55", ls=":", label="N(0, 1): population normalisation")
    ax.plot(x, bn_output(mi, model="out_of_batch").pdf(x), color="C3",
            label=r"out-of-batch: $\sqrt{(m+1)/(m-1)}\,t_{m-1}$")
    bound = np.sqrt(mi - 1.0)
    top = 1.7 * (0.4 if mi == 2 else _in_batch_peak(mi))
    if mi == 2:
        # two atoms of probability 1/2: bars reaching the top of the axes
        ax.vlines([-1, 1], 0, 0.97 * top, color="C0", lw=2.5,
                  label=r"in-batch: $z = \pm 1$, P = 1/2 each (atoms)")
    else:
        inside = x[np.abs(x) < bound]
        ax.plot(inside, bn_output(mi, model="in_batch").pdf(inside), color="C0",
                label=r"in-batch: bounded, $|z| \leq \sqrt{m-1}$")
        ax.axvline(bound, color="C0", lw=0.7, ls="--")
        ax.axvline(-bound, color="C0", lw=0.7, ls="--")
    ax.set_ylim(0, top)
    ax.set_xlim(-4, 4)
    ax.set_xlabel(r"normalised output $(x - \mu_B)/\sigma_B$")
    ax.set_ylabel("probability density")
    ax.set_title(f"m = {mi}")
    ax.legend(fontsize="x-small", loc="upper left", framealpha=0.95)
    return ax


def _in_batch_peak(m):
    """Largest in-batch density away from the bound (the arcsine law at m = 3 diverges)."""

    bound = np.sqrt(m - 1.0)
    x = np.linspace(-0.9 * bound, 0.9 * bound, 401)
    return max(float(np.max(bn_output(m, model="in_batch").pdf(x))), 0.45)


# ------------------------------------------------------------------ non-Gaussian inputs
def plot_kurtosis_effect(m=(4, 16, 64), *, excess_kurtosis=None, simulated=None, ax=None):
    r"""Variance noise against the input's kurtosis, relative to Gaussian input.

    Plots :math:`\operatorname{Var}\xi_\sigma(\kappa) / \operatorname{Var}\xi_\sigma(0)`
    for excess kurtosis :math:`\kappa`, where the exact variance of the biased batch
    variance is :math:`((m-1)/m)^2\,[\mu_4/m - (m-3)/(m(m-1))]` with
    :math:`\mu_4 = 3 + \kappa`: for heavy tails BN's noise depends on the input law, not
    only on m.

    Parameters
    ----------
    m : sequence of int, keyword-only
        Batch sizes, one curve each.
    excess_kurtosis : array_like or None, keyword-only
        Grid of excess kurtosis (default -1.2..9).
    simulated : dict or None, keyword-only
        ``label -> (m, excess_kurtosis, ratio, ratio_stderr)`` simulated points (one input
        law per label), drawn with 95% bars in the colour of their m.
    ax : matplotlib Axes or None, keyword-only

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> from simulations import plot_kurtosis_effect
    >>> ax = plot_kurtosis_effect([4, 64], ax=ax)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['theory, m = 4', 'theory, m = 64']
    """

    ms = _batch_sizes(m)
    k = np.linspace(-1.2, 9.0, 200) if excess_kurtosis is None else np.asarray(excess_kurtosis)
    ax = _axes(ax)
    colors = dict(zip(ms.tolist(), _colors(len(ms))))
    for mi in ms.tolist():
        base = batch_statistics_moments(mi).var_var
        ratio = batch_statistics_moments(mi, excess_kurtosis=k).var_var / base
        ax.plot(k, ratio, color=colors[mi], label=f"theory, m = {mi}")
    markers = iter("osD^vP*X")
    for label, (sm, sk, ratio, se) in (simulated or {}).items():
        mk = next(markers)
        for mi, ki, ri, si in zip(np.atleast_1d(sm), np.atleast_1d(sk), np.atleast_1d(ratio),
                                  np.atleast_1d(se)):
            ax.errorbar([ki], [ri], yerr=[1.96 * si], fmt=mk, ms=5, capsize=2,
                        color=colors.get(int(mi), "k"), mfc="white")
        ax.plot([], [], mk, color="0.3", mfc="white", label=label)
    ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(r"excess kurtosis of the input $\kappa = \mu_4/\sigma^4 - 3$")
    ax.set_ylabel(r"$\mathrm{Var}\,\xi_\sigma$ relative to Gaussian input")
    ax.set_title("Variance noise depends on the tails of the input")
    ax.legend(fontsize="x-small", ncol=2)
    return ax


# ------------------------------------------------------------------ momentum BN
def plot_schedule(m=(2, 4, 8, 16), *, epochs=200, m0=32, tau0=0.9, quantity="momentum",
                  ax=None):
    r"""The paper's momentum schedule over training, for several batch sizes.

    Parameters
    ----------
    m : sequence of int
        Batch sizes, one curve each.
    epochs, m0, tau0 : keyword-only
        Number of epochs T, ideal batch size and inference momentum at `m0`.
    quantity : {"momentum", "effective_batch_size"}, keyword-only
        ``"momentum"``: the training momentum :math:`\lambda(t)` (solid) and the inference
        momentum :math:`\tau = \tau_0^{m/m_0}` (dashed), both weights on history.
        ``"effective_batch_size"``: :math:`m(1+\lambda(t))/(1-\lambda(t))`, the plain-BN
        batch size with the same stationary mean noise (log2 axis); it ends at
        :math:`2m_0 - m`, not :math:`m_0` (dotted line).
    ax : matplotlib Axes or None, keyword-only

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> from simulations import plot_schedule
    >>> ax = plot_schedule([2, 8], quantity="effective_batch_size", ax=ax)
    >>> ax.get_yscale()
    'log'
    """

    quantity = choice(quantity, "quantity", ("momentum", "effective_batch_size"))
    ms = _batch_sizes(m)
    ax = _axes(ax)
    t = np.arange(1, epochs + 1)
    for mi, c in zip(ms.tolist(), _colors(len(ms))):
        lam = paper_momentum(t, epochs, mi, m0=m0)
        if quantity == "momentum":
            ax.plot(t, lam, color=c, label=rf"$\lambda(t)$, m = {mi}")
            ax.axhline(float(inference_momentum(mi, m0=m0, tau0=tau0)), color=c, ls="--",
                       lw=1)
        else:
            ax.plot(t, effective_batch_size(mi, lam), color=c, label=f"m = {mi}")
    if quantity == "momentum":
        ax.plot([], [], color="0.4", ls="--", lw=1,
                label=rf"$\tau = \tau_0^{{m/m_0}}$ (inference), $\tau_0 = {tau0:g}$; see inset")
        # the tau lines lie within a few hundredths of each other near 1: an inset zooms in
        # on them and labels each with its m and value
        taus = [float(inference_momentum(mi, m0=m0, tau0=tau0)) for mi in ms.tolist()]
        inset = ax.inset_axes([0.07, 0.5, 0.36, 0.36])
        for mi, c, tau in zip(ms.tolist(), _colors(len(ms)), taus):
            inset.axhline(tau, color=c, ls="--", lw=1)
            inset.text(0.03, tau, f"m = {mi}: {tau:.4f}", color=c, fontsize="x-small",
                       va="bottom", transform=inset.get_yaxis_transform())
        span = max(taus) - min(taus) or 0.01
        inset.set_ylim(min(taus) - 0.15 * span, max(taus) + 0.35 * span)
        inset.set_xticks([])
        inset.tick_params(labelsize="x-small")
        inset.set_title(r"inference momentum $\tau$", fontsize="x-small")
        ax.set_ylabel("momentum (weight on history)")
        ax.set_ylim(0, 1.02)
        ax.set_title(rf"Training momentum $\lambda(t)$ and inference momentum $\tau$ "
                     rf"($m_0 = {m0}$)")
    else:
        ax.axhline(m0, color="0.5", ls=":", lw=1)
        ax.text(0.2 * epochs, m0, rf"target $m_0 = {m0}$; the schedule ends at $2m_0 - m$",
                va="bottom", fontsize="small", color="0.4")
        _log2_batch_axis(ax, [min(ms.min(), 2), 2 * m0], axis="y")
        ax.set_ylabel("effective batch size (log scale)")
        ax.set_title(r"Effective batch size $m(1+\lambda)/(1-\lambda)$ over training")
    ax.set_xlabel(f"epoch t (of T = {epochs})")
    ax.legend(fontsize="x-small", loc="lower right" if quantity == "momentum" else "upper left")
    return ax


def plot_mbn_trajectory(m, momenta, *, which="mean", iterations_per_epoch=1, simulated=None,
                        ax=None):
    r"""Noise of MBN's running statistics over training: exact theory band and simulation.

    Parameters
    ----------
    m : int
        Batch size.
    momenta : array_like, shape (steps,)
        Momentum (weight on history) at each step, e.g. from
        ``noise_theory.momentum_schedule``.
    which : {"mean", "variance"}, keyword-only
        The mean noise (band: the exact central 95% interval of its normal law) or the
        variance noise (band: central 95% interval of the moment-matched Gamma law, whose
        mean and variance are exact).
    iterations_per_epoch : int, keyword-only
        Steps per epoch: the x axis is in epochs.
    simulated : dict or None, keyword-only
        Optional ``{"steps": s, "sd": sd, "sd_stderr": se}`` simulated standard deviations of
        the noise at the given (0-based) steps, drawn as points with 95% bars on the
        standard-deviation curve, and optionally ``"path"``: one simulated trajectory.
    ax : matplotlib Axes or None, keyword-only

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> from noise_theory import momentum_schedule
    >>> from simulations import plot_mbn_trajectory
    >>> lam = momentum_schedule("paper", m=4, epochs=20, iterations_per_epoch=10)
    >>> plot_mbn_trajectory(4, lam, iterations_per_epoch=10, ax=ax).get_xlabel()
    'epoch'
    """

    which = choice(which, "which", ("mean", "variance"))
    (mi,) = _batch_sizes(m)
    ax = _axes(ax)
    traj = noise_trajectory(int(mi), momenta)
    steps = np.arange(len(traj.momenta))
    epoch = (steps + 1) / iterations_per_epoch
    if which == "mean":
        centre = np.zeros(steps.size)
        sd = np.sqrt(traj.mean_noise_var)
        symbol = r"\xi_\mu"
        lo, hi = centre - 1.96 * sd, centre + 1.96 * sd
        band = rf"theory: exact 95% band of ${symbol}$"
    else:
        from scipy.stats import gamma  # deferred: scipy

        centre = traj.variance_noise_mean
        sd = np.sqrt(traj.variance_noise_var)
        symbol = r"\xi_\sigma"
        shape, scale = centre**2 / sd**2, sd**2 / centre
        lo, hi = gamma.ppf(0.025, shape, scale=scale), gamma.ppf(0.975, shape, scale=scale)
        band = rf"theory: 95% band of ${symbol}$ (moment-matched Gamma)"
    ax.fill_between(epoch, lo, hi, color="C0", alpha=0.2, lw=0, label=band)
    ax.plot(epoch, centre + sd, color="C0", lw=1, label=rf"theory: mean + one sd of ${symbol}$ (upper line)")
    ax.plot(epoch, centre, color="C0", lw=0.8, ls=":")
    if simulated is not None:
        if "path" in simulated:
            ax.plot(epoch, simulated["path"], color="0.35", lw=0.5, alpha=0.8,
                    label="one simulated chain")
        s = np.asarray(simulated["steps"])
        ax.errorbar((s + 1) / iterations_per_epoch,
                    centre[s] + np.asarray(simulated["sd"]),
                    yerr=1.96 * np.asarray(simulated["sd_stderr"]), fmt="o", ms=4, color="C3",
                    capsize=2, label="simulated: mean + one sd (95% CI)")
    ax.set_xlabel("epoch")
    ax.set_ylabel(rf"${symbol}$ of the running statistics (population units)")
    ax.set_title(rf"MBN {which} noise over training, m = {int(mi)}")
    ax.legend(fontsize="x-small", loc="upper right")
    return ax


# ------------------------------------------------------------------ the regulariser
def plot_regularizer_strength(m=None, *, quantity="strength", family="logistic",
                              h=(0.5, 1.0, 2.0), y=1.0, gamma=1.5, beta=0.2, momentum=0.0,
                              ax=None):
    r"""Strength of BN's explicit regulariser against batch size, or its approximation error.

    Parameters
    ----------
    m : sequence of int or None
        Batch sizes (default 4..256).
    quantity : {"strength", "error"}, keyword-only
        ``"strength"``: the exact coefficients of
        :math:`\mathrm{Var}\,\eta = \gamma^2(a\,h^2 + b)`, :math:`a = c_2 - c_1^2` and
        :math:`b = c_2/m` (``noise_theory.regularizer_strength``), with their large-m
        series (dashed) and the leading :math:`1/m` law (dotted); log-log.
        ``"error"``: relative error of the second-order expected loss
        :math:`\ell(E\eta, y) + A''(E\eta)\mathrm{Var}\,\eta/2` against the exact expectation
        by quadrature (``noise_theory.expected_glm_loss``) for each ``h``; log-log.
    family, h, y, gamma, beta, momentum : keyword-only
        The GLM point(s) of the error curves (``h`` a sequence; population units).
    ax : matplotlib Axes or None, keyword-only

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> from simulations import plot_regularizer_strength
    >>> plot_regularizer_strength([4, 16, 64], ax=ax).get_yscale()
    'log'
    """

    quantity = choice(quantity, "quantity", ("strength", "error"))
    ms = np.unique(np.round(np.geomspace(4, 256, 40)).astype(int)) if m is None else _batch_sizes(m)
    ax = _axes(ax)
    if quantity == "strength":
        s = [regularizer_strength(int(mi), momentum=momentum) for mi in ms]
        a = np.array([x.var_h2 for x in s])
        b = np.array([x.var_const for x in s])
        a1, a2 = s[0].var_h2_series
        b1, b2 = s[0].var_const_series
        ax.plot(ms, a, color="C0", label=r"$c_2 - c_1^2$ (coefficient of $\gamma^2 h^2$), exact")
        ax.plot(ms, a1 / ms + a2 / ms**2, color="C0", ls="--",
                label=rf"series ${a1:g}/m + {a2:g}/m^2$")
        ax.plot(ms, b, color="C1", label=r"$c_2/m$ (coefficient of $\gamma^2$), exact")
        ax.plot(ms, b1 / ms + b2 / ms**2, color="C1", ls="--",
                label=rf"series ${b1:g}/m + {b2:g}/m^2$")
        ax.plot(ms, a1 / ms, color="C0", ls=":", lw=1)
        ax.plot(ms, b1 / ms, color="C1", ls=":", lw=1, label="leading 1/m terms (dotted)")
        ax.set_ylabel(r"coefficient of $\mathrm{Var}\,\eta / \gamma^2$")
        title = "Regulariser strength falls like 1/m"
    else:
        for hi, c in zip(h, _colors(len(h))):
            err = np.array([abs(float(
                glm_regularizer(hi, gamma=gamma, beta=beta, m=int(mi), family=family,
                                momentum=momentum).approx_expected_loss(y))
                / float(expected_glm_loss(hi, y, gamma=gamma, beta=beta, m=int(mi),
                                          family=family, momentum=momentum)) - 1.0)
                for mi in ms])
            ax.plot(ms, err, "o-", ms=3, color=c, label=f"h = {hi:g}")
        ax.plot(ms, 1.0 / ms.astype(float) ** 2, color="0.5", ls=":", lw=1,
                label=r"$1/m^2$ for reference")
        ax.set_ylabel("|second order / exact - 1|")
        title = (f"Second-order approximation error ({family}, y = {y:g}, "
                 rf"$\gamma$ = {gamma:g}, $\beta$ = {beta:g})")
    _log2_batch_axis(ax, ms)
    ax.set_yscale("log")
    ax.set_xlabel("batch size m")
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="x-small")
    return ax
