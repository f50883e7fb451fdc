"""`specstate watch` through specstate.cli.main.main([...])."""

import csv
import json
import os
import signal
import threading

import h5py
import numpy as np

from specstate import io
from specstate.cli.main import main

from ._helpers import KEY, SOURCE, train

N_TRAINS = 20


def _serve(server, states, n=N_TRAINS, first=100):
    for i in range(n):
        state = "bcc" if i < n // 2 else "hcp"
        server.feed({SOURCE: {KEY: train(states, state, offset=i)}},
                    {SOURCE: {"timestamp.tid": first + i}})


def test_watch_bridge_writes_csv_plot_and_prints_summary(states, model_path, tmp_path, capsys,
                                                         monkeypatch):
    from karabo_bridge import ServerInThread

    from specstate.cli import watch as watch_cli

    monkeypatch.setattr(watch_cli, "PLAIN_LINES_PER_S", float("inf"))  # every train a line

    out = tmp_path / "results.csv"
    png = tmp_path / "live.png"
    with ServerInThread("tcp://127.0.0.1:*", sock="REP") as server:
        feeder = threading.Thread(target=_serve, args=(server, states), daemon=True)
        feeder.start()
        status = main(["watch", str(model_path), server.endpoint, "--source", SOURCE,
                       "--key", KEY, "--max-trains", str(N_TRAINS), "--alert-trains", "2",
                       "--timeout", "20", "-o", str(out), "--plot", str(png)])
        feeder.join(timeout=10)
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert f"trains: {N_TRAINS} ({N_TRAINS} classified)" in captured.out
    assert "alerts: 1" in captured.out and "train 110: bcc -> hcp" in captured.out
    assert "states (trains): bcc 10, hcp 10" in captured.out
    # output redirected (not a terminal): one plain line per train, alerts on their own
    lines = captured.out.splitlines()
    per_train = [ln for ln in lines if ln.startswith("train 1")]
    assert len(per_train) == N_TRAINS
    assert all(ln.startswith(f"train {100 + i} {SOURCE}: ") for i, ln in enumerate(per_train))
    assert "ALERT state change: train 110: bcc -> hcp" in captured.out
    assert "\r" not in captured.out + captured.err
    rows = list(csv.DictReader(out.open()))
    assert [int(r["train_id"]) for r in rows] == list(range(100, 100 + N_TRAINS))
    assert [r["state"] for r in rows] == ["bcc"] * 10 + ["hcp"] * 10
    assert rows[11]["alert"] == "bcc->hcp"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_watch_folder_writes_the_one_nexus_layout_that_read_results_reads(xrd, model_path,
                                                                           tmp_path, capsys):
    from specstate.io.results import read_results, read_state_means, read_trains

    folder = tmp_path / "in"
    folder.mkdir()
    picks = np.flatnonzero(np.isin(xrd.labels, ["bcc", "hcp"]))[[0, 1, -2, -1]]
    for i, k in enumerate(picks):
        io.write(xrd[[k]], folder / f"pattern_{i + 1}.xy")
    out = folder / "results.nxs"  # written into the watched folder: never read back
    html = tmp_path / "live.html"
    status = main(["watch", str(model_path), str(folder), "--poll", "0.05", "--max-trains",
                   "5", "--timeout", "3", "-o", str(out), "--checkpoint-every", "3",
                   "--plot", str(html)])
    assert status == 0, capsys.readouterr().err
    with h5py.File(out, "r") as f:
        assert f.attrs["default"] == "entry" and f["entry"].attrs["default"] == "spectra"
        trains = f["entry/trains"]
        assert trains.attrs["NX_class"] == "NXdata" and list(trains.attrs["axes"]) == [
            "train_id"]
        assert [p.decode() for p in f["entry/process/program"][()].split()] == [
            "specstate", "watch"]
        assert f["entry/process/model/checksum"].attrs["algorithm"] == "sha256"
    results = read_results(out)
    assert list(results["state"].values) == ["bcc", "bcc", "hcp", "hcp"]
    assert list(results["file"].values) == [f"pattern_{i}.xy" for i in range(1, 5)]
    assert list(results["train_id"].values) == [0, 1, 2, 3]
    per_train = read_trains(out)
    assert list(per_train["train_id"].values) == [0, 1, 2, 3]
    assert np.allclose(per_train["fraction"].sel({"class": "hcp"}).values, [0, 0, 1, 1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "live.html"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "pattern_1.xy", "pattern_2.xy", "pattern_3.xy", "pattern_4.xy", "results.nxs"]
    # --plot FILE.html: a snapshot of the live page, with the last train's payload
    page = html.read_text()
    assert "snapshot (rewritten every few seconds" in page and "EventSource" in page
    payload = json.loads(page.split('id="payload">', 1)[1].split("</script>", 1)[0])
    assert payload["train_id"] == 3 and payload["state"] == "hcp"
    assert payload["timeline"]["train_id"] == [0, 1, 2, 3]
    # the run's per-state mean spectra are in the file, and specstate report reads it
    means = read_state_means(out)
    assert means.names == ["bcc", "hcp", "unknown"] and means.counts.tolist() == [2, 2, 0]
    assert np.allclose(means.mean[1], xrd.intensity[picks[2:]].mean(axis=0), rtol=1e-5)
    report = tmp_path / "report.html"
    assert main(["report", str(out), "-o", str(report)]) == 0
    text = report.read_text()
    assert "pattern_3.xy" in text and "specstate watch" in text


def test_ctrl_c_prints_summary_and_exits_0_keeping_csv_rows(xrd, model_path, tmp_path,
                                                            capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    io.write(xrd[[0]], folder / "p_1.xy")
    out = tmp_path / "r.csv"
    # Python's own Ctrl-C handler, also where the suite was started in the background
    # (a shell's background job inherits SIGINT ignored, and Python keeps it so)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        status = main(["watch", str(model_path), str(folder), "--poll", "0.05", "-o",
                       str(out)])
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    captured = capsys.readouterr()
    assert status == 0
    assert "interrupted" in captured.out and "trains: 1 (1 classified)" in captured.out
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1 and rows[0]["state"] == "bcc"


def test_bad_source_or_model_is_one_error_line_and_status_2(model_path, tmp_path, capsys):
    assert main(["watch", str(model_path), str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("error: The folder to watch must exist")
    assert main(["watch", str(tmp_path / "no-model.h5"), str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_csv_with_other_columns_is_refused(model_path, tmp_path, capsys):
    out = tmp_path / "r.csv"
    out.write_text("a,b\n1,2\n")
    assert main(["watch", str(model_path), str(tmp_path), "-o", str(out), "--max-trains",
                 "1"]) == 2
    assert "exists with columns" in capsys.readouterr().err


class _Tty:
    """A terminal stand-in: what tqdm writes, and isatty() True."""

    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass

    def isatty(self):
        return True


def test_a_terminal_gets_a_tqdm_bar_and_a_pipe_one_line_per_train(monkeypatch):
    import io as _io

    from specstate.cli.watch import _Terminal

    tty = _Tty()
    term = _Terminal(tty)
    assert term.tty and term._bar is not None  # tqdm draws the live view
    for i in range(3):
        term.train(f"train {i} scan_{i}.xy: bcc conf 0.99")
    term.note("ALERT state change: train 2: bcc -> hcp")
    term.close()
    assert "ALERT state change" in tty.text and "3train" in tty.text.replace(" ", "")
    pipe = _io.StringIO()
    monkeypatch.setattr("specstate.cli.watch.PLAIN_LINES_PER_S", float("inf"))
    term = _Terminal(pipe)
    for i in range(3):
        term.train(f"train {i} scan_{i}.xy: bcc conf 0.99")
    term.close()
    assert pipe.getvalue().splitlines() == [f"train {i} scan_{i}.xy: bcc conf 0.99"
                                            for i in range(3)]
