"""Reading EuXFEL run folders (written with EXtra-data's mock-data writers)."""

import numpy as np
import pytest

import specstate
from specstate.exceptions import SpectraFileError, SpectraFormatError
from specstate.io.euxfel import is_run_folder, parse_trains, read_run

from .mockrun import FIRST_TRAIN, SPEC_KEY, SPEC_SOURCE, XGM_DEVICE, XGM_MONITOR, write_mock_run

PULSES = 4


@pytest.fixture(scope="module")
def xes():
    from specstate.datasets import simulate_xes

    return simulate_xes(n_shots=16 * PULSES, n_points=80, pulses_per_train=PULSES,
                        random_state=1)


@pytest.fixture(scope="module", params=["index", "array"])
def pulse_run(request, xes, tmp_path_factory):
    """Per-pulse spectra: pulse dim in the index (several entries per train) or in the entry."""
    folder = tmp_path_factory.mktemp(f"pulse_{request.param}") / "r0002"
    first = int(xes.train_ids[0])
    return write_mock_run(folder, xes, pulses_per_train=PULSES, layout=request.param,
                          n_files=2, first_train=first)


def test_one_spectrum_per_train(ramp, ramp_run):
    assert is_run_folder(ramp_run)
    s = read_run(ramp_run, SPEC_SOURCE, SPEC_KEY)
    assert s.shape == ramp.shape
    np.testing.assert_array_equal(s.intensity, ramp.intensity)
    np.testing.assert_array_equal(s.train_ids, FIRST_TRAIN + np.arange(len(ramp)))
    assert s.pulse_ids is None and s.monitor is None
    assert s.axis_name == "index"
    assert s.metadata["source"] == SPEC_SOURCE and s.metadata["key"] == SPEC_KEY
    assert s.metadata["files"] == ["RAW-R0001-DA01-S00000.h5", "RAW-R0001-DA01-S00001.h5"]


def test_read_dispatches_run_folders(ramp, ramp_run):
    s = specstate.io.read(ramp_run, source=SPEC_SOURCE, key=SPEC_KEY, trains="10:20")
    np.testing.assert_array_equal(s.intensity, ramp.intensity[10:20])
    np.testing.assert_array_equal(s.train_ids, FIRST_TRAIN + np.arange(10, 20))


def test_per_pulse_spectra_and_xgm_monitor(xes, pulse_run):
    s = read_run(pulse_run, SPEC_SOURCE, SPEC_KEY, monitor=XGM_MONITOR)
    np.testing.assert_array_equal(s.intensity, xes.intensity)
    np.testing.assert_array_equal(s.train_ids, xes.train_ids)
    np.testing.assert_array_equal(s.pulse_ids, np.tile(np.arange(PULSES), len(xes) // PULSES))
    # the XGM stores float32 pulse energies; each spectrum gets its own pulse's value
    np.testing.assert_allclose(s.monitor, xes.monitor, rtol=1e-6)


def test_scalar_monitor_per_train_is_shared_by_pulses(pulse_run):
    s = read_run(pulse_run, SPEC_SOURCE, SPEC_KEY,
                 monitor=f"{XGM_DEVICE}:pulseEnergy/photonFlux")
    assert s.monitor.shape == (len(s),)
    per_train = s.monitor.reshape(-1, PULSES)
    assert np.all(per_train == per_train[:, :1])


@pytest.mark.parametrize("trains, expect", [
    ("2:5", [2, 3, 4]),
    (":2", [0, 1]),
    ("0:6:3", [0, 3]),
    ("7", [7]),
    (f"id:{FIRST_TRAIN + 3}:{FIRST_TRAIN + 5}", [3, 4]),
    (f"id:{FIRST_TRAIN + 1},{FIRST_TRAIN + 8}", [1, 8]),
    ([FIRST_TRAIN + 9, FIRST_TRAIN + 2], [2, 9]),
    (slice(50, None), list(range(50, 60))),
])
def test_train_selection(ramp_run, trains, expect):
    s = read_run(ramp_run, SPEC_SOURCE, SPEC_KEY, trains=trains)
    np.testing.assert_array_equal(s.train_ids, FIRST_TRAIN + np.array(expect))


def test_train_selection_of_pulses(xes, pulse_run):
    first = int(xes.train_ids[0])
    s = read_run(pulse_run, SPEC_SOURCE, "data/spectrum", trains=f"id:{first + 1}:{first + 3}")
    assert len(s) == 2 * PULSES
    np.testing.assert_array_equal(s.intensity, xes.intensity[PULSES : 3 * PULSES])
    np.testing.assert_array_equal(s.pulse_ids, np.tile(np.arange(PULSES), 2))


def test_missing_source_lists_sources(ramp_run):
    with pytest.raises(SpectraFormatError, match=r"no source 'NOPE/DET/X'.*FXE_DET_SPEC/DET/A"):
        read_run(ramp_run, "NOPE/DET/X", SPEC_KEY)


def test_missing_key_lists_keys(ramp_run):
    with pytest.raises(SpectraFormatError, match=r"no key 'data.image'.*'data.spectrum'"):
        read_run(ramp_run, SPEC_SOURCE, "data.image")


def test_not_a_spectrum_says_the_shape(ramp_run):
    with pytest.raises(SpectraFormatError, match=r"entries of shape \(\); expected a 1-D"):
        read_run(ramp_run, XGM_DEVICE, "pulseEnergy.photonFlux")


def test_missing_monitor_source(ramp_run):
    with pytest.raises(SpectraFormatError, match=r"no source 'XGM/NONE'.*for the monitor"):
        read_run(ramp_run, SPEC_SOURCE, SPEC_KEY, monitor="XGM/NONE:data.x")


@pytest.mark.parametrize("monitor", ["nocolon", ":key", "source:"])
def test_bad_monitor_spec(ramp_run, monitor):
    with pytest.raises(SpectraFormatError, match="'SOURCE:KEY'"):
        read_run(ramp_run, SPEC_SOURCE, SPEC_KEY, monitor=monitor)


@pytest.mark.parametrize("trains", ["a:b", "1:2:3:4", "id:x"])
def test_bad_train_selection(ramp_run, trains):
    with pytest.raises(SpectraFormatError, match="train selection"):
        read_run(ramp_run, SPEC_SOURCE, SPEC_KEY, trains=trains)


def test_empty_selection(ramp_run):
    with pytest.raises(SpectraFormatError, match="no data in the selected trains"):
        read_run(ramp_run, SPEC_SOURCE, SPEC_KEY, trains="100:200")


def test_not_a_run(tmp_path):
    with pytest.raises(SpectraFileError, match="does not exist"):
        read_run(tmp_path / "missing", SPEC_SOURCE, SPEC_KEY)
    assert not is_run_folder(tmp_path)


def test_parse_trains_passes_extra_data_selectors():
    from extra_data import by_id

    sel = by_id[[1, 2]]
    assert parse_trains(sel) is sel
    assert parse_trains(None) is None
