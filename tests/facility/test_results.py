"""Results files: CSV and NeXus (structure, units, provenance), read back three ways."""

import datetime
import hashlib

import h5py
import numpy as np
import pytest

import specstate
from specstate.exceptions import SpectraFormatError
from specstate.io.euxfel import read_run
from specstate.io.results import read_results, write_results

from .mockrun import PULSES_DEFAULT, SPEC_KEY, SPEC_SOURCE, write_mock_run

TRAIN = np.r_[0:12, 48:60]
FAST_ITER = 30


@pytest.fixture(scope="module")
def model_2theta(ramp, tmp_path_factory):
    """A model fitted on the ramp's 2θ axis (so regions have units) and saved."""
    from specstate.classifier import SpectraClassifier

    # few iterations: this test is about the file, not the fit
    clf = SpectraClassifier(max_iter=FAST_ITER, random_state=0).fit(ramp[TRAIN],
                                                                   ramp.labels[TRAIN])
    path = tmp_path_factory.mktemp("m2t") / "model.h5"
    clf.save(path)
    return clf, path


@pytest.fixture(scope="module")
def run_result(ramp_run, ramp_model):
    from specstate.classifier import SpectraClassifier

    model = SpectraClassifier.load(ramp_model)
    spectra = read_run(ramp_run, SPEC_SOURCE, SPEC_KEY)
    return model, spectra, model.classify(spectra)


def test_nexus_default_chain_and_signal(run_result, ramp_model, tmp_path):
    from nexusformat.nexus import nxload

    model, spectra, result = run_result
    path = write_results(tmp_path / "r0001.nxs", result, spectra, model, model_path=ramp_model)
    root = nxload(str(path))
    assert root.nxclass == "NXroot" and root.attrs["default"] == "entry"
    entry = root["entry"]
    assert entry.nxclass == "NXentry" and entry.attrs["default"] == "spectra"
    data = root.plottable_data  # what a generic viewer plots: the state along the run
    assert data.nxclass == "NXdata" and data.nxname == "spectra"
    assert data.nxsignal.nxname == "state_index"
    assert [a.nxname for a in data.nxaxes] == ["train_id"]  # one spectrum per train
    np.testing.assert_array_equal(data["train_id"].nxvalue, spectra.train_ids)
    classes = [str(c) for c in model.classes_]
    assert list(data["classes"].nxvalue) == classes
    np.testing.assert_array_equal(np.asarray(classes)[data["state_index"].nxvalue],
                                  result.labels.astype(str))
    np.testing.assert_array_equal(data["probability"].nxvalue, result.proba)
    assert data["probability"].shape == (len(spectra), len(classes))
    # one spectrum per train: the per-train table says the same
    trains = entry["trains"]
    np.testing.assert_array_equal(trains["train_id"].nxvalue, spectra.train_ids)
    np.testing.assert_array_equal(trains["state_index"].nxvalue, data["state_index"].nxvalue)


def test_nexus_regions_with_units(model_2theta, ramp, tmp_path):
    clf, path = model_2theta
    result = clf.classify(ramp)
    out = write_results(tmp_path / "ramp.nxs", result, ramp, clf, model_path=path,
                        inputs=["ramp.npz"])
    with h5py.File(out, "r") as f:
        g = f["entry/regions"]
        assert g.attrs["NX_class"] == "NXdata" and g.attrs["signal"] == "weight"
        assert g["start"].attrs["units"] == "deg" == clf.axis_unit_
        assert g["stop"].attrs["units"] == "deg"
        np.testing.assert_allclose(g["start"][()], [r.start for r in clf.regions_])
        np.testing.assert_allclose(g["stop"][()], [r.stop for r in clf.regions_])
        np.testing.assert_allclose(g["weight"][()], [r.weight for r in clf.regions_])
        np.testing.assert_allclose(g["separability"][()],
                                   [r.separability for r in clf.regions_])
        assert np.all(g["start"][()] >= ramp.axis[0] - 1e-9)
        assert np.all(g["stop"][()] <= ramp.axis[-1] + 1e-9)
        # no train ids: the state is plotted against the spectrum index
        assert list(f["entry/spectra"].attrs["axes"]) == ["spectrum"]
        assert "trains" not in f["entry"]
        assert list(f["entry/process/input_files"].asstr()[()]) == ["ramp.npz"]


def test_nexus_provenance(run_result, ramp_model, ramp_run, tmp_path):
    model, spectra, result = run_result
    path = write_results(tmp_path / "r.nxs", result, spectra, model, model_path=ramp_model,
                         parameters={"trains": "0:60", "resample": False, "seed": 3})
    with h5py.File(path, "r") as f:
        p = f["entry/process"]
        assert p.attrs["NX_class"] == "NXprocess"
        assert p["program"].asstr()[()] == "specstate classify"
        assert p["version"].asstr()[()] == specstate.__version__
        datetime.datetime.fromisoformat(p["date"].asstr()[()])
        note = p["model"]
        expected = hashlib.sha256(ramp_model.read_bytes()).hexdigest()
        assert note["checksum"].asstr()[()] == expected
        assert note["checksum"].attrs["algorithm"] == "sha256"
        assert note["file_name"].asstr()[()] == str(ramp_model.resolve())
        files = list(p["input_files"].asstr()[()])
        assert files == [str(ramp_run / f) for f in spectra.metadata["files"]]
        params = p["parameters"]
        assert params.attrs["NX_class"] == "NXparameters"
        assert params["trains"].asstr()[()] == "0:60" and params["seed"][()] == 3
        assert f.attrs["default"] == "entry" and f["entry"].attrs["default"] == "spectra"


def test_per_pulse_axes(ramp_model, ramp, tmp_path):
    from specstate.classifier import SpectraClassifier

    run = write_mock_run(tmp_path / "r0003", ramp, pulses_per_train=PULSES_DEFAULT,
                         layout="array")
    spectra = read_run(run, SPEC_SOURCE, SPEC_KEY)
    model = SpectraClassifier.load(ramp_model)
    result = model.classify(spectra)
    path = write_results(tmp_path / "pulses.nxs", result, spectra, model)
    with h5py.File(path, "r") as f:
        g = f["entry/spectra"]
        assert list(g.attrs["axes"]) == ["spectrum"]
        assert g.attrs["train_id_indices"] == 0 and g.attrs["pulse_id_indices"] == 0
        np.testing.assert_array_equal(g["pulse_id"][()], spectra.pulse_ids)
        assert "checksum" not in f["entry/process/model"]  # no model path given
        n_trains = len(np.unique(spectra.train_ids))
        assert f["entry/trains/n_spectra"][()].tolist() == [PULSES_DEFAULT] * n_trains
    back = read_results(path)
    np.testing.assert_array_equal(back.pulse_id.values, spectra.pulse_ids)


@pytest.mark.parametrize("suffix", [".csv", ".nxs"])
def test_read_back(run_result, tmp_path, suffix):
    model, spectra, result = run_result
    path = write_results(tmp_path / f"r{suffix}", result, spectra, model)
    back = read_results(path)
    np.testing.assert_array_equal(back.state.values.astype(str), result.labels.astype(str))
    np.testing.assert_array_equal(back.probability.values, result.proba)
    np.testing.assert_array_equal(back.ambiguous.values, result.ambiguous)
    np.testing.assert_array_equal(back.train_id.values, spectra.train_ids)
    assert list(back["class"].values) == [str(c) for c in model.classes_]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"r{suffix}"]  # no temp file


def test_csv_columns(run_result, tmp_path):
    model, spectra, result = run_result
    path = write_results(tmp_path / "r.csv", result, spectra, model)
    header = path.read_text().splitlines()[0].split(",")
    assert header == (["spectrum", "train_id", "state"]
                      + [f"p_{c}" for c in model.classes_]
                      + ["confidence", "ambiguous", "novelty", "novel"])
    assert len(path.read_text().splitlines()) == len(spectra) + 1


def test_failed_write_leaves_old_file(run_result, tmp_path):
    model, spectra, result = run_result
    path = tmp_path / "r.nxs"
    path.write_bytes(b"old")
    with pytest.raises(FileNotFoundError):  # the model file vanished: fails mid-write
        write_results(path, result, spectra, model, model_path=tmp_path / "gone.h5")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.nxs"]


def test_bad_arguments(run_result, tmp_path):
    model, spectra, result = run_result
    with pytest.raises(SpectraFormatError, match="got 'r.txt'"):
        write_results(tmp_path / "r.txt", result, spectra, model)
    with pytest.raises(SpectraFormatError, match="spectra given are 5"):
        write_results(tmp_path / "r.csv", result, spectra[:5], model)


def test_reading_what_is_not_a_results_file_says_so(ramp, tmp_path):
    from specstate import io
    from specstate.exceptions import SpectraFileError
    from specstate.io.results import read_trains

    junk = tmp_path / "junk.nxs"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(SpectraFileError, match=r"junk.nxs' cannot be opened as HDF5 .*expected "
                                               r"a results file"):
        read_results(junk)
    spectra = io.write(ramp, tmp_path / "spectra.nxs")  # spectra, not results
    with pytest.raises(SpectraFileError, match=r"not a specstate results file \(no "
                                               r"/entry/spectra\)"):
        read_results(spectra)
    with pytest.raises(SpectraFileError, match=r"holds no per-train results"):
        read_trains(spectra)
    table = tmp_path / "watch.csv"
    table.write_text("train_id,name,n_spectra,n_classified,state,confidence\n1,a,4,4,x,0.9\n")
    with pytest.raises(SpectraFileError, match=r"is a per-train table \(read it with "
                                               r"read_trains\)"):
        read_results(table)
    assert read_trains(table)["state"].values.tolist() == ["x"]
