"""The parts of the loop on their own: alerts, decoding a train, finite rows, sinks, live plot."""

import csv
import hashlib

import h5py
import numpy as np
import pytest

from specstate.exceptions import SpecstateError, StreamError
from specstate.io.results import read_results, read_trains
from specstate.results import Classification
from specstate.stream import (
    Alert,
    BridgeSource,
    CsvSink,
    LivePlot,
    NexusSink,
    StateChangeDetector,
    TrainResult,
    TrainSummary,
    WatchSummary,
)
from specstate.stream.loop import _finite_rows

from ._helpers import KEY, SOURCE, XGM, XGM_KEY


def _states(det, states, first=0):
    return [det.update(first + i, s) for i, s in enumerate(states)]


def test_alert_needs_n_trains_and_ignores_single_noisy_trains():
    det = StateChangeDetector(n_trains=3)
    alerts = _states(det, ["a", "a", "a", "b", "a", "b", "b", None, "b", "b", "a", "b"])
    fired = [a for a in alerts if a is not None]
    assert len(fired) == 1
    assert (fired[0].train_id, fired[0].confirmed_train_id) == (5, 8)
    assert (fired[0].previous, fired[0].state) == ("a", "b")
    assert alerts[8] is fired[0]
    assert det.state == "b"


def test_first_state_is_not_an_alert_and_n_is_validated():
    det = StateChangeDetector(n_trains=1)
    first, change = _states(det, ["a", "b"])
    assert first is None
    assert (change.train_id, change.previous, change.state) == (1, "a", "b")
    with pytest.raises(SpecstateError, match="alert_trains.*Got 0"):
        StateChangeDetector(0)


def test_decoding_a_train_finds_what_is_there_and_names_what_is_missing():
    src = BridgeSource("tcp://127.0.0.1:1", monitor=f"{XGM}:{XGM_KEY}")
    x = np.ones((4, 10), np.float32)
    xgm = np.r_[np.arange(4.0), np.zeros(996)]
    p = src.packet({SOURCE: {KEY: x, "scalar": 3}, XGM: {XGM_KEY: xgm}},
                   {SOURCE: {"timestamp.tid": 42, "timestamp": 1.5}})
    assert p.error is None and p.train_id == 42 and p.timestamp == 1.5
    assert p.spectra.shape == (4, 10) and p.name == SOURCE
    assert np.array_equal(p.monitor, [0, 1, 2, 3])  # XGM padding cut to the pulses

    named = BridgeSource("tcp://127.0.0.1:1", source_name="OTHER", key=KEY)
    p = named.packet({SOURCE: {KEY: x}}, {SOURCE: {"timestamp.tid": 1}})
    assert p.error == "missing_source" and SOURCE in p.message
    p = BridgeSource("tcp://127.0.0.1:1", key="nope").packet({SOURCE: {KEY: x}}, {})
    assert p.error == "missing_key" and KEY in p.message and p.train_id is None
    p = src.packet({SOURCE: {KEY: np.ones((2, 3, 4))}}, {})
    assert p.error == "bad_shape"
    p = src.packet({SOURCE: {KEY: np.ones(10)}}, {SOURCE: {"timestamp.tid": 3}})
    assert p.spectra.shape == (1, 10) and p.issues == {"missing_monitor": 1}
    p = src.packet({SOURCE: {KEY: x}, XGM: {XGM_KEY: np.ones(2)}}, {})
    assert p.monitor is None and p.issues == {"monitor_shape": 1}
    assert src.packet([1, 2], {}).error == "malformed"
    with pytest.raises(StreamError, match="SOURCE:KEY"):
        BridgeSource("tcp://127.0.0.1:1", monitor="nokey")


def test_finite_rows_are_exact_even_when_a_row_sum_overflows():
    x = np.ones((4, 5), np.float32)
    x[1, 2] = np.nan
    x[2, :] = 3e38  # finite values whose float32 sum is inf
    x[3, 0] = -np.inf
    assert _finite_rows(x).tolist() == [True, False, True, False]


def _result(tid, state, classes=("a", "b"), alert=None):
    # a train of 4 spectra all in `state`, built the way the loop builds it
    result = TrainSummary(tid, n_spectra=4, latency=0.01, alert=alert,
                          counts=dict.fromkeys(classes, 0),
                          fractions=dict.fromkeys(classes, float("nan")))
    if state is None:
        return result
    col = list(classes).index(state)
    proba = np.full((4, len(classes)), 0.05, np.float32)
    proba[:, col] = 0.95
    cls = Classification(np.array([state] * 4), proba, proba[:, col], np.zeros(4, bool),
                         np.array(classes))
    result.fill(cls.with_ids(train_ids=np.full(4, tid), pulse_ids=np.arange(4),
                             spectrum_index=np.arange(4 * tid, 4 * tid + 4)))
    return result


def test_csv_sink_appends_and_flushes_each_train(tmp_path):
    path = tmp_path / "r.csv"
    with CsvSink(path, ["a", "b"]) as sink:
        sink.write(_result(1, "a"))
        assert len(list(csv.DictReader(path.open()))) == 1  # on disk before close
        sink.write(TrainResult(None, errors={"malformed": 1}))  # no train: not recorded
    with CsvSink(path, ["a", "b"]) as sink:  # same columns: appended
        sink.write(_result(2, None))
    rows = list(csv.DictReader(path.open()))
    assert [r["train_id"] for r in rows] == ["1", "2"]
    assert rows[0]["fraction_a"] == "1.0000" and rows[1]["state"] == ""
    with pytest.raises(StreamError, match="exists with columns"):
        CsvSink(path, ["a", "c"])


def test_nexus_sink_appends_every_n_trains_in_the_one_results_layout(tmp_path):
    path = tmp_path / "r.nxs"
    alert = Alert(2, 3, "a", "b", 0.0)
    model = tmp_path / "m.h5"
    model.write_bytes(b"a model")
    sink = NexusSink(path, ["a", "b"], checkpoint_every=2,
                     metadata={"model": str(model), "source": "tcp://x:1"})
    sink.write(_result(1, "a"))
    with h5py.File(path) as f:  # created at once, complete, nothing appended yet
        assert f["entry"].attrs["default"] == "spectra"
        assert "state_index" not in f["entry/spectra"] and "trains" not in f["entry"]
    sink.write(_result(2, "b"))
    with h5py.File(path) as f:  # closed between two appends: readable while watching
        assert list(f["entry/trains/train_id"][()]) == [1, 2]
        assert f["entry/spectra/state_index"].maxshape == (None,)  # resizable
    sink.write(_result(3, "b", alert=alert))
    sink.write(_result(4, "c", classes=("a", "c")))  # a reloaded model with a new class
    sink.close()
    with h5py.File(path) as f:
        assert f["entry/process/model/checksum"][()].decode() == hashlib.sha256(
            b"a model").hexdigest()
        assert [c.decode() for c in f["entry/trains/classes"][()]] == ["a", "b", "c"]
        assert np.array_equal(f["entry/trains/fraction"][:, 1], [0, 1, 1, np.nan],
                              equal_nan=True)
        assert np.array_equal(f["entry/trains/fraction"][:, 2], [np.nan] * 3 + [1],
                              equal_nan=True)
        assert list(f["entry/alerts/train_id"][()]) == [2]
        assert f["entry/trains"].attrs["signal"] == "confidence"
    results = read_results(path)  # per spectrum, whatever wrote the file
    assert results.sizes["spectrum"] == 16
    assert list(results["state"].values) == ["a"] * 4 + ["b"] * 8 + ["c"] * 4
    assert list(results["pulse_id"].values) == [0, 1, 2, 3] * 4
    assert np.isnan(results["probability"].sel({"class": "c"}).values[:12]).all()
    trains = read_trains(path)
    assert list(trains["state"].values) == ["a", "b", "b", "c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5", "r.nxs"]


def test_summary_totals_and_text():
    s = WatchSummary()
    for r in (_result(1, "a"), _result(2, "b", alert=Alert(2, 2, "a", "b", 0.0)),
              TrainResult(5, errors={"missing_key": 1}, skipped_before=2)):
        s.add(r)
    text = s.format()
    assert "trains: 3 (2 classified), spectra: 8" in text
    assert "states (spectra): a 4, b 4" in text
    assert "train 2: a -> b" in text and "errors: missing_key 1" in text
    assert "skipped trains: 2" in text


def test_live_plot_files_and_no_display(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(StreamError, match="no display"):
        LivePlot(None, ["a", "b"])
    with pytest.raises(StreamError, match=".png or .html"):
        LivePlot(tmp_path / "x.pdf", ["a", "b"])
    plot = LivePlot(tmp_path / "live.png", ["a", "b"], refresh=3600)
    assert plot.update(_result(1, "a"))  # the first train draws at once
    assert not plot.update(_result(2, "b"))  # then only every `refresh` seconds
    plot.close()
    assert (tmp_path / "live.png").read_bytes()[:4] == b"\x89PNG"


def test_nan_at_masked_points_is_classified_elsewhere_counted_and_skipped(xrd):
    from dataclasses import replace

    from specstate import SpectraClassifier
    from specstate.stream import Packet, Watcher

    from .conftest import TINY

    keep = np.isin(xrd.labels, ["bcc", "hcp"])
    mask = np.zeros(xrd.axis.size, bool)
    mask[:5] = True  # e.g. dead detector pixels
    masked = replace(xrd[np.flatnonzero(keep)], mask=mask)
    clf = SpectraClassifier(random_state=0, **TINY).fit(masked, masked.labels)
    x = np.repeat(xrd.intensity[xrd.labels == "hcp"][:1], 6, axis=0).astype(np.float32)
    x[0:2, 2] = np.nan  # at a masked point: harmless
    x[2, 100] = np.inf  # at a point the model uses
    r = Watcher(clf, iter(())).process(Packet(1, x))
    assert r.n_classified == 5 and r.errors == {"nonfinite": 1}
    assert r.state == "hcp"


def test_blas_threads_are_limited_only_while_classifying(model, states):
    from threadpoolctl import threadpool_info

    from specstate.stream import Packet, Watcher

    from ._helpers import train

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    r = Watcher(model, iter(()), threads=1).process(Packet(1, train(states, "bcc")))
    assert r.state == "bcc" and r.n_classified == 8
    assert blas_threads() == before


@pytest.mark.parametrize("n_beam", [0, 2, 6, 8])
def test_no_beam_spectra_are_counted_not_classified(model, states, n_beam):
    from specstate.stream import Packet, Watcher

    from ._helpers import train

    x = train(states, "hcp")
    x[n_beam:] = train(states, "bcc")[n_beam:]  # the no-beam pulses look like another state
    monitor = np.r_[np.ones(n_beam), np.zeros(8 - n_beam)]
    r = Watcher(model, iter(()), min_monitor=0.5).process(Packet(3, x, monitor=monitor))
    assert (r.no_beam, r.n_classified, r.n_spectra) == (8 - n_beam, n_beam, 8)
    assert r.state == ("hcp" if n_beam else None)
    assert r.counts == {"bcc": 0, "hcp": n_beam}


class _Failing:
    """A model that raises `exc` on the train (stands for a classifier bug or bad data)."""

    def __init__(self, model, exc):
        self.model, self.exc = model, exc
        self.classes_, self.axis_ = model.classes_, model.axis_

    def classify(self, x):
        raise self.exc


def test_a_bad_train_is_counted_but_a_bug_is_raised(model, states):
    from specstate.exceptions import AxisMismatchError
    from specstate.stream import Packet, Watcher

    from ._helpers import train

    x = train(states, "bcc")
    for refused in (ValueError("Input contains NaN"), AxisMismatchError("other axis")):
        r = Watcher(_Failing(model, refused), iter(())).process(Packet(1, x))
        assert r.errors == {"classify": 1} and r.state is None
    with pytest.raises(TypeError, match="a bug"):  # not hidden as a bad train
        Watcher(_Failing(model, TypeError("a bug")), iter(())).process(Packet(1, x))


def test_each_spectrum_of_a_train_keeps_its_pulse_and_train_id(model, states):
    from specstate.stream import Packet, Watcher

    from ._helpers import train

    x = train(states, "hcp")
    monitor = np.where(np.arange(len(x)) % 3 == 0, 0.0, 1.0)  # every third: no beam
    r = Watcher(model, iter(()), min_monitor=0.5).process(Packet(7, x, monitor=monitor))
    c = r.classification
    assert c.pulse_ids.tolist() == np.flatnonzero(monitor > 0.5).tolist()
    assert set(c.train_ids.tolist()) == {7} and r.no_beam == int((monitor < 0.5).sum())
    assert r.n_classified == len(c) == r.counts["hcp"] + r.counts["bcc"]
