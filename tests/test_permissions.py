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


def test_results_sinks_and_plots_follow_the_umask_without_changing_it(tmp_path, monkeypatch):
    import pytest

    from specstate.io._files import atomic_write, umask_mode
    from specstate.io.results import write_results
    from specstate.results import Classification, TrainSummary
    from specstate.stream import LivePlot, open_sink

    old = os.umask(0o027)  # the test sets it; the library must only read it
    try:
        def refuse(mask):
            raise AssertionError("specstate must not change the process umask (threads race)")

        monkeypatch.setattr(os, "umask", refuse)
        assert umask_mode() == 0o640 and umask_mode(directory=True) == 0o750
        proba = np.array([[0.9, 0.1], [0.2, 0.8]], np.float32)
        c = Classification(np.array(["a", "b"]), proba, proba.max(1), np.zeros(2, bool),
                           np.array(["a", "b"]))
        for name in ("r.csv", "r.nxs"):
            write_results(tmp_path / name, c)
        with open_sink(tmp_path / "w.nxs", ["a", "b"]) as sink:
            assert sink is not None
        with open_sink(tmp_path / "w.csv", ["a", "b"]):
            pass
        plot = LivePlot(tmp_path / "live.png", ["a", "b"])
        plot.update(TrainSummary(1, state="a", counts={"a": 2, "b": 0}, confidence=0.9,
                                 fractions={"a": 1.0, "b": 0.0}))
        plot.close()
        with atomic_write(tmp_path / "d", directory=True) as tmp:
            (tmp / "f").write_text("x")
        with pytest.raises(RuntimeError), atomic_write(tmp_path / "failed.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("mid-write")
    finally:
        monkeypatch.undo()
        os.umask(old)
    for name in ("r.csv", "r.nxs", "w.nxs", "w.csv", "live.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640, name
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o750
    assert not (tmp_path / "failed.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries
