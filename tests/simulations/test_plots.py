"""The public plotting functions: they draw the theory they claim to (the plotted data are
compared with noise_theory), label everything, use log axes where m spans orders of
magnitude, honour ax=None/ax=..., and reject bad input with a clear message."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import noise_theory as nt  # noqa: E402
from simulations import (  # noqa: E402
    plot_kurtosis_effect,
    plot_mbn_trajectory,
    plot_noise_densities,
    plot_noise_vs_batch_size,
    plot_output_laws,
    plot_regularizer_strength,
    plot_schedule,
)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def labelled(ax):
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert ax.get_legend() is not None and ax.get_legend().get_texts()


def line(ax, label):
    (found,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return found.get_xdata(), found.get_ydata()


def test_noise_densities_draw_the_exact_laws(ax):
    assert plot_noise_densities([2, 8], which="mean", ax=ax) is ax
    labelled(ax)
    x, y = line(ax, "m = 8")
    np.testing.assert_allclose(y, nt.mean_noise(8).pdf(x), rtol=1e-12)
    ax.clear()
    plot_noise_densities([4, 32], which="variance", ax=ax)
    x, y = line(ax, "m = 32")
    np.testing.assert_allclose(y, nt.variance_noise(32).pdf(x), rtol=1e-12)


def test_ax_none_uses_current_axes():
    fig = plt.figure()
    try:
        assert plot_noise_densities([2]) is plt.gca()
    finally:
        plt.close(fig)


def test_noise_vs_batch_size_theory_log_axes_and_points(ax):
    sims = {"BN mean": ([2, 8], [0.7, 0.36], [0.01, 0.01]),
            "MBN variance": ([4], [0.15], [0.005])}
    plot_noise_vs_batch_size(np.arange(2, 257), m0=32, simulated=sims, ax=ax)
    labelled(ax)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    m, sd = line(ax, r"BN: sd $\xi_\mu = 1/\sqrt{m}$")
    np.testing.assert_allclose(sd, 1 / np.sqrt(m), rtol=1e-12)
    m, sd = line(ax, r"MBN, $\lambda(T) = 1 - m/32$: sd $\xi_\mu$")
    # stationary MBN noise at the end point: 1/(2 m0 - m) below m0, BN above
    expect = 1 / np.sqrt(np.where(m < 32, 2 * 32 - m, m))
    np.testing.assert_allclose(sd, expect, rtol=1e-10)
    assert len(ax.containers) == 2      # two sets of error bars


def test_output_laws(ax):
    plot_output_laws(4, ax=ax)
    labelled(ax)
    x, y = line(ax, r"in-batch: bounded, $|z| \leq \sqrt{m-1}$")
    assert np.abs(x).max() <= np.sqrt(3)
    np.testing.assert_allclose(y, nt.bn_output(4).pdf(x), rtol=1e-12)
    x, y = line(ax, r"out-of-batch: $\sqrt{(m+1)/(m-1)}\,t_{m-1}$")
    np.testing.assert_allclose(y, nt.bn_output(4, model="out_of_batch").pdf(x), rtol=1e-12)
    ax.clear()
    plot_output_laws(2, ax=ax)          # two atoms, no density
    assert any("atoms" in t.get_text() for t in ax.get_legend().get_texts())


def test_kurtosis_effect(ax):
    sims = {"simulated: laplace": ([4, 16], [3.0, 3.0], [2.1, 2.4], [0.05, 0.05])}
    plot_kurtosis_effect([4, 16], simulated=sims, ax=ax)
    labelled(ax)
    k, ratio = line(ax, "theory, m = 16")
    base = nt.batch_statistics_moments(16).var_var
    np.testing.assert_allclose(ratio, nt.batch_statistics_moments(16, excess_kurtosis=k).var_var
                               / base, rtol=1e-12)
    assert ratio[np.argmin(np.abs(k))] == pytest.approx(1.0, abs=0.05)


def test_schedule(ax):
    plot_schedule((2, 8), epochs=50, m0=32, ax=ax)
    labelled(ax)
    t, lam = line(ax, r"$\lambda(t)$, m = 2")
    np.testing.assert_allclose(lam, nt.paper_momentum(t, 50, 2, m0=32), rtol=1e-12)
    assert lam[0] == 0 and lam[-1] == pytest.approx(1 - 2 / 32)
    taus = sorted(ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_linestyle() == "--"
                  and len(ln.get_ydata()) == 2)
    np.testing.assert_allclose(taus, sorted(nt.inference_momentum([2, 8]).tolist()), rtol=1e-12)
    ax.clear()
    plot_schedule((2, 8), epochs=50, m0=32, quantity="effective_batch_size", ax=ax)
    assert ax.get_yscale() == "log"
    t, eff = line(ax, "m = 8")
    assert eff[-1] == pytest.approx(2 * 32 - 8)    # ends at 2 m0 - m


def test_mbn_trajectory(ax):
    momenta = nt.momentum_schedule("paper", m=4, epochs=10, iterations_per_epoch=3)
    sim = {"steps": [0, 15, 29], "sd": [0.5, 0.45, 0.2], "sd_stderr": [0.01] * 3,
           "path": np.zeros(30)}
    plot_mbn_trajectory(4, momenta, iterations_per_epoch=3, simulated=sim, ax=ax)
    labelled(ax)
    epoch, upper = line(ax, r"theory: mean + one sd of $\xi_\mu$ (upper line)")
    np.testing.assert_allclose(upper, np.sqrt(nt.noise_trajectory(4, momenta).mean_noise_var))
    assert epoch[-1] == 10
    ax.clear()
    plot_mbn_trajectory(4, momenta, which="variance", ax=ax)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() > 0          # a Gamma band never goes below 0


def test_regularizer_strength(ax):
    plot_regularizer_strength([4, 8, 64], ax=ax)
    labelled(ax)
    m, a = line(ax, r"$c_2 - c_1^2$ (coefficient of $\gamma^2 h^2$), exact")
    np.testing.assert_allclose(a, [nt.regularizer_strength(int(k)).var_h2 for k in m])
    ax.clear()
    plot_regularizer_strength([8, 64], quantity="error", h=(1.0,), ax=ax)
    m, err = line(ax, "h = 1")
    assert err[1] < err[0] < 0.2       # the error falls with m


@pytest.mark.parametrize("call, match", [
    (lambda: plot_noise_densities([2], which="x"), r"`which` must be one of"),
    (lambda: plot_noise_densities([1]), r"`m` must be an integer >= 2; got m=\[1\]"),
    (lambda: plot_noise_vs_batch_size(simulated={"BN sd": ([2], [1], [0])}),
     r"`simulated` keys must be '<BN\|MBN> <mean\|variance>'; got 'BN sd'"),
    (lambda: plot_schedule(quantity="lambda"), r"`quantity` must be one of"),
    (lambda: plot_regularizer_strength(quantity="x"), r"`quantity` must be one of"),
])
def test_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
    plt.close("all")


def test_docstring_examples():
    import doctest

    import simulations.plots as mod

    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    plt.close("all")
    assert result.attempted >= 15 and result.failed == 0
