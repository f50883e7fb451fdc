"""The members stage of :class:`~specstate.SpectraClassifier`: train, stack, fold, assess.

The region networks (every fold copy and member in one batched torch call; with
augmentation, each also trained on the originals alone so the held-out originals decide)
and the whole-spectrum linear member predict the held-out ORIGINAL references; the
stacking weighs them, a temperature calibrates, the quality checks run on the same
evidence, and all linear preprocessing is folded into the members' first layers.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..drift import _pixel_variance_single, pixel_variance
from ..exceptions import ModelQualityWarning
from ..models._fold import fold_networks, region_inputs
from ..models._linear import highpass, highpass_transpose, unpool_rows
from ..plan import (
    clearly_better,
    linear_features,
    linear_heldout,
    one_reference,
    peak_content_sigma,
)
from ..plan import score as plan_score
from ..regions import make_regions
from ._linear import fit_lda, lda_log_proba, standardize
from ._quality import LINEAR_MARGIN, assess_quality
from ._stacking import combine, fit_temperature, fit_weights, region_skill, temperature_at_bound

__all__ = ["MembersStage"]


#: Copies per held-out reference that weigh the stack along a diffraction ramp
#: (:meth:`MembersStage._ramp_copies`): as many as the references moved between sittings.
RAMP_COPIES = 2


class MembersStage:
    """Training and stacking of the members, and the quality checks."""

    def _linear_training(self, F_train, F_lin, yi, C, folds, held, lin_lp, Xan, between,
                         moved, ya, groups, sigma, keep, lin_pool, F_moved, plan, nv=None):
        """The linear member's training rows: the augmented copies or the originals alone.

        Augmentation's nuisances are sized from the references' own spread; with few
        photons that spread is mostly noise, and a linear member trained on the copies
        learns to ignore what they vary (a blur, a background), which can be the very
        difference of the states (a high-spin line is broader). The member is closed form,
        so both are scored on the held-out originals (and their copies moved between the
        sittings, which alone see the strains there), and the originals alone are taken when
        their held-out balanced accuracy is higher by more than one reference's worth: the
        networks' rule. Not on the held-out log-loss: references of a ramp sit close to
        each other, so a member that never saw a moved peak is confident on them held out
        and wrong on the ramp between them (a random XRD ramp, 14 references: held out 1.0
        either way, log-loss lower without the copies, and 0.53 on the ramp against 1.00).
        Seen: pure spin states at 500 photons, 10 references per state, the member 0.87-0.90
        on the copies, 0.98 on the originals.
        """
        aug = F_train
        orig = (F_lin, yi, np.arange(len(yi)))
        if between.size:  # without augmentation it learns the moved copies too
            orig = (np.concatenate([F_lin, linear_features(Xan[between], sigma, keep,
                                                           lin_pool)]),
                    np.concatenate([yi, ya[between]]),
                    np.concatenate([np.arange(len(yi)), groups[between]]))
        y_chk = yi[held]
        parts = {}
        for name, (Ft, yt, gt) in (("copies", aug), ("originals", orig)):
            lp = (lin_lp if name == "originals" and lin_lp is not None and not between.size
                  else linear_heldout(F_lin, yi, C, folds, Ft, yt, gt, noise_var=nv))[held]
            if F_moved is not None:
                lpm = linear_heldout(F_moved, ya[moved], C, folds, Ft, yt, gt,
                                     row_fold=folds.fold[groups[moved]], noise_var=nv)
                lp = np.concatenate([lp, lpm])
            parts[name] = lp
        if F_moved is not None:
            y_chk = np.concatenate([y_chk, ya[moved]])
        (ba_a, ll_a), (ba_o, ll_o) = (plan_score(parts[n], y_chk, C)
                                      for n in ("copies", "originals"))
        # not where the copies spread the states over each other's peak positions (a ramp,
        # ShiftModel.spread): its references sit at a few of the strains the run goes
        # through, and the held-out originals cannot show the others (the demo's 4 end
        # patterns: the member on the originals 1.000 held out, the ramp 0.96 -> 0.25
        # with it; the same ramp as a bare array 1.00 -> 0.82). A lattice step that is
        # the signal, or an energy axis (whose copies keep each state's line position),
        # spreads nothing, and the rule holds.
        ramp = self._spreads() and not between.size
        lead = clearly_better(ba_o, ba_a, yi, C)
        use_orig = lead and not ramp
        plan.linear_training = (
            f"{'originals alone' if use_orig else 'augmented copies'} (held-out linear "
            f"member on the copies {ba_a:.3f}, log-loss {ll_a:.3f}; on the originals alone "
            f"{ba_o:.3f}, {ll_o:.3f}" + (
                "; the originals' lead not taken: the copies move the peaks along a "
                "diffraction ramp, where no reference is" if ramp and lead else "") + ")")
        return orig if use_orig else aug

    def _spreads(self) -> bool:
        """Whether the copies spread the states over each other's peak positions (a ramp).

        See :attr:`~specstate.models._augment.ShiftModel.spread`.
        """
        sm = getattr(self, "shift_model_", None)
        return bool(sm is not None and sm.spread)

    def _ramp_copies(self, lp, Xan, ya, groups, folds, originals, C, sigma, keep, lin_pool,
                     Ft, yt, gt, use_linear, nv=None):
        """Held-out predictions of the copies of held-out references along a ramp, or None.

        Where the copies spread the states over each other's peak positions (a ramp:
        :attr:`~specstate.models._augment.ShiftModel.spread`), the held-out originals
        cannot show how a member reads the strains between them; the
        copies of each held-out reference can (every member of the fold never saw them).
        The stack's weights and temperature learn from them too, as from the references
        moved between sittings (a lattice jump near the transition: the linear member,
        perfect on the 4 held-out references, had pulled the stack to 0.97-0.98 on the
        ramp while the networks alone read it 0.99-1.00).
        """
        if not self._spreads():
            return None
        is_copy = np.ones(len(ya), bool)
        is_copy[originals] = False
        rows = np.flatnonzero(is_copy & (folds.fold[groups] >= 0))
        # a few per reference (every copy of few references would outweigh the originals)
        rows = rows[np.argsort(groups[rows], kind="stable")]
        _, first = np.unique(groups[rows], return_index=True)
        rank = np.arange(rows.size) - np.repeat(first, np.diff(np.r_[first, rows.size]))
        rows = np.sort(rows[rank < RAMP_COPIES])
        if not rows.size:
            return None
        fold = folds.fold[groups[rows]]
        parts = [lp[fold, rows].astype(np.float64)]
        if use_linear:
            F = linear_features(Xan[rows], sigma, keep, lin_pool)
            parts.append(linear_heldout(F, ya[rows], C, folds, Ft, yt, gt,
                                        row_fold=fold, noise_var=nv)[:, None, :])
        return np.concatenate(parts, axis=1), ya[rows], fold

    def _fit_members(self, Xan, ya, groups, draw, originals, yi, C, boundaries, sigma, pool,
                     keep, seed, normalize, folds, F_lin, lin_pool, plan, n_orig, Xn,
                     F_train=None, totals=None, lin_lp=None, hp=None, sittings=None,
                     u=None, between=None):
        """Region networks + linear member, stacked on held-out original references.

        `lin_lp`: the linear member's held-out log-probabilities on `F_lin` when the
        baseline choice computed them (used unless the member learns from augmented copies).
        `hp`: the :class:`~specstate.plan.HighPassed` of `Xn` (the novelty's peak content
        reads its high-pass of two peak widths); None: rows are not spectra (no such test).
        `sittings` (:class:`~specstate.plan.Sittings`, with the shift coordinate `u`): the
        novelty also knows the references moved across the gaps between their sittings.
        `between`: rows of `Xan` that are the references moved between their sittings (no
        augmentation: the networks trained without it learn them too, beside the originals).
        """
        from ..models._mlp import train_region_networks

        m = Xan.shape[1]
        use_linear = bool(self.linear_member)
        # the linear features' noise variance: a floor of their spreads (standardize)
        nv = hp.feature_var(lin_pool) if hp is not None else None
        use_networks = True
        k = folds.k
        E = int(self.n_members)
        fold_rows = folds.fold[groups]  # fold of every (augmented) row
        held = np.flatnonzero(folds.fold >= 0) if k else np.arange(n_orig)
        members_lp = []
        inputs = params = None
        # the references' copies moved between their sittings (see between_sittings), held
        # out with their reference: they also weigh the members, since only they see the
        # strains between the sittings (the held-out originals cannot)
        between = (np.asarray(between, np.int64) if between is not None and k
                   else np.zeros(0, np.int64))
        moved = between[folds.fold[groups[between]] >= 0]
        moved_lp = []
        member_copies = []
        if use_networks:
            inputs = region_inputs(Xan, groups, boundaries, sigma, pool, keep, 0,
                                   None if hp is None else hp.point_var)
            # with augmentation chosen automatically, every fold copy and member is trained
            # twice: on the augmented copies and on the originals alone; the held-out
            # originals decide (augment=True asks for it: no choice)
            V = 2 if draw is not None and self.augment == "auto" else 1
            is_orig = np.zeros(len(ya), dtype=bool)
            is_orig[originals] = True
            is_orig[between] = True
            masks = np.ones((V * (k + E), len(ya)), dtype=bool)
            for v in range(V):
                base = np.ones(len(ya), bool) if v == 0 else is_orig
                for f in range(k):
                    masks[v * k + f] = base & (fold_rows != f)
                for e in range(E):
                    sel = (draw == e) if (draw is not None and E > 1 and v == 0) else True
                    masks[V * k + v * E + e] = base & sel
            params, lp = train_region_networks(
                inputs.padded, ya, C, masks, inputs.n_inputs,
                hidden=self.hidden, activation=self.activation, max_iter=self.max_iter,
                learning_rate=self.learning_rate, alpha=self.alpha,
                batch_size=self.batch_size, seed=seed, device=self.device,
                n_threads=self.n_threads,
            )
            rows = originals[held]
            variant = 0
            if V == 2 and k:
                R0 = len(boundaries) - 1
                # the held-out references, and their copies moved between the sittings
                # (held out with them): only these see the strains between the sittings
                check = np.concatenate([rows, moved])
                check_fold = folds.fold[groups[check]]
                accs = []
                for v in range(V):
                    hv = lp[v * k + check_fold, check]
                    comb_v = combine(hv.astype(np.float64), np.ones(R0), np.zeros(C), 1.0,
                                     "logit")
                    accs.append(plan_score(comb_v, ya[check], C)[0])
                # augmentation goes only when the originals alone do better by more than one
                # reference's worth (few references: the physical nuisances are the prior)
                if clearly_better(accs[1], accs[0], yi, C):
                    variant = 1
                plan.augment_reason += (f"; held-out networks with {accs[0]:.3f}, "
                                        f"without {accs[1]:.3f}" + (
                                            "" if variant == 1 or accs[1] <= accs[0] else
                                            f" (kept: within one reference's worth, "
                                            f"{one_reference(yi, C):.3f})"))
                if variant == 1:
                    plan.augment = False
                    plan.shift = ""
                    self.shift_model_ = None
                    F_train = None
            if k:
                net_held = lp[variant * k + folds.fold[held], rows]
                moved_lp.append(lp[variant * k + folds.fold[groups[moved]], moved]
                                .astype(np.float64))
            else:  # nothing can be held out: the members' own fit (said by the plan)
                net_held = lp[V * k + variant * E:V * k + (variant + 1) * E, rows].mean(axis=0)
            members_lp.append(net_held.astype(np.float64))
            member_copies = list(range(V * k + variant * E, V * k + (variant + 1) * E))
        R = len(boundaries) - 1 if use_networks else 0
        # the linear member learns from the same (augmented) spectra as the networks
        Ft, yt, gt = F_train if F_train is not None else (F_lin, yi, np.arange(len(yi)))
        F_moved = None
        if between.size and use_linear:
            F_moved = linear_features(Xan[moved], sigma, keep, lin_pool)
            if F_train is None:  # without augmentation it learns the moved copies too
                Ft = np.concatenate([Ft, linear_features(Xan[between], sigma, keep,
                                                         lin_pool)])
                yt, gt = np.concatenate([yt, ya[between]]), np.concatenate([gt,
                                                                            groups[between]])
                lin_lp = None
        if use_linear and k and F_train is not None:
            Ft, yt, gt = self._linear_training(F_train, F_lin, yi, C, folds, held, lin_lp,
                                               Xan, between, moved, ya, groups, sigma, keep,
                                               lin_pool, F_moved, plan, nv)
        if use_linear:
            if k:
                lin_held = (lin_lp if lin_lp is not None and Ft is F_lin else
                            linear_heldout(F_lin, yi, C, folds, Ft, yt, gt,
                                           noise_var=nv))[held]
                if F_moved is not None:
                    moved_lp.append(linear_heldout(F_moved, ya[moved], C, folds, Ft, yt, gt,
                                                   row_fold=folds.fold[groups[moved]],
                                                   noise_var=nv)
                                    [:, None, :])
            else:
                mu, sd = standardize(Ft, yt, C, nv)
                fit0 = fit_lda((Ft - mu) / sd, yt, C)
                lin_held = lda_log_proba((F_lin - mu) / sd, fit0)
            members_lp.append(lin_held[:, None, :])
        heldout = np.concatenate(members_lp, axis=1)
        yh = yi[held]
        # the weights and the temperature learn from the moved copies too; the held-out
        # score and the quality checks stay on the original references
        extra = None
        if moved.size and len(moved_lp) == len(members_lp):
            extra = (np.concatenate(moved_lp, axis=1), ya[moved], folds.fold[groups[moved]])
        elif k and use_networks and variant == 0 and F_train is not None:
            extra = self._ramp_copies(lp, Xan, ya, groups, folds, originals, C, sigma, keep,
                                      lin_pool, Ft, yt, gt, use_linear, nv)
        if extra is not None:
            h_all = np.concatenate([heldout, extra[0]])
            y_all = np.concatenate([yh, extra[1]])
        else:
            h_all, y_all = heldout, yh
        if self.weighting == "heldout":
            weights, bias, comb = fit_weights(h_all, y_all, C, "heldout")
        else:  # 'reference'/'uniform' weigh the regions; the linear member counts as one
            weights, bias, comb = fit_weights(h_all, y_all, C, self.weighting)
        skill, _, _ = region_skill(heldout, yh, C)
        T = fit_temperature(h_all, y_all, weights, bias, comb)
        # the held-out score of the stack itself: its weights are fitted on held-out
        # predictions too, so they are re-fitted without each fold and scored on it (the
        # score of weights fitted on the same predictions would flatter it: with many
        # members they fit chance patterns, e.g. 0.73 on random labels)
        combined, between_lp = _nested_stack(heldout, yh, C, folds.fold[held] if k else None,
                                             self.weighting, extra)
        bacc, ll = plan_score(combined, yh, C)
        lin_bacc = plan_score(heldout[:, -1], yh, C)[0] if use_linear else float("nan")
        plan.ensemble = "stacked on held-out log-probabilities" if R else "linear member"
        if (self.weighting == "heldout" and use_linear and R and k
                and _stack_below_linear(bacc, lin_bacc)):
            alone = _linear_alone(heldout, h_all, y_all, yh, C, folds.fold[held], extra)
            plan.ensemble = (
                f"linear member alone: the stack of all members scored {bacc:.3f} held out "
                f"(its weights refitted without each fold), more than {LINEAR_MARGIN} below "
                f"the linear member's {lin_bacc:.3f}, so its weights did not carry over "
                f"between the folds")
            weights, bias, comb, T, combined, between_lp = alone
            bacc, ll = plan_score(combined, yh, C)
        self.heldout_score_ = {
            "balanced_accuracy": bacc, "log_loss": ll, "n": int(yh.size),
            "linear_balanced_accuracy": lin_bacc,
            "network_balanced_accuracy": (
                plan_score(combine(heldout[:, :R], np.ones(R), np.zeros(C), 1.0, "logit"),
                           yh, C)[0] if R else float("nan")),
        }
        if extra is not None and not moved.size:  # the copies along a ramp (_ramp_copies)
            self.heldout_score_["ramp_copies"] = int(extra[1].size)
        if between_lp is not None and moved.size:  # the references moved between sittings
            self.heldout_score_["between_sittings_balanced_accuracy"] = plan_score(
                between_lp, extra[1], C)[0]
        self.weights_ = weights[:R] if R else np.zeros(0)
        self.linear_weight_ = float(weights[R]) if use_linear else 0.0
        self.temperature_ = T
        self.n_iter_ = int(self.max_iter)
        self.regions_ = make_regions(boundaries, self.axis_, skill[:R], weights[:R]) if R else []
        linear = None
        if use_linear:
            mu, sd = standardize(Ft, yt, C, nv)
            fit = fit_lda((Ft - mu) / sd, yt, C)
            coef = fit.coef / sd[:, None]
            W_raw = highpass_transpose(unpool_rows(coef, lin_pool, m), sigma, keep)
            linear = (W_raw, fit.intercept - (mu / sd) @ fit.coef)
            self.linear_shrinkage_ = float(fit.shrinkage)
        self.novelty_ = None
        if self.novelty:
            from ..plan import between_sittings
            from ._novelty import fit_novelty

            aug_kept = F_train is not None  # the networks kept the augmented copies
            Xtr, gtr = (Xan, groups) if aug_kept else (Xn, np.arange(len(yi)))
            if sittings is not None:  # every reference at every position between them
                Xtr, gtr = between_sittings(Xtr, gtr, Xn, yi, u, sittings)
            weight = keep / pixel_variance(Xn, yi, C, keep)
            # peak content: what is narrower than two peak widths is peak (the first
            # baseline candidate; none when that low-pass does not fit under the spectrum)
            c_sigma = peak_content_sigma(float(self.peak_width_), m) if hp is not None else 0.0
            self.novelty_ = fit_novelty(Xtr, gtr, Xn, folds, weight, self.novelty_rate,
                                        np.random.default_rng(seed),
                                        totals=totals if normalize else None, y=yi,
                                        content_sigma=c_sigma,
                                        H_orig=hp(c_sigma) if c_sigma else None,
                                        # a quarter line: the mean level is smooth there
                                        smooth=(float(self.peak_width_) / 4
                                                if hp is not None else 0.0),
                                        line_width=(float(self.peak_width_)
                                                    if hp is not None else 0.0))
            plan.novelty = self.novelty_.describe()
        self.model_ = fold_networks(
            inputs, params, member_copies, boundaries, keep, weights, bias, T, comb,
            normalize, self.activation, linear=linear,
            novelty=None if self.novelty_ is None else self.novelty_.fold_columns(),
            n_content=0 if self.novelty_ is None else self.novelty_.n_content_columns,
            n_smooth=0 if self.novelty_ is None else self.novelty_.n_smooth_columns,
            content_matrix=(None if self.novelty_ is None or not self.novelty_.has_content
                            else self.novelty_.content_matrix),
        )
        self._fast_finite_ = bool(normalize)
        plan.member_weights = {f"region {r + 1}": float(w) for r, w in enumerate(weights[:R])}
        if use_linear:
            plan.member_weights["linear"] = self.linear_weight_
        plan.heldout = dict(self.heldout_score_)
        self._assess(plan, yh, combined, heldout, weights, T, Xn, yi, keep, folds)
        self.fit_plan_ = plan.to_dict()

    def _assess(self, plan, yh, combined, heldout, weights, T, Xn, yi, keep, folds):
        """Run the quality checks; warn with ModelQualityWarning when they fail."""
        lin_pred = heldout[:, -1].argmax(axis=1) if self.linear_member else combined.argmax(1)
        sig = _mean_difference_sigmas(Xn, yi, len(self.classes_), keep, ramp=self._spreads())
        report = assess_quality(
            y=yh, heldout_pred=combined.argmax(axis=1), linear_pred=lin_pred,
            n_classes=len(self.classes_), weights=weights,
            temperature_at_bound=temperature_at_bound(T), mean_difference_sigmas=sig,
            heldout_log_loss=plan_score(combined, yh, len(self.classes_))[1],
            member_scores={"linear member": self.heldout_score_["linear_balanced_accuracy"],
                           "region networks": self.heldout_score_[
                               "network_balanced_accuracy"]},
            between_sittings=self.heldout_score_.get("between_sittings_balanced_accuracy"),
        )
        if folds.k == 0:
            report.problems.append(folds.protocol)
        self.quality_ = {"separable": report.separable, "problems": list(report.problems)}
        plan.warnings = list(report.problems)
        if report.problems:
            warnings.warn(
                "The fitted model cannot vouch for its predictions: "
                + "; ".join(report.problems) + ".",
                ModelQualityWarning, stacklevel=3,
            )

    def _fit_point(self, fit_point_model, Xan, ya, C, boundaries, sigma, keep, seed):
        from ..models._point import POINT_EPOCHS

        Xp = highpass(Xan, sigma, keep)
        self.model_ = fit_point_model(
            Xp, ya, C, boundaries, self.axis_, seed=seed, device=self.device,
            n_threads=self.n_threads, normalize=self.normalize_, sigma=sigma, keep=keep,
        )
        self.weights_ = self.model_.weights.copy()
        self.linear_weight_ = 0.0
        self.temperature_ = 1.0
        self.n_iter_ = POINT_EPOCHS
        self.regions_ = make_regions(boundaries, self.axis_, self.model_.skill, self.weights_)
        self._fast_finite_ = False


def _mean_difference_sigmas(Xn, y, n_classes, keep, ramp=False) -> float:
    """Largest difference between two state means, in standard errors of the noise.

    The noise is the references' own, measured as ``var = a·mean + b``
    (:func:`specstate.drift.pixel_variance`): a two-parameter fit over all points, stable
    even with two references per state. On a ramp (`ramp`: the copies spread the states
    over each other's positions) the references of a state differ by their strain too,
    which the fit learns as a nuisance: their noise is then their second differences'
    (a lattice jump, 2 references per state near it, had read as no difference beyond
    3.3-4.5 sigmas and warned, and scored 0.97-1.00).
    """
    Xn = np.asarray(Xn, dtype=np.float64)
    if ramp:
        k = keep > 0
        var = np.ones(Xn.shape[1])
        var[k] = _pixel_variance_single(Xn, k, np.maximum(Xn.mean(axis=0), 0.0)[k])
    else:
        var = pixel_variance(Xn, y, n_classes, keep)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    onehot = np.eye(n_classes)[y]
    means = (onehot.T @ Xn) / np.maximum(counts, 1.0)[:, None]
    best = 0.0
    for a in range(n_classes):
        for b in range(a + 1, n_classes):
            se = np.sqrt(var * (1 / max(counts[a], 1) + 1 / max(counts[b], 1)))
            z = np.abs(means[a] - means[b]) / se * (keep > 0)
            best = max(best, float(z.max()))
    return best


def _stack_below_linear(bacc: float, lin_bacc: float) -> bool:
    """Whether the stack's nested held-out score sits LINEAR_MARGIN below its linear member's.

    The quality check's own criterion (:data:`~specstate.ensemble._quality.LINEAR_MARGIN`):
    a stack that far below one of its members has weights that fit the folds they were
    fitted on and not the others (seen: 0.75 against the linear member's 0.94 on sparse
    emission, the networks confident on four folds and wrong on the fifth).
    """
    return bool(np.isfinite(bacc) and np.isfinite(lin_bacc) and bacc < lin_bacc - LINEAR_MARGIN)


def _linear_alone(heldout, h_all, y_all, yh, n_classes, fold, extra):
    """The combination of the linear member alone (the last member; the networks at 0).

    Its weight, class bias and temperature are fitted on the same held-out predictions as
    the stack's were, and its held-out score nested the same way (:func:`_nested_stack`).
    Returns ``(weights, bias, combination, temperature, combined, between_lp)``.
    """
    R1 = heldout.shape[1]
    w1, bias, comb = fit_weights(h_all[:, -1:], y_all, n_classes, "heldout")
    weights = np.concatenate([np.zeros(R1 - 1), w1])
    T = fit_temperature(h_all, y_all, weights, bias, comb)
    ex = None if extra is None else (extra[0][:, -1:], extra[1], extra[2])
    combined, between_lp = _nested_stack(heldout[:, -1:], yh, n_classes, fold, "heldout", ex)
    return weights, bias, comb, T, combined, between_lp


def _nested_stack(heldout, y, n_classes, fold, weighting, extra=None):
    """Stacked log-probabilities of each held-out row from weights fitted without its fold.

    `extra`: ``(heldout, y, fold)`` of further rows the weights learn from (the copies
    moved between sittings); returned as the second value (None without), predicted the
    same way.
    """
    mode = "heldout" if weighting == "heldout" else weighting
    if extra is not None:
        H, Y, Fo = (np.concatenate([heldout, extra[0]]), np.concatenate([y, extra[1]]),
                    np.concatenate([fold, extra[2]]) if fold is not None else None)
    else:
        H, Y, Fo = heldout, y, fold
    if fold is None or np.unique(fold).size < 2:
        w, b, comb = fit_weights(H, Y, n_classes, mode)
        return combine(heldout, w, b, fit_temperature(H, Y, w, b, comb), comb), None
    out = np.full((len(Y), n_classes), np.nan)
    for f in np.unique(fold):
        train = Fo != f
        w, b, comb = fit_weights(H[train], Y[train], n_classes, mode)
        T = fit_temperature(H[train], Y[train], w, b, comb)
        out[~train] = combine(H[~train], w, b, T, comb)
    return out[:len(y)], (out[len(y):] if extra is not None else None)

