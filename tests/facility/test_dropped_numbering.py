"""Spectra dropped for NaN/inf do not renumber the results of the others."""

import numpy as np

from specstate import SpectraClassifier
from specstate.cli.main import main
from specstate.datasets import simulate_xrd_ramp
from specstate.io.results import read_results


def test_classify_drop_keeps_original_spectrum_numbers(tmp_path, capsys):
    ramp = simulate_xrd_ramp(n_patterns=30, n_points=300, transition=(14, 16), random_state=0)
    clf = SpectraClassifier(random_state=0, max_iter=40).fit(ramp[[0, 1, 28, 29]])
    clf.save(tmp_path / "m.h5")
    x = ramp.intensity.copy()
    x[3, 10] = np.nan
    x[7, 5] = np.inf
    np.savez(tmp_path / "nan.npz", intensity=x, axis=ramp.axis, axis_name="2theta")
    for out in ("r.csv", "r.nxs"):
        code = main(["classify", str(tmp_path / "m.h5"), str(tmp_path / "nan.npz"),
                     "-o", str(tmp_path / out), "--nonfinite", "drop"])
        assert code == 0
        ds = read_results(tmp_path / out)
        expected = np.delete(np.arange(30), [3, 7])
        np.testing.assert_array_equal(ds.spectrum.values, expected)
        # the state of spectrum 8 is the state of the input's spectrum 8
        np.testing.assert_array_equal(
            ds.state.sel(spectrum=8).item(), clf.predict(ramp.intensity[8:9])[0]
        )
    capsys.readouterr()
