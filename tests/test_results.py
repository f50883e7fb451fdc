"""The one results type: Classification with ids, TrainSummary, and their writers."""

import h5py
import numpy as np
import pytest

from specstate import Spectra
from specstate.io.results import read_results, read_trains, write_results
from specstate.results import Classification, TrainSummary, aggregate, spectrum_files
from specstate.stream.sinks import NexusSink

CLASSES = np.array(["a", "b"])


def _classification(labels, novelty=None, novel=None):
    labels = np.asarray(labels)
    proba = np.where(labels[:, None] == CLASSES[None, :], 0.8, 0.2).astype(np.float32)
    return Classification(labels, proba, proba.max(axis=1), np.zeros(len(labels), bool),
                          CLASSES, novelty=novelty, novel=novel)


def test_classifier_import_path_still_works():
    from specstate.classifier import Classification as Old

    assert Old is Classification


def test_ids_come_from_the_spectra_the_caller_read():
    s = Spectra(np.ones((4, 3)), train_ids=[10, 10, 11, 11], pulse_ids=[0, 1, 0, 1],
                params={"spectrum_index": np.array([0, 2, 3, 5])},
                metadata={"files": ["x.h5", "y.h5"], "file_sizes": [1, 3]})
    c = _classification(["a", "a", "b", "b"]).with_ids(s)
    assert c.index.tolist() == [0, 2, 3, 5]  # numbers of the input, after dropped spectra
    assert c.files.tolist() == ["x.h5", "y.h5", "y.h5", "y.h5"]
    assert c.train_ids.tolist() == [10, 10, 11, 11] and c.pulse_ids.tolist() == [0, 1, 0, 1]
    assert c.with_ids(train_ids=[1, 2, 3, 4]).train_ids.tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match=r"train_ids of the classification must have one "
                                         r"value per spectrum \(4\); got shape \(2,\)"):
        c.with_ids(train_ids=[1, 2])
    sub = c[np.array([False, True, False, True])]
    assert sub.index.tolist() == [2, 5] and sub.files.tolist() == ["y.h5", "y.h5"]
    both = Classification.concatenate([c[:2], c[2:]])
    assert both.index.tolist() == [0, 2, 3, 5] and both.labels.tolist() == list("aabb")


def test_spectrum_files_only_where_known():
    assert spectrum_files(Spectra(np.ones((2, 3)))) is None
    one = Spectra(np.ones((2, 3)), metadata={"files": ["r.nxs"]})
    assert spectrum_files(one).tolist() == ["r.nxs", "r.nxs"]
    run = Spectra(np.ones((3, 3)), metadata={"files": ["S1.h5", "S2.h5"], "run": "/r0001"})
    assert spectrum_files(run) is None  # a run's sequence files do not name its spectra


def test_novel_spectra_count_as_unknown_and_in_no_state(tmp_path):
    novel = np.array([False, True, False, False, True])
    c = _classification(list("aabbb"), novelty=np.linspace(0, 1, 5, dtype=np.float32),
                        novel=novel).with_ids(train_ids=[1, 1, 1, 2, 2])
    assert c.counts() == {"a": 1, "b": 2, "unknown": 2}
    s = aggregate(c, np.array([0, 0, 0, 1, 1]), 2)
    assert s["counts"].tolist() == [[1, 1], [0, 1]] and s["unknown"].tolist() == [1, 1]
    t = TrainSummary(1, counts={"a": 0, "b": 0})
    t.fill(c[:3])
    assert (t.n_classified, t.unknown, t.fractions) == (2, 1, {"a": 0.5, "b": 0.5})
    for name in ("r.csv", "r.nxs"):  # every writer writes the novelty columns when present
        back = read_results(write_results(tmp_path / name, c))
        np.testing.assert_allclose(back["novelty"].values, c.novelty)
        assert back["novel"].values.tolist() == novel.tolist()
    assert read_trains(tmp_path / "r.nxs")["unknown"].values.tolist() == [1, 1]
    without = read_results(write_results(tmp_path / "plain.nxs", _classification(list("ab"))))
    assert "novelty" not in without and "novel" not in without


def test_watch_sink_memory_is_bounded_and_the_file_grows(tmp_path):
    path = tmp_path / "w.nxs"
    sink = NexusSink(path, CLASSES, checkpoint_every=5)
    for tid in range(1, 48):
        t = TrainSummary(tid, n_spectra=3, counts={"a": 0, "b": 0}, latency=0.001)
        t.fill(_classification(list("aab")).with_ids(train_ids=[tid] * 3,
                                                     pulse_ids=[0, 1, 2]))
        sink.write(t)
        assert len(sink._pending) < 5  # never more than checkpoint_every trains in memory
    with h5py.File(path) as f:  # 45 trains on disk before close, in resizable datasets
        assert f["entry/trains/train_id"].shape == (45,)
        assert f["entry/spectra/probability"].shape == (135, 2)
        assert f["entry/spectra/probability"].maxshape == (None, None)
    sink.close()
    assert read_results(path).sizes["spectrum"] == 47 * 3


def test_results_written_by_specstate_0_1_0_are_still_read(tmp_path):
    # the layout classify wrote before the one layout: /results/state, an 'index' CSV column
    path = tmp_path / "old.nxs"
    text = h5py.string_dtype()
    with h5py.File(path, "w") as f:
        g = f.create_group("results/state")
        g["state"] = np.array(["a", "b", "b"], dtype=object).astype(text)
        g["confidence"] = np.array([0.9, 0.8, 0.7], np.float32)
        g["ambiguous"] = np.array([0, 0, 1], np.int8)
        g["classes"] = np.array(["a", "b"], dtype=object).astype(text)
        g["spectrum"] = np.arange(3)
        g["train_id"] = np.array([5, 6, 7], np.uint64)
        f["results/probability/probability"] = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]],
                                                         np.float32)
    back = read_results(path)
    assert back["state"].values.tolist() == ["a", "b", "b"]
    assert back["train_id"].values.tolist() == [5, 6, 7]
    assert back["ambiguous"].values.tolist() == [False, False, True]
    table = tmp_path / "old.csv"
    table.write_text("index,state,p_a,p_b,confidence,ambiguous\n0,a,0.9,0.1,0.9,0\n")
    assert read_results(table)["state"].values.tolist() == ["a"]
