"""`SpectraClassifier`: automatic regions, one small network per region, a weighted vote.

The fit pipeline (torch is imported only here, lazily):

1. the spectra are normalised by their total intensity (beam intensity, SASE pulse energy)
   and a smooth baseline is removed (spectrum minus a wide Gaussian low-pass);
2. few references per class -> augmented copies (counting noise, intensity jitter,
   background, physical peak shifts whose range is learned from the references);
3. regions are found where no boundary cuts a peak's track (valleys of the intensity
   envelope of the augmented spectra);
4. one small network per region (an ensemble of `n_members`, each from its own
   augmentation draw); all regions, members and cross-validation copies are trained
   together in one batched torch model;
5. the regions are weighted from held-out predictions (leave-one-reference-out with few
   references, grouped K-fold otherwise) and the combination is temperature-calibrated;
6. all linear preprocessing is folded into each region's first layer, so prediction is one
   numpy matmul per region on a strided view of the raw spectra (no torch needed).
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from .drift import EVIDENCE_P, DriftTracker, fit_drift_model, pixel_variance
from .ensemble._linear import fit_lda, lda_log_proba, standardize
from .ensemble._quality import assess_quality
from .ensemble._stacking import (
    combine,
    fit_temperature,
    fit_weights,
    region_skill,
    temperature_at_bound,
)
from .exceptions import AxisMismatchError, LabelError, ModelQualityWarning
from .models._augment import augment as _augment
from .models._augment import learn_shifts, measure_nuisances
from .models._fold import fold_networks, region_inputs
from .models._linear import highpass, highpass_transpose, shift_coordinate, unpool_rows
from .plan import (
    BASELINE_CANDIDATES,
    INPUTS_PER_PEAK,
    MAX_LINEAR_FEATURES,
    FitPlan,
    choose_normalization,
    linear_features,
    linear_heldout,
    make_folds,
)
from .plan import score as plan_score
from .regions import (
    Region,
    equal_boundaries,
    estimate_peak_width,
    make_regions,
    separability_profile,
    valley_boundaries,
)
from .results import Classification
from .spectra import Spectra

__all__ = ["SpectraClassifier", "Classification", "Region"]

logger = logging.getLogger(__name__)

FLOAT_DTYPES = (np.float64, np.float32)
#: Below this many points a row is a plain feature vector, not a spectrum: no normalisation,
#: baseline, pooling, augmentation or several regions (a peak needs a few points on each
#: side to have a width).
MIN_SPECTRAL_POINTS = 8
#: 'auto' augmentation is on when the smallest class has fewer spectra than this.
AUGMENT_BELOW = 50
#: 'auto' augmentation makes about this many spectra per class (originals included).
AUGMENT_TARGET_PER_CLASS = 160
#: Spectra up to this many points are not pooled for the networks: pooling bounds the size
#: of the networks on long spectra, and short ones (emission spectra of a few hundred
#: pixels, where a shift of a fraction of a line width is the signal) keep every pixel.
MAX_UNPOOLED_POINTS = 1024
#: 'auto' regions are about this many peak widths wide ...
REGION_PEAK_WIDTHS = 24.0
#: ... and at least this many (a region must hold a whole peak track).
MIN_REGION_PEAK_WIDTHS = 6.0
#: Shifted copies of each class mean that bridge a shift-only pair in the region envelope.
BRIDGE_STEPS = 16


def _fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X).tobytes())
    h.update("\x1f".join(map(str, y)).encode())
    return h.hexdigest()


class SpectraClassifier(ClassifierMixin, BaseEstimator):
    """Classify the state of a sample from 1-D spectra: regions, small networks, weighted vote.

    Parameters
    ----------
    n_regions : int or 'auto', default='auto'
        Number of regions. An int B cuts the axis into B equal bins (as the reference
        method); 'auto' places boundaries in the valleys of the intensity envelope so no
        peak track is cut, about ``REGION_PEAK_WIDTHS`` peak widths apart.
    network : {'mlp', 'point'}, default='mlp'
        'mlp': one small network on each region's (baseline-free, pooled, standardised)
        intensities, the fast default. 'point': the reference formulation, a 2 -> 150 -> C
        network on the (axis, intensity) points of a region with a per-point vote (slow to
        predict; for comparisons).
    hidden : int, default=8
        Hidden units of each member network of a region ('mlp').
    n_members : int, default=3
        Networks per region whose logits are averaged ('mlp'), each trained from its own
        augmentation draw (or its own initialisation without augmentation). A single
        network trained on one draw of few-shot copies may lock onto an accident of that
        draw (measured: 88-98 % on some far-end ramps); the members' average did not
        (100 % on the same). At prediction they are one network of
        ``hidden * n_members`` units: the same one matmul per region.
    activation : {'relu', 'tanh'}, default='relu'
        Hidden activation ('mlp').
    max_iter : int, default=200
        Adam steps ('mlp'; the 'point' network uses the reference's 700 epochs).
    learning_rate : float, default=0.01
        Initial Adam learning rate (cosine decay) ('mlp').
    alpha : float, default=1e-3
        L2 penalty on the network weights ('mlp').
    batch_size : int, default=256
        Minibatch size; full batch when the (augmented) training set is smaller.
    augment : bool or 'auto', default='auto'
        Few-shot augmentation; 'auto' turns it on when the smallest class has fewer than
        ``AUGMENT_BELOW`` spectra (and rows are spectra, at least ``MIN_SPECTRAL_POINTS``
        points).
    n_augment : int or 'auto', default='auto'
        Copies per training spectrum, the original included.
    weighting : {'heldout', 'reference', 'uniform'}, default='heldout'
        How the members are weighted (see :mod:`specstate.ensemble._stacking`); judged on
        held-out predictions of the original references.
    n_folds : int or 'auto', default='auto'
        Folds of the held-out predictions (see :func:`specstate.plan.make_folds`): 'auto'
        leaves one reference out when there are few, else contiguous blocks of each state
        in acquisition order.
    normalize : bool or 'auto', default='auto'
        Divide each spectrum by its total intensity. 'auto': when the rows are spectra of
        intensities (totals positive and most of the absolute sum); signed spectra are
        left as they are.
    baseline : float, 'auto' or None, default='auto'
        Width (sigma, points) of the Gaussian low-pass subtracted as baseline; 'auto'
        chooses between none and two measured peak widths by the linear member's held-out
        score; None or 0 keeps the baseline.
    pool : int or 'auto', default='auto'
        Points averaged into one network input; 'auto': 1 for spectra of up to
        ``MAX_UNPOOLED_POINTS`` points, else ``INPUTS_PER_PEAK`` inputs per peak width.
    max_regions : int, default=16
        Upper limit of 'auto' regions.
    drift : {'auto', 'spectrum', 'run'} or None, default='auto'
        Correction of a slow shift of the axis (a spectrometer's energy scale) measured
        from the data themselves (see :mod:`specstate.drift`). 'spectrum': each spectrum is
        aligned on its own (batch independent). 'run': X is one run in acquisition order;
        the shift is tracked over neighbouring spectra (Kalman smoother). 'auto':
        'spectrum' when the references' own shifts scatter beyond their noise, otherwise
        off; never decided by the axis name. None: off. A live stream passes the
        :meth:`drift_tracker` to :meth:`classify`.
    drift_max : float or 'auto', default='auto'
        Largest shift searched, in points. 'auto': half the measured line width (at least
        two points).
    linear_member : bool, default=True
        Whether a whole-spectrum shrinkage LDA (:mod:`specstate.ensemble._linear`) sits
        beside the region networks; the stacking weighs it like any member.
    ambiguous_margin : float, default=0.2
        A spectrum is flagged ambiguous when its two most probable states differ by less.
    random_state : int, numpy.random.RandomState or None, default=None
        Seed of augmentation, folds and network initialisation.
    device : str, default='auto'
        Torch device for training ('auto': CUDA when available, else CPU).
    n_threads : int or None, default=None
        CPU threads for training (default: the cores this process may use).

    Attributes
    ----------
    classes_ : numpy.ndarray
        The states (sorted, any label type).
    regions_ : list of Region
        The regions, with axis range, held-out separability and weight.
    weights_ : numpy.ndarray of shape (n_regions,)
        Region weights.
    linear_weight_ : float
        Weight of the linear member (0 without one).
    temperature_ : float
        Calibration temperature.
    heldout_score_ : dict
        Balanced accuracy and log-loss of the combined model on held-out ORIGINAL
        references (``balanced_accuracy``, ``log_loss``, ``n``), and the balanced accuracy
        of the linear member and of the networks alone on the same folds.
    heldout_protocol_ : str
        How the held-out folds were made.
    fit_plan_ : dict
        Every fit-time choice with its evidence (:class:`~specstate.plan.FitPlan`).
    quality_ : dict
        ``separable`` (False: the states were not told apart) and the ``problems`` the
        quality checks found (each also in the :class:`ModelQualityWarning`).
    drift_model_ : DriftModel or None
        The drift description (None: no drift correction).
    run_drift_ : bool
        Whether a run classified as a run (``classify(X, drift='run')``, ``specstate
        classify`` on a run, ``watch``) is tracked: the references' shifts scatter beyond
        their noise, or ``drift='run'``.
    reference_mean_, reference_std_ : numpy.ndarray of shape (n_classes, n_points)
        Mean and standard deviation of each state's reference spectra (raw intensities).
    axis_, axis_name_, axis_unit_ : numpy.ndarray, str, str
        The fitted grid.
    separability_profile_ : numpy.ndarray of shape (n_points,)
        Per-point Fisher ratio of the (augmented) training spectra.
    fingerprint_ : str
        sha256 of the training intensities and labels.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.poisson(50, (40, 64)).astype(np.float32)
    >>> X[20:, 30:34] += 40
    >>> y = np.repeat(["a", "b"], 20)
    >>> clf = SpectraClassifier(max_iter=50, random_state=0).fit(X, y)  # doctest: +SKIP
    >>> clf.predict(X[:2])  # doctest: +SKIP
    array(['a', 'a'], dtype='<U1')
    """

    _parameter_constraints: dict = {
        "n_regions": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "network": [StrOptions({"mlp", "point"})],
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"relu", "tanh"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "augment": ["boolean", StrOptions({"auto"})],
        "n_augment": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "weighting": [StrOptions({"heldout", "reference", "uniform"})],
        "n_folds": [Interval(Integral, 2, None, closed="left"), StrOptions({"auto"})],
        "normalize": ["boolean", StrOptions({"auto"})],
        "baseline": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"}), None],
        "pool": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_regions": [Interval(Integral, 1, None, closed="left")],
        "drift": [StrOptions({"auto", "spectrum", "run"}), None],
        "drift_max": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "linear_member": ["boolean"],
        "ambiguous_margin": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
        "device": [str],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        n_regions="auto",
        network="mlp",
        hidden=8,
        n_members=3,
        activation="relu",
        max_iter=200,
        learning_rate=0.01,
        alpha=1e-3,
        batch_size=256,
        augment="auto",
        n_augment="auto",
        weighting="heldout",
        n_folds="auto",
        normalize="auto",
        baseline="auto",
        pool="auto",
        max_regions=16,
        drift="auto",
        drift_max="auto",
        linear_member=True,
        ambiguous_margin=0.2,
        random_state=None,
        device="auto",
        n_threads=None,
    ):
        self.n_regions = n_regions
        self.network = network
        self.hidden = hidden
        self.n_members = n_members
        self.activation = activation
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.batch_size = batch_size
        self.augment = augment
        self.n_augment = n_augment
        self.weighting = weighting
        self.n_folds = n_folds
        self.normalize = normalize
        self.baseline = baseline
        self.pool = pool
        self.max_regions = max_regions
        self.drift = drift
        self.drift_max = drift_max
        self.linear_member = linear_member
        self.ambiguous_margin = ambiguous_margin
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads

    # ------------------------------------------------------------------ input handling
    @staticmethod
    def _is_container(X) -> bool:
        return isinstance(X, Spectra) or (hasattr(X, "dims") and hasattr(X, "coords"))

    def _fit_input(self, X, y, axis):
        """Array, labels, axis, mask and wavelength from any accepted input."""
        if self._is_container(X):
            sp = Spectra.coerce(X)
            if y is None:
                if sp.labels is None:
                    raise LabelError(
                        "fit needs labels: pass y or give the spectra labels (Spectra.labels)."
                    )
                y = sp.labels
            return sp.intensity, y, sp.axis, sp.axis_name, sp.axis_unit, sp.mask, sp.wavelength
        arr = X
        if axis is not None:
            axis = np.asarray(axis, dtype=np.float64).reshape(-1)
        return arr, y, axis, "index", "", None, None

    def _to_grid(self, sp: Spectra) -> np.ndarray:
        """The intensities of `sp` on the model's grid (resampled when needed)."""
        name, unit = self.axis_name_, self.axis_unit_
        axis = self.axis_
        if "index" in (sp.axis_name, name) and sp.axis_name != name:
            # One side has no physical axis (plain point indices): the spectra are on the
            # model's grid only if they have its length and their axis is its axis or the
            # bare point index; anything else cannot be placed on the grid.
            on_grid = sp.n_points == axis.size and (
                np.allclose(sp.axis, axis, rtol=0, atol=1e-6 * max(np.abs(axis).max(), 1e-300))
                or (sp.axis_name == "index" and np.array_equal(sp.axis, np.arange(axis.size)))
            )
            if on_grid:
                return sp.intensity
            raise AxisMismatchError(
                f"The spectra's axis is '{sp.axis_name}' ({sp.axis[0]:g}..{sp.axis[-1]:g}, "
                f"{sp.n_points} points) but the model was fitted on a '{name}' axis "
                f"({axis[0]:g}..{axis[-1]:g} {unit}, {axis.size} points)."
            )
        if sp.axis_name != name:
            convertible = {"2theta", "q", "d"}
            if sp.axis_name in convertible and name in convertible:
                wl = sp.wavelength or self.wavelength_
                sp = sp.convert_axis(name, wavelength=wl)
            else:
                raise AxisMismatchError(
                    f"The spectra's axis is '{sp.axis_name}' but the model was fitted on a "
                    f"'{name}' axis."
                )
        if sp.n_points == axis.size and np.allclose(
            sp.axis, axis, rtol=0, atol=1e-6 * max(np.abs(axis).max(), 1e-300)
        ):
            return sp.intensity
        step = np.median(np.diff(axis)) if axis.size > 1 else 0.0
        tol = 1e-6 * abs(step)
        if sp.n_points < 2 or sp.axis[0] > axis[0] + tol or sp.axis[-1] < axis[-1] - tol:
            raise AxisMismatchError(
                f"The spectra's {sp.axis_name} axis covers {sp.axis[0]:g}..{sp.axis[-1]:g} "
                f"{unit} ({sp.n_points} points) but the model needs {axis[0]:g}..{axis[-1]:g} "
                f"{unit} ({axis.size} points); it cannot be resampled onto the model's grid."
            )
        src = sp.axis
        i0 = np.clip(np.searchsorted(src, axis, side="right") - 1, 0, src.size - 2)
        w = np.clip((axis - src[i0]) / (src[i0 + 1] - src[i0]), 0.0, 1.0)
        X = sp.intensity
        w = w.astype(X.dtype)
        return X[:, i0] * (1 - w) + X[:, i0 + 1] * w

    def _predict_input(self, X) -> np.ndarray:
        check_is_fitted(self)
        if self._is_container(X):
            X = self._to_grid(Spectra.coerce(X))
        try:
            return validate_data(
                self,
                X,
                reset=False,
                dtype=FLOAT_DTYPES,
                ensure_all_finite=not self._fast_finite_,
            )
        except ValueError as err:
            if "features" in str(err) and "expecting" in str(err):
                raise AxisMismatchError(
                    f"{err} The model's axis is {self.axis_name_} "
                    f"{self.axis_[0]:g}..{self.axis_[-1]:g} {self.axis_unit_}."
                ) from None
            raise

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, axis=None):
        """Fit the classifier on labelled spectra.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points), Spectra or xarray.DataArray
            Training spectra (raw intensities: normalisation and baseline are part of the
            model), in acquisition order when they come from one run. A Spectra/DataArray
            brings its axis, mask and wavelength.
        y : array-like of shape (n_spectra,), optional
            State of each spectrum (any label type). Defaults to the labels of a Spectra.
        axis : array-like of shape (n_points,), optional
            Axis values for a plain array (default: point index).

        Returns
        -------
        self : SpectraClassifier
            The fitted classifier.

        Raises
        ------
        LabelError
            If no labels are given.
        ValueError
            If the parameters are invalid, there is only one class, or the data are not
            finite.

        Warns
        -----
        ModelQualityWarning
            When the held-out check on the original references says the states are not
            told apart (see :mod:`specstate.ensemble._quality`).
        """
        self._validate_params()
        arr, y, ax, axis_name, axis_unit, mask, wavelength = self._fit_input(X, y, axis)
        arr, y = validate_data(self, arr, y, dtype=FLOAT_DTYPES)
        check_classification_targets(y)
        self.classes_, yi = np.unique(y, return_inverse=True)
        yi = yi.reshape(-1)
        C = len(self.classes_)
        if C < 2:
            raise ValueError(
                "SpectraClassifier needs spectra of at least two classes to fit; got only "
                f"one class ({self.classes_[0]!r})."
            )
        n, m = arr.shape
        if ax is None:
            ax = np.arange(m, dtype=np.float64)
        if ax.shape != (m,):
            raise AxisMismatchError(
                f"The axis has {ax.size} values but the spectra have {m} points."
            )
        self.axis_, self.axis_name_, self.axis_unit_ = ax, axis_name, axis_unit
        self.wavelength_ = wavelength
        self.mask_ = None if mask is None else np.asarray(mask, dtype=bool)
        keep = np.ones(m) if mask is None else (~self.mask_).astype(np.float64)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        nprng = np.random.default_rng(seed)
        spectral = m >= MIN_SPECTRAL_POINTS
        self.fingerprint_ = _fingerprint(arr, y)
        plan = FitPlan()

        # normalisation (safe for signed spectra) and the measured peak width
        Xd = np.asarray(arr, dtype=np.float64)
        if self.normalize == "auto" and not spectral:
            normalize, why = False, "rows are feature vectors, not spectra"
        else:
            normalize, why = choose_normalization(Xd, keep, self.normalize)
        plan.normalize, plan.normalize_reason = normalize, why
        self.normalize_ = normalize
        Xn = Xd / (Xd @ keep)[:, None] if normalize else Xd
        # each state's reference mean and spread (raw intensities), for reports
        self.reference_mean_ = np.stack([arr[yi == c].mean(axis=0) for c in range(C)])
        self.reference_std_ = np.stack([arr[yi == c].std(axis=0) for c in range(C)])
        width = estimate_peak_width(Xn.mean(axis=0) * keep) if spectral else 1.0
        self.peak_width_ = plan.peak_width = float(width)
        u, kind = shift_coordinate(ax, axis_name)

        # drift: decided from the references, then the training spectra are aligned
        folds = make_folds(yi, C, self.n_folds)
        plan.folds = folds.protocol
        self.heldout_protocol_ = folds.protocol
        Xd, Xn = self._fit_drift(Xd, Xn, yi, C, u, keep, width, normalize, spectral, plan,
                                 folds)

        # baseline and linear pooling, chosen by the linear member's held-out score
        sigma, lin_pool, F_lin = self._choose_baseline(Xn, yi, C, keep, width, m, spectral,
                                                       folds, plan)
        self.baseline_sigma_ = plan.baseline_sigma = float(sigma)
        if self.pool == "auto":
            pool = 1
            if spectral and m > MAX_UNPOOLED_POINTS:
                pool = max(1, int(round(width / INPUTS_PER_PEAK)))
        else:
            pool = int(self.pool)
        self.pool_ = plan.pool = pool
        plan.linear_pool = lin_pool

        # few-shot augmentation
        counts = np.bincount(yi, minlength=C)
        if self.augment == "auto":
            do_aug = spectral and counts.min() < AUGMENT_BELOW
            plan.augment_reason = (
                f"fewest references of a state: {counts.min()} (< {AUGMENT_BELOW})" if do_aug
                else ("rows are not spectra" if not spectral
                      else f"{counts.min()} or more references of every state")
            )
        else:
            do_aug = bool(self.augment) and spectral
            plan.augment_reason = "set by the augment parameter"
        plan.augment = do_aug
        self.shift_model_ = None
        n_orig = n
        if do_aug:
            Xhp = highpass(Xn, sigma, keep)
            self.shift_model_ = learn_shifts(Xhp, yi, C, u, kind)
            plan.shift = _describe_shifts(self.shift_model_)
            if self.n_augment == "auto" and self.network == "point":
                from .models._point import POINT_COPIES

                copies = POINT_COPIES  # as the reference: ten noisy copies per reference
            elif self.n_augment == "auto":
                copies = int(np.ceil(AUGMENT_TARGET_PER_CLASS / counts.min()))
            else:
                copies = int(self.n_augment)
            # members of the region ensembles each learn from their own augmentation draw
            draws = int(self.n_members) if self.network == "mlp" else 1
            nuis = measure_nuisances(Xd, yi, C, width, normalize)
            plan.augment_reason += "; " + nuis.describe()
            Xa, src = _augment(Xd, yi, u, self.shift_model_, copies * draws, width, nprng,
                               nuisances=nuis)
            ya, groups = yi[src], src
            draw = np.tile(np.arange(copies * draws) % draws, n)
            originals = np.arange(n) * copies * draws  # copy 0 of each is the original
            Xan = np.asarray(Xa, dtype=np.float64)
            if normalize:
                ta = Xan @ keep
                Xan /= np.where(np.abs(ta) > 0, ta, 1.0)[:, None]
        else:
            Xan, ya, groups, draw, originals = Xn, yi, np.arange(n), None, np.arange(n)
        F_train = None
        if do_aug:
            F_train = (linear_features(Xan, sigma, keep, lin_pool), ya, groups)

        # regions
        Xhp_a = highpass(Xan, sigma, keep)
        self.separability_profile_ = separability_profile(Xhp_a, ya, C, smooth=width / 2)
        boundaries = self._boundaries(Xhp_a, Xn if not do_aug else highpass(Xn, sigma, keep),
                                      yi, C, m, width, u)
        del Xhp_a
        plan.regions = int(len(boundaries) - 1)
        if self.network == "point":
            from .models._point import fit_point_model

            self._fit_point(fit_point_model, Xan, ya, C, boundaries, sigma, keep, seed)
            self.fit_plan_ = plan.to_dict()
            self.heldout_score_ = {}
            return self
        self._fit_members(Xan, ya, groups, draw, originals, yi, C, boundaries, sigma, pool,
                          keep, seed, normalize, folds, F_lin, lin_pool, plan, n_orig, Xn,
                          F_train)
        return self

    def _auto_drift(self, dm, Xn, yi, C, keep, width, folds):
        """'spectrum' when the axis shifts AND aligning helps the held-out originals.

        A scatter of the references' shifts alone is not enough: states that differ by a
        shift (a lattice jump, a strain) also scatter, and aligning them would erase the
        signal. The linear member scores the references with and without per-spectrum
        alignment on the same folds; alignment must win by more than one reference's worth.
        """
        if dm.evidence >= EVIDENCE_P:
            return None, f"no evidence that the axis shifts (p = {dm.evidence:.2g})"
        if not folds.k:
            return None, (f"the references' shifts scatter (p = {dm.evidence:.2g}) but "
                          "nothing can be held out to check that aligning helps")
        m = Xn.shape[1]
        sigma = BASELINE_CANDIDATES[0] * width if 6 * BASELINE_CANDIDATES[0] * width <= m / 2 \
            else 0.0
        pool = max(1, int(round(width / INPUTS_PER_PEAK)), int(np.ceil(m / MAX_LINEAR_FEATURES)))
        aligned = dm.align(Xn, dm.estimate(Xn, prior=True)[0])
        off = plan_score(linear_heldout(linear_features(Xn, sigma, keep, pool), yi, C, folds),
                         yi, C)
        on = plan_score(linear_heldout(linear_features(aligned, sigma, keep, pool), yi, C,
                                       folds), yi, C)
        one = _one_reference(yi, C)
        scores = (f"held-out linear score aligned {on[0]:.3f}, as measured {off[0]:.3f}; "
                  f"shift scatter p = {dm.evidence:.2g}")
        if np.nan_to_num(on[0]) > np.nan_to_num(off[0]) + one:
            return "spectrum", scores
        return None, scores + "; runs are tracked when classified as a run"

    def _fit_drift(self, Xd, Xn, yi, C, u, keep, width, normalize, spectral, plan, folds):
        """Decide the drift mode from the references and align them when it is on."""
        self.drift_model_ = None
        self.drift_mode_ = None
        self.run_drift_ = False
        if self.drift is None or not (spectral and normalize):
            plan.drift, plan.drift_reason = "off", (
                "drift=None" if self.drift is None else "needs spectra of intensities")
            return Xd, Xn
        dm = fit_drift_model(Xn, yi, C, u, keep, width,
                             None if self.drift_max == "auto" else self.drift_max)
        self.run_drift_ = bool(dm.evidence < EVIDENCE_P or self.drift == "run")
        if self.drift == "auto":
            mode, plan.drift_reason = self._auto_drift(dm, Xn, yi, C, keep, width, folds)
        else:
            mode = self.drift
            plan.drift_reason = f"drift='{self.drift}' (evidence p = {dm.evidence:.2g})"
        plan.drift = mode or "off"
        self.drift_model_ = dm  # kept: classify(drift='run') and trackers may use it
        if mode is None:
            return Xd, Xn
        self.drift_mode_ = mode
        shifts = self._training_shifts(dm, Xn, mode, width)
        if np.any(shifts):
            Xd = dm.align(Xd, shifts)
            Xn = dm.align(Xn, shifts)
            prior_var, rate = dm.prior_var, dm.rate
            dm = fit_drift_model(Xn, yi, C, u, keep, width, dm.max_shift / dm.step)
            dm.prior_var, dm.rate = prior_var, rate  # the references' drift, before alignment
        self.training_drift_ = shifts
        self.drift_model_ = dm
        return Xd, Xn

    def _training_shifts(self, dm, Xn, mode, width):
        if mode == "spectrum":
            return dm.estimate(Xn, prior=True)[0]
        block, rate = _run_settings(dm, Xn, width)
        self.drift_block_ = int(block)
        return dm.smooth_run(Xn, block, rate)

    def _choose_baseline(self, Xn, yi, C, keep, width, m, spectral, folds, plan):
        """Baseline width and linear pooling by the linear member's held-out score."""
        lin_pool = 1
        if spectral:
            lin_pool = max(1, int(round(width / INPUTS_PER_PEAK)))
            lin_pool = max(lin_pool, int(np.ceil(m / MAX_LINEAR_FEATURES)))
        if self.baseline != "auto" or not spectral:
            sigma = 0.0 if self.baseline == "auto" else float(self.baseline or 0.0)
            return sigma, lin_pool, linear_features(Xn, sigma, keep, lin_pool)
        best = None
        for widths in BASELINE_CANDIDATES:
            sigma = widths * width
            if 6 * sigma > m / 2:  # the low-pass would not fit under the spectrum
                continue
            F = linear_features(Xn, sigma, keep, lin_pool)
            lp = linear_heldout(F, yi, C, folds) if folds.k else np.full((len(yi), C), np.nan)
            bacc, ll = plan_score(lp, yi, C)
            plan.baseline_scores[f"{widths:g} peak widths"] = bacc
            score = np.nan_to_num(bacc, nan=-1.0)
            # the first candidate stays unless another wins by more than one reference's
            # worth (see BASELINE_CANDIDATES): a single held-out reference is no evidence
            if best is None or score > best[0] + _one_reference(yi, C):
                best = (score, sigma, F)
        return best[1], lin_pool, best[2]

    def _boundaries(self, Xhp_a, Xhp_ref, yi, C, m, width, u):
        """Region boundaries: equal bins for an int, else gaps between the peak tracks.

        The tracks are the envelope of the (smoothed) training spectra; with few-shot
        augmentation, of the class means moved along the shift that separates the
        references of each pair of classes (the way the peaks travel between them).
        """
        if isinstance(self.n_regions, Integral):
            return equal_boundaries(m, self.n_regions)
        if m < MIN_SPECTRAL_POINTS:
            return np.array([0, m], dtype=np.int64)
        from scipy.ndimage import gaussian_filter1d

        smooth = max(width / 2, 0.5)
        sm = self.shift_model_
        if sm is None:
            envelope = gaussian_filter1d(Xhp_a, smooth, axis=1, mode="nearest").max(axis=0)
        else:
            from .models._augment import shift_spectra

            refs = gaussian_filter1d(Xhp_ref, smooth, axis=1, mode="nearest")
            envelope = refs.max(axis=0)
            means = np.stack([refs[yi == c].mean(axis=0) for c in range(C)])
            for a in range(C):
                for b in range(C):
                    if a != b:
                        steps = np.linspace(0.0, sm.pair_shift[a, b], BRIDGE_STEPS)
                        bridged = shift_spectra(np.repeat(means[a:a + 1], steps.size, 0), u, steps)
                        envelope = np.maximum(envelope, bridged.max(axis=0))
        count = int(np.clip(round(m / (REGION_PEAK_WIDTHS * width)), 1, self.max_regions))
        min_width = max(int(MIN_REGION_PEAK_WIDTHS * width), MIN_SPECTRAL_POINTS // 4)
        return valley_boundaries(envelope, count, min_width)

    def _fit_members(self, Xan, ya, groups, draw, originals, yi, C, boundaries, sigma, pool,
                     keep, seed, normalize, folds, F_lin, lin_pool, plan, n_orig, Xn,
                     F_train=None):
        """Region networks + linear member, stacked on held-out original references."""
        from .models._mlp import train_region_networks

        m = Xan.shape[1]
        use_linear = bool(self.linear_member)
        use_networks = True
        k = folds.k
        E = int(self.n_members)
        fold_rows = folds.fold[groups]  # fold of every (augmented) row
        held = np.flatnonzero(folds.fold >= 0) if k else np.arange(n_orig)
        members_lp = []
        inputs = params = None
        member_copies = []
        if use_networks:
            inputs = region_inputs(Xan, ya, C, boundaries, sigma, pool, keep, 0)
            # with augmentation, every fold copy and member is trained twice: on the
            # augmented copies and on the originals alone; the held-out originals decide
            V = 2 if draw is not None else 1
            is_orig = np.zeros(len(ya), dtype=bool)
            is_orig[originals] = True
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
                accs = []
                for v in range(V):
                    hv = lp[v * k + folds.fold[held], rows]
                    comb_v = combine(hv.astype(np.float64), np.ones(R0), np.zeros(C), 1.0,
                                     "logit")
                    accs.append(plan_score(comb_v, yi[held], C)[0])
                one = _one_reference(yi, C)
                # augmentation goes only when the originals alone do better by more than one
                # reference's worth (few references: the physical nuisances are the prior)
                if np.nan_to_num(accs[1]) > np.nan_to_num(accs[0]) + one:
                    variant = 1
                plan.augment_reason += (f"; held-out networks with {accs[0]:.3f}, "
                                        f"without {accs[1]:.3f}")
                if variant == 1:
                    plan.augment = False
                    plan.shift = ""
                    self.shift_model_ = None
                    F_train = None
            if k:
                net_held = lp[variant * k + folds.fold[held], rows]
            else:  # nothing can be held out: the members' own fit (said by the plan)
                net_held = lp[V * k + variant * E:V * k + (variant + 1) * E, rows].mean(axis=0)
            members_lp.append(net_held.astype(np.float64))
            member_copies = list(range(V * k + variant * E, V * k + (variant + 1) * E))
        R = len(boundaries) - 1 if use_networks else 0
        # the linear member learns from the same (augmented) spectra as the networks
        Ft, yt, gt = F_train if F_train is not None else (F_lin, yi, np.arange(len(yi)))
        if use_linear:
            if k:
                lin_held = linear_heldout(F_lin, yi, C, folds, Ft, yt, gt)[held]
            else:
                mu, sd = standardize(Ft, yt, C)
                fit0 = fit_lda((Ft - mu) / sd, yt, C)
                lin_held = lda_log_proba((F_lin - mu) / sd, fit0)
            members_lp.append(lin_held[:, None, :])
        heldout = np.concatenate(members_lp, axis=1)
        yh = yi[held]
        if self.weighting == "heldout":
            weights, bias, comb = fit_weights(heldout, yh, C, "heldout")
        else:  # 'reference'/'uniform' weigh the regions; the linear member counts as one
            weights, bias, comb = fit_weights(heldout, yh, C, self.weighting)
        skill, _, _ = region_skill(heldout, yh, C)
        T = fit_temperature(heldout, yh, weights, bias, comb)
        combined = combine(heldout, weights, bias, T, comb)
        bacc, ll = plan_score(combined, yh, C)
        lin_bacc = plan_score(heldout[:, -1], yh, C)[0] if use_linear else float("nan")
        self.heldout_score_ = {
            "balanced_accuracy": bacc, "log_loss": ll, "n": int(yh.size),
            "linear_balanced_accuracy": lin_bacc,
            "network_balanced_accuracy": (
                plan_score(combine(heldout[:, :R], np.ones(R), np.zeros(C), 1.0, "logit"),
                           yh, C)[0] if R else float("nan")),
        }
        self.weights_ = weights[:R] if R else np.zeros(0)
        self.linear_weight_ = float(weights[R]) if use_linear else 0.0
        self.temperature_ = T
        self.n_iter_ = int(self.max_iter)
        self.regions_ = make_regions(boundaries, self.axis_, skill[:R], weights[:R]) if R else []
        linear = None
        if use_linear:
            mu, sd = standardize(Ft, yt, C)
            fit = fit_lda((Ft - mu) / sd, yt, C)
            coef = fit.coef / sd[:, None]
            W_raw = highpass_transpose(unpool_rows(coef, lin_pool, m), sigma, keep)
            linear = (W_raw, fit.intercept - (mu / sd) @ fit.coef)
            self.linear_shrinkage_ = float(fit.shrinkage)
        self.model_ = fold_networks(
            inputs, params, member_copies, boundaries, keep, weights, bias, T, comb,
            normalize, self.activation, linear=linear,
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
        sig = _mean_difference_sigmas(Xn, yi, len(self.classes_), keep)
        report = assess_quality(
            y=yh, heldout_pred=combined.argmax(axis=1), linear_pred=lin_pred,
            n_classes=len(self.classes_), weights=weights,
            temperature_at_bound=temperature_at_bound(T), mean_difference_sigmas=sig,
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
        from .models._point import POINT_EPOCHS

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

    # ------------------------------------------------------------------ drift
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
        keep = np.ones(X.shape[1]) if self.mask_ is None else (~self.mask_).astype(np.float64)
        Xd = np.asarray(X, dtype=np.float64)
        if self.mask_ is not None:
            Xd = np.where(self.mask_[None, :], 0.0, Xd)
        tot = Xd @ keep
        return Xd / np.where(np.abs(tot) > 0, tot, 1.0)[:, None]

    def _aligned(self, X, drift, tracker):
        """X with the model's drift correction applied (a copy only when it shifts)."""
        dm = getattr(self, "drift_model_", None)
        if dm is None:
            return X
        mode = self.drift_mode_ if drift is None else drift
        if tracker is not None:
            shift = tracker.update(self._normalised(X))
            return dm.align(X, np.full(len(X), shift))
        if mode == "spectrum":
            return dm.align(X, dm.estimate(self._normalised(X), prior=True)[0])
        if mode == "run":
            Xn = self._normalised(X)
            block, rate = _run_settings(dm, Xn, self.peak_width_)
            return dm.align(X, dm.smooth_run(Xn, block, rate))
        return X

    # ------------------------------------------------------------------ predict
    def _log_proba(self, X, drift=None, tracker=None) -> np.ndarray:
        X = self._predict_input(X)
        if self.network != "point":
            X = self._aligned(X, drift, tracker)
        lp = self.model_.log_proba(X)
        if not np.all(np.isfinite(lp)):
            lp = self._non_finite(X)
        return lp

    def _non_finite(self, X):
        bad = ~np.isfinite(X)
        if self.mask_ is not None and not np.any(bad & ~self.mask_[None, :]):
            X = np.where(bad, 0, X).astype(X.dtype, copy=False)
            return self.model_.log_proba(X)
        if np.any(bad):
            raise ValueError("Input X contains NaN or infinity at points the model uses.")
        if self.normalize_:
            raise ValueError(
                "Some spectra have a total intensity of 0 or below, which the model divides "
                "by (normalize_ is True): empty shots cannot be classified."
            )
        raise FloatingPointError("The model's output is not finite for finite spectra.")

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probability of each state.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points), Spectra or xarray.DataArray
            Raw spectra; float32 is used as is (no float64 copy). With ``drift='run'`` they
            are taken as one run in acquisition order.

        Returns
        -------
        numpy.ndarray of shape (n_spectra, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        lp = self._log_proba(X)
        p = np.exp(lp.astype(np.float64))
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """Most probable state of each spectrum.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points), Spectra or xarray.DataArray
            Raw spectra.

        Returns
        -------
        numpy.ndarray of shape (n_spectra,)
            Values of ``classes_``.
        """
        lp = self._log_proba(X)
        return self.classes_[np.argmax(lp, axis=1)]

    def classify(self, X, *, drift=None, tracker=None) -> Classification:
        """States, probabilities, confidence and ambiguity flags in one pass.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points), Spectra or xarray.DataArray
            Raw spectra.
        drift : {'spectrum', 'run'} or None, optional
            Override the fitted drift mode for this call: 'run' when X is one run in
            acquisition order (``specstate classify`` does this for runs). Only models with
            a drift description (``drift_model_``) correct anything.
        tracker : DriftTracker, optional
            From :meth:`drift_tracker`: X is the next train of a stream; the tracker
            folds it into its estimate and the train is corrected by it.

        Returns
        -------
        Classification
        """
        lp = self._log_proba(X, drift=drift, tracker=tracker)
        p = np.exp(lp).astype(np.float32)
        p /= p.sum(axis=1, keepdims=True)
        best = np.argmax(p, axis=1)
        if p.shape[1] > 1:
            top2 = np.partition(p, -2, axis=1)[:, -2:]
            margin = top2[:, 1] - top2[:, 0]
        else:  # pragma: no cover - a fitted model has >= 2 classes
            margin = np.ones(len(p), np.float32)
        return Classification(
            labels=self.classes_[best],
            proba=p,
            confidence=p[np.arange(len(p)), best],
            ambiguous=margin < self.ambiguous_margin,
            classes=self.classes_,
        )

    # ------------------------------------------------------------------ files
    def save(self, path) -> None:
        """Write the fitted model to an HDF5 file (no pickle: nothing in it can run code).

        Parameters
        ----------
        path : str or pathlib.Path
            Destination (``.h5``); written to a temporary file and renamed.
        """
        from .io.model_file import save_model

        check_is_fitted(self)
        save_model(self, path)

    @classmethod
    def load(cls, path) -> SpectraClassifier:
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path : str or pathlib.Path
            The model file.

        Returns
        -------
        SpectraClassifier
            The fitted classifier (prediction needs numpy only, not torch).

        Raises
        ------
        ModelFileError
            If the file is damaged, not a specstate model, or from a newer format.
        """
        from .io.model_file import load_model

        return load_model(cls, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        # The reference formulation votes point by point, each point (position, value) on
        # its own; on generic feature vectors (scikit-learn's blobs) it scores below the
        # checks' 0.83 bar by construction. It is a spectra method kept for comparison.
        tags.classifier_tags.poor_score = self.network == "point"
        return tags


def _one_reference(yi, n_classes) -> float:
    """What one held-out reference of the smallest state weighs in a balanced accuracy.

    A choice between two fit plans is made only on a difference larger than this: with a
    handful of references one spectrum more or less right is no evidence.
    """
    return 1.0 / max(int(np.bincount(yi, minlength=n_classes).min()), 1) / n_classes


def _run_settings(dm, Xn, width):
    """Block size and drift rate of run-level tracking for normalised spectra `Xn`.

    The block is the smallest whose shift error stays inside the linear regime
    (:meth:`DriftModel.block_size`, from the Cramér-Rao variance of one spectrum). Without a
    drift rate measured on the references, the rate is measured on the run itself
    (:meth:`DriftModel.run_rate`).
    """
    block = dm.block_size(width * dm.step)
    rate = dm.rate if dm.rate > 0 else dm.run_rate(Xn)
    return int(block), float(rate)


def _describe_shifts(sm) -> str:
    """One phrase on how the shift between the states is treated."""
    from .models._augment import SHIFT_ONLY_RESIDUAL

    C = sm.pair_shift.shape[0]
    parts = []
    for a in range(C):
        for b in range(a + 1, C):
            what = "signal" if sm.pair_residual[a, b] < SHIFT_ONLY_RESIDUAL else "nuisance"
            parts.append(f"{a}-{b}: {sm.pair_shift[a, b] / max(sm.step, 1e-300):.3g} points "
                         f"({what}, aligned residual {sm.pair_residual[a, b]:.2f})")
    return "; ".join(parts)


def _mean_difference_sigmas(Xn, y, n_classes, keep) -> float:
    """Largest difference between two state means, in standard errors of the noise.

    The noise is the references' own, measured as ``var = a·mean + b``
    (:func:`specstate.drift.pixel_variance`): a two-parameter fit over all points, stable
    even with two references per state.
    """
    Xn = np.asarray(Xn, dtype=np.float64)
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

