"""Many runs on a Dask cluster: the same results as one process, failures reported."""

import numpy as np
import pytest

from specstate.io.euxfel import read_run
from specstate.io.results import read_results, read_state_means
from specstate.parallel import SYNCHRONOUS, classify_many, output_names

from .mockrun import PULSES_DEFAULT, SPEC_KEY, SPEC_SOURCE, write_mock_run

READ = {"source": SPEC_SOURCE, "key": SPEC_KEY}


@pytest.fixture(scope="module")
def runs(ramp, ramp_run, tmp_path_factory):
    """Two good runs (per train; per pulse, reversed ramp) and one the model cannot take."""
    base = tmp_path_factory.mktemp("many")
    pulses = write_mock_run(base / "r0002", ramp[::-1], pulses_per_train=PULSES_DEFAULT,
                            layout="index", n_files=2)
    narrow = ramp.with_intensity(ramp.intensity[:, :100], axis=ramp.axis[:100])
    wrong = write_mock_run(base / "r0003", narrow)  # 100 points; the model wants 400
    return [ramp_run, pulses, wrong]


def _serial(model_path, run, whole=True):
    """The serial reference: a whole run is tracked as a run, chunks are not."""
    from specstate.classifier import SpectraClassifier

    model = SpectraClassifier.load(model_path)
    spectra = read_run(run, SPEC_SOURCE, SPEC_KEY)
    return spectra, model.classify(spectra, drift=model.run_drift() if whole else None)


def _check_same(path, spectra, result):
    back = read_results(path)
    np.testing.assert_array_equal(back.state.values.astype(str), result.labels.astype(str))
    np.testing.assert_allclose(back.probability.values, result.proba, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(back.train_id.values, spectra.train_ids)
    if spectra.pulse_ids is not None:
        np.testing.assert_array_equal(back.pulse_id.values, spectra.pulse_ids)
    if path.suffix == ".nxs":  # the per-state means, joined over the chunks of a run
        means = read_state_means(path)
        for k, c in enumerate(means.classes):
            # novel spectra count in no state (the unknown row)
            mine = (result.labels.astype(str) == c) & ~np.asarray(result.novel, bool)
            assert means.counts[k] == mine.sum()
            if mine.any():
                np.testing.assert_allclose(means.mean[k], spectra.intensity[mine].mean(0),
                                           rtol=1e-4)


@pytest.mark.parametrize("scheduler, chunk_trains", [(None, 4), (SYNCHRONOUS, None)])
def test_cluster_equals_serial_and_failures_are_reported(ramp_model, runs, tmp_path,
                                                         scheduler, chunk_trains):
    status = classify_many(ramp_model, runs, tmp_path / "out", scheduler=scheduler,
                           n_workers=2, processes=False, read_kwargs=READ, progress=False,
                           chunk_trains=chunk_trains)
    assert [s.input for s in status] == [str(r) for r in runs]
    good, pulses, wrong = status
    assert good.ok and pulses.ok and not wrong.ok
    assert "100" in wrong.error and "400" in wrong.error  # says what differs
    assert wrong.output is None and not (tmp_path / "out" / "r0003.nxs").exists()
    for s, run in zip((good, pulses), runs):
        spectra, result = _serial(ramp_model, run, whole=chunk_trains is None)
        assert s.n_spectra == len(spectra) and s.output.name == f"{run.name}.nxs"
        assert sum(s.counts.values()) == len(spectra)
        _check_same(s.output, spectra, result)


def test_chunks_skip_trains_without_spectra(ramp, ramp_model, tmp_path):
    empty = [0, 1, 2, 7]  # the first chunk of 3 trains would hold no spectrum at all
    run = write_mock_run(tmp_path / "r0005", ramp, empty_trains=empty)
    spectra, result = _serial(ramp_model, run, whole=False)
    assert len(spectra) == len(ramp) - len(empty)
    (status,) = classify_many(ramp_model, [run], tmp_path / "out", scheduler=SYNCHRONOUS,
                              read_kwargs=READ, progress=False, chunk_trains=3)
    assert status.ok, status.error
    _check_same(status.output, spectra, result)


def test_output_names_are_distinct(tmp_path):
    names = output_names(["a/raw/r0001", "a/proc/r0001", "x/r0002.h5", "x/r0002.h5"], ".nxs")
    assert names == ["raw_r0001.nxs", "proc_r0001.nxs", "x_r0002.nxs", "x_r0002-2.nxs"]


def test_bad_format(ramp_model, runs, tmp_path):
    from specstate.exceptions import SpectraFormatError

    with pytest.raises(SpectraFormatError, match="format must be one of"):
        classify_many(ramp_model, runs, tmp_path, fmt="xlsx", scheduler=SYNCHRONOUS)
