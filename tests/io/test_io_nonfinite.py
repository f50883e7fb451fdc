"""NaN/inf in spectra: refused by default with how many and where; dropped or masked on request."""

import numpy as np
import pytest

from specstate import Spectra
from specstate.exceptions import NonFiniteError, SpectraFormatError
from specstate.io import read, write


@pytest.fixture
def folder(tmp_path):
    x = np.linspace(10, 20, 6)
    y = np.arange(24, dtype=np.float64).reshape(4, 6)
    y[1, 2] = np.nan
    y[3, 4] = np.inf
    y[3, 5] = -np.inf
    s = Spectra(y, x, axis_name="2theta", labels=np.array(["a", "b", "c", "d"]))
    return write(s, tmp_path / "pat")


def test_nonfinite_raises_with_count_and_place(folder):
    with pytest.raises(
        NonFiniteError,
        match=r"holds 3 non-finite values \(NaN/inf\) in 2 of 4 spectra, the first in "
              r"spectrum 1 \(pat_0002.xy\) at point 3 \(2theta = 14 deg\); pass "
              r"nonfinite='drop' .* nonfinite='mask'",
    ):
        read(folder)


def test_nonfinite_drop(folder):
    s = read(folder, nonfinite="drop")
    assert s.labels.tolist() == ["a", "c"]
    assert s.metadata["files"] == ["pat_0001.xy", "pat_0003.xy"]
    assert np.isfinite(s.intensity).all()


def test_nonfinite_mask(folder):
    s = read(folder, nonfinite="mask")
    assert s.n_spectra == 4
    assert s.mask.tolist() == [False, False, True, False, True, True]
    assert np.isfinite(s.intensity).all() and s.intensity[1, 2] == 0
    assert s.intensity[0, 2] == 2  # finite values at masked points are kept


def test_nonfinite_everywhere_cannot_be_dropped(tmp_path):
    path = write(Spectra(np.full((2, 3), np.nan)), tmp_path / "n.npz")
    with pytest.raises(NonFiniteError, match="Every spectrum .* use nonfinite='mask'"):
        read(path, nonfinite="drop")


def test_nonfinite_mode_checked(tmp_path):
    path = write(Spectra(np.ones((2, 3))), tmp_path / "n.npz")
    with pytest.raises(SpectraFormatError, match="nonfinite must be one of"):
        read(path, nonfinite="ignore")


def test_results_name_each_spectrum_by_its_file_also_after_dropping(tmp_path):
    # several files of several spectra each: which spectra came from which file survives
    # stacking and --nonfinite drop, so results can name the file of every spectrum
    from specstate.results import spectrum_files

    x = np.random.default_rng(0).random((5, 10))
    x[1, 3] = np.nan
    write(Spectra(x[:2]), tmp_path / "a_1.nxs")
    write(Spectra(x[2:]), tmp_path / "a_2.nxs")
    s = read(str(tmp_path / "*.nxs"), nonfinite="drop")
    assert spectrum_files(s).tolist() == ["a_1.nxs", "a_2.nxs", "a_2.nxs", "a_2.nxs"]
    assert s.params["spectrum_index"].tolist() == [0, 2, 3, 4]
