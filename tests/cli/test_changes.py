"""``specstate changes`` through ``main([...])``: the change points as CSV, errors exit 2."""

import csv

import numpy as np

from specstate import Spectra
from specstate.cli.main import main
from specstate.datasets import stationary_stream
from specstate.io import write


def _run_with_a_step(tmp_path, at=13_510):
    rng = np.random.default_rng(9)
    x = np.concatenate(list(stationary_stream(27_000, random_state=rng)))
    x[at:, 20:25] += 100.0
    tids = 5000 + np.arange(27_000) // 2_700
    pids = np.arange(27_000) % 2_700
    return write(Spectra(x, train_ids=tids, pulse_ids=pids), tmp_path / "run.nxs")


def test_changes_writes_csv_with_train_ids(tmp_path, capsys):
    path = _run_with_a_step(tmp_path)
    out = tmp_path / "changes.csv"
    assert main(["changes", str(path), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 change " in printed and "one per 8 h at 27000 spectra/s" in printed
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1
    spectrum = int(rows[0]["spectrum"])
    assert abs(spectrum - 13_510) <= 3
    assert int(rows[0]["train_id"]) == 5000 + spectrum // 2_700
    assert int(rows[0]["pulse_id"]) == spectrum % 2_700
    assert f"train {rows[0]['train_id']}" in printed


def test_bad_input_is_error_and_status_2_with_nothing_written(tmp_path, capsys):
    out = tmp_path / "changes.csv"
    assert main(["changes", str(tmp_path / "missing.nxs"), "-o", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error:")
    bad = np.ones((300, 16), np.float32)
    bad[40, 3] = np.nan
    path = write(Spectra(bad), tmp_path / "nan.nxs")
    assert main(["changes", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "NaN" in err and "Traceback" not in err
    assert main(["changes", str(path), "-o", str(tmp_path / "table.txt")]) == 2
    assert "must name a .csv" in capsys.readouterr().err
    assert main(["changes", str(path), "--window", "0"]) == 2
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.nxs"]
