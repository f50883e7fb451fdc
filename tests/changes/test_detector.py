"""ChangeDetector: false alarms at a target run length, detection on ramps, chunking, errors."""

import numpy as np
import pytest
from scipy import stats

from specstate import ChangeDetector, Spectra
from specstate.datasets import simulate_xrd_ramp, stationary_stream
from specstate.exceptions import NonFiniteError, SpectraFormatError

RATE = 27_000.0  # the stream's rate: references at 27 kHz renew once per 27 spectra


def _hours(arl_spectra, rate=RATE):
    return arl_spectra / 3600.0 / rate


def _run(det, chunks):
    events = []
    for c in chunks:
        events += det.update(c)
    return events


@pytest.mark.parametrize("seed", [0, 1])
def test_false_alarm_rate_at_one_per_1e4_spectra(seed):
    n, arl = 200_000, 1e4
    det = ChangeDetector(arl_hours=_hours(arl), rate=RATE)
    events = _run(det, stationary_stream(n, random_state=seed, sase_rms=0.3,
                                         background_drift=0.3, shift_drift=1.5))
    # at the target the count is Poisson(n / arl) = 20; the union and Chernoff bounds make
    # the threshold conservative, so the count must not exceed the 99.9 % quantile at the
    # target (a threshold from a wrong noise model gives hundreds)
    assert len(events) <= stats.poisson.ppf(0.999, n / arl)
    assert det.threshold_ > 0 and det.n_dims_ >= 1


def test_new_peak_found_at_its_spectrum():
    rng = np.random.default_rng(3)
    x = np.concatenate(list(stationary_stream(60_000, random_state=rng)))
    x[40_000:, 10:14] += rng.poisson(60.0, (20_000, 4))
    events = ChangeDetector().update(x)
    assert len(events) == 1
    e = events[0]
    assert 40_000 - 5 <= e.index <= 40_000 + 5
    assert e.index <= e.detected_at <= 40_000 + 50
    assert e.score >= e.threshold


@pytest.mark.parametrize("variant", ["phase", "lattice-jump"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ramp_change_found_inside_the_window_within_30_patterns(variant, seed):
    ramp = simulate_xrd_ramp(variant=variant, random_state=seed)
    start, stop = ramp.metadata["transition"]
    # a pattern a second, as in a diamond-anvil-cell ramp: one false alarm per 8 hours
    det = ChangeDetector(rate=1.0)
    events = []
    for i in range(0, ramp.n_spectra, 5):  # files arriving a few at a time
        events += det.update(ramp.intensity[i:i + 5], ramp.axis)
    assert len(events) >= 1
    first = events[0]
    assert start <= first.index < stop, events
    assert first.detected_at - start <= 30, events


def test_the_compressing_ramp_before_the_transition_raises_nothing():
    ramp = simulate_xrd_ramp(random_state=4)
    start, _ = ramp.metadata["transition"]
    det = ChangeDetector(rate=1.0)
    assert det.update(ramp.intensity[:start - 1]) == []
    assert det.learned_ and det.n_seen_ == start - 1


def test_index_and_detected_at_do_not_depend_on_the_chunks():
    rng = np.random.default_rng(5)
    x = np.concatenate(list(stationary_stream(30_000, random_state=rng)))
    x[12_345:, 30:34] += 80.0
    x[22_222:, 50:53] += 80.0
    results = []
    for size in (30_000, 2_700, 1_001, 7):
        det = ChangeDetector()
        events = []
        for i in range(0, x.shape[0], size):
            found = det.update(x[i:i + size])
            for e in found:  # raised by a spectrum of this very chunk
                assert i <= e.detected_at < i + size
            events += found
        results.append([(e.index, e.detected_at) for e in events])
    assert results[0] and all(r == results[0] for r in results)
    assert [i for i, _ in results[0]] == pytest.approx([12_345, 22_222], abs=3)


def test_spectra_carry_train_ids_into_events_across_chunks():
    rng = np.random.default_rng(6)
    x = np.concatenate(list(stationary_stream(27_000, random_state=rng)))
    x[13_510:, 20:25] += 100.0
    det = ChangeDetector()
    events = []
    for t in range(10):
        rows = slice(t * 2_700, (t + 1) * 2_700)
        events += det.update(Spectra(x[rows], train_ids=np.full(2_700, 1000 + t)))
    assert len(events) == 1
    e = events[0]
    assert e.train_id == 1000 + e.index // 2_700 == 1005
    assert e.detected_train_id == 1000 + e.detected_at // 2_700


def test_spectra_without_beam_are_counted_but_ignored():
    rng = np.random.default_rng(7)
    x = np.concatenate(list(stationary_stream(20_000, random_state=rng)))
    x[::10] = 0.0  # every tenth pulse without beam
    det = ChangeDetector(arl_hours=_hours(1e4))
    det.update(x)
    assert det.n_seen_ == 20_000 and det.learned_


def test_bad_input_is_one_clear_error():
    det = ChangeDetector()
    with pytest.raises(SpectraFormatError, match="empty chunk"):
        det.update(np.zeros((0, 64), np.float32))
    det.update(np.ones((10, 64), np.float32))
    with pytest.raises(SpectraFormatError, match="expects spectra of 64 points .* got 63"):
        det.update(np.ones((3, 63), np.float32))
    bad = np.ones((4, 64), np.float32)
    bad[2, 5] = np.nan
    with pytest.raises(NonFiniteError, match="spectrum 2 of this chunk"):
        det.update(bad)
    with pytest.raises(SpectraFormatError, match="2-D array"):
        det.update(np.ones((2, 3, 4)))
    assert det.n_seen_ == 10  # nothing of a refused chunk was taken


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"window": 0}, "'window' parameter of ChangeDetector must be an int in \\[1, inf\\)"),
    ({"memory": 1.5}, "'memory' parameter"),
    ({"noise_memory": 1}, "'noise_memory' parameter of ChangeDetector must be an int in"),
    ({"arl_hours": -1.0}, "'arl_hours' parameter of ChangeDetector must be a float"),
    ({"rate": float("nan")}, "'rate' parameter"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(SpectraFormatError, match=match):
        ChangeDetector(**kwargs)
