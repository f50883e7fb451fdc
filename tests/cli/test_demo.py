import csv

import numpy as np

from specstate.cli.main import main


def test_demo_quick_writes_figure_model_and_results(tmp_path, capsys):
    from specstate import SpectraClassifier

    out_dir = tmp_path / "demo"
    rc = main(["demo", "--quick", "-o", str(out_dir), "--seed", "0"])
    out = capsys.readouterr().out
    assert rc == 0
    png, model, results = out_dir / "demo.png", out_dir / "model.h5", out_dir / "results.csv"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000  # a real figure, not an empty canvas
    clf = SpectraClassifier.load(model)
    assert list(clf.classes_) == ["bcc", "hcp"]
    with results.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 120
    assert {"spectrum", "true_state", "state", "p_bcc", "p_hcp", "ambiguous"} <= set(rows[0])
    # The printed accuracy is the one of the results table (outside the window, refs excluded).
    truth = np.array([r["true_state"] for r in rows])
    pred = np.array([r["state"] for r in rows])
    scored = truth != "mixed"
    scored[[0, 1, 118, 119]] = False
    accuracy = 100 * np.mean(pred[scored] == truth[scored])
    assert f"Accuracy outside the transition window: {accuracy:.1f} %" in out
    # and the demo works: nearly every pattern outside the window is right
    assert accuracy >= 95.0
    assert "Inside the window (4 patterns" in out
    assert "true window 64–67" in out
    assert "separability" in out
    # a newcomer ends with an HTML report to open: the model and the run, self-contained
    report = out_dir / "report.html"
    assert f"Open {report} in a browser" in out
    text = report.read_text()
    assert "Fit plan" in text and "bcc (spectra)" in text and "run_points" in text


def test_demo_without_matplotlib_says_what_to_install(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    rc = main(["demo", "--quick", "-o", str(tmp_path / "d")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err == ["error: The demo needs matplotlib, which is not installed; install it with "
                   "pip install 'specstate[plot]'."]
    assert not (tmp_path / "d").exists()
