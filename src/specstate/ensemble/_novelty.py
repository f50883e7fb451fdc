"""Novelty: how unlike every fitted state a spectrum is, calibrated on held-out references.

The known spectra span a subspace: the states' means, their linear mixtures (a sample inside
a transition), and the variation the references and their augmented copies show (peaks that
move with pressure or an energy drift, intensity jitter, background). The principal
directions of the (augmented) training spectra above the noise edge, with each state's
shift tangent (the derivative of its mean: where a small shift of the axis moves it), are
that subspace B.
A spectrum's novelty is its residual from B, weighted by the counting noise of each point,
relative to what noise alone leaves:

    novelty(x) = || W^1/2 (I - B B^T W^1/2) x / T ||² / (dof · f(t))

with ``x / T`` the spectrum over its total, ``W`` the inverse noise variance of a normalised
spectrum at the references' mean total, ``dof`` the kept points less the subspace and
``f(t)`` how much noisier a spectrum of relative total ``t = T / T_ref`` is than one at the
references' total. A spectrum of a known state (or a mixture) scores about 1 whatever its
pulse energy; an unseen state, an empty shot or a melt leaves structure the subspace cannot
explain.

**The noise model** ``var = a·mean / t + c / t²`` per point of a normalised spectrum
(counting noise falls with the total, read noise with its square) is fitted to what the
references leave outside the subspace, and the subspace is what stands above that noise: a
fixed point, found by iteration (:func:`noise_weight`). Fitting it to the spread of each
state around its mean instead would take a ramp's moving peaks and its grains for noise and
make the score blind at the peaks (an empty shot or a melt scored as known). Below the
smallest total of the references the model is not extrapolated (``t`` is clipped there):
a shot far weaker than any reference is judged at the weakest reference's noise, so an
empty shot stays visible.

**Exact, folded**: the residual is ``|W^1/2 x|² - |B^T W^1/2 x|²`` (over ``T²``); the
second term is ``K`` more columns of the matrices the prediction path multiplies anyway
(:func:`~specstate.models._fold.fold_networks`), and the first is summed in the same
blocks of rows (:meth:`~specstate.models._inference.FoldedNetworks.log_proba_and_novelty`).

Calibration: the scores of held-out references (folds as for the members; each fold's
subspace is built without it), with their augmented copies when the fit augments (the same
states under the nuisances the references imply), are stored in the model. With at least
:data:`MIN_CONFORMAL` of them the threshold for a false-positive rate ``r`` is their
split-conformal quantile (``p = (1 + #{s_cal >= s}) / (n + 1)``, flagged when ``p <= r``);
with fewer, the noise model: pure noise gives ``chi2_dof / dof``, scaled by the median of
the held-out scores. ``novelty_rate`` can be changed at predict time without refitting.

**Line-wide bumps.** Summed point by point, a change that spans a line (a new line, a
changed ratio, a satellite) competes with the noise of every point: its power falls like
``sqrt(dof)``. When the spectrum holds at most :data:`SMOOTH_COLUMNS` line widths the residual
is also read on Gaussian bumps a line width wide (whitened, outside the known subspace: k
coordinates of unit variance for noise, chi-square with k dof). The novelty is then the
larger of the residual (over its held-out median) and the smooth score (scaled so that its
held-out ``1 - rate`` quantile lands on the residual's), calibrated as one score: a third
species in 150-photon XES shots was found 13 % of the time by the residual, 42 % now; at
5,000 photons both find it.

**Faint spectra.** When the jet misses the beam (or the beam the sample), the detector
still sees the background and its counting noise, and nothing of the sample. In the
normalised spectrum that is a smooth shape, which the known subspace can hold (see below),
and at a few hundred photons per shot its noise hides the rest: what is left to tell an
empty shot from a weak known one is its total. With at least :data:`MIN_CONFORMAL`
original references of normalised spectra (an augmented copy keeps its reference's
total: it adds no known total), the novelty is also the larger of the above and the
spectrum's faintness (``1 / t``), scaled so that its held-out ``1 - rate`` quantile lands
on the residual's, and calibrated with them as one score (the rate is shared: each test
gets about half). Measured on 150-photon XES shots
(``bench_novelty.py``): empty shots flagged 68 % by the shape alone, 99.9 % with the
faintness, known shots 0.4 -> 0.8 % (the rate is 1 %); a third species 42 -> 34 %, the
price of the shared rate. A beam much weaker than any the references saw (an attenuator
put in) is flagged too: such spectra are unlike the references, and a model fitted on
references at the new intensity knows them.

**Missing peaks.** The subspace holds smooth shapes too (backgrounds, the references'
varying baselines), and it does not bound its coefficients, so a spectrum with the known
states' peaks gone (a melt: the Bragg peaks vanish into a diffuse hump; an empty shot: the
background alone) can lie inside it and score as known. A second test asks whether the
known peaks are there: a spectrum's *peak content* is the power of its high-pass (two peak
widths: what is narrower is peak) along the principal directions of the training spectra's
high-passes and of each state's shift tangents (first and second derivatives of its
high-passed mean), over the training spectra's median. It does not depend on where along
the known range the peaks sit (a ramp moves them, a little further too), and a mixture of
C states keeps at least 1/C of the weakest state's peak power (for peaks apart,
``sum a_c² P_c >= 1 / sum(1 / P_c) >= min P / C`` when ``sum a_c = 1``). A spectrum is
also novel when its peak content is below 1/C of the held-out known references' lower
``r`` quantile (split-conformal, the lower tail; with too few scores for that quantile,
their minimum). The content is read on the spectrum's projection onto the known subspace
(the spectra it is for lie inside it, else the residual flags them), so it is a K x J
product of the subspace coordinates and adds no column to the prediction's matrices (its
own J <= 16 + 2C columns widened each region's first-layer product by as many: classify
16.5 -> 12.9 ms per 2,700 x 4,000 train).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import binom, chi2

from ..drift import EVIDENCE_P
from ..preprocessing._highpass import smooth_rows

__all__ = ["NoveltyModel", "fit_novelty", "noise_weight", "MIN_CONFORMAL"]

#: Line-wide bumps of the smooth score: Gaussians of this many measured line widths (FWHM)
#: sigma, one such sigma apart. A change of the spectrum on the scale of its lines (a new
#: line, a changed line ratio, a satellite) is smooth over a line width: bumps a width wide
#: keep most of it and pool the noise of a width's points into one degree of freedom, so
#: the score's power grows like sqrt(points / bumps) over a residual summed point by point.
#: Measured on a third species in 300-photon XES shots (``bench_novelty.py``): 0.5 widths
#: 84 %, 1 width 90 %, 2 widths 77 % found, against 55 % for the point-by-point residual.
BUMP_WIDTHS = 1.0
#: Most bumps of the smooth score (one column each in the folded product). On a 2,700 x
#: 4,000 float32 train on 2 cores 64 more columns cost ~15 ms, as much as the residual's
#: own pass of squares; spectra with more line widths than that (diffraction patterns of
#: narrow lines) are scored by the residual alone, which their many points already give
#: its power.
SMOOTH_COLUMNS = 64
#: Held-out scores needed for a conformal threshold (fewer: the noise model). With 100
#: scores the 1 % quantile rests on one score; below that it is extrapolation.
MIN_CONFORMAL = 100
#: Principal directions kept: those above the noise edge (pure noise directions of n x m
#: whitened data reach a singular value of sqrt(n) + sqrt(m)), at most this many (a cap on
#: the model size and on the columns prediction multiplies).
MAX_DIRECTIONS = 200
#: Rows used to find the subspace (a random subset of larger training sets): 1,000 rows
#: estimate a few hundred directions and keep the eigenproblem at 1,000 x 1,000.
MAX_SUBSPACE_ROWS = 1000
#: The noise model's fixed point is reached when the subspace keeps its dimension and no
#: point's variance moves by more than this (relative); the iterations are bounded.
NOISE_TOLERANCE = 1e-3
MAX_NOISE_ITERATIONS = 50
#: Peak content: principal directions of the training spectra's high-passes that hold this
#: share of their power, at most MAX_CONTENT_DIRECTIONS (columns classify multiplies), from
#: at most CONTENT_ROWS training spectra (a few directions need few rows).
CONTENT_POWER = 0.95
MAX_CONTENT_DIRECTIONS = 16
CONTENT_ROWS = 256
#: No point's variance below this share of the median one (as in the drift stage's noise
#: model): a point without noise would get an infinite weight.
VARIANCE_FLOOR = 1e-3
#: The noise model's threshold is refuted when this few of the held-out known references'
#: scores would exceed it at its rate (a binomial tail probability): the project's one
#: evidence level, the drift stage's.
REFUTE_P = EVIDENCE_P
#: Held-out scores from which their spread sets the noise model's dof (a variance of fewer
#: is too rough to use).
MIN_SPREAD_SCORES = 10

@dataclass
class NoveltyModel:
    """The fitted novelty score (numpy only; its projections live in the folded model).

    Attributes
    ----------
    projection : numpy.ndarray of shape (m, K)
        ``x_normalised @ projection`` are the whitened spectrum's coordinates in the known
        subspace (``W^1/2 B``).
    weight : numpy.ndarray of shape (m,)
        Inverse noise variance per point of a normalised spectrum at the references' mean
        total (0: point not used).
    calibration : numpy.ndarray
        Novelty scores of held-out references.
    method : str
        ``'conformal'`` or ``'noise model'``.
    scale : float
        Median held-out score over the median of chi2_dof / dof (noise model).
    rate : float
        Default false-positive rate (``novelty_rate``).
    n_directions : int
        Dimension of the known subspace.
    dof : float
        Points used less the subspace.
    total : float
        Mean total of the references (raw units); 0 when spectra are not normalised.
    min_relative_total : float
        Smallest reference total over `total` (the noise model is not extrapolated below).
    counting_share : float
        Share of the counting (vs read) noise in the whitened residual.
    smooth_projection : numpy.ndarray of shape (m, k)
        The residual read on k line-wide bumps (``x_normalised @ smooth_projection``: its
        whitened coordinates outside the known subspace, see :func:`smooth_directions`);
        k = 0: no smooth score.
    smooth_dof : float
        k.
    residual_calibration, smooth_calibration : numpy.ndarray
        The held-out references' two scores apart (`calibration` holds their combination).
    total_calibration : numpy.ndarray
        The held-out references' totals over `total`, in the same order (the faintness
        score; empty: no such score).
    content_matrix : numpy.ndarray of shape (K, J)
        Peak content from the subspace coordinates: ``|(x @ projection) @ content_matrix|²``
        (see :func:`_fit_content`). A model file of the earlier kind has instead
        `content_projection` (m, J), read on the raw spectrum (J more folded columns).
    """

    projection: np.ndarray
    weight: np.ndarray
    calibration: np.ndarray
    method: str
    scale: float
    rate: float
    n_directions: int
    dof: float
    total: float
    min_relative_total: float
    counting_share: float
    content_projection: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    content_matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    content_calibration: np.ndarray = field(default_factory=lambda: np.zeros(0))
    content_scale: float = 0.0
    n_states: int = 2
    smooth_projection: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    smooth_dof: float = 0.0
    residual_calibration: np.ndarray = field(default_factory=lambda: np.zeros(0))
    smooth_calibration: np.ndarray = field(default_factory=lambda: np.zeros(0))
    total_calibration: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def has_faint(self) -> bool:
        """Whether the score also reads how faint a spectrum is (module docstring)."""
        return self.total > 0 and self.total_calibration.size >= MIN_CONFORMAL

    @property
    def has_smooth(self) -> bool:
        """Whether the score also reads the residual on line-wide bumps."""
        return self.smooth_projection.size > 0 and self.smooth_dof > 0

    @property
    def n_smooth_columns(self) -> int:
        """Columns of the smooth score in :meth:`fold_columns` (0: none)."""
        return int(self.smooth_projection.shape[1]) if self.has_smooth else 0

    def _medians(self) -> tuple[float, float]:
        """Held-out medians of the residual and smooth scores."""
        tiny = np.finfo(float).tiny
        r = float(np.median(self.residual_calibration)) if self.residual_calibration.size \
            else 1.0
        m = float(np.median(self.smooth_calibration)) if self.smooth_calibration.size \
            else 1.0
        return max(r, tiny), max(m, tiny)

    def _scales(self) -> tuple[float, float, float]:
        """Divisors of the residual, smooth and faintness scores before their max.

        Without the smooth score the residual is the score as it is (divisor 1). With it,
        the residual over its held-out median (about 1 for known spectra, as without the
        smooth score), and the smooth score on the same scale at the tail the threshold
        reads: its held-out (1 - rate) quantile lands on the residual's. Their medians
        alone would let the score with the longer tail (line-scale systematics of bright
        shots) set the threshold for both: seen at 5,000 photons/shot, the residual's
        99 % quantile at 1.3 medians and the smooth score's at 2.3. With fewer than
        :data:`MIN_CONFORMAL` held-out scores (no tail to read), both medians. The
        faintness (1 / t) is put on the residual's scale at that tail likewise (it is only
        scored with that many).
        """
        rm, sm = self._medians()
        if not self.has_smooth:
            rm = 1.0
        r_cal, s_cal = self.residual_calibration, self.smooth_calibration
        fm = 1.0
        q = 1.0 - self.rate
        if r_cal.size < MIN_CONFORMAL:
            return rm, sm, fm
        qr = float(np.quantile(r_cal, q, method="higher"))
        if self.has_faint and qr > 0:
            qf = float(np.quantile(_faintness(self.total_calibration), q, method="higher"))
            fm = qf * rm / qr if np.isfinite(qf) and qf > 0 else fm
        if s_cal.size < MIN_CONFORMAL:
            return rm, sm, fm
        qs = float(np.quantile(s_cal, q, method="higher"))
        if not (qr > 0 and qs > 0):
            return rm, sm, fm
        return rm, qs * rm / qr, fm

    def combine(self, residual: np.ndarray, smooth: np.ndarray | None,
                t: np.ndarray | None = None) -> np.ndarray:
        """The novelty: the largest of the residual, smooth and faintness scores on one scale.

        `t`: relative totals (for the faintness; None: not read). With neither of the
        other two, the residual as it is.
        """
        use_smooth = smooth is not None and self.has_smooth
        use_faint = t is not None and self.has_faint
        if not (use_smooth or use_faint):
            return residual
        a, b, c = self._scales()
        out = residual / a
        if use_smooth:
            out = np.maximum(out, smooth / b)
        if use_faint:
            out = np.maximum(out, _faintness(t) / c)
        return out

    def noise_factor(self, t: np.ndarray) -> np.ndarray:
        """How much noisier a spectrum of relative total `t` is than at the mean total."""
        if self.total <= 0:
            return np.ones_like(t)
        t = np.maximum(t, self.min_relative_total)
        return self.counting_share / t + (1.0 - self.counting_share) / t**2

    def _residual(self, sq, proj_sq, t):
        # a spectrum of total <= 0 (sq = inf, its projections inf or nan) scores inf
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            resid = np.maximum(sq - proj_sq, 0.0) / max(self.dof, 1.0)
            return np.where(np.isfinite(resid), resid / self.noise_factor(t), np.inf)

    def score_sums(self, sums: np.ndarray) -> np.ndarray:
        """Novelty from the prediction path's per-spectrum sums (n, 3).

        The columns (see :meth:`FoldedNetworks.log_proba_and_novelty
        <specstate.models._inference.FoldedNetworks.log_proba_and_novelty>`): the raw
        spectrum's squared projections, its total and ``sum_j weight_j x_j²``.
        """
        proj_sq, T, sq = (np.asarray(sums[:, j], np.float64) for j in range(3))
        smooth_sq = (np.asarray(sums[:, 4], np.float64) if self.has_smooth
                     and sums.shape[1] > 4 else None)
        if self.total > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                ok = T > 0
                T2 = np.where(ok, T, 1.0) ** 2
                sq = np.where(ok, sq / T2, np.inf)
                proj_sq = np.where(ok, proj_sq / T2, np.inf)
                if smooth_sq is not None:
                    smooth_sq = np.where(ok, smooth_sq / T2, np.inf)
            t = T / self.total
        else:
            t = np.ones(len(T))
        return self.combine(self._residual(sq, proj_sq, t),
                            None if smooth_sq is None else self._smooth(smooth_sq, t), t)

    def _smooth(self, smooth_sq, t):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            s = smooth_sq / max(self.smooth_dof, 1.0)
            return np.where(np.isfinite(s), s / self.noise_factor(t), np.inf)

    def score_normalised(self, Xn: np.ndarray, t: np.ndarray, basis: np.ndarray,
                         smooth_basis: np.ndarray | None = None, parts: bool = False):
        """Novelty of normalised spectra with relative totals `t`, against `basis`.

        `basis`: the known subspace (whitened, orthonormal columns); `smooth_basis`: the
        bumps' directions outside it (:func:`smooth_directions`), None: no smooth score.
        With `parts`, the residual and smooth scores apart (smooth None without it).
        """
        z = Xn * np.sqrt(self.weight)
        c = z @ basis
        r = self._residual(np.einsum("ij,ij->i", z, z), np.einsum("ij,ij->i", c, c), t)
        sm = None
        if smooth_basis is not None and smooth_basis.shape[1]:
            d = z @ smooth_basis
            sm = self._smooth(np.einsum("ij,ij->i", d, d), t)
        return (r, sm) if parts else self.combine(r, sm, t)

    @property
    def has_content(self) -> bool:
        """Whether the peak-content test is fitted (see the module docstring)."""
        return (self.content_projection.size > 0 or self.content_matrix.size > 0) and (
            self.content_scale > 0)

    @property
    def n_content_columns(self) -> int:
        """Columns of the peak content in :meth:`fold_columns`.

        0: no test, or the content is read from the subspace coordinates (`content_matrix`).
        """
        return int(self.content_projection.shape[1]) if (
            self.has_content and self.content_projection.size) else 0

    def fold_columns(self) -> np.ndarray:
        """The columns the prediction path multiplies: projection, smooth, content."""
        parts = [self.projection]
        if self.has_smooth:
            parts.append(self.smooth_projection)
        if self.n_content_columns:
            parts.append(self.content_projection)
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def content_sums(self, sums: np.ndarray) -> np.ndarray | None:
        """Peak content from the prediction path's sums (n, 4); None without the test."""
        if not self.has_content or sums.shape[1] < 4:
            return None
        T = np.asarray(sums[:, 1], np.float64) if self.total > 0 else np.ones(len(sums))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(T > 0, np.asarray(sums[:, 3], np.float64) / T**2, np.nan) / (
                self.content_scale)

    def content(self, X: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Peak content of raw spectra X with totals T (NaN where T <= 0), by one product.

        What :meth:`content_sums` gets from the prediction blocks, computed directly.
        """
        if self.content_matrix.size:
            c = (np.asarray(X @ self.projection.astype(X.dtype, copy=False), np.float64)
                 @ self.content_matrix)
        else:
            c = np.asarray(X @ self.content_projection.astype(X.dtype, copy=False), np.float64)
        sums = np.full((len(c), 4), np.nan)
        sums[:, 1], sums[:, 3] = T, np.einsum("ij,ij->i", c, c)
        return self.content_sums(sums)

    def content_threshold(self, rate: float | None = None) -> float:
        """Peak content below which a spectrum is novel at false-positive rate `rate`."""
        cal = np.sort(self.content_calibration)
        if not self.has_content or not cal.size:
            return -np.inf
        r = self.rate if rate is None else float(rate)
        # the largest s with (1 + #{cal <= s}) / (n + 1) <= r; with too few scores for
        # that, their minimum; then 1/C of it (what a mixture of C states keeps)
        j = int(np.floor((cal.size + 1) * r)) - 1
        return float(cal[max(j, 0)]) / max(self.n_states, 1)

    def lacks_peaks(self, content: np.ndarray, rate: float | None = None) -> np.ndarray:
        """Whether each spectrum's peak content is below :meth:`content_threshold`."""
        with np.errstate(invalid="ignore"):
            return np.asarray(content) < self.content_threshold(rate)

    def threshold(self, rate: float | None = None) -> float:
        """Score above which a spectrum is novel, for false-positive rate `rate`."""
        r = self.rate if rate is None else float(rate)
        if self.method == "conformal":
            cal = np.sort(self.calibration)
            n = cal.size
            # the smallest s with (1 + #{cal >= s}) / (n + 1) <= r
            j = int(np.ceil((n + 1) * (1 - r))) - 1
            return float(cal[min(max(j, 0), n - 1)]) if j < n else float("inf")
        if self.has_smooth:
            # either score (over its scale) above its own threshold at half the rate: the
            # larger of the two exceeds the larger ratio at most at the rate (union bound)
            rm, sm, _ = self._scales()
            thr = max(_noise_threshold(self.residual_calibration, self.dof, self.scale,
                                       r / 2) / rm,
                      _noise_threshold(self.smooth_calibration, self.smooth_dof, 1.0,
                                       r / 2) / sm)
        else:
            thr = self._noise_threshold(r)
        if self._refuted(thr, r):
            # the held-out known references say the noise model's tail is too thin (their
            # scores carry more than noise: alignment, grains): no lower than the highest
            # of them, the conformal threshold at the smallest rate they allow, 1 / (n + 1)
            thr = max(thr, float(np.max(self.calibration)))
        return thr

    def _noise_threshold(self, rate: float) -> float:
        """The noise model's threshold: a scaled chi-square, its dof from the held-out spread.

        Pure counting noise gives chi2_dof / dof, whose spread shrinks with the points
        (dof ~ 800: +-5 %). Known spectra scatter more: the noise model is a fit, and a
        spectrum's noise differs from it a little with its total. With at least
        :data:`MIN_SPREAD_SCORES` held-out scores, the scale and the dof are those of the
        scaled chi-square with their mean and variance (Satterthwaite's effective degrees
        of freedom; never more than the points'). Seen: 30 references, held-out scores
        0.5-1.0 where chi2_791 / 791 spans +-0.1; the threshold at the chi-square's tail
        flagged 69 % of new known spectra.
        """
        return _noise_threshold(self.calibration, self.dof, self.scale, rate)

    def _refuted(self, thr: float, rate: float) -> bool:
        """Whether more held-out scores exceed `thr` than a false-positive `rate` allows."""
        cal = self.calibration
        if self.method == "conformal" or not cal.size:
            return False
        k = int(np.sum(cal > thr))
        return k > 0 and float(binom.sf(k - 1, cal.size, rate)) < REFUTE_P

    def describe(self) -> str:
        """How the threshold at the default rate is set, in words (for the fit plan)."""
        text = (f"{self.method} threshold at a {self.rate:g} false-positive rate "
                f"({self.calibration.size} held-out scores; known subspace of "
                f"{self.n_directions} directions)")
        if self.has_smooth:
            text += (f"; the larger of the residual over every point and the residual read "
                     f"on {int(self.smooth_dof)} line-wide bumps (where a line-scale change "
                     "stands out more), on one scale")
        if self.has_faint:
            text += ("; and of how faint a spectrum is (its total against the held-out "
                     "references': a spectrum with the sample's photons gone, an empty shot, "
                     "keeps only the background)")
        if self.method != "conformal" and self.calibration.size:
            thr = self._noise_threshold(self.rate)
            if self._refuted(thr, self.rate):
                k = int(np.sum(self.calibration > thr))
                text += (f"; {k} held-out scores exceed the noise model's threshold, so it "
                         "is raised to the highest of them")
            n = self.calibration.size
            if self.rate < 1.0 / (n + 1):
                text += (f"; with {n} held-out scores the {self.rate:g} rate rests on the "
                         f"noise model alone (they can only vouch for 1/{n + 1} = "
                         f"{1.0 / (n + 1):.2g})")
        if self.has_content:
            text += (f"; also novel when the peak content is below "
                     f"{self.content_threshold():.3g} of the training median (1/"
                     f"{self.n_states} of the held-out references' lower quantile, "
                     f"{self.content_calibration.size} scores; {self.n_content_columns} "
                     "directions of the references' peaks and their shifts)")
        elif self.content_scale == 0:
            text += "; no peak-content test (no high-pass of two peak widths fits)"
        return text

    def to_arrays(self) -> dict:
        """Arrays for the model file."""
        return {"projection": self.projection.astype(np.float32),
                "weight": np.asarray(self.weight, np.float64),
                "calibration": np.asarray(self.calibration, np.float64),
                "content_projection": np.asarray(self.content_projection, np.float32),
                "content_matrix": np.asarray(self.content_matrix, np.float64),
                "content_calibration": np.asarray(self.content_calibration, np.float64),
                "smooth_projection": np.asarray(self.smooth_projection, np.float32),
                "residual_calibration": np.asarray(self.residual_calibration, np.float64),
                "smooth_calibration": np.asarray(self.smooth_calibration, np.float64),
                "total_calibration": np.asarray(self.total_calibration, np.float64)}

    def attrs(self) -> dict:
        """Scalars for the model file."""
        return {"method": self.method, "scale": float(self.scale), "rate": float(self.rate),
                "n_directions": int(self.n_directions), "dof": float(self.dof),
                "total": float(self.total),
                "min_relative_total": float(self.min_relative_total),
                "counting_share": float(self.counting_share),
                "content_scale": float(self.content_scale), "n_states": int(self.n_states),
                "smooth_dof": float(self.smooth_dof)}

    @classmethod
    def from_file(cls, arrays: dict, attrs: dict) -> NoveltyModel | None:
        """Rebuild from :meth:`to_arrays` and :meth:`attrs` (None: a score of an older kind)."""
        if "weight" not in arrays:
            warnings.warn(
                "The model file's novelty score is of an earlier kind (random projections "
                "of a residual weighted by each state's scatter) that this version does not "
                "compute; the model classifies without novelty. Refit it to score novelty.",
                UserWarning, stacklevel=3,
            )
            return None
        return cls(projection=np.asarray(arrays["projection"], np.float64),
                   weight=np.asarray(arrays["weight"], np.float64),
                   calibration=np.asarray(arrays["calibration"], np.float64),
                   method=str(attrs["method"]), scale=float(attrs["scale"]),
                   rate=float(attrs["rate"]), n_directions=int(attrs["n_directions"]),
                   dof=float(attrs["dof"]), total=float(attrs["total"]),
                   min_relative_total=float(attrs["min_relative_total"]),
                   counting_share=float(attrs["counting_share"]),
                   # a file without the peak-content test: the model scores without it
                   content_projection=np.asarray(
                       arrays.get("content_projection", np.zeros((0, 0))), np.float64),
                   content_matrix=np.asarray(
                       arrays.get("content_matrix", np.zeros((0, 0))), np.float64),
                   content_calibration=np.asarray(
                       arrays.get("content_calibration", np.zeros(0)), np.float64),
                   content_scale=float(attrs.get("content_scale", 0.0)),
                   n_states=int(attrs.get("n_states", 2)),
                   # a file without the smooth score: the residual alone, as it was fitted
                   smooth_projection=np.asarray(
                       arrays.get("smooth_projection", np.zeros((0, 0))), np.float64),
                   smooth_dof=float(attrs.get("smooth_dof", 0.0)),
                   residual_calibration=np.asarray(
                       arrays.get("residual_calibration", np.zeros(0)), np.float64),
                   smooth_calibration=np.asarray(
                       arrays.get("smooth_calibration", np.zeros(0)), np.float64),
                   # a file without the faintness score: the shape alone, as it was fitted
                   total_calibration=np.asarray(
                       arrays.get("total_calibration", np.zeros(0)), np.float64))


def _faintness(t: np.ndarray) -> np.ndarray:
    """How faint a spectrum of relative total `t` is: 1 / t, inf at t <= 0."""
    t = np.asarray(t, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(t > 0, 1.0 / np.where(t > 0, t, 1.0), np.inf)


def _noise_threshold(calibration, dof, scale, rate) -> float:
    """A scaled chi-square's upper `rate` quantile (see :meth:`NoveltyModel._noise_threshold`)."""
    dof, scale = max(float(dof), 1.0), float(scale)
    cal = np.asarray(calibration, np.float64)
    if cal.size >= MIN_SPREAD_SCORES:
        mean, var = float(cal.mean()), float(cal.var(ddof=1))
        if var > 0 and mean > 0:
            dof = float(min(dof, max(2.0 * mean**2 / var, 1.0)))
            scale = mean
    return float(scale * chi2.isf(rate, dof) / dof)


def _subspace(X: np.ndarray, weight: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Orthonormal basis (in the whitened space) of the rows `rows` of X above the noise.

    Through the Gram matrix of the rows (an eigenproblem of that size, whatever the number
    of points).
    """
    Z = _whitened(X, weight, rows)
    return _basis(Z, Z @ Z.T, np.count_nonzero(weight > 0))


def _whitened(X, weight, rows):
    """Rows `rows` of X scaled to unit noise variance per point (float64)."""
    return np.asarray(X[rows], dtype=np.float64) * np.sqrt(weight)


def _basis(Z: np.ndarray, gram: np.ndarray, n_points: int) -> np.ndarray:
    """The basis of :func:`_subspace` from whitened rows Z and their Gram matrix Z Z^T."""
    nz = len(Z)
    evals, evecs = np.linalg.eigh(gram)
    order = np.argsort(evals)[::-1]
    s = np.sqrt(np.maximum(evals[order], 0.0))
    # noise-only singular values of an n x m matrix of unit variance reach sqrt(n) + sqrt(m)
    # (the first direction, the mean, carries the states and is always kept)
    keep = s > np.sqrt(nz) + np.sqrt(n_points)
    keep[0] = True
    keep[MAX_DIRECTIONS:] = False
    U = evecs[:, order[keep]]
    s = s[keep]
    # the right singular vectors (m, K), orthonormal as they are: V^T V =
    # s^-1 U^T Z Z^T U s^-1 = I for eigenvectors U of the Gram matrix (kept s are far from 0)
    return (Z.T @ U) / s


def line_bumps(weight: np.ndarray, line_width: float) -> np.ndarray | None:
    """Gaussian bumps (k, m) along the used points, :data:`BUMP_WIDTHS` lines wide."""
    m = weight.size
    sigma = BUMP_WIDTHS * float(line_width)
    if not np.isfinite(sigma) or sigma <= 0 or m < 3:
        return None
    x = np.arange(m, dtype=np.float64)
    centres = np.arange(sigma / 2, m, sigma)
    return np.exp(-0.5 * ((x[None, :] - centres[:, None]) / sigma) ** 2) * (weight > 0)


def smooth_directions(bumps: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Orthonormal directions (m, k) of the whitened bumps outside the known subspace.

    The bumps are in the whitened space of the score (unit noise per point), so their
    coordinates of noise alone are independent with unit variance: chi-square with k
    degrees of freedom. The part along the known subspace is removed first, so the score
    reads only what the known states cannot explain.
    """
    S = bumps - (bumps @ basis) @ basis.T
    _, sv, Vt = np.linalg.svd(S, full_matrices=False)
    return Vt[sv > 1e-6 * max(float(sv[0]) if sv.size else 0.0, np.finfo(float).tiny)].T


def _with_tangents(basis, X, y, weight):
    """The basis and the directions in which each state's mean moves when its axis shifts.

    A small shift of the axis (a slow energy drift, the start of a compression) moves a
    spectrum along the derivative of its state's mean: those directions are known even where
    the references did not move. In the whitened space, orthonormalised with the basis.
    """
    if y is None or X.shape[1] < 3:
        return basis
    sw = np.sqrt(weight)
    return _with_directions(
        basis, [np.gradient(X[y == c].mean(axis=0)) * sw for c in np.unique(y)])


def _rows(n: int, rng) -> np.ndarray:
    return np.arange(n) if n <= MAX_SUBSPACE_ROWS else np.sort(
        rng.choice(n, MAX_SUBSPACE_ROWS, replace=False))


def noise_weight(Xn, t, keep, weight0, rng, one_count=0.0, smooth=0.0):
    """Inverse noise variance per point: the fixed point of noise model and subspace.

    Parameters
    ----------
    Xn : numpy.ndarray of shape (n, m)
        Normalised references.
    t : numpy.ndarray of shape (n,)
        Their totals over the mean total.
    keep : numpy.ndarray of shape (m,)
        1 at the points used, 0 elsewhere.
    weight0 : numpy.ndarray of shape (m,)
        Starting weights (from the scatter of each state around its mean: an upper bound
        of the noise, since that scatter holds the systematic variation too).
    rng : numpy.random.Generator
    one_count : float, default=0.0
        One count over all the references, in normalised units (``1 / (n T_mean)``), added
        to each point's mean level: Laplace's rule for a point where the references saw few
        or no counts. Without it a point that happened to stay at 0 in every reference
        gets the variance floor, a weight a thousand times the typical one, and a single
        count there in a new spectrum of the same state scores it as novel (seen: 30
        references of 800 points at ~1,500 counts; known test spectra flagged 81 %).
    smooth : float, default=0.0
        Gaussian width (points) over which each point's mean level is averaged: the
        expected counts change on the scale of a line, while the references' mean at one
        point holds each reference's own noise (a held-out reference whose count there is
        high by chance weighs its own residual down).

    Returns
    -------
    weight : numpy.ndarray of shape (m,)
    counting_share : float
        Share of the counting noise in the whitened residual.
    """
    k = keep > 0
    n_kept, all_kept = int(k.sum()), bool(k.all())
    rows = _rows(len(Xn), rng)
    X = np.asarray(Xn[rows], np.float64)
    tr = np.asarray(t, np.float64)[rows]
    grand = Xn.mean(axis=0)
    if smooth > 0:
        grand = smooth_rows(grand[None, :], smooth)[0]
    grand = np.maximum(grand, 0.0) + float(one_count)
    g = grand[k]
    # least squares of r2_ij ~ a g_j / t_i + c / t_i^2: its 2 x 2 normal equations
    gram = np.array([[np.sum(tr**-2) * np.sum(g**2), np.sum(tr**-3) * np.sum(g)],
                     [np.sum(tr**-3) * np.sum(g), np.sum(tr**-4) * g.size]])
    weight, n_dir = np.asarray(weight0, np.float64), -1
    var = np.where(k, 1.0 / np.where(weight > 0, weight, 1.0), 0.0)
    a = c = 0.0
    if len(X) < 2:  # no half to hold out: the starting weights
        return weight, 1.0
    half = rng.permutation(len(X)) % 2 == 0
    for _ in range(MAX_NOISE_ITERATIONS):
        sw = np.sqrt(weight)
        Z = X * sw
        r2 = np.empty((len(X), int(k.sum())))
        dims = []
        for part in (half, ~half):
            # residuals of one half from the subspace of the other: all of their noise is
            # left (none fitted away), less its share along the subspace (the leverage)
            Zo = Z[~part]
            B = _basis(Zo, Zo @ Zo.T, n_kept)
            dims.append(B.shape[1])
            R = Z[part]
            R -= (R @ B) @ B.T
            if not all_kept:
                R = R[:, k]
            lev = np.minimum(np.einsum("jk,jk->j", B, B)[k], 1.0 - 1.0 / len(X))
            R *= R
            R *= 1.0 / ((1.0 - lev) * weight[k])
            r2[part] = R
        rhs = np.array([np.sum((r2 @ g) / tr), np.sum(r2.sum(axis=1) / tr**2)])
        a, c = _nonnegative_solve(gram, rhs)
        # the median point's residual variance (a median of m values, not of all n x m)
        typical = float(np.median(r2.mean(axis=0))) if r2.size else 0.0
        if not (np.isfinite(a) and np.isfinite(c) and a + c > 0 and typical > 0):
            break  # nothing is left outside the subspace (as many directions as points)
        floor = typical * VARIANCE_FLOOR
        new = np.where(k, np.maximum(a * grand + c, floor), 0.0)
        done = dims == n_dir and np.max(np.abs(new[k] / var[k] - 1)) < NOISE_TOLERANCE
        var, n_dir = new, dims
        weight = np.where(k, 1.0 / np.where(k, var, 1.0), 0.0)
        if done:
            break
    share = float(np.mean(a * grand[k] / var[k])) if var[k].size and a > 0 else 1.0
    return weight, min(max(share, 0.0), 1.0)


def _fit_content(model, X_train, groups, X_orig, folds, keep, sigma, rng, y, H_orig, basis,
                 fold_bases):
    """The peak-content test (module docstring): directions, scale, held-out calibration.

    The content is read on the spectrum's projection onto the known subspace,
    ``x^ = W^-1/2 B B^T W^1/2 x``: ``|P^T H x^|² = |(x @ projection) @ M|²`` with
    ``M = (W^-1/2 B)^T H^T P`` (K x J), so classify adds no column to its products for it,
    only a K x J product of the coordinates it has (the J columns of ``H^T P`` on the raw
    spectrum widened every region's first-layer product by as many). The spectra this test
    is for (a melt's smooth hump, the background alone) lie inside the subspace (else the
    residual flags them), where the projection is the spectrum; a known spectrum's
    projection leaves its noise out. The held-out references are read the same way, each
    through its fold's subspace.
    """
    from ..models._linear import highpass, highpass_transpose

    sw = np.sqrt(model.weight)
    inv_sw = np.where(sw > 0, 1.0 / np.where(sw > 0, sw, 1.0), 0.0)

    def matrix(b, P):
        # (W^-1/2 b)^T H^T P: from the whitened coordinates to the content's
        return (b * inv_sw[:, None]).T @ highpass_transpose(P, sigma, keep)

    def content(X, b, Mb):
        c = (np.asarray(X, np.float64) * sw) @ b @ Mb
        return np.einsum("ij,ij->i", c, c)

    sub = np.sort(rng.choice(len(X_train), min(len(X_train), CONTENT_ROWS), replace=False))
    Hs = highpass(X_train[sub], sigma, keep)
    gram = Hs @ Hs.T
    Ho = highpass(X_orig, sigma, keep) if H_orig is None else H_orig
    # the first and second derivatives of each state's high-passed mean: peaks moved a
    # little beyond the references (a sample compressed further, a drift) keep their power
    tangents = []
    if y is not None:
        for c in np.unique(y):
            d1 = np.gradient(Ho[np.asarray(y) == c].mean(axis=0))
            tangents += [d1, np.gradient(d1)]
    P = _with_directions(_content_basis(Hs, gram), tangents)
    if not P.shape[1]:
        return
    M = matrix(basis, P)
    scale = float(np.median(content(X_train[sub], basis, M)))
    if not scale > 0:
        return
    cal = []
    for f in range(folds.k):
        test = folds.fold == f
        inside = np.flatnonzero(~test[groups[sub]])
        if not test.any() or inside.size < 2 or f not in fold_bases:
            continue
        # directions, subspace and scale without the fold: its references are new ones
        Pf = _with_directions(_content_basis(Hs[inside], gram[np.ix_(inside, inside)]),
                              tangents)
        if not Pf.shape[1]:
            continue
        bf = fold_bases[f]
        Mf = matrix(bf, Pf)
        sf = float(np.median(content(X_train[sub][inside], bf, Mf)))
        if sf > 0:
            cal.append(content(X_orig[test], bf, Mf) / sf)
    model.content_matrix = M
    model.content_projection = np.zeros((0, 0))
    model.content_scale = scale
    model.content_calibration = np.concatenate(cal) if cal else np.zeros(0)
    model.n_states = int(np.unique(y).size) if y is not None else 2


def _nonnegative_solve(gram, rhs):
    """(a, c) >= 0 minimising the least squares of the 2 x 2 normal equations."""
    try:
        a, c = np.linalg.solve(gram, rhs)
    except np.linalg.LinAlgError:
        a = c = -1.0
    if a >= 0 and c >= 0:
        return float(a), float(c)
    # one of them at 0: the better of the two one-parameter fits
    fits = [(max(rhs[0] / gram[0, 0], 0.0), 0.0), (0.0, max(rhs[1] / gram[1, 1], 0.0))]
    cost = [gram[0, 0] * a * a + 2 * gram[0, 1] * a * c + gram[1, 1] * c * c
            - 2 * (rhs[0] * a + rhs[1] * c) for a, c in fits]
    return tuple(float(v) for v in fits[int(np.argmin(cost))])


def _content_basis(H: np.ndarray, gram: np.ndarray) -> np.ndarray:
    """Orthonormal directions (m, J) holding :data:`CONTENT_POWER` of the rows H's power."""
    evals, evecs = np.linalg.eigh(gram)
    order = np.argsort(evals)[::-1]
    ev = np.maximum(evals[order], 0.0)
    total = float(ev.sum())
    if total <= 0:
        return np.zeros((H.shape[1], 0))
    J = int(np.searchsorted(np.cumsum(ev) / total, CONTENT_POWER) + 1)
    J = min(J, MAX_CONTENT_DIRECTIONS, int(np.count_nonzero(ev > 0)))
    V = (H.T @ evecs[:, order[:J]]) / np.sqrt(ev[:J])
    return np.linalg.qr(V)[0]


def _with_directions(P, extra):
    """Orthonormal columns spanning P and the vectors `extra` (those not already in it)."""
    if not extra or not P.shape[1]:
        return P
    Q, r = np.linalg.qr(np.column_stack([P, *extra]))
    # a vector already inside P adds nothing (its diagonal of R vanishes)
    diag = np.abs(np.diag(r))
    new = diag[P.shape[1]:] > np.finfo(float).eps * max(diag.max(), 1.0) * len(diag)
    return np.column_stack([P, Q[:, P.shape[1]:][:, new]])


def _content_of(H, P):
    c = H @ P
    return np.einsum("ij,ij->i", c, c)


def fit_novelty(X_train, groups, X_orig, folds, weight, rate, rng, totals=None,
                y=None, content_sigma=0.0, H_orig=None, smooth=0.0,
                line_width=0.0) -> NoveltyModel:
    """Fit the novelty score and calibrate it on held-out original references.

    Parameters
    ----------
    X_train : numpy.ndarray of shape (n_train, m)
        Normalised training spectra (augmented copies included).
    groups : numpy.ndarray of int of shape (n_train,)
        The original reference each training row came from.
    X_orig : numpy.ndarray of shape (n, m)
        Normalised original references (held out fold by fold for the calibration).
    folds : specstate.plan.Folds
        Held-out folds of the originals.
    weight : numpy.ndarray of shape (m,)
        Inverse variance of each state's scatter around its mean per point (0: masked):
        where the noise model starts.
    rate : float
        Default false-positive rate.
    rng : numpy.random.Generator
        Randomness of the subspace search.
    totals : numpy.ndarray of shape (n,), optional
        Raw totals of the originals (their normalisation); None: not normalised.
    y : numpy.ndarray of int of shape (n,), optional
        States of the originals: the subspace then holds the directions in which each
        state's mean moves under a small shift of the axis.
    content_sigma : float, optional
        High-pass width (points) of the peak-content test; 0: no such test.
    H_orig : numpy.ndarray of shape (n, m), optional
        ``highpass(X_orig, content_sigma, keep)`` when the caller has it.
    smooth : float, optional
        Width (points) over which the noise model averages each point's mean level.
    line_width : float, optional
        Measured line width (FWHM, points): the residual is also read on line-wide bumps
        when there are at most :data:`SMOOTH_COLUMNS` of them; 0: never.

    Returns
    -------
    NoveltyModel
    """
    keep = (np.asarray(weight) > 0).astype(np.float64)
    n = len(X_orig)
    if totals is None:
        total, t = 0.0, np.ones(n)
    else:
        totals = np.asarray(totals, np.float64)
        total = float(np.mean(totals))
        t = totals / total
    weight, share = noise_weight(X_orig, t, keep, weight, rng,
                                 one_count=1.0 / (n * total) if total > 0 else 0.0,
                                 smooth=smooth)
    y_train = None if y is None else np.asarray(y)[groups]
    # one sample of rows and its Gram matrix serve the model and every fold (a fold's
    # Gram matrix is the block of its training rows)
    sample = _rows(len(X_train), rng)
    Zs = _whitened(X_train, weight, sample)
    gram = Zs @ Zs.T
    n_points = int(np.count_nonzero(weight > 0))
    basis = _with_tangents(_basis(Zs, gram, n_points), X_train, y_train, weight)
    dof = float(keep.sum() - basis.shape[1])
    # the smooth score beside the residual when its bumps are few (SMOOTH_COLUMNS): a
    # line-scale change stands out more on them
    bumps = line_bumps(weight, line_width) if line_width > 0 else None
    smooth_on = bumps is not None and len(bumps) <= SMOOTH_COLUMNS
    directions = np.zeros((len(weight), 0))
    if smooth_on:
        bumps = bumps * np.sqrt(weight)  # into the whitened space
        directions = smooth_directions(bumps, basis)
        smooth_on = directions.shape[1] > 0
    model = NoveltyModel(
        projection=basis * np.sqrt(weight)[:, None], weight=weight, calibration=np.zeros(0),
        method="noise model", scale=1.0, rate=float(rate), n_directions=int(basis.shape[1]),
        dof=dof, total=total, min_relative_total=float(t.min()) if total > 0 else 0.0,
        counting_share=share,
        smooth_projection=(directions * np.sqrt(weight)[:, None] if smooth_on
                           else np.zeros((0, 0))),
        smooth_dof=float(directions.shape[1]) if smooth_on else 0.0)
    augmented = len(X_train) > n
    cal, cal_t, fold_bases = [], [], {}
    for f in range(folds.k):
        test = folds.fold == f
        if not test.any():
            continue
        rows = ~test[groups]
        inside = np.flatnonzero(rows[sample])
        if inside.size < 2:
            continue
        Xf = X_train[rows]
        b = _with_tangents(_basis(Zs[inside], gram[np.ix_(inside, inside)], n_points), Xf,
                           None if y_train is None else y_train[rows], weight)
        fold_bases[f] = b
        fold_model = NoveltyModel(**{**model.__dict__, "dof": float(keep.sum() - b.shape[1])})
        q = smooth_directions(bumps, b) if smooth_on else None
        # the held-out references and their augmented copies (the same states under the
        # nuisances the references imply: moved peaks, jitter, background) are all known;
        # a copy has the total of the reference it came from
        parts = [fold_model.score_normalised(X_orig[test], t[test], b, q, parts=True)]
        cal_t.append(t[test])
        if augmented:
            copies = test[groups]
            parts.append(fold_model.score_normalised(X_train[copies], t[groups[copies]], b, q,
                                                     parts=True))
            cal_t.append(t[groups[copies]])
        cal.extend(parts)
    cal_r = np.concatenate([r for r, _ in cal]) if cal else np.zeros(0)
    model.residual_calibration = cal_r
    if total > 0 and cal_r.size >= MIN_CONFORMAL and n >= MIN_CONFORMAL:
        # faintness beside the shape (module docstring): the held-out totals calibrate it.
        # Only with that many original references: a copy has its reference's total, so
        # 4 references and 960 copies hold 4 totals, not a tail of known faintness.
        model.total_calibration = np.concatenate(cal_t)
    if smooth_on and cal:
        model.smooth_calibration = np.concatenate([m for _, m in cal])
    cal = model.combine(cal_r, model.smooth_calibration if smooth_on and cal else None,
                        model.total_calibration if model.has_faint else None)
    model.calibration = cal
    if content_sigma > 0:
        _fit_content(model, X_train, groups, X_orig, folds, keep, content_sigma, rng, y,
                     H_orig, basis, fold_bases)
    model.method = "conformal" if cal.size >= MIN_CONFORMAL else "noise model"
    median_noise = chi2.median(max(dof, 1.0)) / max(dof, 1.0)
    model.scale = max(float(np.median(cal_r) / median_noise) if cal_r.size else 1.0, 1e-12)
    return model
