"""Round trips and bad input for .npz, .npy, .csv, HDF5/NeXus, lists and EuXFEL dispatch."""

import h5py
import numpy as np
import pytest

from specstate import Spectra
from specstate.exceptions import SpecstateError, SpectraFileError, SpectraFormatError
from specstate.io import _schema as S
from specstate.io import read, write


def full_spectra(n=6, m=30, dtype=np.float32):
    rng = np.random.default_rng(3)
    return Spectra(
        rng.random((n, m)).astype(dtype),
        np.linspace(1.0, 4.0, m),
        axis_name="q",
        labels=np.array(["low", "high"] * (n // 2)),
        train_ids=np.arange(1000, 1000 + n, dtype=np.uint64),
        pulse_ids=np.zeros(n, dtype=np.int64),
        monitor=rng.random(n),
        mask=np.arange(m) % 7 == 0,
        params={"pressure": np.linspace(0, 30, n)},
        metadata={"wavelength": 0.5, "source": "sim", "tracks": {"a": np.arange(n)}},
    )


def assert_same(r, s):
    assert r.intensity.dtype == s.intensity.dtype
    np.testing.assert_array_equal(r.intensity, s.intensity)
    np.testing.assert_array_equal(r.axis, s.axis)
    assert (r.axis_name, r.axis_unit) == (s.axis_name, s.axis_unit)
    assert r.labels.tolist() == s.labels.tolist()
    np.testing.assert_array_equal(r.train_ids, s.train_ids)
    np.testing.assert_array_equal(r.pulse_ids, s.pulse_ids)
    np.testing.assert_array_equal(r.monitor, s.monitor)
    np.testing.assert_array_equal(r.mask, s.mask)
    np.testing.assert_array_equal(r.params["pressure"], s.params["pressure"])
    assert r.wavelength == s.wavelength


@pytest.mark.parametrize("suffix", [".npz", ".nxs", ".h5"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_keeps_everything(tmp_path, suffix, dtype):
    s = full_spectra(dtype=dtype)
    path = write(s, tmp_path / f"s{suffix}")
    r = read(path)
    assert_same(r, s)
    assert r.metadata["files"] == [f"s{suffix}"]
    assert [p.name for p in tmp_path.iterdir()] == [f"s{suffix}"]  # no temporary left


def test_nexus_layout(tmp_path):
    path = write(full_spectra(), tmp_path / "s.nxs")
    with h5py.File(path, "r") as f:
        assert f.attrs[S.DEFAULT] == S.ENTRY
        entry = f[S.ENTRY]
        assert entry.attrs[S.NX_CLASS] == S.NXENTRY and entry.attrs[S.DEFAULT] == S.DATA
        data = entry[S.DATA]
        assert data.attrs[S.NX_CLASS] == S.NXDATA and data.attrs[S.SIGNAL] == S.INTENSITY
        assert list(data.attrs[S.AXES]) == [".", "q"]
        assert data["q"].attrs[S.UNITS] == "1/angstrom"
        assert h5py.check_string_dtype(data[S.LABELS].dtype).encoding == "utf-8"
        assert entry["instrument/beam/incident_wavelength"][()] == 0.5
        assert entry["metadata/source"].asstr()[()] == "sim"
        np.testing.assert_array_equal(entry["metadata/tracks/a"][()], np.arange(6))


def test_nexus_metadata_read_back(tmp_path):
    r = read(write(full_spectra(), tmp_path / "s.nxs"))
    assert r.metadata["source"] == "sim"
    np.testing.assert_array_equal(r.metadata["tracks"]["a"], np.arange(6))


def foreign_nexus(path, labels, *, default=True, units="degrees", axes=("2theta",)):
    """A NeXus file as another program could write it."""
    with h5py.File(path, "w") as f:
        if default:
            f.attrs["default"] = "scan"
        entry = f.create_group("scan")
        entry.attrs["NX_class"] = "NXentry"
        if default:
            entry.attrs["default"] = "pattern"
        f.create_group("junk").attrs["NX_class"] = "NXcollection"
        data = entry.create_group("pattern")
        data.attrs["NX_class"] = np.bytes_(b"NXdata")
        data.attrs["signal"] = "counts"
        data.attrs["axes"] = list(axes)
        data["counts"] = np.arange(12, dtype=np.uint16).reshape(3, 4)
        tth = data.create_dataset("2theta", data=np.array([10.0, 11, 12, 13]))
        tth.attrs["units"] = units
        data["labels"] = labels
    return path


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["bcc", "hcp", "hcp"], dtype=h5py.string_dtype("utf-8")),  # variable length
        np.array([b"bcc", b"hcp", b"hcp"], dtype="S3"),  # fixed length
    ],
)
def test_foreign_nexus_found_through_default(tmp_path, labels):
    s = read(foreign_nexus(tmp_path / "f.nxs", labels))
    assert s.shape == (3, 4) and (s.axis_name, s.axis_unit) == ("2theta", "deg")
    assert s.labels.tolist() == ["bcc", "hcp", "hcp"]


def test_first_nxdata_without_default_and_int_labels(tmp_path):
    path = foreign_nexus(tmp_path / "f.h5", np.array([0, 1, 1]), default=False,
                         units="rad", axes=(".", "2theta"))
    s = read(path)
    np.testing.assert_allclose(s.axis, np.rad2deg([10.0, 11, 12, 13]))
    assert s.labels.tolist() == [0, 1, 1]


def test_explicit_dataset_paths(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f["det/spectra"] = np.ones((4, 5), np.float32)
        f["det/energy"] = np.linspace(7000, 7010, 5)
        f["det/state"] = np.array(["a", "b", "a", "b"], dtype=h5py.string_dtype())
        f["xgm/energy"] = np.array([1.0, 2, 3, 4])
        f["ids"] = np.arange(4) + 10
    s = read(path, intensity="det/spectra", axis="/det/energy", labels="det/state",
             monitor="xgm/energy", train_ids="/ids", axis_name="energy")
    assert s.dtype == np.float32 and s.axis_name == "energy" and s.axis_unit == "eV"
    assert s.labels.tolist() == ["a", "b", "a", "b"]
    assert s.monitor.tolist() == [1, 2, 3, 4] and s.train_ids.tolist() == [10, 11, 12, 13]


def test_hdf5_missing_dataset_lists_existing(tmp_path):
    path = write(full_spectra(), tmp_path / "s.nxs")
    with pytest.raises(SpectraFormatError,
                       match=r"no dataset at '/entry/data/nope'.*datasets present: .*intensity"):
        read(path, intensity="/entry/data/nope")


def test_hdf5_without_nxdata(tmp_path):
    path = tmp_path / "raw.h5"
    with h5py.File(path, "w") as f:
        f["a/b"] = np.ones(3)
    with pytest.raises(SpectraFormatError, match=r"no NXdata group.*datasets present: /a/b"):
        read(path)


def test_hdf5_non_numeric_dataset(tmp_path):
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f["text"] = np.array(["a", "b"], dtype=h5py.string_dtype())
    with pytest.raises(SpectraFormatError, match=r"intensity dataset '/text' .* not numeric"):
        read(path, intensity="text")


def test_hdf5_wrong_lengths(tmp_path):
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.ones((3, 4))
        f["ax"] = np.arange(6.0)
        f["lab"] = np.arange(2)
    with pytest.raises(SpectraFormatError, match=r"'/ax' .* has 6 values but the spectra have 4"):
        read(path, intensity="x", axis="ax")
    with pytest.raises(SpectraFormatError, match=r"labels dataset '/lab' .* 2 values .* 3"):
        read(path, intensity="x", labels="lab")


def test_truncated_hdf5(tmp_path):
    good = write(full_spectra(n=40, m=500), tmp_path / "s.nxs")
    data = good.read_bytes()
    cut = tmp_path / "cut.nxs"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SpectraFileError, match=r"cut.nxs' .*(truncated|corrupt)"):
        read(cut)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(SpectraFileError, match=r"junk.h5' cannot be opened as HDF5"):
        read(junk)


def test_npy_and_corrupt_npz(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((3, 7), np.float32))
    s = read(tmp_path / "a.npy")
    assert s.shape == (3, 7) and s.dtype == np.float32 and s.axis_name == "index"
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(SpectraFileError, match=r"obj.npy' cannot be read as a NumPy file"):
        read(tmp_path / "obj.npy")
    np.savez(tmp_path / "nokey.npz", spectra=np.ones((2, 2)))
    with pytest.raises(SpectraFormatError, match=r"no 'intensity' array; it holds spectra"):
        read(tmp_path / "nokey.npz")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(SpectraFileError, match=r"bad.npz'"):
        read(tmp_path / "bad.npz")


def test_csv_one_spectrum_per_row(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("label,train_id,10.0,10.5,11.0\nbcc,1,1,2,3\nhcp,2,4,5,6\n")
    s = read(path, axis_name="2theta")
    np.testing.assert_array_equal(s.intensity, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(s.axis, [10, 10.5, 11])
    assert s.labels.tolist() == ["bcc", "hcp"] and s.train_ids.tolist() == [1, 2]
    assert s.axis_unit == "deg"


def test_csv_one_spectrum_per_column(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("# exported\n2th_deg,a,b,c\n10,1,2,3\n11,4,5,6\n12,7,8,9\n13,0,0,0\n")
    s = read(path)
    assert s.shape == (3, 4) and s.axis_name == "2theta"
    np.testing.assert_array_equal(s.intensity[0], [1, 4, 7, 0])
    assert s.metadata["names"] == ["a", "b", "c"]


def test_csv_without_header(tmp_path):
    (tmp_path / "cols.csv").write_text("1,5,6\n2,5,6\n3,5,6\n")  # monotonic first column
    assert read(tmp_path / "cols.csv").shape == (2, 3)
    (tmp_path / "rows.csv").write_text("5,6,7,8\n1,2,3,4\n")  # more columns than rows
    s = read(tmp_path / "rows.csv")
    assert s.shape == (2, 4) and s.axis_name == "index"


def test_csv_bad_cell(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("q,a\n1,2\n2,x\n")
    with pytest.raises(SpectraFormatError, match=r"Line 3 of .*bad.csv' is not numeric: column 2"):
        read(path)


def test_list_of_mixed_files_concatenates(tmp_path):
    s = full_spectra()
    a = write(s[:2], tmp_path / "a.npz")
    b = write(s[2:], tmp_path / "b.nxs")
    r = read([a, b])
    np.testing.assert_array_equal(r.intensity, s.intensity)
    assert r.labels.tolist() == s.labels.tolist()
    assert r.metadata["files"] == ["a.npz", "b.nxs"]


def test_list_with_other_axis_needs_resample(tmp_path):
    a = write(Spectra(np.ones((1, 5)), np.arange(5.0)), tmp_path / "a.npz")
    b = write(Spectra(np.ones((1, 4)), np.arange(4.0)), tmp_path / "b.npz")
    with pytest.raises(SpectraFormatError, match=r"b.npz' has 4 points"):
        read([a, b])
    assert read([a, b], resample=True).shape == (2, 4)


def test_unknown_extension(tmp_path):
    (tmp_path / "x.tiff").write_bytes(b"II*")
    with pytest.raises(SpectraFormatError, match=r"x.tiff' has an extension specstate does not"):
        read(tmp_path / "x.tiff")
    with pytest.raises(SpectraFormatError, match="cannot write"):
        write(Spectra(np.ones((1, 3))), tmp_path / "x.tiff")


def test_euxfel_run_folder_is_dispatched(tmp_path):
    run = tmp_path / "r0012"
    run.mkdir()
    with h5py.File(run / "RAW-R0012-DA01-S00000.h5", "w"):
        pass
    # without source/key the run reader (or its missing extra) must answer, not the text one
    with pytest.raises(SpecstateError, match=r"(--source and --key|euxfel)"):
        read(run)


def test_run_options_on_a_plain_file(tmp_path):
    path = write(full_spectra(), tmp_path / "s.npz")
    with pytest.raises(SpectraFormatError, match=r"source=, key= apply only to EuXFEL run"):
        read(path, source="SPEC/DET/A:output", key="data.spectrum")


def test_folder_of_nexus_files(tmp_path):
    s = full_spectra()
    (tmp_path / "runs").mkdir()
    write(s[:2], tmp_path / "runs" / "part_10.nxs")
    write(s[2:], tmp_path / "runs" / "part_9.nxs")
    r = read(tmp_path / "runs")
    assert r.metadata["files"] == ["part_9.nxs", "part_10.nxs"]
    np.testing.assert_array_equal(r.intensity, np.concatenate([s.intensity[2:], s.intensity[:2]]))
    write(s, tmp_path / "runs" / "other.npz")
    with pytest.raises(SpectraFileError, match=r"files of several kinds \(.npz, .nxs\)"):
        read(tmp_path / "runs")


def test_the_schema_names_the_model_file_as_it_is_written(tmp_path):
    # the model file takes its HDF5 names from io._schema when it moves under io/
    import h5py

    from specstate import Spectra, SpectraClassifier
    from specstate.io import _schema as S

    s = Spectra(np.random.default_rng(0).random((4, 40)), labels=[0, 0, 1, 1])
    SpectraClassifier(max_iter=5, random_state=0).fit(s.intensity, s.labels).save(
        tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        assert f.attrs[S.MODEL_ATTR_FORMAT] == S.MODEL_FORMAT_NAME
        for name in (S.MODEL_AXIS, S.MODEL_CLASSES, S.MODEL_WEIGHTS,
                     S.MODEL_SEPARABILITY_PROFILE, S.MODEL_NETWORKS):
            assert name in f
        assert set(S.MODEL_REGION_FIELDS) == set(f[S.MODEL_REGIONS])
