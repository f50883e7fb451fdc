"""The HTML report, its panel data and `specstate report`: real files, a real browser."""

import os
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from specstate.cli.main import main
from specstate.datasets import simulate_xrd_ramp
from specstate.means import StateMeans
from specstate.report.panels import MAX_RUN_POINTS, decimate, run_panel
from specstate.results import Classification

#: Where the README's screenshot of the report goes when SPECSTATE_SCREENSHOTS is set.
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "report.png"
N = 40


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A model file, the spectra as a NeXus file and classify's NeXus and CSV results."""
    from specstate import SpectraClassifier, io

    d = tmp_path_factory.mktemp("report")
    s = simulate_xrd_ramp(n_patterns=N, n_points=300, transition=(18, 22), random_state=0)
    keep = np.isin(s.labels, ["bcc", "hcp"])
    clf = SpectraClassifier(random_state=0, max_iter=30, augment=False,
                            weighting="reference", n_threads=1)
    clf.fit(s[keep], s.labels[keep])
    clf.save(d / "model.h5")
    io.write(s, d / "ramp.h5")
    for name in ("res.nxs", "res.csv"):
        assert main(["classify", str(d / "model.h5"), str(d / "ramp.h5"), "-o",
                     str(d / name)]) == 0
    return d, s, clf


def test_results_keep_each_states_mean_spectrum(run):
    from specstate.io.results import read_state_means

    d, s, clf = run
    means = read_state_means(d / "res.nxs")
    pred = clf.classify(s).labels
    assert means.counts.tolist() == [int(np.sum(pred == "bcc")), int(np.sum(pred == "hcp")),
                                     0]
    assert np.allclose(means.mean[0], s.intensity[pred == "bcc"].mean(axis=0), rtol=1e-5)
    assert np.allclose(means.axis, s.axis)
    assert read_state_means(d / "res.csv") is None


def test_a_results_file_without_means_still_reports(run, tmp_path, capsys):
    d, _, _ = run
    old = tmp_path / "old.nxs"
    shutil.copy(d / "res.nxs", old)
    with h5py.File(old, "a") as f:  # as written before results kept their means
        del f["entry/state_means"]
    assert main(["report", str(old), "-o", str(tmp_path / "old.html")]) == 0
    assert "keep no per-state mean spectra" in (tmp_path / "old.html").read_text()


def test_report_finds_its_model_and_says_when_it_changed_or_is_missing(run, tmp_path, capsys):
    from specstate.report.panels import find_model

    d, _, _ = run
    clf, path, notes = find_model(d / "res.nxs")
    assert clf is not None and Path(path) == (d / "model.h5").resolve() and notes == []
    moved = tmp_path / "m"
    moved.mkdir()
    shutil.copy(d / "model.h5", moved / "model.h5")
    res = moved / "res.nxs"
    shutil.copy(d / "res.nxs", res)
    with h5py.File(res, "a") as f:
        del f["entry/process/model/file_name"]
        f["entry/process/model/file_name"] = str(moved / "model.h5")
    with h5py.File(moved / "model.h5", "a") as f:  # the model changed after the run
        f.attrs["edited"] = 1
    clf, _, notes = find_model(res)
    assert clf is None and "SHA-256 differs" in notes[0]
    (moved / "model.h5").unlink()
    clf, _, notes = find_model(res)
    assert clf is None and "is missing" in notes[0]
    assert main(["report", str(res), "-o", str(tmp_path / "r.html")]) == 0
    assert "is missing" in capsys.readouterr().out
    clf, _, notes = find_model(d / "res.csv")
    assert clf is None and "CSV table records none" in notes[0]


def test_report_cli_bad_input_is_one_line_and_writes_nothing(run, tmp_path, capsys):
    d, _, _ = run
    assert main(["report", str(tmp_path / "nope.nxs")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", str(d / "res.nxs"), "-o", str(tmp_path / "r.png")]) == 2
    assert "use a name ending in .html" in capsys.readouterr().err
    assert main(["report", str(d / "res.nxs"), "--model", str(tmp_path / "x.h5")]) == 2
    assert list(tmp_path.iterdir()) == []


def test_report_and_png_panels_of_a_model_and_of_a_csv_run(run, tmp_path):
    d, _, _ = run
    assert main(["report", str(d / "model.h5"), "-o", str(tmp_path / "m.html")]) == 0
    text = (tmp_path / "m.html").read_text()
    assert "Fit plan" in text and "lower separability can get a higher weight" in text
    # self-contained: no script or style sheet fetched from anywhere (BokehJS is inlined)
    assert not re.search(r"<(script|link)[^>]*(src|href)=\"(https?:)?//", text)
    assert "Bokeh" in text and len(re.findall(r"<script", text)) >= 2
    assert main(["report", str(d / "res.csv"), "--model", str(d / "model.h5"), "-o",
                 str(tmp_path / "c.html"), "--plot", str(tmp_path / "png")]) == 0
    names = sorted(p.name for p in (tmp_path / "png").iterdir())
    assert names == ["references.png", "regions.png", "run.png"]  # CSV: no mean spectra
    for p in (tmp_path / "png").iterdir():
        assert p.read_bytes()[:4] == b"\x89PNG"


def test_a_watch_csv_table_of_trains_reports_per_train(tmp_path):
    from specstate.io.results import CsvTable, train_columns, train_rows
    from specstate.results import TrainSummary

    trains = [TrainSummary(100 + i, n_spectra=8, n_classified=8, counts={"a": 8 - i, "b": i},
                           fractions={"a": (8 - i) / 8, "b": i / 8},
                           state="a" if i < 4 else "b", confidence=0.9) for i in range(9)]
    path = tmp_path / "watch.csv"
    with CsvTable(path, train_columns(["a", "b"])) as t:
        t.append(train_rows(trains, ["a", "b"]))
    panel = run_panel(path)
    assert panel.per == "train" and panel.x.tolist() == list(range(100, 109))
    assert [t["to_state"] for t in panel.transitions] == ["b"]


def test_large_runs_are_aggregated_per_train_and_binned():
    rng = np.random.default_rng(0)
    n, per_train = 60_000, 100
    proba = rng.dirichlet([1, 1], n).astype(np.float32)
    labels = np.array(["a", "b"])[proba.argmax(1)]
    c = Classification(labels, proba, proba.max(1), np.zeros(n, bool), np.array(["a", "b"]),
                       novel=np.arange(n) % 10 == 0,
                       train_ids=np.repeat(np.arange(n // per_train), per_train) + 7)
    panel = run_panel(c)
    assert panel.per == "train" and panel.x.size == n // per_train and panel.x[0] == 7
    assert np.allclose(panel.unknown, 0.1) and panel.n.tolist() == [per_train] * panel.x.size
    assert np.allclose(panel.proba[0], proba[:per_train].mean(0))
    no_ids = Classification(labels, proba, proba.max(1), np.zeros(n, bool),
                            np.array(["a", "b"]))
    binned = run_panel(no_ids)
    assert binned.per == "bin" and binned.x.size <= MAX_RUN_POINTS


def test_decimate_keeps_narrow_peaks():
    x = np.linspace(0, 1, 10_000)
    y = np.zeros_like(x)
    y[5003] = 7.0
    xd, yd = decimate(x, y, 1000)
    assert xd.size <= 1000 and yd.max() == 7.0 and np.all(np.diff(xd) >= 0)


def test_state_means_add_and_unknown_row():
    c = Classification(np.array(["a", "b", "a"]), np.eye(2)[[0, 1, 0]], np.ones(3),
                       np.zeros(3, bool), np.array(["a", "b"]), novel=np.array([0, 0, 1], bool))
    x = np.array([[1.0, 2], [5, 5], [3, 4]])
    m = StateMeans.of(c, x)
    assert m.counts.tolist() == [1, 1, 1] and m.mean[2].tolist() == [3, 4]
    both = m.add(StateMeans.of(c[:1], x[:1]))
    assert both.counts.tolist() == [2, 1, 1] and both.mean[0].tolist() == [1, 2]
    x[1, 0] = np.nan  # a non-finite value in a counted row stays in its column only
    assert np.isnan(StateMeans.of(c, x).mean[1, 0]) and StateMeans.of(c, x).mean[0, 0] == 1


def test_report_loads_in_the_browser_without_errors(run, tmp_path, browser):
    d, _, _ = run
    out = tmp_path / "report.html"
    assert main(["report", str(d / "res.nxs"), "-o", str(out)]) == 0
    assert out.stat().st_size < 10e6
    drv = browser.driver
    drv.get(out.as_uri())
    n = browser.wait_for("window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents[0]"
                         ".get_model_by_name('run_points').data.ids.length")
    assert n == N
    ids = drv.execute_script("return Bokeh.documents[0].get_model_by_name('run_points')"
                             ".data.ids")
    assert ids[0].startswith("spectrum 0") and "ramp.h5" in ids[0]
    summary = drv.find_element("id", "run-summary").text
    assert "bcc (spectra)" in summary and "hcp (spectra)" in summary
    assert "transition" in summary and "bcc → hcp" in summary
    # every figure was drawn (a canvas each)
    browser.wait_for("document.querySelectorAll('.bk-Figure, .bk-Plot').length >= 5 || "
                     "Bokeh.documents[0].roots().length >= 5")
    assert browser.js_errors() == []
    if os.environ.get("SPECSTATE_SCREENSHOTS"):
        drv.save_screenshot(str(SCREENSHOT))


def test_fit_and_classify_plot_dir_write_the_report_panels(run, tmp_path, monkeypatch,
                                                           capsys):
    from specstate import SpectraClassifier
    from specstate.cli import fit as fit_cli

    d, _, _ = run
    monkeypatch.setattr(fit_cli, "make_classifier", lambda args: SpectraClassifier(
        random_state=0, max_iter=20, augment=False, weighting="reference", n_threads=1))
    assert main(["fit", str(d / "ramp.h5"), "--labels", "0:10=bcc,30:40=hcp", "-o",
                 str(tmp_path / "m.h5"), "--plot", str(tmp_path / "fit")]) == 0
    assert sorted(p.name for p in (tmp_path / "fit").iterdir()) == ["references.png",
                                                                     "regions.png"]
    assert main(["classify", str(d / "model.h5"), str(d / "ramp.h5"), "--plot",
                 str(tmp_path / "cls")]) == 0
    assert sorted(p.name for p in (tmp_path / "cls").iterdir()) == [
        "references.png", "regions.png", "run.png", "state_means.png"]
    assert "Wrote references.png" in capsys.readouterr().out
    assert main(["classify", str(d / "model.h5"), str(d / "ramp.h5"), str(d / "ramp.h5"),
                 "-o", str(tmp_path / "many"), "--plot", str(tmp_path / "x")]) == 2
    assert "--plot draws the panels of one input" in capsys.readouterr().err
