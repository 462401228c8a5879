r"""Exact law of a geometric weighted sum of Gammas by Laplace inversion (private).

``X = sum_{j>=0} c0 lam^j G_j`` with iid ``G_j ~ Gamma(k, 1)``, ``0 <= lam < 1``: the stationary
MBN running variance (``c0 = (1 - lam) theta``). Its Laplace transform is
``L(s) = prod_j (1 + c0 lam^j s)^(-k)``, analytic off the cut ``s <= -1/c0``.

Log-transform
    ``log L(s) = -s E X - k F(c0 s)``, ``F(z) = sum_j phi(z lam^j)``, ``phi(w) = log(1+w) - w``.
    The first ``J`` terms (those with ``|z lam^j| > R0 = 1/2``) are summed directly; the rest
    is the exact power series ``sum_{j>=J} phi(w lam^j) = sum_{n>=2} (-1)^(n+1) w^n /
    (n (1 - lam^n))`` at ``w = z lam^J`` (``|w| <= 1/2``), cut after ``N`` terms where the
    remainder bound ``k |w|^(N+1) / ((N+1)(1 - lam^(N+1))(1 - |w|))`` is below ``1e-18``.
    ``J = ceil(log(|z|/R0) / log(1/lam))`` stays bounded where the integrand matters (for
    ``lam -> 1`` the relevant ``|z|`` shrink like ``sqrt(1 - lam)``, so ``J = 0``); it is
    capped at ``J_CAP`` terms (see below), so the cost of one evaluation never grows with
    ``1/(1 - lam)`` beyond ``J_CAP``.

Inversion
    ``P(X <= x) = (1/2 pi i) int L(s) e^(s x) ds / s`` on a contour crossing the real axis at
    ``s0 > 0``; ``P(X > x) = -(1/2 pi i) int ...`` crossing at ``s0 in (-1/c0, 0)``. ``s0`` is
    the saddle point of ``log L(s) + s x - log|s|`` and the contour is the parabola
    ``s(u) = s0 + mu (2 i u - u^2)``, ``u`` real, ``mu = 1 / (2 sqrt(psi''(s0)))`` (vertical
    through the saddle, bending into the left half-plane, around the cut and - for the lower
    tail - around the pole at 0). The trapezoidal rule in ``u`` (step ``H``) converges
    geometrically; every term is scaled by ``e^(psi(s0))``, so the tail probability is
    computed with *relative* accuracy however small it is (down to the float range): the
    lower tail gives the CDF, the upper tail the survival function, and the other one is
    ``1 - tail``.

When the saddle would need more than ``J_CAP`` leading terms (far tails with ``lam`` near 1)
the tail probability is bounded by Chernoff's inequality at the capped point; this bound
is below ``exp(-745)`` (it is checked, not assumed) and the tail is returned as 0.
"""

from __future__ import annotations

import numpy as np

R0 = 0.5  # leading terms |z lam^j| > R0 are summed directly, the rest by the power series
J_CAP = 1 << 16  # at most this many leading terms per evaluation point
H_MAX = 0.2  # largest trapezoidal step in the contour parameter u
_BLOCK = 16  # contour points per block (the contour is extended block by block)
_MAX_BLOCKS = 400
_NEGLIGIBLE = 1e-19  # stop the contour where |integrand| < this * |integrand at u = 0|
_UNDERFLOW = -760.0  # log-probabilities below this are 0 in double precision


class GeometricGammaSum:
    """X = sum_j c0 lam^j G_j, G_j ~ Gamma(k, 1) iid; `mean` = k c0 / (1 - lam) exactly."""

    def __init__(self, k, c0, lam, mean, mean_minus_one=None):
        self.k, self.c0, self.lam, self.mean = float(k), float(c0), float(lam), float(mean)
        # E X - 1, given separately so that x - E X = (x - 1) - (E X - 1) keeps its digits
        # when E X rounds to 1 (huge batch sizes)
        self.mean_m1 = float(mean - 1.0 if mean_minus_one is None else mean_minus_one)
        self.delta = 1.0 - self.lam  # exact for lam in [1/2, 1) (Sterbenz), else correctly rounded
        self.ell = np.log1p(-self.delta) if self.lam > 0 else -np.inf  # log(lam)
        # series coefficients c_n = (-1)^(n+1) / (n (1 - lam^n)), n = 2..N
        n_max = 2
        while True:
            n1 = n_max + 1
            one_minus = 1.0 if self.lam == 0 else -np.expm1(n1 * self.ell)
            if self.k * R0**n1 / (n1 * one_minus * (1.0 - R0)) < 1e-18 or n_max > 4000:
                break
            n_max += 1
        n = np.arange(2, n_max + 1, dtype=float)
        one_minus = np.ones_like(n) if self.lam == 0 else -np.expm1(n * self.ell)
        self.coef = (-1.0) ** (n + 1) / (n * one_minus)
        self.n = n

    # ------------------------------------------------------------ F and its derivatives
    def leading_count(self, absz):
        absz = np.asarray(absz, dtype=float)
        if self.lam == 0:
            return (absz > R0).astype(np.int64)
        with np.errstate(divide="ignore"):
            j = np.ceil(np.log(np.maximum(absz, 1e-300) / R0) / -self.ell)
        j = np.where(absz > R0, np.maximum(j, 1.0), 0.0)
        return np.minimum(j, J_CAP + 1).astype(np.int64)

    def sums(self, z, opz, derivatives=False):
        """F(z) (and z F'(z), z^2 F''(z) if asked) at points z with 1 + z = opz (accurate).

        Returns (F, zF1, z2F2, capped): `capped` marks points that need more than J_CAP
        leading terms (their values are then not computed and set to nan).
        """
        z = np.asarray(z)
        opz = np.asarray(opz)
        dtype = np.result_type(z.dtype, opz.dtype, float)
        z = z.astype(dtype).ravel()
        opz = opz.astype(dtype).ravel()
        J = self.leading_count(np.abs(z))
        capped = J > J_CAP
        J = np.where(capped, 0, J)
        F = np.zeros(z.shape, dtype)
        F1 = np.zeros(z.shape, dtype) if derivatives else None
        F2 = np.zeros(z.shape, dtype) if derivatives else None
        idx = np.flatnonzero(J > 0)
        if idx.size:
            jmax = int(J[idx].max())
            chunk = max(1, (1 << 20) // max(idx.size, 1))  # ~ 16 MB of complex work arrays
            for j0 in range(0, jmax, chunk):
                js = np.arange(j0, min(j0 + chunk, jmax), dtype=float)
                if self.lam == 0:
                    lamj, om = np.ones(1), np.zeros(1)
                else:
                    lamj, om = np.exp(js * self.ell), -np.expm1(js * self.ell)
                active = np.arange(j0, j0 + js.size)[None, :] < J[idx, None]
                wj = z[idx, None] * lamj
                opwj = opz[idx, None] * lamj + om  # 1 + z lam^j without cancellation
                F[idx] += np.where(active, np.log(opwj) - wj, 0.0).sum(axis=1)
                if derivatives:
                    q = wj / opwj
                    F1[idx] += np.where(active, q - wj, 0.0).sum(axis=1)
                    F2[idx] += np.where(active, -q * q, 0.0).sum(axis=1)
        w = z * (np.exp(J * self.ell) if self.lam > 0 else (J == 0))
        # tail: Horner for sum_n c_n w^n, n = 2..N
        acc = np.zeros(z.shape, dtype)
        for c in self.coef[::-1]:
            acc = acc * w + c
        F += acc * w * w
        if derivatives:
            acc1 = np.zeros(z.shape, dtype)
            acc2 = np.zeros(z.shape, dtype)
            for c, n in zip(self.coef[::-1], self.n[::-1]):
                acc1 = acc1 * w + n * c
                acc2 = acc2 * w + n * (n - 1) * c
            F1 += acc1 * w * w
            F2 += acc2 * w * w
        if np.any(capped):
            F[capped] = np.nan
            if derivatives:
                F1[capped] = np.nan
                F2[capped] = np.nan
        return F, F1, F2, capped

    def log_laplace_centered(self, s, opz=None):
        """log L(s) + s E X = -k F(c0 s) (exact up to the stated truncation)."""
        z = self.c0 * np.asarray(s)
        F = self.sums(z, 1.0 + z if opz is None else opz)[0]
        return -self.k * F

    # ------------------------------------------------------------ saddle points
    def _centred(self, x):
        return (x - 1.0) - self.mean_m1

    def _g_lower(self, s, xm):
        z = self.c0 * s
        with np.errstate(over="ignore", invalid="ignore"):
            _, F1, _, capped = self.sums(z, 1.0 + z, derivatives=True)
            return s * xm - 1.0 - self.k * F1, capped

    def saddle_lower(self, x):
        """s0 > 0 with s (K'(s) + x) = 1 for each x (bisection in log s), and a cap flag."""
        xm = self._centred(x)
        lo = np.log(1.0 / x)  # G(1/x) < 0
        step = np.full(x.shape, 1.0)
        hi = lo + step
        capped = np.zeros(x.shape, bool)
        todo = np.ones(x.shape, bool)
        for _ in range(200):  # expand: G(e^hi) > 0 or the cap is reached
            g, cap = self._g_lower(np.exp(hi[todo]), xm[todo])
            sub = np.flatnonzero(todo)
            capped[sub[cap]] = True
            done = cap | (g > 0)
            lo[sub[~done]] = hi[sub[~done]]
            step[sub[~done]] *= 2.0
            hi[sub[~done]] += step[sub[~done]]
            todo[sub[done]] = False
            if not todo.any():
                break
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            g, cap = self._g_lower(np.exp(mid), xm)
            pos = cap | (g > 0)
            hi = np.where(pos, mid, hi)
            lo = np.where(pos, lo, mid)
        s0 = np.exp(lo)  # the G <= 0 side: never capped
        z_hi = self.c0 * np.exp(hi)
        edge = self.sums(z_hi, 1.0 + z_hi)[3]  # the root is at or beyond the term cap
        return s0, 1.0 + self.c0 * s0, edge

    def saddle_upper(self, x):
        """s0 in (-1/c0, 0) with s (K'(s) + x) = 1 (bisection in logit(-c0 s))."""
        xm = self._centred(x)
        lo = np.full(x.shape, -700.0)  # G < 0 (s -> 0-)
        hi = np.full(x.shape, 700.0)  # G > 0 (s -> -1/c0) unless x is astronomically large
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            v = 0.5 * (1.0 + np.tanh(0.5 * mid))  # expit
            opz = 0.5 * (1.0 - np.tanh(0.5 * mid))  # 1 - v, accurate
            s = -v / self.c0
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                _, F1, _, cap = self.sums(-v, opz, derivatives=True)
                g = s * xm - 1.0 - self.k * F1
            pos = cap | (g > 0) | np.isnan(g)
            hi = np.where(pos, mid, hi)
            lo = np.where(pos, lo, mid)
        v = 0.5 * (1.0 + np.tanh(0.5 * lo))
        opz = 0.5 * (1.0 - np.tanh(0.5 * lo))
        s0 = -v / self.c0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            _, _, _, cap_hi = self.sums(-0.5 * (1.0 + np.tanh(0.5 * hi)),
                                        0.5 * (1.0 - np.tanh(0.5 * hi)))
        edge = cap_hi | (lo > 699.0)
        return s0, opz, edge

    # ------------------------------------------------------------ the tail probability
    def log_tail(self, x, upper):
        """log P(X <= x) (upper=False) or log P(X > x) (upper=True), x > 0 finite array."""
        x = np.asarray(x, dtype=float).ravel()
        out = np.full(x.shape, -np.inf)
        if x.size == 0:
            return out
        if upper:
            s0, opz0, edge = self.saddle_upper(x)
        else:
            s0, opz0, edge = self.saddle_lower(x)
        xm = self._centred(x)
        z0 = self.c0 * s0
        F0, _, F2, cap0 = self.sums(z0, opz0, derivatives=True)
        E0 = -self.k * F0 + s0 * xm
        if np.any(edge):
            # Chernoff bound at s0 (a valid point): P <= exp(E0 + log|...|) with E0 computed
            # from the capped-at-edge s0; it must be negligible
            if np.any(~np.isfinite(E0[edge])) or np.any(E0[edge] > _UNDERFLOW):
                raise RuntimeError("tail beyond the term cap is not negligible")  # pragma: no cover
        ok = ~edge
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return out
        s0, opz0, E0, xm = s0[idx], opz0[idx], E0[idx], xm[idx]
        mu = np.abs(s0) / (2.0 * np.sqrt(1.0 - self.k * F2[idx]))
        # step: the pole of 1/s lies at distance d >= 1 (lower) or sqrt(3) - 1 (upper) from
        # the real u axis and has residue ~ 1/P relative to the saddle scale, so the
        # trapezoidal error is ~ exp(-2 pi d / h) / P: take h = 2 pi d / (|log P| + 40)
        d = np.sqrt(1.0 + np.abs(s0) / mu) - 1.0 if upper else np.ones(idx.size)
        d = np.minimum(d, 1.0)
        h = np.minimum(H_MAX, 2.0 * np.pi * d / (np.abs(E0) + 40.0))
        total = np.zeros(idx.size)
        active = np.ones(idx.size, bool)
        g0 = None
        for b in range(_MAX_BLOCKS):
            a = np.flatnonzero(active)
            u = (np.arange(_BLOCK) + b * _BLOCK)[None, :] * h[a, None]
            shift = mu[a, None] * (2j * u - u * u)
            s = s0[a, None] + shift
            opz = opz0[a, None] + self.c0 * shift
            F, _, _, cap = self.sums(self.c0 * s, opz)
            F = F.reshape(s.shape)
            cap = cap.reshape(s.shape)
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                expo = -self.k * F + s * xm[a, None] - E0[a, None]
                g = np.exp(expo) * (2.0 * mu[a, None] * (1j - u)) / s
            g = np.where(cap, np.nan, g)
            if b == 0:
                g0 = np.abs(g[:, 0])
                weights = np.ones(_BLOCK)
                weights[0] = 0.5
            else:
                weights = np.ones(_BLOCK)
            total[a] += (g.imag * weights).sum(axis=1)
            small = np.nanmax(np.abs(g), axis=1) < _NEGLIGIBLE * g0[a] if b else np.zeros(a.size, bool)
            if np.any(np.isnan(g)):
                raise RuntimeError("contour reached the term cap")  # pragma: no cover
            active[a[small]] = False
            if not active.any():
                break
        else:  # pragma: no cover - guarded by tests over the domain
            raise RuntimeError("contour integral did not converge")
        val = total * h / np.pi * (-1.0 if upper else 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[idx] = np.where(val > 0, E0 + np.log(val), -np.inf)
        return out
