"""What a new user met in a first hour, each case through ``main([...])``."""

import csv
import shutil
import string

import numpy as np
import pytest

from specstate import SpectraClassifier, io
from specstate.cli.main import COMMANDS, main
from specstate.datasets import simulate_xrd_ramp
from specstate.io.results import read_results

N_PATTERNS, N_POINTS = 24, 600
# A tiny, fast fit: these tests are about the command line, not the classifier's accuracy.
TINY = {"max_iter": 30, "augment": False, "weighting": "reference", "n_threads": 1}


@pytest.fixture(scope="module")
def ramp():
    return simulate_xrd_ramp(n_patterns=N_PATTERNS, n_points=N_POINTS, transition=(11, 13),
                             random_state=0)


@pytest.fixture(scope="module")
def folder(ramp, tmp_path_factory):
    """The ramp as a folder of numbered .xy files (run order)."""
    path = tmp_path_factory.mktemp("data") / "ramp"
    io.write(ramp, str(path) + "/")
    return path


@pytest.fixture(scope="module")
def model_path(ramp, tmp_path_factory):
    keep = np.isin(ramp.labels, ["bcc", "hcp"])
    clf = SpectraClassifier(random_state=0, **TINY).fit(ramp[keep], ramp.labels[keep])
    path = tmp_path_factory.mktemp("model") / "model.h5"
    clf.save(path)
    return path


# ----------------------------------------------------------------------------- usage errors
def test_a_mistyped_option_prints_the_commands_usage_and_a_suggestion(model_path, folder,
                                                                     capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["classify", str(model_path), str(folder), "--ouput", "x.csv"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: specstate classify ")
    assert "unrecognized arguments: --ouput x.csv; did you mean '--output'?" in err
    with pytest.raises(SystemExit):
        main(["clasify", str(model_path), str(folder)])
    assert "did you mean 'classify'?" in capsys.readouterr().err


def test_every_listed_command_exists():
    # the parser imports each listed module; a listed command without one is an error
    from specstate.cli.main import build_parser

    parser = build_parser()
    assert sorted(parser._commands) == sorted(COMMANDS)
    assert "report" in COMMANDS  # the "See it" issue built it


# ----------------------------------------------------------------------------- -o
def test_a_missing_output_folder_is_created_and_said(model_path, folder, tmp_path, capsys):
    out = tmp_path / "new" / "deeper" / "r.csv"
    assert main(["classify", str(model_path), str(folder), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"created the folder {tmp_path / 'new'}" in captured.err
    assert out.is_file()


@pytest.mark.parametrize("command", ["fit", "classify", "watch"])
def test_an_unwritable_output_folder_is_refused_before_any_work(command, model_path, folder,
                                                                tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    name = "m.h5" if command == "fit" else "r.csv"
    args = {"fit": ["fit", str(folder), "--labels", "0:4=a,-4:=b"],
            "classify": ["classify", str(model_path), str(folder)],
            "watch": ["watch", str(model_path), str(folder), "--max-trains", "1"]}[command]
    assert main([*args, "-o", str(blocker / name)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: -o '{blocker / name}' cannot be written: '{blocker}' is a file, "
                   "not a folder.\n")
    assert main([*args, "-o", f"/proc/specstate-test/{name}"]) == 2  # not writable, even by root
    err = capsys.readouterr().err
    assert err.startswith(f"error: -o '/proc/specstate-test/{name}' cannot be written: the "
                          "folder '/proc' is not writable")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


@pytest.mark.parametrize("command, name, says", [
    ("fit", "model.pkl", "names a pickle file, but specstate writes the model as HDF5: use a "
                         "name ending in .h5"),
    ("fit", "model.csv", "names a CSV table file, but specstate writes the model as HDF5"),
    ("classify", "r.pkl", "names a pickle file, but specstate writes results as NeXus or CSV"),
    ("classify", "r.xlsx", "has the suffix '.xlsx', but specstate writes results as"),
    ("classify", "results", "has no suffix, but specstate writes results as"),
    ("watch", "r.png", "names an image file, but specstate writes results as NeXus or CSV"),
])
def test_a_suffix_that_names_another_format_is_refused(command, name, says, model_path,
                                                       folder, tmp_path, capsys):
    args = {"fit": ["fit", str(folder), "--labels", "0:4=a,-4:=b"],
            "classify": ["classify", str(model_path), str(folder)],
            "watch": ["watch", str(model_path), str(folder), "--max-trains", "1"]}[command]
    assert main([*args, "-o", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: -o '{tmp_path / name}' {says}") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- what results say
def test_classify_results_name_their_spectra_by_file(model_path, folder, tmp_path, capsys):
    out_csv, out_nxs = tmp_path / "r.csv", tmp_path / "r.nxs"
    assert main(["classify", str(model_path), str(folder), "-o", str(out_csv)]) == 0
    assert main(["classify", str(model_path), str(folder), "-o", str(out_nxs)]) == 0
    rows = list(csv.DictReader(out_csv.open()))
    files = sorted(p.name for p in folder.glob("*.xy"))
    assert [r["file"] for r in rows] == files  # numbered: natural order is run order
    assert list(read_results(out_nxs)["file"].values) == files


def test_transitions_assume_run_order_and_are_skipped_without_one(model_path, folder, ramp,
                                                                  tmp_path, capsys):
    assert main(["classify", str(model_path), str(folder)]) == 0
    out = capsys.readouterr().out
    assert "transitions (along the order read, taken as the acquisition order)" in out

    # the same spectra under names without a run number, in an order that is not the run's
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    order = np.random.default_rng(1).permutation(N_PATTERNS)
    names = sorted(p.name for p in folder.glob("*.xy"))
    words = ["".join(w) for w in zip(string.ascii_lowercase, string.ascii_lowercase[::-1])]
    for word, k in zip(words, order):
        shutil.copy(folder / names[k], shuffled / f"sample_{word}.xy")
    assert main(["classify", str(model_path), str(shuffled)]) == 0
    out = capsys.readouterr().out
    assert ("transitions: not located (the input files have no run number in their names "
            "(e.g. sample_az.xy), so their order is not the acquisition order)") in out
    assert "->" not in out  # no spurious transitions
    assert main(["classify", str(model_path), str(folder), "--unordered"]) == 0
    assert "transitions: not located (--unordered)" in capsys.readouterr().out


def test_output_into_a_pipe_that_closes_is_not_a_traceback(folder):
    # `specstate info ramp/ | head -2`: head goes away before specstate has written all
    import os
    import subprocess
    import sys
    from pathlib import Path

    import specstate

    env = {**os.environ, "PYTHONPATH": str(Path(specstate.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "specstate", "info", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # the reader is gone
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_read_results_reads_what_the_demo_wrote(tmp_path, capsys):
    # classify, --dask and watch -o are read back in their own tests; the demo's table too
    assert main(["demo", "--quick", "-o", str(tmp_path / "demo")]) == 0
    capsys.readouterr()
    back = read_results(tmp_path / "demo" / "results.csv")
    rows = list(csv.DictReader((tmp_path / "demo" / "results.csv").open()))
    assert back.sizes["spectrum"] == len(rows) > 0
    assert list(back["state"].values) == [r["state"] for r in rows]
    assert {"true_state", "pressure_GPa"} <= set(rows[0])  # the simulator's truth alongside
