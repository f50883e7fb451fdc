"""ChangeDetector: label-free, online detection of a change of state in a stream of spectra."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from ..exceptions import SpectraFormatError
from ._projection import Projection, as_chunk
from ._threshold import (
    DEFAULT_ARL_HOURS,
    DEFAULT_RATE_HZ,
    chernoff_threshold,
    estimation_weights,
    lag_grid,
)

__all__ = ["ChangeDetector", "ChangeEvent"]

log = logging.getLogger(__name__)

_WHERE = "ChangeDetector.update"
#: Default `window`: a change that completes within 50 spectra is a change (the issue's
#: definition; e.g. a phase transition over ~10 patterns of a pressure ramp).
DEFAULT_WINDOW = 50
#: At most this many bumps in the projection (see _projection): ~250 points per bump on a
#: 4,000-point pattern, wider than any peak; more dimensions raise the threshold (each adds
#: its chi-square share) without seeing more of a change that spans several peaks.
_MAX_COMPONENTS = 16
#: Learning spectra per feature: a covariance of K features estimated from n spectra spreads
#: white noise over variances up to (1 - sqrt(K / n))^-2 (Marchenko-Pastur), which the
#: threshold accounts for; at 4 spectra per feature that is a factor 4, more costs power.
_LEARN_PER_COMPONENT = 4
#: AR(1) coefficients of the innovations are clipped into (-0.95, 0.95): beyond, the series
#: is a random walk, which a baseline tracker should follow, not a noise to whiten.
_MAX_AR = 0.95
#: Order of the baseline tracker: 3 follows a level, a velocity and an acceleration (Brown's
#: triple exponential smoothing). A peak gliding across a bump makes the bump's weight move
#: along a curve, fastest at the start of a ramp; an order-2 (linear) tracker lags behind
#: such a curve by acceleration x memory^2 and would call it a change.
_TREND_ORDER = 3
#: Smallest variance, relative to the largest, of a whitened direction (see _whitener) in
#: any case: float32 products round at ~1e-7 in amplitude.
_RANK_TOL = 1e-8
#: Tracker memory per time constant of the reference spectrum (see _projection.Projection):
#: the local shifts measure the motion of the last memory/6 spectra (4 of a 25-spectrum
#: memory), short enough that a compressing sample's peaks move much less than their
#: width against it, long enough to average the reference's own noise over several spectra.
_REFERENCE_PER_MEMORY = 6
#: Shortest time (s) between two updates of the reference spectrum: nothing a sample does
#: at a beamline (pressure ramps, heating, pumping, drifts) moves a peak noticeably within a
#: millisecond; at 27,000 spectra/s this is a block of 27 spectra, one matrix product each.
_REFERENCE_EVERY_S = 1e-3
#: Quantile of the spectra's total counts that sets the non-linear share (see _learn).
_LOW_COUNTS_QUANTILE = 0.01
#: Blocks averaged (time constant) by the reference at least (see _plan).
_REFERENCE_BLOCKS = 4
#: Largest spread (in variance) that the noise estimate's own error may give a whitened
#: direction (Marchenko-Pastur edge 1 / (1 - sqrt(n_features / memory))^2, which the
#: threshold covers). It sets the default noise memory, the shortest that keeps within it:
#: an effective ~11,000 innovations for 24 features (a memory of ~5,500). The features'
#: noise covariance is not constant: it depends on where the peaks sit on the pixel and
#: bump grid (a stream whose energy scale drifted by 2.6 points varied 3x in the variance
#: of one whitened direction, benchmarks/README.md); an estimate over the whole run
#: averages that, and its threshold is too low wherever the variance is above the average.
_NOISE_SPREAD = 1.1
#: Refits of the noise estimate per memory of it, once it is full: it moves by at most
#: ~1/8 of its weight between refits.
_REFITS_PER_MEMORY = 8
#: Default learning length in tracker memories: the tracker's polynomial and the noise
#: covariance of 2K features need several memories of data (100 spectra by default).
_LEARN_MEMORIES = 4


@dataclass(frozen=True)
class ChangeEvent:
    """A change of state found by :class:`ChangeDetector`.

    Attributes
    ----------
    index : int
        Estimated first changed spectrum, counting every spectrum given to ``update`` since
        the detector was made (from 0).
    detected_at : int
        The spectrum whose arrival raised the event (same numbering; ``>= index``).
    score : float
        The GLR statistic at detection (``|sum of whitened innovations|^2 / l`` over the
        changed stretch); at least `threshold`.
    threshold : float
        The threshold it passed.
    train_id : int or None
        Train id of `index` when the spectra came as :class:`~specstate.Spectra` with train
        ids.
    detected_train_id : int or None
        Train id of `detected_at`, likewise.
    """

    index: int
    detected_at: int
    score: float
    threshold: float
    train_id: int | None = None
    detected_train_id: int | None = None

    @property
    def delay(self) -> int:
        """Spectra from the estimated change point to the detection."""
        return self.detected_at - self.index


class ChangeDetector:
    """Detect, online and without references, that the state of the sample changed.

    What it computes per spectrum, in the order of the data's way:

    1. **Projection** (:class:`~specstate.changes._projection.Projection`, two matrix
       products per chunk): the spectrum divided by its total intensity (cancels the pulse
       energy and a beam drift) is summarised by ``K`` shares on smooth bumps much wider
       than a peak, and by ``K`` local peak shifts against a reference that follows the
       recent spectra (time constant ``memory / 6``), uncorrelated with the shares and
       standardised under counting noise.
       Shares see peaks appear and vanish, shifts see peaks jump; a peak's height changing
       (grain statistics) does not move a shift.
    2. **Noise model** from the first `n_learn` spectra: a pooled lag-1 autoregression
       (grains, jitter correlated from one spectrum to the next) prewhitens the features.
    3. **Baseline**: Brown's triple exponential smoothing (level, velocity, acceleration;
       memory `memory`) follows the prewhitened features, so slow drifts of background,
       beam and energy scale and the slow, curving peak motion of a compressing sample are
       absorbed. Its one-step forecast errors (innovations) are whitened by their
       covariance, re-estimated as spectra arrive with older ones fading (memory
       `noise_memory`): where peaks sit on the pixel grid changes that covariance. Share
       innovations are first scaled to the counting variance of the spectra they filter
       (with SASE, a spectrum's own counts set only ~92 % of it).
    4. **Test**: a window-limited multivariate GLR (Lai, JRSS B 57, 613 (1995); the
       multivariate form of the CUSUM/FOCuS likelihood ratio for a mean change of unknown
       size and direction) looks, at every spectrum, for a mean shift of the last ``l``
       innovations, ``l`` on a grid up to ``2 * memory``. A change completed within
       `window` spectra is a step the baseline needs ~2 memories to follow: it shows.
    5. **Threshold** from the target run length `arl_hours` at `rate`: Chernoff bound of
       the statistic's null distribution, with the spread that the estimated covariance
       gives white noise (Marchenko-Pastur), union bound over the lags (see
       :mod:`specstate.changes._threshold`); it falls as the estimate improves. No tuned
       constant.

    After an event the detector learns afresh from the following `n_learn` spectra (the
    new state may scatter differently); no event is raised while it learns.

    Parameters
    ----------
    window : int, default 50
        A change that completes within this many spectra counts as a change.
    memory : int, optional
        Memory (spectra) of the baseline tracker; default ``window // 2``. Longer gathers more
        evidence on weak changes (noisy single shots) but absorbs less of a fast drift.
    n_learn : int, optional
        Spectra at the start (and after each event) used to learn the noise (no detection
        among them); default ``4 * memory``, at least 4 per feature.
    n_components : int, optional
        Number of bumps ``K`` (2K features); default ``min(16, n_learn // 8)``.
    noise_memory : int, optional
        Memory (innovations) of the noise covariance estimate, which forgets older ones
        exponentially: the noise of the features changes as peaks move on the pixel grid.
        Default: the shortest memory whose own estimation error spreads a whitened variance
        by at most 10 % (an effective count ``2M - 1 = 2K / (1 - 1.1^-1/2)^2``: M ~ 5,500
        for K = 12), which the threshold covers.
    arl_hours : float, default 8
        Target mean time between false alarms (hours) at `rate`.
    rate : float, default 27000
        Spectra per second of the stream (the European XFEL: 10 trains of 2,700 pulses).

    Attributes
    ----------
    n_seen_ : int
        Spectra given to :meth:`update` so far.
    threshold_ : float
        Alarm threshold (after learning).
    arl_ : float
        Target run length in spectra (``arl_hours * 3600 * rate``).
    learned_ : bool
        Whether the noise has been learned.
    events_ : list of ChangeEvent
        Every event so far.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.poisson(100.0, (3000, 64)).astype(np.float32)
    >>> x[2000:, 20:30] += 30.0  # a new peak
    >>> det = ChangeDetector()
    >>> events = det.update(x[:1500]) + det.update(x[1500:])
    >>> [(e.index, e.detected_at) for e in events]  # doctest: +SKIP
    [(2000, 2001)]
    """

    def __init__(self, window: int = DEFAULT_WINDOW, *, memory: int | None = None,
                 n_learn: int | None = None, n_components: int | None = None,
                 noise_memory: int | None = None,
                 arl_hours: float = DEFAULT_ARL_HOURS, rate: float = DEFAULT_RATE_HZ):
        self.window = window
        self.memory = memory
        self.n_learn = n_learn
        self.n_components = n_components
        self.noise_memory = noise_memory
        self.arl_hours = arl_hours
        self.rate = rate
        self._validate()
        self.n_seen_ = 0
        self.learned_ = False
        self.events_: list[ChangeEvent] = []
        self.threshold_ = math.nan
        self.arl_ = float(arl_hours) * 3600.0 * float(rate)
        self._basis = None
        self._axis = None
        self._n_points = None
        self._learn_z: list[np.ndarray] = []
        self._n_learned = 0
        self._tids: list[tuple[int, np.ndarray]] = []
        self._record = None

    # -- parameters ------------------------------------------------------------------------
    def _validate(self) -> None:
        name = type(self).__name__

        def check_int(attr, value, minimum, optional=True):
            if value is None and optional:
                return
            if not (isinstance(value, Integral) and not isinstance(value, bool)
                    and value >= minimum):
                raise SpectraFormatError(
                    f"The '{attr}' parameter of {name} must be an int in [{minimum}, inf)"
                    f"{' or None' if optional else ''}. Got {value!r} instead."
                )

        check_int("window", self.window, 1, optional=False)
        check_int("memory", self.memory, 2)
        check_int("n_components", self.n_components, 1)
        check_int("n_learn", self.n_learn, 8)
        check_int("noise_memory", self.noise_memory, 2)
        for attr in ("arl_hours", "rate"):
            value = getattr(self, attr)
            if not (isinstance(value, Real) and not isinstance(value, bool)
                    and math.isfinite(value) and value > 0):
                raise SpectraFormatError(
                    f"The '{attr}' parameter of {name} must be a float in (0, inf). "
                    f"Got {value!r} instead."
                )

    def _plan(self, n_points: int) -> None:
        """Fix memory, learning size and dimension once the spectra's length is known."""
        # half the window: the tracker then lags a change that completes within `window` by
        # more than it is (it needs ~2 memories to follow a new level), while its
        # acceleration term still follows the curving motion of a compressing sample
        self.memory_ = int(self.memory if self.memory is not None else max(self.window // 2, 2))
        n_learn = self.n_learn if self.n_learn is not None else _LEARN_MEMORIES * self.memory_
        k = self.n_components
        if k is None:  # two features per bump (share and shift)
            k = max(1, min(_MAX_COMPONENTS, n_learn // (2 * _LEARN_PER_COMPONENT), n_points))
        if k > n_points:
            raise SpectraFormatError(
                f"The 'n_components' parameter of ChangeDetector ({k}) must not exceed the "
                f"number of points of the spectra ({n_points})."
            )
        self.n_learn_ = int(max(n_learn, 2 * k + 8 + 2 * _TREND_ORDER))
        self.tau_ = max(1.0, self.memory_ / _REFERENCE_PER_MEMORY)
        # spectra per update of the reference: every spectrum, but no more often than once
        # per _REFERENCE_EVERY_S of the stream (each update costs a pass over the basis)
        self.block_ = max(1, int(math.ceil(self.rate * _REFERENCE_EVERY_S)))
        # the reference averages several blocks: its own noise enters the shifts squared
        # (r' and r err together), which at a few spectra gives them heavy tails
        self.tau_ = max(self.tau_, _REFERENCE_BLOCKS * self.block_)
        self.n_components_ = int(k)
        # an exponential memory M weighs like 2M - 1 equal innovations
        n_eff = 2 * k / (1.0 - _NOISE_SPREAD**-0.5) ** 2
        self.noise_memory_ = int(self.noise_memory if self.noise_memory is not None else
                                 math.ceil((n_eff + 1) / 2))
        self.max_lag_ = 2 * self.memory_
        self.lags_ = lag_grid(self.max_lag_)
        # Brown's smoothing of order q with discount w: (1 - B)^q z = (1 - w B)^q e
        w = 1.0 - 1.0 / self.memory_
        self._num = np.poly1d([1.0, -1.0]) ** _TREND_ORDER
        self._num = self._num.coeffs.astype(float)
        self._den = (np.poly1d([1.0, -w]) ** _TREND_ORDER).coeffs.astype(float)

    # -- public API ------------------------------------------------------------------------
    def update(self, X, axis=None) -> list[ChangeEvent]:
        """Feed the next spectra in time order; return the changes they reveal.

        Parameters
        ----------
        X : array-like of shape (n, n_points), or Spectra
            The next spectra (a train, a few files). Train ids of a :class:`Spectra` are
            carried into the events.
        axis : array-like of shape (n_points,), optional
            Their axis; checked against the first one given.

        Returns
        -------
        list of ChangeEvent
            Possibly empty; ``detected_at`` of each lies inside this chunk.

        Raises
        ------
        SpectraFormatError
            An empty chunk, spectra of another length or on another axis than the first.
        NonFiniteError
            NaN or infinite values.
        """
        x, axis, tids, total = as_chunk(X, axis, _WHERE, self._n_points, self._axis)
        if self._basis is None:
            self._n_points = x.shape[1]
            self._plan(self._n_points)
            dtype = np.float32 if x.dtype == np.float32 else np.float64
            self._proj = self._new_projection(dtype)
            self._basis = self._proj.basis
        if self._axis is None and axis is not None:
            self._axis = axis
        first = self.n_seen_
        z, ok = self._proj(x, total)
        pos = first + np.flatnonzero(ok)
        z = z[ok]
        self.n_seen_ += x.shape[0]
        events: list[ChangeEvent] = []
        off = 0  # rows of the spectra with beam before z[0]
        while z.shape[0]:
            if not self.learned_:
                need = self.n_learn_ - self._n_learned
                self._learn_z.append(z[:need])
                self._n_learned += min(need, z.shape[0])
                off += min(need, z.shape[0])
                z, pos = z[need:], pos[need:]
                if self._n_learned < self.n_learn_:
                    break
                self._learn(np.concatenate(self._learn_z))
                self._learn_z = []
                if not z.shape[0]:
                    break
            # up to the next refit of the noise only, so that the result does not depend on
            # how the stream was cut into chunks
            until = self._n_next - self._n_acc + self.max_lag_ - self._hist_e.shape[0]
            cut = max(until, 1)
            found, rest, rest_pos = self._scan(z[:cut], pos[:cut])
            events.extend(found)
            off += min(cut, z.shape[0]) - rest.shape[0]
            z = np.concatenate([rest, z[cut:]])
            pos = np.concatenate([rest_pos, pos[cut:]])
            if found:
                # a new state: its reference starts from the spectra after the event
                self._proj = self._new_projection(x.dtype)
                if z.shape[0]:
                    z = self._proj(x[ok][off:])[0]
        if tids is not None:
            self._tids.append((first, np.asarray(tids)))
            covered = self.n_seen_ - self._tids[0][0]
            while len(self._tids) > 1 and covered - self._tids[0][1].size > 2 * self.max_lag_:
                covered -= self._tids.pop(0)[1].size
            events = [_with_trains(e, self._tids) for e in events]
        self.events_.extend(events)
        return events

    def _new_projection(self, dtype) -> Projection:
        dtype = np.float32 if dtype == np.float32 else np.float64
        return Projection(self._n_points, self.n_components_, self.tau_, dtype,
                          block=self.block_)

    # -- learning ----------------------------------------------------------------------------
    def _learn(self, zt: np.ndarray) -> None:
        """Noise model, initial baseline and threshold from the first spectra.

        1. A least-squares polynomial of the tracker's order through the projected learning
           spectra takes out their slow motion.
        2. Grains, jitter of the sample and of the beam are correlated from one spectrum to
           the next: a lag-1 autoregression of the residuals (one coefficient, pooled),
           ``z_t - phi z_{t-1}``, leaves white noise (a slow signal passes, scaled by
           ``1 - phi``).
        3. The baseline tracker starts on the prewhitened series from a polynomial fitted to
           it; the covariance of its innovations (refined online as more arrive) sets the
           metric of the GLR test, and with its degrees of freedom the threshold.
        """
        z, total = zt[:, :-1], zt[:, -1]
        # shares of a spectrum with fewer counts scatter more (Poisson): their innovations
        # are scaled by sqrt(total / mean total) to a common variance (the shifts already
        # are standardised by their counting noise)
        self._mean_total = float(total.mean())
        n = z.shape[0]
        t = (np.arange(n, dtype=np.float64) - (n - 1) / 2.0) / n
        # a polynomial of the tracker's order: what it follows is not noise to model
        design = np.vander(t, _TREND_ORDER, increasing=True)
        coef, *_ = np.linalg.lstsq(design, z, rcond=None)
        resid = z - design @ coef
        # one coefficient per kind of feature (shares, shifts), pooled over the bumps: a
        # common factor keeps the bumps' mutual correlations at lag 1 consistent
        # (coefficients per bump would leave cross-lagged correlations, which the
        # whitening below amplifies in the weak directions)
        k = self.n_components_
        phi = np.empty(z.shape[1])
        for part in (slice(0, k), slice(k, None)):
            r = resid[:, part]
            phi[part] = np.sum(r[1:] * r[:-1]) / max(np.sum(r[:-1] ** 2), 1e-300)
        # Effective counts per spectrum, measured: the share s = b.y of N Poisson counts
        # spread as the normalised spectrum r scatters by (b^2.r - s^2) / N. Every
        # feature is a ratio of counts, Gaussian to first order; a bump holds ~N / K
        # counts, and the non-linear part of its ratio has a variance ~K / N of the linear
        # one and is not Gaussian: directions of the features' correlation whose variance
        # is below K / N of the largest are ruled by it and left out of the test (with
        # scatter beyond counting, N is smaller: more is left out)
        share = z[:, :k].mean(axis=0)
        var = np.maximum(resid[:, :k].var(axis=0), np.finfo(float).tiny)
        spread = np.abs(self._proj._ref) @ self._proj._bumps_sq - share**2
        self.effective_counts_ = float(np.median(np.maximum(spread, 0.0) / var))
        # ... and set by the spectra with fewest counts (weak pulses: SASE), taken as the
        # 1 % quantile of the learning spectra's totals relative to their mean
        low = float(np.quantile(total, _LOW_COUNTS_QUANTILE)) / self._mean_total
        self._rank_tol = k / max(self.effective_counts_ * max(low, 0.0), 1.0)
        self._phi = np.clip(phi, -_MAX_AR, _MAX_AR)
        self._u_prev = z[-1]
        self._share_weights(total[0])
        v = z[1:] - self._phi * z[:-1]
        e = self._scale(self._start_tracker(v), total[1:])
        self._syy = e.T @ e
        self._wsum = self._w2sum = float(e.shape[0])  # weights of the estimate (all 1 so far)
        # degrees of freedom taken by the fits: the line, the AR coefficient, the polynomial
        self._n_acc, self._lost = v.shape[0], 1 + 2 * _TREND_ORDER
        self._fit_noise()
        self._reset_scan()
        self.learned_ = True

    def _start_tracker(self, v: np.ndarray) -> np.ndarray:
        """Start the baseline on `v` from a fitted polynomial; its innovations over `v`."""
        from scipy.signal import lfiltic

        m, q = v.shape[0], _TREND_ORDER
        t = np.arange(m, dtype=np.float64)
        design = np.vander(t - (m - 1) / 2.0, q, increasing=True)
        coef, *_ = np.linalg.lstsq(design, v, rcond=None)
        # past inputs on the polynomial, past errors 0: the first forecast is its
        # extrapolation to t = 0
        past = np.vander(-1.0 - np.arange(q) - (m - 1) / 2.0, q, increasing=True) @ coef
        self._zi = np.stack([lfiltic(self._num, self._den, np.zeros(q), past[:, j])
                             for j in range(v.shape[1])], axis=1)
        return self._innovations(v)

    def _fit_noise(self) -> None:
        """Metric and threshold of the GLR test from the innovations' covariance."""
        k = self._syy.shape[0]
        # exponentially weighted (memory noise_memory_): effective count of innovations
        n_eff = self._wsum**2 / self._w2sum
        dof = n_eff - self._lost
        if dof < k + 2:
            raise SpectraFormatError(
                f"ChangeDetector cannot learn the noise of {k} dimensions from "
                f"{self._n_acc + 1} spectra; give n_learn >= {k + self._lost + 4}."
            )
        self._m, rank = _whitener(self._syy / self._wsum * (n_eff / dof), self._rank_tol)
        self.dof_ = float(dof)
        self.n_dims_ = rank
        # the estimate's own error: white innovations are not white in its coordinates;
        # their spread of variances (Marchenko-Pastur) enters the threshold, which thus
        # falls towards the chi-square one as the estimate gathers more spectra
        weights = estimation_weights(rank, dof)
        self.threshold_ = chernoff_threshold(self.arl_, weights, len(self.lags_))
        self._n_fit = self._n_acc
        # next refit: at doublings while the estimate is young, then every
        # 1 / _REFITS_PER_MEMORY of its memory (it follows a noise that drifts)
        self._n_next = self._n_acc + max(1, min(self._n_acc,
                                                self.noise_memory_ // _REFITS_PER_MEMORY))
        log.info("change detector noise from %d spectra: %d dimensions, threshold %.1f "
                 "(one false alarm per %.3g spectra)", self._n_acc, self.n_dims_, self.threshold_,
                 self.arl_)

    def _prewhiten(self, z: np.ndarray) -> np.ndarray:
        """AR(1)-prewhitened projections of the next spectra."""
        prev = np.vstack([self._u_prev[None, :], z[:-1]])
        self._u_prev = z[-1]
        return z - self._phi * prev

    def _innovations(self, v: np.ndarray) -> np.ndarray:
        """One-step forecast errors of the baseline over `v`; advances it."""
        from scipy.signal import lfilter

        e, self._zi = lfilter(self._num, self._den, v, axis=0, zi=self._zi)
        return e

    def _reset_scan(self) -> None:
        k = self._syy.shape[0]
        # since the last reset: S_c, the sum of the first c innovations, in rows of P for
        # counts c = base, base + 1, ... (S_0 = 0); the last max_lag spectra's positions
        self._p = np.zeros((1, k))
        self._base = 0
        self._n_since = 0
        self._hist_e = np.zeros((0, k))
        self._hist_pos = np.zeros(0, dtype=np.int64)

    # -- detection ---------------------------------------------------------------------------
    def _statistic(self, p: np.ndarray, n: int) -> np.ndarray:
        """Max over the lags of the GLR statistic at each of the `n` new innovations.

        At count ``i`` and lag ``l`` the last ``l`` innovations sum to ``S_i - S_{i-l}``;
        whitened, its squared norm over ``l`` is the statistic (chi-square with ``K``
        degrees of freedom under no change and a known covariance).
        """
        h = self._n_since
        stat = np.zeros(n)
        for lag in self.lags_:
            i0 = max(lag, h + 1)  # first count with `lag` innovations since the reset
            if i0 > h + n:
                break
            j0, j1 = i0 - self._base, h + n + 1 - self._base  # rows of P holding S_i
            w = (p[j0:j1] - p[j0 - lag:j1 - lag]) @ self._m
            out = stat[i0 - h - 1:]
            np.maximum(out, np.einsum("ij,ij->i", w, w) / lag, out=out)
        return stat

    def _share_weights(self, first_total: float) -> None:
        """Weights that give each share innovation its counting variance (see _scale).

        A share of ``N`` counts scatters with a variance ``~1 / N``; its innovation is a
        filter of the shares of this and the previous spectra (prewhitening, then the
        baseline's forecast error), with impulse response ``h``, so its variance is
        ``sum_i h_i^2 / N_{t-i}``: ``_h2`` are the ``h_i^2``, normalised, up to where the
        rest is below float64 rounding, and ``_inv_past`` the past ``mean N / N``.
        """
        from scipy.signal import lfilter

        num = np.convolve(self._num, [1.0, -float(self._phi[0])])
        n_taps = 8 * _TREND_ORDER * self.memory_
        while True:  # the response decays as w^i: lengthen until its tail is negligible
            impulse = np.zeros(n_taps)
            impulse[0] = 1.0
            h2 = lfilter(num, self._den, impulse) ** 2
            tail = np.cumsum(h2[::-1])[::-1]  # sum of h2 from each tap on
            if tail[n_taps // 2] <= np.finfo(float).eps * tail[0]:
                break
            n_taps *= 2
        h2 = h2[: int(np.count_nonzero(tail > np.finfo(float).eps * tail[0]))]
        self._h2 = h2 / h2.sum()
        self._inv_past = np.ones(h2.size - 1)  # before the first spectrum: the mean
        if self._inv_past.size:
            self._inv_past[-1] = self._mean_total / max(float(first_total),
                                                        np.finfo(float).tiny)

    def _scale(self, e: np.ndarray, total: np.ndarray) -> np.ndarray:
        """Share innovations scaled to the counting variance at the mean total.

        With pulse energies that scatter (SASE), the variance of a share innovation is that
        of its filter over the last spectra's counts (see _share_weights); scaling by the
        present spectrum's counts alone would leave it heteroscedastic, a mixture whose
        far tail is heavier than the threshold assumes.
        """
        k = self.n_components_
        inv = self._mean_total / np.maximum(total, np.finfo(float).tiny)
        series = np.concatenate([self._inv_past, inv])
        var = np.convolve(series, self._h2, mode="valid")
        self._inv_past = series[series.size - self._inv_past.size:]
        e[:, :k] /= np.sqrt(var)[:, None]
        return e

    def _scan(self, zt: np.ndarray, pos: np.ndarray):
        """Test the next spectra; stop at the first event and hand back the rest."""
        z = zt[:, :-1]
        e = self._scale(self._innovations(self._prewhiten(z)), zt[:, -1])
        if self._record is not None:  # find_changes: the whitened innovations, kept
            self._record.append((pos, (e @ self._m).astype(np.float32)))
        p = np.vstack([self._p, self._p[-1] + np.cumsum(e, axis=0)])
        stat = self._statistic(p, z.shape[0])
        over = np.flatnonzero(stat > self.threshold_)
        if over.size == 0:
            self._keep(p, e, pos)
            return [], zt[:0], pos[:0]
        i = int(over[0])
        self._keep(p[: self._p.shape[0] + i + 1], e[: i + 1], pos[: i + 1])
        event = self._event(float(stat[i]))
        log.info("change at spectrum %d (detected at %d, score %.1f)", event.index,
                 event.detected_at, event.score)
        # the new state may move and scatter differently: learn it afresh, from the
        # spectra after the one that raised the event
        self.learned_ = False
        self._n_learned = 0
        return [event], zt[i + 1:], pos[i + 1:]

    def _keep(self, p, e, pos) -> None:
        """Keep the last max_lag rows; innovations leaving them join the noise estimate."""
        keep = self.max_lag_
        self._n_since += e.shape[0]
        all_e = np.vstack([self._hist_e, e])
        leaving = all_e[: max(all_e.shape[0] - keep, 0)]
        if leaving.shape[0]:
            self._accumulate(leaving)
            if self._n_acc >= self._n_next:
                self._fit_noise()
        cut = max(p.shape[0] - (keep + 1), 0)
        self._p = p[cut:]
        self._base += cut
        self._hist_e = all_e[-keep:]
        self._hist_pos = np.concatenate([self._hist_pos, pos])[-keep:]

    def _accumulate(self, e: np.ndarray) -> None:
        """Add innovations to the noise estimate, older ones fading (memory noise_memory_)."""
        n = e.shape[0]
        lam = 1.0 - 1.0 / self.noise_memory_
        w = lam ** np.arange(n - 1, -1, -1, dtype=np.float64)
        fade = lam**n
        self._syy = fade * self._syy + (e * w[:, None]).T @ e
        self._wsum = fade * self._wsum + float(w.sum())
        self._w2sum = fade**2 * self._w2sum + float((w * w).sum())
        self._n_acc += n

    def _event(self, score: float) -> ChangeEvent:
        """The event at the last kept row; the change point from the best of all lags."""
        p = self._p
        lags = np.arange(1, min(self._n_since, self.max_lag_) + 1)
        w = (p[-1] - p[-1 - lags]) @ self._m
        stat = np.einsum("ij,ij->i", w, w) / lags
        lag = int(lags[np.argmax(stat)])
        return ChangeEvent(index=int(self._hist_pos[-lag]), detected_at=int(self._hist_pos[-1]),
                           score=score, threshold=float(self.threshold_))


def _whitener(c: np.ndarray, rel_tol: float = _RANK_TOL) -> tuple[np.ndarray, int]:
    """Matrix W with ``W.T @ c @ W = I`` on the well-determined directions of `c`.

    The features differ in units (shares ~1e-3, standardised shifts ~1), so directions are
    judged on the correlation matrix: those whose variance is below `rel_tol` of the
    largest are left out (see ``ChangeDetector._learn``), and in any case those below
    ``_RANK_TOL`` (float32 rounding; the bump shares sum to nearly a constant).
    """
    sd = np.sqrt(np.maximum(np.diag(c), 0.0))
    if not (sd > 0).any():
        raise SpectraFormatError(
            "ChangeDetector could not learn the noise: the first spectra are all identical "
            "after normalisation by their total intensity."
        )
    sd = np.where(sd > 0, sd, sd.max())
    vals, vecs = np.linalg.eigh(c / np.outer(sd, sd))
    keep = vals > vals.max() * max(rel_tol, _RANK_TOL)
    return (vecs[:, keep] / np.sqrt(vals[keep])) / sd[:, None], int(keep.sum())


def _with_trains(event: ChangeEvent, chunks) -> ChangeEvent:
    """`event` with the train ids of its spectra, from the recent chunks' ``(first, ids)``."""
    from dataclasses import replace

    def tid(i):
        for first, ids in chunks:
            if 0 <= i - first < ids.size:
                return int(ids[i - first])
        return None

    return replace(event, train_id=tid(event.index), detected_train_id=tid(event.detected_at))
