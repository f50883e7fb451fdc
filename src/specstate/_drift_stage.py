"""The drift stage of :class:`~specstate.SpectraClassifier`: decide, align, track.

At fit time the references say whether the axis shifts (:func:`specstate.drift.drift_evidence`)
and whether aligning helps the held-out originals; the training spectra are aligned when the
mode is on. At predict time the spectra are aligned per spectrum, along a run, or by a
:class:`~specstate.drift.DriftTracker` of a stream. Nothing here changes a fitted attribute
after fit.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2
from sklearn.utils.validation import check_is_fitted

from .drift import EVIDENCE_P, DriftTracker, fit_drift_model
from .plan import (
    clearly_better,
    linear_pool,
    peak_content_sigma,
)
from .plan import score as plan_score

__all__ = ["DriftStage", "run_settings"]


class DriftStage:
    """Drift decisions at fit time and corrections at predict time."""

    def _auto_drift(self, dm, Xn, yi, C, keep, width, folds, hp):
        """'spectrum' when the axis shifts AND aligning helps the held-out originals.

        A scatter of the references' shifts alone is not enough: states that differ by a
        shift (a lattice jump, a strain) also scatter, and aligning them would erase the
        signal. The linear member scores the references with and without per-spectrum
        alignment on the same folds; alignment is on when it wins by more than one
        reference's worth. Aligning on a tie (every held-out reference told apart either
        way) lifted a lattice jump of 8,000 points from 0.92 to 0.98, but the models fitted
        on aligned references lost their novelty score where it matters: known spectra
        inside a transition flagged unknown (XRD mixtures 0 -> 71 %), the ramp's middle
        more often (60 -> 84 %), and a third species at 5,000 photons/shot found in 15 %
        of shots instead of 99.9 % (``bench_novelty.py``); so a tie keeps the spectra as
        measured.
        """
        if dm.evidence >= EVIDENCE_P:
            return None, (f"no evidence that the axis shifts (p = {dm.evidence:.2g}, not "
                          f"below {EVIDENCE_P:g})"), None
        if not folds.k:
            return None, (f"the references' shifts scatter (p = {dm.evidence:.2g}) but "
                          "nothing can be held out to check that aligning helps"), None
        m = Xn.shape[1]
        sigma = peak_content_sigma(width, m)
        pool = linear_pool(width, m)
        shifts = dm.estimate(Xn, prior=True)[0]
        aligned = hp.aligned(dm.align(Xn, shifts), dm, shifts)
        off = plan_score(hp.heldout(sigma, pool, yi, C, folds), yi, C)
        on = plan_score(aligned.heldout(sigma, pool, yi, C, folds), yi, C)
        scores = (f"held-out linear score aligned {on[0]:.3f} (log-loss {on[1]:.3f}), as "
                  f"measured {off[0]:.3f} (log-loss {off[1]:.3f}); "
                  f"shift scatter p = {dm.evidence:.2g}")
        if clearly_better(on[0], off[0], yi, C):
            return "spectrum", scores, (shifts, aligned)
        return None, scores + "; runs are tracked when classified as a run", None

    def _fit_drift(self, Xn, yi, C, u, keep, width, normalize, spectral, plan, folds, hp):
        """Decide the drift mode from the references and align them when it is on.

        `hp` is the :class:`~specstate.plan.HighPassed` of `Xn` (as measured). Returns
        ``(Xn, hp, shifts)``: the normalised references, aligned when the mode is on, the
        high-passes of that `Xn`, and the shifts they were aligned by (None: not aligned;
        the raw references are aligned by them only where they are used).
        """
        self.drift_model_ = None
        self.drift_mode_ = None
        self.run_drift_ = False
        if self.drift is None or not (spectral and normalize):
            plan.drift, plan.drift_reason = "off", (
                "drift=None" if self.drift is None else "needs spectra of intensities")
            return Xn, hp, None
        dm = fit_drift_model(Xn, yi, C, u, keep, width,
                             None if self.drift_max == "auto" else self.drift_max)
        self.run_drift_ = bool(dm.evidence < EVIDENCE_P or self.drift == "run")
        confound = ""
        if self.run_drift_ and self.drift != "run":
            confound = _states_read_as_shift(dm, Xn, yi, C, u, keep, width)
            self.run_drift_ = not confound
        found = None  # (shifts, HighPassed of the aligned Xn) when 'auto' computed them
        if self.drift == "auto":
            mode, plan.drift_reason, found = self._auto_drift(dm, Xn, yi, C, keep, width,
                                                              folds, hp)
        else:
            mode = self.drift
            plan.drift_reason = f"drift='{self.drift}' (evidence p = {dm.evidence:.2g})"
        if confound:
            plan.drift_reason = plan.drift_reason.replace(
                "; runs are tracked when classified as a run", "") + "; " + confound
        plan.drift = mode or "off"
        self.drift_model_ = dm  # kept: classify(drift='run') and trackers may use it
        if mode is None:
            return Xn, hp, None
        self.drift_mode_ = mode
        shifts = found[0] if found is not None else self._training_shifts(dm, Xn, mode, width)
        if np.any(shifts):
            hp = found[1] if found is not None else hp.aligned(dm.align(Xn, shifts), dm, shifts)
            Xn = hp.X
            prior_var, rate = dm.prior_var, dm.rate
            dm = fit_drift_model(Xn, yi, C, u, keep, width, dm.max_shift / dm.step)
            dm.prior_var, dm.rate = prior_var, rate  # the references' drift, before alignment
        self.training_drift_ = shifts
        self.drift_model_ = dm
        return Xn, hp, (shifts if np.any(shifts) else None)

    def _training_shifts(self, dm, Xn, mode, width):
        if mode == "spectrum":
            return dm.estimate(Xn, prior=True)[0]
        block, rate = run_settings(dm, Xn, width)
        self.drift_block_ = int(block)
        return dm.smooth_run(Xn, block, rate)

    def run_drift(self) -> str | None:
        """The drift mode for spectra that are one run in acquisition order.

        ``'run'`` when the fit found the references' shifts scattering beyond their noise
        (``run_drift_``), else None (the fitted default). ``specstate classify`` and the
        Dask path pass it for ordered inputs: ``classify(X, drift=clf.run_drift())``.
        """
        check_is_fitted(self)
        return "run" if getattr(self, "run_drift_", False) else None

    def drift_tracker(self) -> DriftTracker | None:
        """A causal drift tracker for a live stream (None when the model has no drift).

        Pass it to :meth:`classify` train by train (``classify(train, tracker=t)``): it
        folds each train into its running estimate. The model itself never changes.
        """
        check_is_fitted(self)
        dm = getattr(self, "drift_model_", None)
        return None if dm is None else DriftTracker(dm)

    def stream_tracker(self) -> DriftTracker | None:
        """The tracker a live loop should use: one when :meth:`run_drift` says so."""
        return self.drift_tracker() if self.run_drift() else None

    def _normalised(self, X):
        keep = self._keep(X)
        Xd = np.asarray(X, dtype=np.float64)
        if self.mask_ is not None:
            Xd = np.where(self.mask_[None, :], 0.0, Xd)
        tot = Xd @ keep
        return Xd / np.where(np.abs(tot) > 0, tot, 1.0)[:, None]

    def _normalised_mean(self, X):
        """Mean of the normalised spectra without a float64 copy of X (one matvec each)."""
        keep = np.ones(X.shape[1], X.dtype) if self.mask_ is None else (~self.mask_).astype(
            X.dtype)
        tot = (X @ keep).astype(np.float64)
        inv = 1.0 / np.where(np.abs(tot) > 0, tot, 1.0)
        return (inv.astype(X.dtype) @ X).astype(np.float64) * keep / len(X)

    def _tracked_move(self, X, tracker):
        """The tracker's shift for this train and its move (None: nothing moves).

        The move (:meth:`DriftModel.move`) is folded into the prediction's matrices
        (:meth:`FoldedNetworks._run <specstate.models._inference.FoldedNetworks._run>`):
        the train is read as it is, never interpolated.
        """
        dm = self.drift_model_
        shift = tracker.update_mean(self._normalised_mean(X), len(X))
        return shift, (dm.move(shift) if shift else None)

    def _aligned_sorted(self, X, drift):
        """``(aligned, order)``: see :meth:`DriftModel.align_sorted` (order None: X's).

        Per-spectrum or run alignment; a tracked train is not aligned but moved inside the
        prediction (:meth:`_tracked_move`).
        """
        dm = getattr(self, "drift_model_", None)
        if dm is None:
            return X, None
        mode = self.drift_mode_ if drift is None else drift
        if mode not in ("spectrum", "run"):
            return X, None
        keep = self._keep(X)
        if self.mask_ is not None and not np.all(np.isfinite(X[:, self.mask_])):
            X = np.where(self.mask_[None, :], 0, X).astype(X.dtype, copy=False)
        if mode == "spectrum":
            return dm.align_sorted(X, dm.estimate_raw(X, keep, prior=True)[0])
        # 'run': the block means' projections are means of the spectra's projections
        proj = dm.raw_projections(X, keep)
        block, rate = run_settings(dm, proj, self.peak_width_)
        return dm.align_sorted(X, dm.smooth_run(proj, block, rate))

    def _keep(self, X):
        return (np.ones(X.shape[1]) if self.mask_ is None
                else (~self.mask_).astype(np.float64))


#: References per state the run-tracking check uses at most (every k-th in acquisition order).
CONFOUND_MAX_PER_STATE = 200


def _states_read_as_shift(dm, Xn, yi, C, u, keep, width) -> str:
    """Why runs must not be tracked, or '' when they may.

    A run tracker estimates one shift of the axis from spectra of whatever state comes; when
    states differ by a shift (a strain, a lattice jump, a phase whose peaks sit nearby), it
    takes a change of state for drift and aligns the new state onto the old one. Measured
    on the references: a drift model fitted on every other reference of each state (in
    acquisition order) estimates the shifts of the others; their mean per state must agree
    across states (a chi-square test of each pair at the evidence level; the references'
    own scatter gives the standard errors).
    """
    keep_rows = np.zeros(len(yi), dtype=bool)
    rank = np.zeros(len(yi), dtype=np.int64)
    for c in range(C):
        idx = np.flatnonzero(yi == c)
        step = max(1, int(np.ceil(idx.size / CONFOUND_MAX_PER_STATE)))
        idx = idx[::step]
        keep_rows[idx] = True
        rank[idx] = np.arange(idx.size)
    z = np.full(len(yi), np.nan)
    for h in (0, 1):
        test = keep_rows & (rank % 2 == h)
        train = keep_rows & (rank % 2 != h)
        if np.unique(yi[train]).size < C or np.unique(yi[test]).size < C:
            return ""
        half = fit_drift_model(Xn[train], yi[train], C, u, keep, width, dm.max_shift / dm.step)
        z[test] = half.estimate(Xn[test], prior=False)[0]
    means, ses = [], []
    for c in range(C):
        zc = z[(yi == c) & keep_rows]
        if zc.size < 2:
            return ""
        means.append(float(zc.mean()))
        ses.append(float(zc.std(ddof=1) / np.sqrt(zc.size)))
    worst, pair = 1.0, (0, 0)
    for a in range(C):
        for b in range(a + 1, C):
            stat = (means[a] - means[b]) ** 2 / max(ses[a] ** 2 + ses[b] ** 2, 1e-300)
            p = float(chi2.sf(stat, 1))
            if p < worst:
                worst, pair = p, (a, b)
    if worst >= EVIDENCE_P:
        return ""
    a, b = pair
    return (f"states {a} and {b} read as a shift of {(means[b] - means[a]) / dm.step:.2g} "
            f"points to a drift model fitted without them (p = {worst:.2g}): runs are not "
            "tracked (a change of state would be taken for drift)")


def run_settings(dm, Xn, width):
    """Block size and drift rate of run-level tracking for normalised spectra `Xn`.

    The block is the smallest whose shift error stays inside the linear regime
    (:meth:`DriftModel.block_size`, from the Cramér-Rao variance of one spectrum). Without a
    drift rate measured on the references, the rate is measured on the run itself
    (:meth:`DriftModel.run_rate`).
    """
    block = dm.block_size(width * dm.step)
    rate = dm.rate if dm.rate > 0 else dm.run_rate(Xn)
    return int(block), float(rate)
