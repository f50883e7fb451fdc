"""Novelty: spectra unlike every fitted state are flagged; known ones and mixtures are not."""

import warnings

import numpy as np
import pytest

from specstate import SpectraClassifier

M = 300


def _state(rng, n, centres, photons=5000.0, extra=None):
    x = np.arange(M, dtype=float)
    prof = 0.05 + sum(np.exp(-0.5 * ((x - c) / 4.0) ** 2) for c in centres)
    if extra is not None:
        prof = prof + extra
    prof = prof / prof.sum()
    return rng.poisson(photons * prof, (n, M)).astype(np.float32)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    a = _state(rng, 150, [80, 200])
    b = _state(rng, 150, [80, 230])
    X = np.vstack([a, b])
    y = np.repeat(["a", "b"], 150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SpectraClassifier(max_iter=60, random_state=0, n_threads=1).fit(X, y)
    return clf, rng


def test_known_states_and_mixtures_are_rarely_flagged(fitted):
    clf, rng = fitted
    known = np.vstack([_state(rng, 500, [80, 200]), _state(rng, 500, [80, 230])])
    res = clf.classify(known)
    assert res.novelty.shape == (1000,) and res.novel.dtype == bool
    assert res.novel.mean() <= 0.03
    mix = 0.5 * (_state(rng, 300, [80, 200]) + _state(rng, 300, [80, 230]))
    assert clf.classify(mix).novel.mean() <= 0.05
    assert clf.novelty_.method == "conformal"  # 300 held-out references


def test_unseen_states_and_empty_shots_are_flagged(fitted):
    clf, rng = fitted
    third = _state(rng, 300, [80, 140])  # a peak where neither state has one
    assert clf.classify(third).novel.mean() >= 0.9
    empty = rng.poisson(5000 * np.full(M, 1.0 / M), (300, M)).astype(np.float32)
    assert clf.classify(empty).novel.mean() >= 0.9


def test_rate_changes_at_predict_time_without_refitting(fitted, tmp_path):
    clf, rng = fitted
    known = _state(rng, 2000, [80, 200])
    loose = clf.classify(known, novelty_rate=0.2).novel.mean()
    strict = clf.classify(known, novelty_rate=0.001).novel.mean()
    assert strict < loose
    assert 0.05 < loose < 0.4
    clf.save(tmp_path / "m.h5")
    back = SpectraClassifier.load(tmp_path / "m.h5")
    np.testing.assert_allclose(back.classify(known).novelty, clf.classify(known).novelty,
                               rtol=1e-4)


def test_nexus_results_record_the_novelty_rate_and_method(fitted, tmp_path):
    import h5py

    from specstate import Spectra
    from specstate.io.results import write_results

    clf, rng = fitted
    X = _state(rng, 20, [80, 200])
    spectra = Spectra(X)
    result = clf.classify(spectra).with_ids(spectra)
    path = write_results(tmp_path / "r.nxs", result, spectra, clf)
    with h5py.File(path, "r") as f:
        found = {}

        def keep(name, obj):
            if isinstance(obj, h5py.Dataset):
                found[name.rsplit("/", 1)[-1]] = obj[()]

        f.visititems(keep)
    assert float(found["novelty_rate"]) == pytest.approx(0.01)
    method = found["novelty_method"]
    assert (method.decode() if isinstance(method, bytes) else str(method)) == "conformal"
    assert "novelty" in found and "novel" in found


def _sase_state(rng, n, centres, photons):
    """Shots of a state whose photons follow a SASE pulse energy (gamma, rms 25 %)."""
    energy = rng.gamma(16.0, 1.0 / 16.0, n)
    return np.vstack([_state(rng, 1, centres, photons * e) for e in energy])


def test_known_spectra_score_about_one_whatever_their_total(fitted):
    """The score is the residual over what counting noise leaves at the spectrum's total."""
    clf, rng = fitted
    res = clf.classify(_state(rng, 1000, [80, 200]))
    assert 0.8 < float(np.median(res.novelty)) < 1.25
    rng = np.random.default_rng(5)
    X = np.vstack([_sase_state(rng, 150, [80, 200], 2000.0),
                   _sase_state(rng, 150, [80, 230], 2000.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sase = SpectraClassifier(max_iter=60, random_state=0, n_threads=1).fit(
            X, np.repeat(["a", "b"], 150))
    # weak shots (60 % of the mean pulse energy, inside the references' range: fewer
    # photons, hence noisier) are not flagged for their noise ...
    weak = _state(rng, 1000, [80, 230], photons=0.6 * 2000.0)
    assert sase.classify(weak).novel.mean() <= 0.05
    # ... nor are known shots scored at a fixed noise: the score of the weak ones is ~1
    assert 0.8 < float(np.median(sase.classify(weak).novelty)) < 1.25
    # far below every reference the noise model is not extrapolated: judged at the weakest
    # reference's noise, such shots are not like the references (an empty shot stays visible)
    faint = _state(rng, 300, [80, 230], photons=0.02 * 2000.0)
    assert sase.classify(faint).novel.mean() >= 0.9


def test_noise_model_is_not_taken_from_systematic_variation():
    """A state whose peak height varies is no noise: the fitted variance is the counting one."""
    from specstate.ensemble._novelty import noise_weight

    rng = np.random.default_rng(1)
    x = np.arange(M, dtype=float)
    n, photons = 400, 20000.0
    height = 1.0 + 0.3 * rng.standard_normal(n)  # systematic, not noise
    prof = 0.05 + height[:, None] * np.exp(-0.5 * ((x - 150) / 4.0) ** 2)
    X = rng.poisson(photons * prof / prof.sum(axis=1, keepdims=True)).astype(float)
    totals = X.sum(axis=1)
    Xn = X / totals[:, None]
    true_var = Xn.mean(axis=0) / totals.mean()  # Poisson: var(x / T) = p / T
    scatter = Xn.var(axis=0)  # holds the height variation at the peak
    assert scatter[150] > 5 * true_var[150]
    weight, share = noise_weight(Xn, totals / totals.mean(), np.ones(M), 1.0 / scatter, rng)
    np.testing.assert_allclose(1.0 / weight[140:161], true_var[140:161], rtol=0.2)
    assert share > 0.9  # counting noise only, no read noise


def test_model_file_with_an_older_novelty_score_loads_without_it(fitted, tmp_path):
    import h5py

    from specstate.io import _schema as S

    clf, rng = fitted
    path = clf.save(tmp_path / "m.h5") or tmp_path / "m.h5"
    with h5py.File(path, "r+") as f:
        del f[S.MODEL_NOVELTY]["weight"]
    with pytest.warns(UserWarning, match="earlier kind .* Refit it to score novelty"):
        back = SpectraClassifier.load(path)
    res = back.classify(_state(rng, 5, [80, 200]))
    assert res.novelty is None and len(res.labels) == 5


def test_a_state_whose_axis_drifted_a_little_is_known(fitted):
    """The subspace holds the directions in which the states' means move under a shift."""
    clf, rng = fitted
    drifted = _state(rng, 500, [81.0, 201.0])  # the axis moved by 1 point (peak sigma 4)
    assert clf.classify(drifted).novel.mean() <= 0.05
    moved = _state(rng, 500, [80, 212])  # one peak moved by 3 sigma: no drift, a new state
    assert clf.classify(moved).novel.mean() >= 0.9


def _noise_model(calibration, dof=200.0, scale=1.0):
    from specstate.ensemble._novelty import NoveltyModel

    return NoveltyModel(projection=np.zeros((4, 1)), weight=np.ones(4),
                        calibration=np.asarray(calibration, float), method="noise model",
                        scale=scale, rate=0.01, n_directions=1, dof=dof, total=0.0,
                        min_relative_total=0.0, counting_share=1.0)


def test_noise_model_threshold_is_raised_when_held_out_references_refute_it():
    from scipy.stats import chi2

    rng = np.random.default_rng(0)
    dof = 200.0
    noise_thr = chi2.isf(0.01, dof) / dof
    # 40 held-out scores that are pure noise: about 0.4 of them above the 1 % threshold
    pure = _noise_model(rng.chisquare(dof, 40) / dof, dof)
    # their spread is the chi-square's: the threshold is its tail, up to the estimate
    assert pure.threshold() == pytest.approx(noise_thr, rel=0.02)
    assert "raised" not in pure.describe()
    # 40 scores can vouch for a rate of 1/41 at best: the plan says the 1 % is the model's
    assert "rests on the noise model alone" in pure.describe()
    # 8 of 40 held-out known references far above it (alignment residuals, grains): their
    # spread widens the noise model's tail (Satterthwaite), up to the highest of them
    heavy = np.r_[rng.chisquare(dof, 32) / dof, np.linspace(1.5, 3.0, 8)]
    model = _noise_model(heavy, dof)
    assert model.threshold() >= 2.8 and np.sum(heavy > model.threshold()) <= 1
    # with too few scores for a spread, 3 of 9 far above the chi-square's tail refute it:
    # no known reference may be flagged at a 1 % rate
    few = _noise_model(np.r_[rng.chisquare(dof, 6) / dof, 1.5, 2.0, 3.0], dof)
    assert few.threshold() == pytest.approx(3.0)
    assert "3 held-out scores exceed" in few.describe()
    # a larger rate tolerates more exceedances: 3 of 9 is within a 40 % rate
    assert few.threshold(0.4) == pytest.approx(few._noise_threshold(0.4))
    assert few.threshold(0.4) < 1.5


def test_noise_model_threshold_follows_the_spread_of_the_held_out_scores():
    """Known spectra scatter more than chi2_dof / dof (the noise model is a fit): with a
    scaled chi-square of 40 effective dof behind 800 points, the threshold at the 800-dof
    tail would flag about a third of known spectra; Satterthwaite's dof from the held-out
    scores puts it at their own tail."""
    from scipy.stats import chi2

    rng = np.random.default_rng(1)
    scores = rng.chisquare(40, 60) / 40
    model = _noise_model(scores, 800.0)
    fresh = rng.chisquare(40, 20000) / 40
    assert np.mean(fresh > chi2.isf(0.01, 800) / 800) > 0.2  # the thin tail
    assert np.mean(fresh > model.threshold()) < 0.05


def test_fast_path_novelty_is_the_exact_score(fitted):
    # the prediction blocks sum the projections, the total and the weighted squares; the
    # score from those sums is the noise-weighted residual computed directly
    clf, _ = fitted
    rng = np.random.default_rng(7)
    assert clf.drift_mode_ is None, clf.fit_plan_["drift_reason"]
    nov = clf.novelty_
    X = np.vstack([_state(rng, 40, [80, 200], photons=p) for p in (2000.0, 5000.0, 9000.0)]
                  + [_state(rng, 20, [80, 150])])
    keep = nov.weight > 0
    T = X.astype(np.float64) @ keep
    Xn = X / T[:, None]
    basis = np.zeros_like(nov.projection)
    basis[keep] = nov.projection[keep] / np.sqrt(nov.weight[keep])[:, None]
    smooth = np.zeros_like(nov.smooth_projection)
    smooth[keep] = nov.smooth_projection[keep] / np.sqrt(nov.weight[keep])[:, None]
    exact = nov.score_normalised(Xn, T / nov.total, basis, smooth)
    fast = clf.classify(X).novelty
    assert np.allclose(fast, exact, rtol=1e-3), np.max(np.abs(fast / exact - 1))
    # one spectrum alone scores as inside a batch, up to float32 rounding (the squares'
    # matvec meets other row counts: ~1e-6 relative seen)
    single = np.array([clf.classify(X[i:i + 1]).novelty[0] for i in range(0, len(X), 7)])
    # one spectrum and a batch: float32 BLAS blocks them differently (1e-5 on an AMD EPYC)
    assert np.allclose(single, fast[::7], rtol=1e-4, atol=0)


def test_spectra_whose_known_peaks_are_gone_are_flagged(fitted):
    """A melt (the peaks gone into a broad hump) and the background alone can lie inside
    the known subspace's span (smooth shapes); the peak content test flags them on its own,
    and mixtures of the states keep enough peak power."""
    clf, rng = fitted
    x = np.arange(M, dtype=float)
    hump = np.exp(-0.5 * ((x - 150) / 60.0) ** 2)
    melt = rng.poisson(5000.0 * (0.05 + hump) / (0.05 + hump).sum(), (300, M))
    background = rng.poisson(5000.0 / M, (300, M))
    mixed = np.vstack([_state(rng, 1, [80, 200])[0] + _state(rng, 1, [80, 230])[0]
                       for _ in range(300)])
    assert clf.novelty_.has_content
    assert "also novel when the peak content is below" in clf.fit_plan_["novelty"]
    assert clf.classify(melt.astype(np.float32)).novel.mean() > 0.95
    assert clf.classify(background.astype(np.float32)).novel.mean() > 0.95
    assert clf.classify(mixed).novel.mean() < 0.05


def _on_hump(rng, n, centres, peaks=True, photons=5000.0):
    """The two-peak states on a pressure medium's hump of varying amplitude."""
    x = np.arange(M, dtype=float)
    hump = np.exp(-0.5 * ((x - 150) / 60.0) ** 2)
    pk = sum(np.exp(-0.5 * ((x - c) / 4.0) ** 2) for c in centres)
    prof = 0.02 + rng.uniform(0.1, 1.0, (n, 1)) * hump + (pk if peaks else 0.0)
    return rng.poisson(photons * prof / (0.02 * M + 0.55 * hump.sum() + pk.sum())).astype(
        np.float32)


def test_peak_content_alone_flags_the_hump_without_peaks_that_the_subspace_holds():
    """References on a hump of varying amplitude: the hump is a known direction, so the
    hump alone (the sample gone) lies mostly inside the subspace, and the residual misses
    much of it; the peak content (read from the subspace coordinates) finds it alone."""
    rng = np.random.default_rng(0)
    X = np.vstack([_on_hump(rng, 150, [80, 200]), _on_hump(rng, 150, [80, 230])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SpectraClassifier(max_iter=60, random_state=0, n_threads=1).fit(
            X, np.repeat(["a", "b"], 150))
    nov = clf.novelty_
    assert nov.has_content and nov.n_content_columns == 0  # no folded columns of its own
    bare = _on_hump(rng, 300, [80, 230], peaks=False)
    res = clf.classify(bare)
    lacks = nov.lacks_peaks(nov.content(bare, bare.sum(1)))
    assert np.mean(res.novelty > nov.threshold()) < 0.9  # the residual alone misses some
    assert lacks.mean() > 0.95 and res.novel[lacks].all()
    mix = 0.5 * (_on_hump(rng, 300, [80, 200]) + _on_hump(rng, 300, [80, 230]))
    known = _on_hump(rng, 300, [80, 230])
    for Z in (mix, known):
        assert nov.lacks_peaks(nov.content(Z, Z.sum(1))).mean() == 0.0


def test_model_file_keeps_the_peak_content_test_and_an_older_file_scores_without_it(
        fitted, tmp_path):
    import h5py

    from specstate.io import _schema as S

    clf, rng = fitted
    background = rng.poisson(5000.0 / M, (50, M)).astype(np.float32)
    path = tmp_path / "m.h5"
    clf.save(path)
    back = SpectraClassifier.load(path)
    np.testing.assert_array_equal(back.classify(background).novel,
                                  clf.classify(background).novel)
    assert back.novelty_.content_threshold() == pytest.approx(clf.novelty_.content_threshold())
    with h5py.File(path, "r+") as f:  # a file of the version before the test
        g = f[S.MODEL_NOVELTY]
        for name in ("content_projection", "content_matrix", "content_calibration"):
            if name in g:
                del g[name]
        del g.attrs["content_scale"], g.attrs["n_states"]
    old = SpectraClassifier.load(path)
    assert not old.novelty_.has_content
    res = old.classify(background)
    np.testing.assert_array_equal(res.novel, res.novelty > old.novelty_.threshold())


def test_peak_content_summed_in_the_prediction_blocks_is_the_direct_product(fitted):
    clf, _ = fitted
    rng = np.random.default_rng(21)
    X = np.vstack([_state(rng, 40, [80, 200]), _state(rng, 40, [80, 230])])
    folded = clf._log_proba_novelty(X)[2]
    direct = clf.novelty_.content(X.astype(np.float64), X.astype(np.float64).sum(axis=1))
    np.testing.assert_allclose(folded, direct, rtol=1e-4)
    one = clf._log_proba_novelty(X[:1])[2]
    np.testing.assert_allclose(one, folded[:1], rtol=1e-5)


def test_few_references_of_varied_totals_do_not_flag_new_known_spectra():
    """15 references per state, 300-3,000 counts per spectrum, a weak background: points
    that stayed at 0 in every reference got a weight ~1,000 times the typical one, the
    references' held-out scores sat below new spectra's (their own counts in the per-point
    mean), and the chi-square tail was thinner than the scores' spread: 81 % of new known
    spectra were flagged (a new user's case)."""
    rng = np.random.default_rng(2)
    m = 800
    x = np.arange(m)
    main = np.exp(-0.5 * ((x - 500) / 25) ** 2)
    sat = np.exp(-0.5 * ((x - 330) / 35) ** 2)

    def draw(r, n):
        p = main / main.sum() + r * sat / sat.sum() + 0.08 / m
        p = p / p.sum()
        return rng.poisson(rng.uniform(300, 3000, n)[:, None] * p[None, :]).astype(float)

    Xa, Xb = draw(0.30, 215), draw(0.40, 215)
    X = np.vstack([Xa[:15], Xb[:15]])
    y = np.repeat([0, 1], 15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SpectraClassifier(random_state=0, n_threads=1).fit(X, y)
    new = np.vstack([Xa[15:], Xb[15:]])
    assert clf.classify(new).novel.mean() < 0.06


def _emission(rng, n, photons, satellite):
    """Single shots of a broad emission line (FWHM ~47 points of 300) and a satellite."""
    x = np.arange(M, dtype=float)
    p = (np.exp(-0.5 * ((x - 150) / 20.0) ** 2) + satellite * np.exp(-0.5 * ((x - 95) / 20.0) ** 2)
         + 0.05)
    return rng.poisson(photons * p / p.sum(), (n, M)).astype(np.float64)


def test_broad_lines_are_also_read_on_line_wide_bumps_which_find_a_weak_new_species():
    """A third species (a satellite of another strength, the line moved by less than half
    its width) in photon-starved shots: the residual summed point by point hides it in the
    noise of ~300 points; read on ~6 line-wide bumps it stands out. The known spectra are
    flagged no more often: the threshold of the larger of the two is calibrated on it."""
    from specstate.ensemble._novelty import fit_novelty
    from specstate.plan import make_folds

    rng = np.random.default_rng(5)
    photons = 300.0
    X = np.vstack([_emission(rng, 400, photons, 0.2), _emission(rng, 400, photons, 0.5)])
    y = np.repeat([0, 1], 400)
    x = np.arange(M, dtype=float)
    third_p = np.exp(-0.5 * ((x - 170) / 20.0) ** 2) + 0.9 * np.exp(
        -0.5 * ((x - 95) / 20.0) ** 2) + 0.05
    third = rng.poisson(photons * third_p / third_p.sum(), (600, M)).astype(np.float64)
    known = np.vstack([_emission(rng, 300, photons, 0.2), _emission(rng, 300, photons, 0.35)])
    totals = X.sum(axis=1)
    Xn = X / totals[:, None]
    folds = make_folds(y, 2)
    weight = np.ones(M) / np.maximum(Xn.mean(axis=0), 1e-6) * totals.mean()
    found, flagged = {}, {}
    for width in (0.0, 47.0):
        nov = fit_novelty(Xn, np.arange(len(y)), Xn, folds, weight, 0.01,
                          np.random.default_rng(0), totals=totals, y=y, line_width=width)
        assert nov.has_smooth == bool(width)
        sw = np.sqrt(nov.weight)[:, None]

        def flags(A, nov=nov, sw=sw):
            T = A.sum(axis=1)
            smooth = nov.smooth_projection / sw if nov.has_smooth else None
            return nov.score_normalised(A / T[:, None], T / nov.total, nov.projection / sw,
                                        smooth) > nov.threshold()

        found[width], flagged[width] = flags(third).mean(), flags(known).mean()
    assert flagged[47.0] <= 0.03 and flagged[0.0] <= 0.03
    assert found[47.0] >= 0.9 and found[47.0] >= found[0.0] + 0.2


def test_the_smooth_score_folded_into_the_prediction_is_its_direct_value(tmp_path):
    rng = np.random.default_rng(6)
    X = np.vstack([_emission(rng, 200, 2000.0, 0.2), _emission(rng, 200, 2000.0, 0.5)])
    y = np.repeat(["low", "high"], 200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SpectraClassifier(max_iter=60, random_state=0, n_threads=1).fit(X, y)
    nov = clf.novelty_
    assert nov.has_smooth and "line-wide bumps" in clf.fit_plan_["novelty"]
    new = np.vstack([_emission(rng, 50, 2000.0, 0.35), _emission(rng, 50, 300.0, 0.9)])
    new = new.astype(np.float32)
    T = new.sum(axis=1, dtype=np.float64)
    sw = np.sqrt(nov.weight)[:, None]
    direct = nov.score_normalised(new / T[:, None], T / nov.total, nov.projection / sw,
                                  nov.smooth_projection / sw)
    np.testing.assert_allclose(clf.classify(new).novelty, direct, rtol=2e-3)
    clf.save(tmp_path / "m.h5")
    back = SpectraClassifier.load(tmp_path / "m.h5")
    assert back.novelty_.has_smooth
    np.testing.assert_array_equal(back.classify(new).novelty, clf.classify(new).novelty)


def _starved(rng, n, photons, satellite, sample=True):
    """Photon-starved shots of the broad line on a varying weak background, SASE pulse
    energies and read noise; `sample=False`: the jet missed (the background alone)."""
    x = np.arange(M, dtype=float)
    line = np.exp(-0.5 * ((x - 150) / 20.0) ** 2) + satellite * np.exp(
        -0.5 * ((x - 95) / 20.0) ** 2)
    line = line / line.sum()
    energy = rng.gamma(16.0, 1.0 / 16.0, (n, 1))
    solvent = rng.uniform(0.5, 1.5, (n, 1))  # the jet's thickness: a background that varies
    mean = energy * (photons * line * sample + solvent * 0.12 * photons / M)
    return rng.poisson(mean) + rng.normal(0.0, 1.0, (n, M))


def test_empty_photon_starved_shots_are_found_by_their_faintness(tmp_path):
    """At 150 photons an empty shot's shape is lost in its noise and its smooth background
    lies in the known subspace: the shape scores find few; its total, against the held-out
    references', finds them. Known shots of any pulse energy are flagged at about the rate."""
    rng = np.random.default_rng(7)
    X = np.vstack([_starved(rng, 300, 150.0, 0.2), _starved(rng, 300, 150.0, 0.5)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SpectraClassifier(max_iter=60, random_state=0, n_threads=1).fit(
            X, np.repeat(["low", "high"], 300))
    nov = clf.novelty_
    assert nov.has_faint and "faint" in clf.fit_plan_["novelty"]
    empty = _starved(rng, 1000, 150.0, 0.2, sample=False)
    known = np.vstack([_starved(rng, 1000, 150.0, 0.2), _starved(rng, 1000, 150.0, 0.5)])
    found = clf.classify(empty).novel.mean()
    assert found >= 0.95
    assert clf.classify(known).novel.mean() <= 0.03
    # the shape alone (the same model without the faintness) misses most empty shots
    from dataclasses import replace

    shape_only = replace(nov, total_calibration=np.zeros(0))
    assert not shape_only.has_faint
    shape_only.calibration = shape_only.combine(nov.residual_calibration,
                                                nov.smooth_calibration)
    T = empty.sum(axis=1)
    sw = np.sqrt(nov.weight)[:, None]
    smooth = nov.smooth_projection / sw if nov.has_smooth else None
    scores = shape_only.score_normalised(empty / T[:, None], T / nov.total,
                                         nov.projection / sw, smooth)
    assert np.mean(scores > shape_only.threshold()) <= min(0.9, found - 0.05)
    clf.save(tmp_path / "m.h5")
    back = SpectraClassifier.load(tmp_path / "m.h5")
    assert back.novelty_.has_faint
    np.testing.assert_array_equal(back.classify(empty).novel, clf.classify(empty).novel)


def test_faintness_needs_many_original_references_not_copies():
    """Augmented copies keep their reference's total: 16 references hold 16 totals however
    many copies there are, too few for a tail of known faintness."""
    rng = np.random.default_rng(8)
    X = np.vstack([_state(rng, 8, [80, 200]), _state(rng, 8, [80, 230])])
    X *= rng.uniform(0.7, 1.3, (16, 1)).astype(np.float32)  # files of varied exposure
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SpectraClassifier(max_iter=60, random_state=0, n_threads=1, augment=True).fit(
            X, np.repeat(["a", "b"], 8))
    assert clf.novelty_.calibration.size >= 100 and not clf.novelty_.has_faint
    # a new file exposed less than every reference is still known
    weak = 0.6 * _state(rng, 200, [80, 200])
    assert clf.classify(weak.astype(np.float32)).novel.mean() <= 0.05
