"""Files written atomically get the umask's permissions, not mkstemp's private 0600."""

import os
import stat

import numpy as np

from specstate import Spectra, SpectraClassifier, write


def _expected(directory=False):
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def test_written_files_and_folders_follow_the_umask(tmp_path):
    s = Spectra(np.random.default_rng(0).random((4, 40)), labels=[0, 0, 1, 1])
    write(s, tmp_path / "s.npz")
    write(s, tmp_path / "folder/")
    assert stat.S_IMODE((tmp_path / "s.npz").stat().st_mode) == _expected()
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == _expected(directory=True)
    clf = SpectraClassifier(max_iter=5, random_state=0).fit(s.intensity, s.labels)
    clf.save(tmp_path / "m.h5")
    assert stat.S_IMODE((tmp_path / "m.h5").stat().st_mode) == _expected()
