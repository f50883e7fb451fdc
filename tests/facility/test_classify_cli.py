"""``specstate fit`` / ``specstate classify`` on EuXFEL run folders, through main([...])."""

import re
from pathlib import Path

import numpy as np
import pytest

from specstate.cli.main import main
from specstate.io.euxfel import read_run
from specstate.io.results import read_results

from .conftest import RAMP_TRANSITION
from .mockrun import FIRST_TRAIN, SPEC_KEY, SPEC_SOURCE, write_mock_run

RUN_ARGS = ["--source", SPEC_SOURCE, "--key", SPEC_KEY]


def test_fit_and_classify_a_run(ramp, ramp_run, ramp_model, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "r0001.nxs"
    assert main(["classify", str(ramp_model), str(ramp_run), *RUN_ARGS, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    back = read_results(out)
    states = back.state.values.astype(str)
    lo, hi = RAMP_TRANSITION
    truth = ramp.labels.astype(str)
    outside = np.r_[0:lo, hi:len(ramp)]
    assert np.mean(states[outside] == truth[outside]) >= 0.95
    np.testing.assert_array_equal(back.train_id.values, FIRST_TRAIN + np.arange(len(ramp)))
    for name in ("bcc", "hcp"):
        assert f"{name} " in text and str(np.count_nonzero(states == name)) in text
    assert "ambiguous" in text
    found = re.search(r"bcc -> hcp at spectrum (\d+) \(train (\d+)\)", text)
    assert found, text
    index, train = int(found[1]), int(found[2])
    assert lo - 2 <= index <= hi + 2 and train == FIRST_TRAIN + index


def test_classify_to_csv_with_train_selection(ramp_run, ramp_model, tmp_path):
    out = tmp_path / "r.csv"
    rc = main(["classify", str(ramp_model), str(ramp_run), *RUN_ARGS, "--trains", "50:60",
               "-o", str(out)])
    assert rc == 0
    back = read_results(out)
    np.testing.assert_array_equal(back.train_id.values, FIRST_TRAIN + np.arange(50, 60))
    assert set(back.state.values.astype(str)) == {"hcp"}


def test_per_pulse_run_labels_and_classify(ramp, ramp_model, tmp_path):
    """Per-pulse run: --labels ranges count spectra (train by train, pulse by pulse)."""
    from specstate.labels import resolve_labels

    run = write_mock_run(tmp_path / "r0009", ramp, pulses_per_train=4, layout="index")
    spectra = read_run(run, SPEC_SOURCE, SPEC_KEY)
    assignment = resolve_labels("0:12=bcc,48:60=hcp", spectra)
    picked = spectra[assignment.labelled]
    np.testing.assert_array_equal(picked.intensity, ramp.intensity[np.r_[0:12, 48:60]])
    np.testing.assert_array_equal(assignment.training_labels(), ["bcc"] * 12 + ["hcp"] * 12)
    out = tmp_path / "r.nxs"
    assert main(["classify", str(ramp_model), str(run), *RUN_ARGS, "-o", str(out)]) == 0
    back = read_results(out)
    np.testing.assert_array_equal(back.pulse_id.values, spectra.pulse_ids)
    np.testing.assert_array_equal(back.train_id.values, spectra.train_ids)
    assert np.all(back.state.values[:12].astype(str) == "bcc")
    assert np.all(back.state.values[48:].astype(str) == "hcp")


def test_bad_input_exits_2(ramp_run, ramp_model, tmp_path, capsys):
    capsys.readouterr()
    rc = main(["classify", str(ramp_model), str(ramp_run), "--source", "NOPE/X:output",
               "--key", SPEC_KEY, "-o", str(tmp_path / "r.nxs")])
    err = capsys.readouterr().err
    assert rc == 2 and "no source 'NOPE/X:output'" in err and SPEC_SOURCE in err
    assert main(["classify", str(tmp_path / "none.h5"), str(ramp_run), *RUN_ARGS]) == 2
    assert "does not exist" in capsys.readouterr().err
    rc = main(["classify", str(ramp_model), str(ramp_run), *RUN_ARGS, "-o",
               str(tmp_path / "r.xlsx")])
    assert rc == 2 and "r.xlsx" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_many_runs_one_failing(ramp_run, ramp_model, tmp_path, capsys):
    capsys.readouterr()
    missing = tmp_path / "r0404"
    rc = main(["classify", str(ramp_model), str(ramp_run), str(missing), *RUN_ARGS,
               "-o", str(tmp_path / "out"), "--no-progress"])
    text = capsys.readouterr()
    assert rc == 1
    assert f"{missing}  FAILED" in text.out and "1 of 2 inputs failed" in text.err
    assert (tmp_path / "out" / "r0001.nxs").is_file()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["r0001.nxs"]


def test_many_runs_need_a_folder(ramp_run, ramp_model, tmp_path, capsys):
    rc = main(["classify", str(ramp_model), str(ramp_run), str(ramp_run), *RUN_ARGS,
               "-o", str(tmp_path / "r.nxs")])
    assert rc == 2 and "must be a folder" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["--dask", "--workers", "1", "--format", "csv"]])
def test_dask_cli_matches_serial(ramp_run, ramp_model, tmp_path, extra):
    assert main(["classify", str(ramp_model), str(ramp_run), *RUN_ARGS, "-o",
                 str(tmp_path / "one.csv")]) == 0
    assert main(["classify", str(ramp_model), str(ramp_run), *RUN_ARGS, "-o",
                 str(tmp_path / "dask"), "--no-progress", *extra]) == 0
    serial = read_results(tmp_path / "one.csv")
    dask = read_results(tmp_path / "dask" / "r0001.csv")
    np.testing.assert_array_equal(serial.state.values, dask.state.values)
    np.testing.assert_allclose(serial.probability.values, dask.probability.values, atol=1e-6)


def test_existing_scheduler_by_address_and_file(ramp_run, ramp_model, tmp_path):
    import json

    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        scheduler_file = tmp_path / "scheduler.json"
        scheduler_file.write_text(json.dumps({"address": cluster.scheduler_address}))
        for i, where in enumerate((cluster.scheduler_address, str(scheduler_file))):
            rc = main(["classify", str(ramp_model), str(ramp_run), *RUN_ARGS, "--trains",
                       "0:5", "-o", str(tmp_path / f"out{i}"), "--scheduler", where,
                       "--no-progress"])
            assert rc == 0
            back = read_results(tmp_path / f"out{i}" / "r0001.nxs")
            np.testing.assert_array_equal(back.train_id.values, FIRST_TRAIN + np.arange(5))
        assert len(cluster.workers) == 1  # an existing cluster is left running


def test_one_input_into_a_folder(ramp_run, ramp_model, tmp_path):
    rc = main(["classify", str(ramp_model), str(ramp_run), *RUN_ARGS, "--trains", "0:3",
               "-o", f"{tmp_path}/res/", "--format", "csv", "--no-progress"])
    assert rc == 0 and (tmp_path / "res" / "r0001.csv").is_file()


@pytest.mark.parametrize("verbose", [False, True])
def test_dask_keeps_its_info_lines_off_the_terminal_unless_verbose(ramp_run, ramp_model,
                                                                    tmp_path, verbose):
    import os
    import subprocess
    import sys

    import specstate

    env = {**os.environ, "PYTHONPATH": str(Path(specstate.__file__).parents[1])}
    cmd = [sys.executable, "-m", "specstate", *(["-v"] if verbose else []), "classify",
           str(ramp_model), str(ramp_run), *RUN_ARGS, "--trains", "0:3", "-o",
           str(tmp_path / "out"), "--dask", "--workers", "1", "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr
    info = [ln for ln in done.stderr.splitlines() if ln.startswith("INFO distributed")]
    assert bool(info) == verbose, done.stderr
    assert "r0001.nxs" in done.stdout
