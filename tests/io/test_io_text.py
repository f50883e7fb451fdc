"""Two-column text spectra: pyFAI headers, folders, globs, natural order, labels, resampling."""

import numpy as np
import pytest

from specstate import Spectra
from specstate.exceptions import LabelError, SpectraFileError, SpectraFormatError
from specstate.io import natural_sort_key, read, write

PYFAI_HEADER = """# == pyFAI calibration ==
# Distance Sample to Detector: 0.2 m
# PONI: 1.000e-01, 1.000e-01 m
# Rotations: 0.000000 0.000000 0.000000 rad
#
# == Fit2d calibration ==
# Distance Sample-beamCenter: 200.000 mm
# Center: x=1000.000, y=1000.000 pix
# Tilt: 0.000 deg  TiltPlanRot: 0.000 deg
#
# Detector Detector	 Spline= None	 PixelSize= 5.500e-05, 5.500e-05 m
# Wavelength: 4.1e-11
# Mask applied: False
# Dark current applied: False
# Flat field applied: False
# Polarization factor applied: False
# Normalization factor applied: 1.0
# --> /data/scan_0001.edf
#{unit:>14s} {i:>14s}
"""


def write_xy(path, x, y, unit="2th_deg", sep=" "):
    header = PYFAI_HEADER.format(unit=unit, i="I")
    body = "\n".join(f"{a!r}{sep}{b!r}" for a, b in zip(np.asarray(x).tolist(),
                                                     np.asarray(y).tolist()))
    path.write_text(header + body + "\n")
    return path


def make_folder(folder, n=5, m=40, start=10.0, stop=20.0):
    folder.mkdir()
    x = np.linspace(start, stop, m)
    rng = np.random.default_rng(1)
    ys = rng.random((n, m))
    for i in range(n):
        write_xy(folder / f"scan_{i + 1}.xy", x, ys[i])
    return x, ys


def test_pyfai_header_gives_unit_and_wavelength(tmp_path):
    x = np.linspace(9.5, 26.0, 30)
    path = write_xy(tmp_path / "a.xy", x, np.arange(30.0))
    s = read(path)
    assert s.shape == (1, 30)
    assert (s.axis_name, s.axis_unit) == ("2theta", "deg")
    assert s.metadata["wavelength"] == pytest.approx(0.41, rel=1e-12)
    assert s.metadata["files"] == ["a.xy"]
    np.testing.assert_array_equal(s.axis, x)
    np.testing.assert_array_equal(s.intensity[0], np.arange(30.0))


@pytest.mark.parametrize(
    ("unit", "name", "factor"),
    [("q_nm^-1", "q", 0.1), ("q_A^-1", "q", 1.0), ("2th_rad", "2theta", 180 / np.pi)],
)
def test_pyfai_units_are_converted(tmp_path, unit, name, factor):
    x = np.linspace(1.0, 2.0, 10)
    s = read(write_xy(tmp_path / "a.xy", x, x, unit=unit))
    assert s.axis_name == name
    np.testing.assert_allclose(s.axis, x * factor)


def test_unit_line_and_comma_separated(tmp_path):
    path = tmp_path / "e.dat"
    path.write_text("# Unit: energy_eV\n7040.0,1\n7040.5,2\n7041.0,3\n")
    s = read(path)
    assert (s.axis_name, s.axis_unit) == ("energy", "eV")
    np.testing.assert_array_equal(s.intensity[0], [1, 2, 3])


def test_column_title_line_and_third_column(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("2theta intensity sigma\n1 10 1\n2 20 1\n3 30 1\n")
    s = read(path)
    assert s.axis_name == "2theta"
    np.testing.assert_array_equal(s.intensity[0], [10, 20, 30])


def test_natural_sort_key():
    names = ["p_10.xy", "p_2.xy", "p_1.xy", "P_3.xy"]
    assert sorted(names, key=natural_sort_key) == ["p_1.xy", "p_2.xy", "P_3.xy", "p_10.xy"]


def test_folder_is_read_in_natural_order(tmp_path):
    folder = tmp_path / "ramp"
    folder.mkdir()
    x = np.linspace(0, 1, 8)
    for i in (1, 2, 10, 11, 3):
        write_xy(folder / f"scan_{i}.xy", x, np.full(8, float(i)))
    (folder / "notes.md").write_text("not a spectrum")
    s = read(folder)
    assert s.metadata["files"] == ["scan_1.xy", "scan_2.xy", "scan_3.xy", "scan_10.xy",
                                   "scan_11.xy"]
    np.testing.assert_array_equal(s.intensity[:, 0], [1, 2, 3, 10, 11])


def test_glob_and_list(tmp_path):
    _, ys = make_folder(tmp_path / "d", n=12)
    s = read(str(tmp_path / "d" / "scan_1*.xy"))
    assert s.metadata["files"] == ["scan_1.xy", "scan_10.xy", "scan_11.xy", "scan_12.xy"]
    np.testing.assert_array_equal(s.intensity[1], ys[9])
    t = read([tmp_path / "d" / "scan_3.xy", tmp_path / "d" / "scan_1.xy"])
    np.testing.assert_array_equal(t.intensity, ys[[2, 0]])


def test_labels_csv_in_folder_and_explicit(tmp_path):
    make_folder(tmp_path / "d", n=4)
    (tmp_path / "d" / "labels.csv").write_text(
        "file,label\nscan_1.xy,bcc\nscan_2.xy,bcc\nscan_3.xy,hcp\nscan_4.xy,hcp\n")
    s = read(tmp_path / "d")
    assert s.labels.tolist() == ["bcc", "bcc", "hcp", "hcp"]
    other = tmp_path / "other.csv"
    other.write_text("file,label\nscan_1,a\nscan_2,b\nscan_3,c\nscan_4,d\n")  # stems match too
    assert read(tmp_path / "d", labels=other).labels.tolist() == ["a", "b", "c", "d"]


def test_labels_csv_missing_file_label(tmp_path):
    make_folder(tmp_path / "d", n=3)
    (tmp_path / "d" / "labels.csv").write_text("file,label\nscan_1.xy,a\nscan_2.xy,b\n")
    with pytest.raises(LabelError, match="no label for the file scan_3.xy"):
        read(tmp_path / "d")


def test_labels_csv_wrong_columns(tmp_path):
    make_folder(tmp_path / "d", n=2)
    (tmp_path / "d" / "labels.csv").write_text("name,state\nscan_1.xy,a\n")
    with pytest.raises(LabelError, match="must have the columns file,label"):
        read(tmp_path / "d")


def test_resample_onto_common_axis(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    write_xy(folder / "a_1.xy", np.linspace(0, 10, 11), np.linspace(0, 10, 11))
    write_xy(folder / "a_2.xy", np.linspace(0.5, 9.5, 19), 2 * np.linspace(0.5, 9.5, 19))
    with pytest.raises(SpectraFormatError, match=r"a_2.xy' has 19 points .* resample=True"):
        read(folder)
    s = read(folder, resample=True)
    np.testing.assert_allclose(s.axis, np.arange(1, 10))  # first axis within the overlap
    np.testing.assert_allclose(s.intensity[0], np.arange(1, 10))
    np.testing.assert_allclose(s.intensity[1], 2 * np.arange(1, 10))


def test_folder_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    s = Spectra(rng.random((3, 25)).astype(np.float32), np.linspace(9.5, 26, 25),
                axis_name="2theta", labels=np.array(["bcc", "mixed", "hcp"]),
                train_ids=np.array([7, 8, 9]), monitor=np.array([1.5, 2.5, 3.5]),
                metadata={"wavelength": 0.4133})
    out = write(s, str(tmp_path / "pat") + "/")
    assert sorted(p.name for p in out.iterdir()) == ["labels.csv", "pat_0001.xy",
                                                     "pat_0002.xy", "pat_0003.xy"]
    header = (out / "pat_0001.xy").read_text().splitlines()[:4]
    assert "# Wavelength: 4.133e-11" in header and "# Unit: 2th_deg" in header
    r = read(out)
    np.testing.assert_array_equal(r.intensity.astype(np.float32), s.intensity)
    np.testing.assert_array_equal(r.axis, s.axis)
    assert r.labels.tolist() == ["bcc", "mixed", "hcp"]
    assert r.train_ids.tolist() == [7, 8, 9] and r.monitor.tolist() == [1.5, 2.5, 3.5]
    assert r.wavelength == pytest.approx(0.4133)
    write(s[:2], tmp_path / "pat")  # replacing an earlier spectra folder is fine
    assert len(list((tmp_path / "pat").glob("*.xy"))) == 2


def test_folder_write_refuses_foreign_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep me")
    with pytest.raises(SpectraFileError, match="holds other files"):
        write(Spectra(np.ones((1, 3))), tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "keep me"


def test_failed_write_leaves_nothing(tmp_path):
    bad = Spectra(np.ones((2, 3)), labels=np.array(["a", "b"]))
    bad.labels = np.array(["a"])  # broken after construction: writing the 2nd file fails
    with pytest.raises(IndexError):
        write(bad, tmp_path / "out/")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- bad input
def test_empty_file(tmp_path):
    (tmp_path / "e.xy").write_text("# only a header\n")
    with pytest.raises(SpectraFormatError, match=r"e.xy' is empty"):
        read(tmp_path / "e.xy")


def test_non_numeric_line_gives_line_number(tmp_path):
    path = tmp_path / "b.xy"
    path.write_text("# h1\n# h2\n1 2\n2 3\n3 oops\n4 5\n")
    with pytest.raises(SpectraFormatError, match=r"Line 5 of .*b.xy' is not numeric: '3 oops'"):
        read(path)


def test_ragged_line(tmp_path):
    path = tmp_path / "r.xy"
    path.write_text("1 2\n2\n3 4\n")
    with pytest.raises(SpectraFormatError, match=r"Line 2 of .*r.xy' has 1 columns"):
        read(path)


def test_files_of_different_lengths(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    write_xy(folder / "s_1.xy", np.arange(5.0), np.ones(5))
    write_xy(folder / "s_2.xy", np.arange(5.0), np.ones(5))
    write_xy(folder / "s_3.xy", np.arange(4.0), np.ones(4))
    with pytest.raises(SpectraFormatError, match=r"s_3.xy' has 4 points .*s_1.xy' has 5"):
        read(folder)


@pytest.mark.parametrize(("x", "what"), [([1, 2, 2, 3], "duplicated"),
                                         ([1, 3, 2, 4], "not monotonic")])
def test_bad_axis(tmp_path, x, what):
    path = write_xy(tmp_path / "x.xy", np.array(x, float), np.ones(4))
    with pytest.raises(SpectraFormatError, match=rf"axis of .*x.xy' is {what} at point 3"):
        read(path)


def test_missing_file_and_empty_glob(tmp_path):
    with pytest.raises(SpectraFileError, match=r"No such file or folder: '.*nope.xy'"):
        read(tmp_path / "nope.xy")
    with pytest.raises(SpectraFileError, match=r"pattern '.*\*.xy' matches no file"):
        read(str(tmp_path / "*.xy"))


def test_folder_without_spectra(tmp_path):
    (tmp_path / "readme.md").write_text("x")
    with pytest.raises(SpectraFileError, match=r"holds no .xy/.dat/.txt spectra"):
        read(tmp_path)


def test_dataset_paths_refused_for_text(tmp_path):
    path = write_xy(tmp_path / "a.xy", np.arange(3.0), np.ones(3))
    with pytest.raises(SpectraFormatError, match="names datasets inside HDF5 files"):
        read(path, intensity="/entry/data/intensity")


# ---------------------------------------------------------------- batch parser (pandas C engine)
@pytest.fixture
def batch(monkeypatch):
    """Send every read through the one-call batch parser used for big folders."""
    from specstate.io import text

    monkeypatch.setattr(text, "BATCH_MIN_BYTES", 0)


def test_batch_parser_agrees_with_exact_parser(tmp_path, monkeypatch):
    from specstate.io import text

    folder = tmp_path / "d"
    folder.mkdir()
    x = np.linspace(9.5, 26, 50)
    rng = np.random.default_rng(5)
    for i in range(4):  # pyFAI-like aligned columns with leading blanks, CRLF in one file
        rows = "".join(f"  {a:.8e}   {b:.6e}\n" for a, b in zip(x, rng.random(50) * 1e3))
        sep = "\r\n" if i == 2 else "\n"
        (folder / f"f_{i}.dat").write_text(PYFAI_HEADER.format(unit="2th_deg", i="I")
                                           + rows.replace("\n", sep))
    monkeypatch.setattr(text, "BATCH_MIN_BYTES", 0)
    fast = read(folder)
    monkeypatch.setattr(text, "BATCH_MIN_BYTES", 10**12)
    exact = read(folder)
    np.testing.assert_allclose(fast.intensity, exact.intensity, rtol=1e-15, atol=0)
    np.testing.assert_allclose(fast.axis, exact.axis, rtol=1e-15, atol=0)
    assert fast.axis_name == "2theta" and fast.wavelength == pytest.approx(0.41)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1 2\n2 3\n3 abc\n", r"Line 3 of .*b_2.xy' is not numeric"),
        ("1 2\n2\n3 4\n", r"Line 2 of .*b_2.xy' has 1 columns"),
        ("1 2\n2 3 4\n3 4\n", r"Line 2 of .*b_2.xy' has 3 columns"),
        ("1 2\n2 nan\n3 4\n", r"1 non-finite value \(NaN/inf\) .*\(b_2.xy\) at point 2"),
        ("1 2\n\n2 3\n3 4\n\n\n", None),  # blank lines are fine
    ],
)
def test_batch_parser_falls_back_for_exact_errors(tmp_path, batch, body, message):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "b_1.xy").write_text("1 5\n2 6\n3 7\n")
    (folder / "b_2.xy").write_text(body)
    if message is None:
        np.testing.assert_array_equal(read(folder).intensity, [[5, 6, 7], [2, 3, 4]])
    else:
        with pytest.raises(SpectraFormatError, match=message):
            read(folder)


def test_integer_labels_round_trip_through_folder(tmp_path):
    s = Spectra(np.ones((3, 4)), labels=np.array([0, 1, 1]))
    r = read(write(s, tmp_path / "d/"))
    assert r.labels.dtype.kind == "i" and r.labels.tolist() == [0, 1, 1]
    single = read(tmp_path / "d" / "d_0002.xy")  # '# Label: 1' in the header
    assert single.labels.tolist() == [1]


# ----------------------------------------------------------------------------- headers
_DATA = "".join(f"{10 + 0.01 * i:.2f} {100 + i}\n" for i in range(20))


@pytest.mark.parametrize("header, axis, unit, factor", [
    ("# columns: 2theta_deg counts\n", "2theta", "deg", 1.0),
    ("# 2θ (deg)  intensity\n", "2theta", "deg", 1.0),
    ("# Two_Theta[degrees], I\n", "2theta", "deg", 1.0),
    ("#  2th_deg  I\n", "2theta", "deg", 1.0),  # pyFAI
    ("# Unit: 2th_rad\n", "2theta", "deg", 180 / np.pi),
    ("# columns: q(1/Å) I\n", "q", "1/angstrom", 1.0),
    ("# fields: q_nm^-1 I\n", "q", "1/angstrom", 0.1),
    ("# Energy (keV), counts\n", "energy", "eV", 1000.0),
    ("2theta intensity\n", "2theta", "deg", 1.0),  # a column-title line without '#'
])
def test_header_lines_that_set_the_axis(tmp_path, caplog, header, axis, unit, factor):
    path = tmp_path / "s.xy"
    path.write_text("# sample: made up\n" + header + _DATA)
    s = read(path)
    assert (s.axis_name, s.axis_unit) == (axis, unit)
    np.testing.assert_allclose(s.axis[:2], np.array([10.0, 10.01]) * factor)
    assert "names no axis" not in caplog.text


@pytest.mark.parametrize("line, wavelength", [
    ("# wavelength 0.4133 A", 0.4133),
    ("# Wavelength: 4.133e-11", 0.4133),  # pyFAI, metres
    ("# lambda = 0.4133 Å", 0.4133),
    ("# Wavelength (nm): 0.04133", 0.4133),
    ("# wavelength: 41.33 pm", 0.4133),
])
def test_header_lines_that_set_the_wavelength(tmp_path, caplog, line, wavelength):
    path = tmp_path / "s.xy"
    path.write_text(f"{line}\n# columns: 2theta_deg counts\n{_DATA}")
    assert read(path).wavelength == pytest.approx(wavelength)
    assert "wavelength" not in caplog.text


def test_a_header_that_is_not_understood_warns_and_the_axis_is_index(tmp_path, caplog):
    # what a new user met: an unknown header silently became an 'index' axis
    path = tmp_path / "s.xy"
    path.write_text("# columns: angle_of_the_detector counts\n# wavelength: about 0.4\n"
                    + _DATA)
    with caplog.at_level("WARNING", logger="specstate.io.text"):
        s = read(path)
    assert s.axis_name == "index"
    assert "has a header ('# columns: angle_of_the_detector counts'...) that names no axis " \
           "specstate knows, so the axis is 'index'" in caplog.text
    assert "names a wavelength in '# wavelength: about 0.4' but specstate cannot read" \
           in caplog.text


def test_no_header_and_no_file_do_not_warn(tmp_path, caplog):
    path = tmp_path / "s.xy"
    path.write_text(_DATA)
    with caplog.at_level("WARNING"):
        assert read(path).axis_name == "index"
        np.save(tmp_path / "a.npy", np.ones((2, 5)))
        assert read(tmp_path / "a.npy").axis_name == "index"
        assert read(path, axis_name="2theta").axis_name == "2theta"  # the caller named it
    assert caplog.text == ""
