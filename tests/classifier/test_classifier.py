"""Behaviour of SpectraClassifier on small synthetic spectra made here."""

import subprocess
import sys
import tracemalloc

import h5py
import numpy as np
import pytest

from specstate import Spectra, SpectraClassifier
from specstate.exceptions import AxisMismatchError, LabelError, ModelFileError

M = 240  # points per synthetic spectrum
FAST = dict(max_iter=80, hidden=8, random_state=0, n_threads=1)


def _spectra(n_per_class, rng, shift_b=0.0, amp_b=1.0):
    """Two states: common peaks at 40 and 110; a peak at 145 in state a, at 150 in state b."""
    x = np.arange(M, dtype=np.float64)

    def gauss(c, w=3.0):
        return np.exp(-0.5 * ((x - c) / w) ** 2)

    base = 30 + 400 * gauss(40) + 200 * gauss(110)
    a = base + 300 * gauss(145)
    b = base + 300 * amp_b * gauss(150 + shift_b)
    X = np.vstack([np.tile(a, (n_per_class, 1)), np.tile(b, (n_per_class, 1))])
    X = rng.poisson(X).astype(np.float32)
    y = np.repeat(np.array(["a", "b"]), n_per_class)
    return X, y


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(1)
    X, y = _spectra(30, rng)
    # no baseline removal here: its wide low-pass would spread the signal into the
    # neighbouring bins, and this fixture checks that bins without signal get no weight
    clf = SpectraClassifier(n_regions=4, baseline=None, **FAST).fit(X, y)
    Xt, yt = _spectra(100, rng)
    return clf, X, y, Xt, yt


def test_fit_predict_and_attributes(fitted):
    clf, X, y, Xt, yt = fitted
    assert clf.score(Xt, yt) >= 0.99
    assert list(clf.classes_) == ["a", "b"]
    assert len(clf.regions_) == 4 and clf.weights_.shape == (4,)
    assert [r.start_index for r in clf.regions_] == [0, 60, 120, 180]
    assert clf.axis_name_ == "index" and clf.axis_.shape == (M,)


def test_region_without_signal_gets_no_weight(fitted):
    clf = fitted[0]
    # the states differ only at points 165-180, inside region 2 (120..180)
    signal = clf.weights_[2]
    assert signal > 0
    assert np.all(clf.weights_[[0, 1, 3]] <= 0.05 * signal)
    assert clf.regions_[2].separability > 0.5
    assert clf.regions_[0].separability < 0.3


def test_classify_fields(fitted):
    clf, _, _, Xt, yt = fitted
    res = clf.classify(Xt)
    assert res.proba.dtype == np.float32 and res.proba.shape == (len(Xt), 2)
    np.testing.assert_allclose(res.proba.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(res.labels, clf.predict(Xt))
    assert np.all(res.confidence == res.proba.max(axis=1))
    margin = np.abs(res.proba[:, 0] - res.proba[:, 1])
    np.testing.assert_array_equal(res.ambiguous, margin < clf.ambiguous_margin)


def test_ambiguous_flag_on_half_way_spectra(fitted):
    clf = fitted[0]
    rng = np.random.default_rng(5)
    Xa, _ = _spectra(50, rng)
    mix = 0.5 * (Xa[:50] + Xa[50:])  # half of each state
    res = clf.classify(mix)
    assert res.confidence.mean() < 0.99
    # half-way spectra are less certain and more often flagged than the pure ones
    pure = clf.classify(Xa)
    assert res.confidence.mean() < pure.confidence.mean() - 0.01
    assert res.ambiguous.sum() > pure.ambiguous.sum()


def test_float32_is_not_copied_to_float64(fitted):
    clf = fitted[0]
    X = np.random.default_rng(2).poisson(50, (4000, M)).astype(np.float32)
    tracemalloc.start()
    clf.predict_proba(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # a float64 copy alone would be 2 x X.nbytes; the float32 activations of the members
    # (hidden units, linear member and the novelty subspace's coordinates per region: 48
    # columns here, augmented references) stay below that
    assert peak < 2 * X.nbytes


def test_save_load_roundtrip(fitted, tmp_path):
    clf, _, _, Xt, _ = fitted
    path = tmp_path / "model.h5"
    clf.save(path)
    loaded = SpectraClassifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(Xt), clf.predict_proba(Xt))
    np.testing.assert_array_equal(loaded.predict(Xt), clf.predict(Xt))
    assert loaded.get_params() == clf.get_params()
    assert loaded.fingerprint_ == clf.fingerprint_
    assert [r.weight for r in loaded.regions_] == [r.weight for r in clf.regions_]
    assert path.stat().st_size < 3e6


def test_loaded_model_predicts_without_torch(fitted, tmp_path):
    clf, _, _, Xt, _ = fitted
    path = tmp_path / "model.h5"
    clf.save(path)
    np.save(tmp_path / "x.npy", Xt[:5])
    code = (
        "import sys, numpy as np\n"
        "from specstate import SpectraClassifier\n"
        f"clf = SpectraClassifier.load({str(path)!r})\n"
        f"print(list(clf.predict(np.load({str(tmp_path / 'x.npy')!r}))))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(list(clf.predict(Xt[:5])))


def test_integer_labels_roundtrip(tmp_path):
    X, y = _spectra(12, np.random.default_rng(3))
    yi = np.where(y == "a", 7, 3).astype(np.int16)
    clf = SpectraClassifier(**FAST).fit(X, yi)
    clf.save(tmp_path / "m.h5")
    loaded = SpectraClassifier.load(tmp_path / "m.h5")
    assert loaded.classes_.dtype == np.int16
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_damaged_file(fitted, tmp_path):
    path = tmp_path / "model.h5"
    fitted[0].save(path)
    data = path.read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="damaged|truncated"):
        SpectraClassifier.load(tmp_path / "cut.h5")
    (tmp_path / "text.h5").write_text("not a model")
    with pytest.raises(ModelFileError, match="cannot be opened as HDF5"):
        SpectraClassifier.load(tmp_path / "text.h5")


def test_model_of_the_previous_format_is_refused_with_a_sentence(fitted, tmp_path):
    path = tmp_path / "old.h5"
    fitted[0].save(path)
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 1
    with pytest.raises(ModelFileError, match="version 1.*no longer reads.*refit"):
        SpectraClassifier.load(path)


def test_foreign_and_newer_files(fitted, tmp_path):
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(ModelFileError, match="not a specstate model"):
        SpectraClassifier.load(tmp_path / "foreign.h5")
    path = tmp_path / "model.h5"
    fitted[0].save(path)
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(ModelFileError, match="format version 99"):
        SpectraClassifier.load(path)
    with pytest.raises(ModelFileError, match="does not exist"):
        SpectraClassifier.load(tmp_path / "missing.h5")


def test_deterministic_for_random_state():
    X, y = _spectra(10, np.random.default_rng(4))
    p1 = SpectraClassifier(**FAST).fit(X, y).predict_proba(X)
    p2 = SpectraClassifier(**FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)


def test_spectra_input_resampled_and_axis_mismatch(fitted):
    clf, X, y, Xt, yt = fitted
    axis = np.arange(M, dtype=np.float64)
    sp = Spectra(X, axis, axis_name="energy", labels=y)
    model = SpectraClassifier(n_regions=4, drift=None, **FAST).fit(sp)
    assert model.axis_name_ == "energy" and model.axis_unit_ == "eV"
    # a finer grid covering the model's range is resampled onto it
    fine = np.linspace(-2, M + 1, 2 * M)
    Xf = np.stack([np.interp(fine, axis, row) for row in Xt]).astype(np.float32)
    same = model.predict_proba(Spectra(Xt, axis, axis_name="energy"))
    resampled = model.predict_proba(Spectra(Xf, fine, axis_name="energy"))
    assert np.mean(np.argmax(same, 1) == np.argmax(resampled, 1)) > 0.98
    with pytest.raises(AxisMismatchError, match=r"covers 10\.\.239 eV .* needs 0\.\.239 eV"):
        model.predict(Spectra(Xt[:, 10:], axis[10:], axis_name="energy"))
    with pytest.raises(AxisMismatchError, match="'2theta' but the model was fitted on a 'energy'"):
        model.predict(Spectra(Xt, axis + 1, axis_name="2theta"))
    with pytest.raises(AxisMismatchError, match=f"expecting {M} features"):
        model.predict(Xt[:, :100])
    # an xarray.DataArray carries its axis too
    np.testing.assert_array_equal(
        model.predict(Spectra(Xt, axis, axis_name="energy").to_xarray()), model.predict(Xt)
    )


def test_labels_from_spectra_required():
    X, _ = _spectra(5, np.random.default_rng(0))
    with pytest.raises(LabelError, match="fit needs labels"):
        SpectraClassifier(**FAST).fit(Spectra(X))


def test_parameter_validation_message():
    X, y = _spectra(5, np.random.default_rng(0))
    with pytest.raises(
        ValueError,
        match=r"The 'n_regions' parameter of SpectraClassifier must be an int in the range "
        r"\[1, inf\) or a str among \{'auto'\}. Got -3 instead.",
    ):
        SpectraClassifier(n_regions=-3).fit(X, y)


def test_one_class_is_refused():
    X, y = _spectra(5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least two classes"):
        SpectraClassifier(**FAST).fit(X[:5], y[:5])


def test_nan_at_used_point_is_refused(fitted):
    clf, _, _, Xt, _ = fitted
    bad = Xt[:3].copy()
    bad[1, 148] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        clf.predict(bad)


def test_reference_weighting_and_three_states():
    rng = np.random.default_rng(6)
    X, y = _spectra(15, rng)
    X3, _ = _spectra(15, rng, shift_b=20)
    X = np.vstack([X, X3[15:]])
    y = np.concatenate([y, np.repeat("c", 15)])
    clf = SpectraClassifier(weighting="reference", **FAST).fit(X, y)
    assert list(clf.classes_) == ["a", "b", "c"]
    assert clf.score(X, y) > 0.95
    assert np.all(clf.weights_ >= 0) and np.all(clf.weights_ <= 1.0)


def test_point_network_reference_formulation(tmp_path):
    X, y = _spectra(4, np.random.default_rng(8), amp_b=0.0)  # state b: no peak at 150
    clf = SpectraClassifier(network="point", n_regions=4, augment=False, **FAST).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (8, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    # reference weights W = max(1.4337 acc^2 - 0.4337, 0) lie in [0, 1]
    assert np.all((clf.weights_ >= 0) & (clf.weights_ <= 1))
    assert clf.weights_[2] == clf.weights_.max() > 0
    assert clf.score(X, y) == 1.0
    clf.save(tmp_path / "point.h5")
    loaded = SpectraClassifier.load(tmp_path / "point.h5")
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)


def test_masked_points_are_ignored(fitted):
    _, X, y, Xt, yt = fitted
    mask = np.zeros(M, dtype=bool)
    mask[60:70] = True  # e.g. a detector gap
    sp = Spectra(X, mask=mask, labels=y)
    clf = SpectraClassifier(**FAST).fit(sp)
    clean = clf.predict_proba(Xt)
    junk = Xt.copy()
    junk[:, 60:70] = np.nan  # whatever lies under the mask does not matter
    np.testing.assert_allclose(clf.predict_proba(junk), clean, rtol=1e-5, atol=1e-6)
    junk[:, 60:70] = 1e6
    np.testing.assert_allclose(clf.predict_proba(junk), clean, rtol=1e-5, atol=1e-6)


def test_beam_intensity_does_not_change_the_state(fitted):
    clf, _, _, Xt, _ = fitted
    scale = np.geomspace(0.2, 5.0, len(Xt)).astype(np.float32)[:, None]  # a drifting beam
    np.testing.assert_allclose(clf.predict_proba(Xt * scale), clf.predict_proba(Xt), atol=1e-4)
