"""`specstate watch` through specstate.cli.main.main([...])."""

import csv
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


def test_watch_bridge_writes_csv_plot_and_prints_summary(states, model_path, tmp_path, capsys):
    from karabo_bridge import ServerInThread

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
    assert "ALERT state change" in captured.err
    rows = list(csv.DictReader(out.open()))
    assert [int(r["train_id"]) for r in rows] == list(range(100, 100 + N_TRAINS))
    assert [r["state"] for r in rows] == ["bcc"] * 10 + ["hcp"] * 10
    assert rows[11]["alert"] == "bcc->hcp"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_watch_folder_writes_nexus_at_checkpoints(xrd, model_path, tmp_path, capsys):
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
        entry = f["entry"]
        assert entry.attrs["NX_class"] == "NXentry"
        data = entry["results"]
        assert data.attrs["NX_class"] == "NXdata" and data.attrs["axes"] == "train_id"
        assert list(data["train_id"][()]) == [0, 1, 2, 3]
        assert [s.decode() for s in data["state"][()]] == ["bcc", "bcc", "hcp", "hcp"]
        assert np.allclose(data["fraction_hcp"][()], [0, 0, 1, 1])
        assert [c.decode() for c in entry["classes"][()]] == ["bcc", "hcp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "live.html"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "pattern_1.xy", "pattern_2.xy", "pattern_3.xy", "pattern_4.xy", "results.nxs"]
    assert "http-equiv=\"refresh\"" in html.read_text()


def test_ctrl_c_prints_summary_and_exits_0_keeping_csv_rows(xrd, model_path, tmp_path,
                                                            capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    io.write(xrd[[0]], folder / "p_1.xy")
    out = tmp_path / "r.csv"
    timer = threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        status = main(["watch", str(model_path), str(folder), "--poll", "0.05", "-o",
                       str(out)])
    finally:
        timer.cancel()
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
