"""``specstate info`` through ``main([...])``: the summary, and one-line errors with exit 2."""

import numpy as np
import pytest

from specstate import Spectra
from specstate.cli.main import main
from specstate.io import write


@pytest.fixture
def nexus(tmp_path):
    x = np.linspace(9.5, 26.0, 50)
    y = np.ones((5, 50), np.float32)
    y[2, 7] = np.nan
    s = Spectra(y, x, axis_name="2theta", labels=np.array(["bcc"] * 3 + ["hcp"] * 2),
                train_ids=np.arange(100, 105), metadata={"wavelength": 0.4133})
    return write(s, tmp_path / "ramp.nxs")


def test_info_summary(nexus, capsys):
    assert main(["info", str(nexus)]) == 0
    out = capsys.readouterr().out
    assert "spectra:" in out and " 5\n" in out
    assert "points:" in out and " 50\n" in out
    assert "float32" in out
    assert "2theta 9.5 .. 26 deg" in out
    assert "0.4133 angstrom" in out
    assert "bcc 3, hcp 2" in out
    assert "100 .. 104" in out
    assert "non-finite:" in out and out.split("non-finite:")[1].split()[0] == "1"


def test_info_drop(nexus, capsys):
    assert main(["info", str(nexus), "--nonfinite", "drop"]) == 0
    out = capsys.readouterr().out
    assert "bcc 2, hcp 2" in out and out.split("non-finite:")[1].split()[0] == "0"


def test_info_folder(tmp_path, capsys):
    write(Spectra(np.ones((3, 4)), np.arange(4.0), axis_name="q"), tmp_path / "d/")
    assert main(["info", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "3 (d_0001.xy .. d_0003.xy)" in out and "q 0 .. 3 1/angstrom" in out


def touch(path, content=b""):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (lambda p: p / "missing.xy", [], "No such file or folder"),
        (lambda p: p / "*.xy", [], "matches no file"),
        (lambda p: touch(p / "e.xy"), [], "is empty"),
        (lambda p: touch(p / "b.xy", b"1 2\n2 x\n"), [], "Line 2 of .* is not numeric"),
        (lambda p: touch(p / "t.h5", b"\x89HDF\r\n\x1a\n"), [], "cannot be opened as HDF5"),
        (lambda p: touch(p / "a.xy", b"1 2\n2 3\n"), ["--intensity", "/x"],
         "names datasets inside HDF5 files"),
        (lambda p: touch(p / "a.xy", b"1 2\n2 3\n"), ["--source", "S"],
         "applies only to EuXFEL run folders"),
    ],
)
def test_info_bad_input_one_line_exit_2(tmp_path, capsys, make, extra, message):
    import re

    path = make(tmp_path)
    assert main(["info", str(path), *extra]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert re.search(message, lines[0])
    assert "Traceback" not in captured.err and captured.out == ""


def test_info_reports_nonfinite_even_with_raise(nexus, capsys):
    assert main(["info", str(nexus), "--nonfinite", "raise"]) == 0  # info reports, not refuses
    assert "non-finite:" in capsys.readouterr().out


def test_info_several_files_as_one_stack(tmp_path, capsys):
    # an unquoted shell glob hands info several paths
    paths = []
    for i in (10, 2):
        p = tmp_path / f"p_{i}.xy"
        p.write_text("1 5\n2 6\n3 7\n")
        paths.append(str(p))
    assert main(["info", *paths]) == 0
    out = capsys.readouterr().out
    assert "spectra:    2" in out


def test_fit_several_files_different_lengths_exit_2(tmp_path, capsys):
    (tmp_path / "a_1.xy").write_text("1 2\n2 3\n")
    (tmp_path / "a_2.xy").write_text("1 2\n2 3\n3 4\n")
    code = main(["fit", str(tmp_path / "a_1.xy"), str(tmp_path / "a_2.xy"),
                 "--labels", "0:1=a,1:2=b", "-o", str(tmp_path / "m.h5")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "resample" in err and err.count("\n") == 1
    assert not (tmp_path / "m.h5").exists()
