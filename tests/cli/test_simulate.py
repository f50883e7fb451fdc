"""``specstate simulate`` through ``main([...])``: files written, read back, one-line errors."""

import numpy as np
import pytest

from specstate.cli.main import main
from specstate.cli.simulate import output_path
from specstate.datasets import xes_noise_limit
from specstate.io import read


def test_xrd_ramp_folder_then_info_reports_349_spectra(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "xrd-ramp", "-o", "d/"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("wrote 349 XRD patterns")
    assert len(list((tmp_path / "d").glob("*.xy"))) == 349
    assert (tmp_path / "d" / "labels.csv").exists()
    assert main(["info", "d/"]) == 0
    info = capsys.readouterr().out
    assert info.split("spectra:")[1].split()[0] == "349"
    assert "bcc 185, hcp 154, mixed 10" in info and "points:     4023" in info


def test_same_seed_same_file_other_seed_other_file(tmp_path):
    for name, seed in (("a.npz", "1"), ("b.npz", "1"), ("c.npz", "2")):
        assert main(["simulate", "xrd-ramp", "-o", str(tmp_path / name), "--n", "20",
                     "--points", "300", "--seed", seed]) == 0
    a, b, c = (read(tmp_path / f) for f in ("a.npz", "b.npz", "c.npz"))
    np.testing.assert_array_equal(a.intensity, b.intensity)
    assert not np.array_equal(a.intensity, c.intensity)
    # the window scales with --n: 185/349 and 195/349 of 20 patterns
    assert list(a.labels).count("mixed") == 1 and a.labels[0] == "bcc" and a.labels[-1] == "hcp"


def test_lattice_jump_nexus_keeps_parameters(tmp_path, capsys):
    path = tmp_path / "jump.nxs"
    assert main(["simulate", "xrd-ramp", "-o", str(path), "--variant", "lattice-jump",
                 "--n", "30", "--transition", "10", "14", "--points", "500",
                 "--diamond-spots", "2"]) == 0
    assert "lattice-jump" in capsys.readouterr().out
    s = read(path)
    assert set(s.labels) == {"high-spin", "mixed", "low-spin"}
    assert s.wavelength == pytest.approx(0.4133)
    assert s.params["pressure"].shape == (30,) and "a_oxide" in s.params
    assert len(s.metadata["diamond_spots"]) == 2


def test_xes_nexus_with_labels_monitor_and_truth(tmp_path, capsys):
    assert main(["simulate", "xes", "-o", str(tmp_path / "shots"), "--n", "600",
                 "--photons", "400"]) == 0
    line = capsys.readouterr().out
    assert "600 XES shots" in line and "photon-noise limit" in line
    s = read(tmp_path / "shots.nxs")
    assert s.shape == (600, 300) and s.dtype == np.float32
    assert set(s.labels) == {"pumped", "unpumped"}
    np.testing.assert_allclose(s.monitor, s.params["pulse_energy"])
    assert s.train_ids is not None and s.pulse_ids is not None
    # the truth survives the file: the noise limit can be computed from it
    accuracy, llr = xes_noise_limit(s)
    assert 0.5 < accuracy <= 1.0 and llr.shape == (600,)


def test_output_path_rules():
    assert output_path("d", None, "xrd-ramp") == ("d/", "xy")
    assert output_path("d/", None, "xes") == ("d/", "xy")
    assert str(output_path("shots", None, "xes")[0]) == "shots.nxs"
    assert output_path("x.h5", None, "xrd-ramp")[1] == "nxs"
    assert str(output_path("x", "npz", "xes")[0]) == "x.npz"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["xes", "-o", "x.csv"], "ends in '.csv'"),
        (["xes", "-o", "x.nxs", "--format", "npz"], "--format npz"),
        (["xrd-ramp", "-o", "x.npz", "--format", "xy"], "--format xy"),
        (["xrd-ramp", "-o", "d/", "--n", "10", "--transition", "8", "20"], "transition"),
        (["xes", "-o", "x.nxs", "--n", "0"], "--n must be"),
    ],
)
def test_bad_arguments_one_line_exit_2(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
